"""Arguments of `mlcicd:serving:ModelService`, shared by both backends (`components/serving/ecs.py`, `eks.py`).

Kept in their own module so a backend can import them without importing the other backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict

import pulumi

if TYPE_CHECKING:
    from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
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


class ModelServiceArgs(TypedDict, total=False):
    backend: Literal["ecs", "eks"]
    """`ecs` (Fargate + ALB) or `eks` (Argo Rollouts on an existing cluster). Default `ecs`."""

    # The model and its image ---------------------------------------------------------------------------------
    model_name: str
    """Registered model name (container env `MLCICD_MODEL_NAME`, metric dimension `ModelName`). Required."""
    model_version: str | None
    """Registered model version that the image packages (env `MLCICD_MODEL_VERSION`). Default None."""
    image_repository_url: pulumi.Input[str]
    """ECR repository URL of the serving image (`<acct>.dkr.ecr.<region>.amazonaws.com/<name>`). Required."""
    image_repository_arn: pulumi.Input[str]
    """ECR repository ARN: the execution role may pull from this repository only. Required for `ecs`."""
    image_digest: str
    """`sha256:<64 hex>`: the image runs as `<repository url>@<digest>`, never by tag. Required."""
    port: int
    """Container port of the MLflow scoring server (`/ping`, `/invocations`). Default 8080. Changing it registers a
    new task definition revision and, on ECS, replaces the target groups (a target group's port is fixed)."""
    cpu: int
    """CPU units per task/pod (1024 = 1 vCPU). Default 1024."""
    memory: int
    """Memory (MiB) per task/pod. Default 2048."""
    environment: dict[str, str]
    """Extra container environment (no secrets). Default {}."""

    # Capacity ------------------------------------------------------------------------------------------------
    min_capacity: int
    """Minimum tasks/replicas. Default 2."""
    max_capacity: int
    """Maximum tasks/replicas. Default 6."""
    target_cpu_percent: float
    """Target-tracking CPU utilisation. Default 60."""
    target_requests_per_target: int | None
    """ECS only: also track load balancer requests per task per minute. Default None (CPU only)."""

    # Rollout -------------------------------------------------------------------------------------------------
    strategy: Strategy
    """`canary` (ECS CANARY / Argo canary), `linear` (ECS LINEAR), `rolling` (ECS ROLLING), `blue-green`
    (CodeDeploy, ECS only). Default `canary`."""
    canary_percent: float
    """Traffic share of the new version during the bake (canary, blue-green). Default 10."""
    linear_step_percent: float
    """Traffic added per step (linear). Default 20."""
    bake_minutes: int
    """Minutes each step is held while the alarms watch. Default 10."""
    judge: CanaryJudgeConfig
    """Canary judge settings (EKS analysis step). Default: the config model's defaults."""
    probe: CanaryProbeConfig
    """Probe traffic of the EKS analysis step (its job's deadline covers the probe). Default: the config model's
    defaults."""
    rollback_alarms: AlarmFactory
    """Factory creating the alarms every deployment rolls back on. Required: no deployment without rollback."""

    # Account ---------------------------------------------------------------------------------------------------
    region: str
    """Region of the stack (log driver, endpoints in policy conditions). Required."""
    account_id: pulumi.Input[str]
    """This account: trust policies are pinned to it (confused-deputy condition). Required for `ecs`."""

    # Network and load balancer -------------------------------------------------------------------------------
    vpc_id: pulumi.Input[str]
    """VPC of the service. Required for `ecs`."""
    vpc_cidr: pulumi.Input[str]
    """VPC CIDR: default ingress source of the load balancer. Required for `ecs`."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the tasks and of an internal load balancer. Required for `ecs`."""
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of an internet-facing load balancer. Default [] (needed only when `internal` is False)."""
    internal: bool
    """Internal load balancer. Default True (security default). Changing it replaces the load balancer."""
    certificate_arn: str | None
    """ACM certificate: HTTPS on 443 with the TLS 1.3 policy, port 80 only redirects. Default None (HTTP)."""
    ingress_cidrs: list[str]
    """CIDRs allowed to reach the load balancer. Default: the VPC CIDR, when no security group is given either."""
    ingress_security_group_ids: list[str]
    """Security groups allowed to reach the load balancer. Default []."""
    deletion_protection: bool
    """Load balancer deletion protection. Default False; the program sets it in production."""
    log_bucket: pulumi.Input[str]
    """Bucket for ALB access logs (prefix `alb/`). Required for `ecs`."""
    log_retention_days: int
    """Retention of the service's log group. Default 30."""

    # Data access ---------------------------------------------------------------------------------------------
    kms_key_arn: pulumi.Input[str]
    """Stack KMS key (models bucket objects, ECR layers). Required for `ecs`."""
    models_bucket_arn: pulumi.Input[str]
    """Models bucket: the task role may read `model_artifact_prefix` in it and nothing else. Required for `ecs`."""
    model_artifact_prefix: str
    """Prefix of MLflow artifacts in the models bucket. Default `mlflow/`."""
    metrics_namespace: str
    """CloudWatch namespace the task may publish model metrics to (and no other). Default `MLCICD/Model`."""

    # Inference capture ---------------------------------------------------------------------------------------
    capture: CaptureSettings | None
    """Capture settings the server reads (`MLCICD_CAPTURE`); with `capture_stream_arn`. Default None (off)."""
    capture_stream_arn: pulumi.Input[str] | None
    """The capture's Firehose stream: the task role (ECS) or the pods' role (EKS) may put records to it and
    nothing else. Default None."""

    # EKS -----------------------------------------------------------------------------------------------------
    eks: EksConfig | None
    """Cluster access and namespace (backend `eks` only). Default None."""
    judge_stack_files: dict[str, str]
    """Backend `eks` with a judged strategy: `Pulumi.yaml` and `Pulumi.<stack>.yaml` for the canary judge's job
    (a ConfigMap mounted as its working directory), rendered by the program from the config it was built from
    (`components.serving.eks_specs.judge_stack_files`). Required there; a component never reads program state."""


def pinned_image(repository_url: pulumi.Input[str], digest: str) -> pulumi.Output[str]:
    """`<repository url>@sha256:...`: the only image reference a service is ever given."""
    return pulumi.Output.from_input(repository_url).apply(lambda url: f"{url}@{digest}")
