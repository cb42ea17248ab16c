"""Arguments of `mlcicd:serving:ModelService`, shared by both backends (`components/serving/ecs.py`, `eks.py`).

Kept in their own module so a backend can import them without importing the other backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import pulumi

from components import defaults as d
from runtime.config import defaults as cfg_defaults
from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig

if TYPE_CHECKING:
    from runtime.config.platform import EksConfig
    from runtime.serving.settings import CaptureSettings

Strategy = Literal["canary", "linear", "rolling", "blue-green"]


class RollbackAlarms(Protocol):
    """What a deployment needs from the canary alarms (implemented by `observability:CanaryAlarms`)."""

    rollback_alarm_names: pulumi.Output[list[str]]
    rollback_alarm_arns: pulumi.Output[list[str]]


#: Builds the rollback alarms once the load balancer exists: called with the load balancer's ARN suffix and the
#: target groups' ARN suffixes (None and [] for backends without our ALB, i.e. EKS). The program passes a factory
#: that creates `CanaryAlarms`, so the alarms are a sibling component and the service still depends on them.
AlarmFactory = Callable[[pulumi.Output[str] | None, Sequence[pulumi.Output[str]]], RollbackAlarms]


@dataclass(frozen=True, kw_only=True)
class ModelServiceArgs:
    """What the model service is built from. Each default is set here, once, beside its field; a field without
    one is required (the constructor names a missing one), a field marked "Required for `ecs`" is checked by that
    backend."""

    backend: Literal["ecs", "eks"] = cfg_defaults.SERVING_BACKEND
    """`ecs` (Fargate + ALB) or `eks` (Argo Rollouts on an existing cluster). Default `ecs`."""

    # The model and its image ---------------------------------------------------------------------------------
    model_name: str
    """Registered model name (container env `MLCICD_MODEL_NAME`, metric dimension `ModelName`). Required."""
    model_version: str | None = None
    """Registered model version that the image packages (env `MLCICD_MODEL_VERSION`). Default None."""
    image_repository_url: pulumi.Input[str]
    """ECR repository URL of the serving image (`<acct>.dkr.ecr.<region>.amazonaws.com/<name>`). Required."""
    image_repository_arn: pulumi.Input[str] | None = None
    """ECR repository ARN: the execution role may pull from this repository only. Required for `ecs`."""
    image_digest: str
    """`sha256:<64 hex>`: the image runs as `<repository url>@<digest>`, never by tag. Required."""
    port: int = cfg_defaults.SERVING_PORT
    """Container port of the MLflow scoring server (`/ping`, `/invocations`). Default 8080. Changing it registers a
    new task definition revision and, on ECS, replaces the target groups (a target group's port is fixed)."""
    cpu: int = cfg_defaults.SERVING_CPU
    """CPU units per task/pod (1024 = 1 vCPU). Default 1024."""
    memory: int = cfg_defaults.SERVING_MEMORY
    """Memory (MiB) per task/pod. Default 2048."""
    environment: dict[str, str] = field(default_factory=dict)
    """Extra container environment (no secrets). Default {}."""

    # Capacity ------------------------------------------------------------------------------------------------
    min_capacity: int = cfg_defaults.SERVING_MIN_CAPACITY
    """Minimum tasks/replicas. Default 2."""
    max_capacity: int = cfg_defaults.SERVING_MAX_CAPACITY
    """Maximum tasks/replicas. Default 6."""
    target_cpu_percent: float = cfg_defaults.SERVING_TARGET_CPU_PERCENT
    """Target-tracking CPU utilisation. Default 60."""
    target_requests_per_target: int | None = None
    """ECS only: also track load balancer requests per task per minute. Default None (CPU only)."""

    # Rollout -------------------------------------------------------------------------------------------------
    strategy: Strategy = cfg_defaults.CANARY_STRATEGY
    """`canary` (ECS CANARY / Argo canary), `linear` (ECS LINEAR), `rolling` (ECS ROLLING), `blue-green`
    (CodeDeploy, ECS only). Default `canary`."""
    canary_percent: float = cfg_defaults.CANARY_PERCENT
    """Traffic share of the new version during the bake (canary, blue-green). Default 10."""
    linear_step_percent: float = cfg_defaults.LINEAR_STEP_PERCENT
    """Traffic added per step (linear). Default 20."""
    bake_minutes: int = cfg_defaults.CANARY_BAKE_MINUTES
    """Minutes each step is held while the alarms watch. Default 10."""
    judge: CanaryJudgeConfig = field(default_factory=CanaryJudgeConfig)
    """Canary judge settings (EKS analysis step). Default: the config model's defaults."""
    probe: CanaryProbeConfig = field(default_factory=CanaryProbeConfig)
    """Probe traffic of the EKS analysis step (its job's deadline covers the probe). Default: the config model's
    defaults."""
    rollback_alarms: AlarmFactory | None = None
    """Factory creating the alarms every deployment rolls back on. Required for `ecs`: no deployment without
    rollback. With `eks` it is optional (no load balancer of ours: the model-metric alarms only)."""

    # Account ---------------------------------------------------------------------------------------------------
    region: str
    """Region of the stack (log driver, endpoints in policy conditions). Required."""
    account_id: pulumi.Input[str] | None = None
    """This account: trust policies are pinned to it (confused-deputy condition). Required for `ecs`, and on
    `eks` for the judge's Pod Identity and for inference capture."""

    # Network and load balancer -------------------------------------------------------------------------------
    vpc_id: pulumi.Input[str] | None = None
    """VPC of the service. Required for `ecs`."""
    vpc_cidr: pulumi.Input[str] | None = None
    """VPC CIDR: default ingress source of the load balancer. Required for `ecs`."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Subnets of the tasks and of an internal load balancer. Required for `ecs`."""
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] = field(default_factory=list)
    """Subnets of an internet-facing load balancer. Default [] (needed only when `internal` is False)."""
    internal: bool = cfg_defaults.LOAD_BALANCER_INTERNAL
    """Internal load balancer. Default True (security default). Changing it replaces the load balancer."""
    certificate_arn: str | None = None
    """ACM certificate: HTTPS on 443 with the TLS 1.3 policy, port 80 only redirects. Default None (HTTP)."""
    hostname: str | None = None
    """DNS name of the load balancer in the team's domain (a record pointing at it): `endpoint` uses it. Required
    with `certificate_arn`, which must cover it (no certificate covers the load balancer's own DNS name). Default
    None: the endpoint uses the load balancer's DNS name."""
    ingress_cidrs: list[str] = field(default_factory=list)
    """CIDRs allowed to reach the load balancer. Default []: the VPC CIDR, when no security group is given
    either."""
    ingress_security_group_ids: list[str] = field(default_factory=list)
    """Security groups allowed to reach the load balancer. Default []."""
    deletion_protection: bool = d.PRODUCTION_PROTECTIONS
    """Load balancer deletion protection. Default False; the program sets it in production."""
    log_bucket: pulumi.Input[str] | None = None
    """Bucket for ALB access logs (prefix `alb/`). Required for `ecs`."""
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    """Retention of the service's log group. Default 30."""

    # Data access ---------------------------------------------------------------------------------------------
    kms_key_arn: pulumi.Input[str] | None = None
    """Stack KMS key (the log group, ECR layers). Required for `ecs`."""
    metrics_namespace: str = cfg_defaults.MODEL_METRICS_NAMESPACE
    """CloudWatch namespace the task may publish model metrics to (and no other). Default `MLCICD/Model`."""

    # Inference capture ---------------------------------------------------------------------------------------
    capture: CaptureSettings | None = None
    """Capture settings the server reads (`MLCICD_CAPTURE`); with `capture_stream_arn`. Default None (off)."""
    capture_stream_arn: pulumi.Input[str] | None = None
    """The capture's Firehose stream: the task role (ECS) or the pods' role (EKS) may put records to it and
    nothing else. Default None."""

    # EKS -----------------------------------------------------------------------------------------------------
    eks: EksConfig | None = None
    """Cluster access and namespace (backend `eks` only). Required for `eks`."""
    judge_stack_files: dict[str, str] | None = None
    """Backend `eks` with a judged strategy: `Pulumi.yaml` and `Pulumi.<stack>.yaml` for the canary judge's job
    (a ConfigMap mounted as its working directory), rendered by the program from the config it was built from
    (`components.serving.eks_specs.judge_stack_files`). Required there; a component never reads program state.
    Default None."""


def pinned_image(repository_url: pulumi.Input[str], digest: str) -> pulumi.Output[str]:
    """`<repository url>@sha256:...`: the only image reference a service is ever given."""
    return pulumi.Output.from_input(repository_url).apply(lambda url: f"{url}@{digest}")
