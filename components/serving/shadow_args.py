"""The arguments of `serving:ShadowService` (components/serving/shadow.py; the EKS side in shadow_eks.py), with
every default beside its field."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from runtime.config import defaults as cfg_defaults
from runtime.config.platform import EksConfig
from runtime.serving.settings import CaptureSettings


@dataclass(frozen=True, kw_only=True)
class ShadowServiceArgs:
    """What the shadow is built from. Each default is set here, once, beside its field; a field without one is
    required (the constructor names a missing one), a field "Required for `ecs`" or "`eks`" is checked by the
    component on that backend."""

    backend: str
    """`ecs` or `eks`, the model service's. Required."""
    model_name: str
    """Registered model name (env `MLCICD_MODEL_NAME`, names of the objects). Required."""
    model_version: str = ""
    """The version the shadow runs (env `MLCICD_MODEL_VERSION`, the shadow gate's filter). Default ""."""
    image_repository_url: pulumi.Input[str]
    """ECR repository URL. Required."""
    image_repository_arn: pulumi.Input[str] | None = None
    """ECR repository ARN (the execution role pulls from it only). Required for `ecs`."""
    image_digest: str
    """`sha256:...` of the shadow's serving image. Required."""
    port: int = cfg_defaults.SERVING_PORT
    """Container port. Default 8080."""
    cpu: int = cfg_defaults.SERVING_CPU
    """CPU units per task/pod. Default 1024."""
    memory: int = cfg_defaults.SERVING_MEMORY
    """Memory (MiB) per task/pod. Default 2048."""
    desired_count: int = 1
    """Tasks/replicas. Default 1."""
    capture: CaptureSettings
    """The shadow's capture settings (the stack's stream, every mirrored request captured). Required."""
    capture_stream_arn: pulumi.Input[str]
    """The stream the shadow's role may put to. Required."""
    region: str
    """Region of the stack. Required."""
    account_id: pulumi.Input[str]
    """This account (trust policies are pinned to it). Required."""
    metrics_namespace: str = cfg_defaults.MODEL_METRICS_NAMESPACE
    """The model metric namespace (the only one the shadow publishes into). Default `MLCICD/Model`."""
    # ECS ---------------------------------------------------------------------------------------------------
    cluster_name: pulumi.Input[str] | None = None
    """The model service's cluster. Required for `ecs`."""
    vpc_id: pulumi.Input[str] | None = None
    """VPC of the model service. Required for `ecs`."""
    private_subnet_ids: pulumi.Input[list[str]] | None = None
    """Subnets of the shadow tasks. Required for `ecs`."""
    baseline_security_group_id: pulumi.Input[str] | None = None
    """The baseline tasks' security group: the only source the shadow admits. Required for `ecs`."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Stack key (the log group, image layers). Required for `ecs`."""
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    """Default 30."""
    # EKS ---------------------------------------------------------------------------------------------------
    eks: EksConfig | None = None
    """Cluster access and namespace. Required for `eks`."""
