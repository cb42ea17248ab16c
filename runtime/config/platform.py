"""Config sections for the AWS platform: network, deployed model, storage, registry, serving, tracking, alarms.

Every default is a named constant in `runtime.config.defaults`; the docstring under each field is its reference
documentation (rendered into docs/config-reference.md and the JSON Schema), and states the effective default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints

from runtime.config import defaults as d
from runtime.config.base import ConfigModel
from runtime.config.checks import CanaryJudgeConfig

AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")]
Arn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")]
ImageDigest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
Cidr = Annotated[str, StringConstraints(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")]
ModelVersion = Annotated[str, StringConstraints(pattern=r"^[1-9]\d*$")]
Alias = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$")]


# Network ------------------------------------------------------------------------------------------------------
class NetworkConfig(ConfigModel):
    mode: Literal["existing", "create"] = "existing"
    """`existing`: use the VPC and subnets named below. `create`: build a minimal private VPC."""
    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")] | None = None
    """VPC id (mode `existing` only)."""
    private_subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []
    """Private subnets for tasks, databases and internal load balancers (mode `existing`; at least two AZs)."""
    public_subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []
    """Public subnets, needed only for an internet-facing load balancer (mode `existing`)."""
    cidr: Cidr = d.NETWORK_CIDR
    """VPC CIDR block (mode `create`). Changing it replaces the VPC."""
    az_count: int = Field(default=d.NETWORK_AZ_COUNT, ge=2, le=4)
    """Availability zones to spread subnets over (mode `create`)."""
    egress: Literal["nat", "endpoints"] = "endpoints"
    """How private tasks reach AWS APIs (mode `create`): `endpoints` (VPC interface/gateway endpoints for ECR,
    S3, CloudWatch Logs, Secrets Manager; no internet egress) or `nat` (one NAT gateway per AZ)."""


# The model that serves traffic ---------------------------------------------------------------------------------
class ModelRefConfig(ConfigModel):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    """Registered model name in the MLflow registry."""
    version: ModelVersion | None = None
    """Exact registered-model version that serves traffic. Required in production."""
    alias: Alias | None = None
    """MLflow alias the runtime resolves candidates from (staging, e.g. `candidate`). Not allowed in production,
    which pins an exact version."""
    image_digest: ImageDigest | None = None
    """Digest (`sha256:...`) of the serving image in the stack's ECR repository. Required in production; without
    it (staging, development) the serving platform is not created yet."""


# Storage ------------------------------------------------------------------------------------------------------
class StorageConfig(ConfigModel):
    kms_key_arn: Arn | None = None
    """Customer-managed KMS key for all buckets. Default: a key created by the stack, with rotation on."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete non-empty buckets. Security default: false; true only for throwaway stacks
    (the program warns; not allowed in production)."""
    noncurrent_version_days: int = Field(default=d.NONCURRENT_VERSION_DAYS, ge=1, le=3650)
    """Days noncurrent object versions are kept in the data and model buckets."""
    access_log_days: int = Field(default=d.ACCESS_LOG_DAYS, ge=1, le=3650)
    """Days S3/ALB access logs are kept in the log bucket."""


# Image registry -----------------------------------------------------------------------------------------------
class RegistryConfig(ConfigModel):
    untagged_expiry_days: int = Field(default=d.ECR_UNTAGGED_EXPIRY_DAYS, ge=1, le=365)
    """Untagged images expire after this many days."""
    max_tagged_images: int = Field(default=d.ECR_MAX_TAGGED_IMAGES, ge=1, le=10000)
    """At most this many tagged images are kept (oldest expire first)."""
    mutable_tags: bool = False
    """Allow tags to be overwritten. Security default: false (IMMUTABLE); true warns."""
    scan_on_push: bool = True
    """Scan each pushed image for vulnerabilities. Security default: true; false warns."""


# Serving ------------------------------------------------------------------------------------------------------
class AutoscalingConfig(ConfigModel):
    min_capacity: int = Field(default=d.SERVING_MIN_CAPACITY, ge=1, le=1000)
    """Minimum tasks (ECS) or replicas (EKS)."""
    max_capacity: int = Field(default=d.SERVING_MAX_CAPACITY, ge=1, le=1000)
    """Maximum tasks or replicas."""
    target_cpu_percent: float = Field(default=d.SERVING_TARGET_CPU_PERCENT, gt=0, le=100)
    """Target-tracking CPU utilisation."""
    target_requests_per_target: int | None = Field(default=None, ge=1)
    """ECS only: also track ALB requests per target (per minute) when set."""


class CanaryConfig(ConfigModel):
    strategy: Literal["canary", "linear", "rolling", "blue-green"] = "canary"
    """How a new model version takes traffic. `canary`: `percent` for `bakeMinutes`, then all. `linear`:
    `stepPercent` every `bakeMinutes`. `rolling`: replace tasks in place (circuit breaker only).
    `blue-green`: CodeDeploy (ECS) with the canary percent and bake time. All but `rolling` roll back on the
    canary alarms."""
    percent: float = Field(default=d.CANARY_PERCENT, gt=0, le=100)
    """Share of traffic (percent) the new version receives during the bake (strategies canary, blue-green);
    sane bounds 1 to 50."""
    step_percent: float = Field(default=d.LINEAR_STEP_PERCENT, gt=0, le=100)
    """Traffic added per step (strategy linear); 5 to 50."""
    bake_minutes: int = Field(default=d.CANARY_BAKE_MINUTES, ge=0, le=1440)
    """Minutes to hold each step while the alarms and the judge watch."""
    judge: CanaryJudgeConfig = CanaryJudgeConfig()
    """How `mlcicd canary judge` decides between baseline and canary."""


class LoadBalancerConfig(ConfigModel):
    internal: bool = True
    """Internal (private) load balancer. Security default: true; false makes it internet-facing and warns."""
    certificate_arn: Arn | None = None
    """ACM certificate. With it: HTTPS on 443 with a TLS 1.3 policy and port 80 only redirects."""
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    """Listener protocol; `HTTPS` requires `certificateArn`."""
    ingress_cidrs: list[Cidr] = []
    """CIDRs allowed to reach the load balancer. Default: the VPC CIDR only (mode create) or nothing but the
    security groups below."""
    ingress_security_group_ids: list[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]] = []
    """Security groups allowed to reach the load balancer."""
    deletion_protection: bool | None = None
    """Default: on in production, off elsewhere. Turning it off in production warns."""


class EksConfig(ConfigModel):
    cluster_name: str
    """Existing EKS cluster to deploy to."""
    endpoint: Annotated[str, StringConstraints(pattern=r"^https://")]
    """Cluster API endpoint (private or CIDR-restricted)."""
    certificate_authority_data: str
    """Base64 cluster CA certificate."""
    role_arn: Arn | None = None
    """Role to assume for cluster access (used in the generated kubeconfig's `aws eks get-token`)."""
    namespace: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] = d.EKS_NAMESPACE
    """Namespace for the model service."""
    install_argo_rollouts: bool = False
    """Install the Argo Rollouts controller with Helm (leave false when the cluster already runs it)."""
    argo_rollouts_chart_version: str = d.ARGO_ROLLOUTS_CHART_VERSION
    """Helm chart version of Argo Rollouts when installed."""


class ServingConfig(ConfigModel):
    backend: Literal["ecs", "eks"] = "ecs"
    """`ecs`: Fargate service behind an ALB. `eks`: Argo Rollouts on an existing cluster (needs `eks`)."""
    port: int = Field(default=d.SERVING_PORT, ge=1024, le=65535)
    """Container port of the MLflow scoring server (unprivileged: the container runs as non-root)."""
    cpu: int = Field(default=d.SERVING_CPU, ge=256, le=16384)
    """CPU units per task (1024 = 1 vCPU); a Fargate size together with `memory`."""
    memory: int = Field(default=d.SERVING_MEMORY, ge=512, le=122880)
    """Memory (MiB) per task."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    canary: CanaryConfig = CanaryConfig()
    load_balancer: LoadBalancerConfig = LoadBalancerConfig()
    log_retention_days: int | None = Field(default=None, ge=1, le=3653)
    """Log retention. Default: 365 in production, 30 elsewhere."""
    environment: dict[str, str] = {}
    """Extra environment variables for the serving container (no secrets here)."""
    eks: EksConfig | None = None
    """Cluster access, required when `backend` is `eks`."""


# Tracking -----------------------------------------------------------------------------------------------------
class OidcConfig(ConfigModel):
    issuer: Annotated[str, StringConstraints(pattern=r"^https://")]
    authorization_endpoint: Annotated[str, StringConstraints(pattern=r"^https://")]
    token_endpoint: Annotated[str, StringConstraints(pattern=r"^https://")]
    user_info_endpoint: Annotated[str, StringConstraints(pattern=r"^https://")]
    client_id: str
    client_secret: SecretStr
    """Set with `pulumi config set --secret`; never plain text in the stack file."""


class TrackingAuthConfig(ConfigModel):
    mode: Literal["basic", "oidc"] = "basic"
    """`basic`: MLflow's basic-auth app, admin credentials generated into Secrets Manager. `oidc`: ALB
    authenticates every request against the identity provider below (needs an HTTPS certificate). There is no
    `none`: a tracking server is never reachable without authentication."""
    oidc: OidcConfig | None = None


class DatabaseConfig(ConfigModel):
    instance_class: str = d.RDS_INSTANCE_CLASS
    allocated_storage_gb: int = Field(default=d.RDS_STORAGE_GB, ge=20, le=65536)
    engine_version: str = d.RDS_ENGINE_VERSION
    backup_retention_days: int = Field(default=d.RDS_BACKUP_DAYS, ge=7, le=35)
    """Automated backups (at least 7 days)."""
    multi_az: bool | None = None
    """Default: on in production."""
    deletion_protection: bool | None = None
    """Default: on in production (with a final snapshot). Turning it off in production warns."""


class SelfHostedTrackingConfig(ConfigModel):
    image: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@sha256:[0-9a-f]{64}$")]
    """MLflow server image pinned by digest (`repo:tag@sha256:...`), e.g. the official
    `ghcr.io/mlflow/mlflow` image or one built into the stack's ECR repository. Required: a tag alone can move."""
    cpu: int = Field(default=d.TRACKING_CPU, ge=256, le=16384)
    memory: int = Field(default=d.TRACKING_MEMORY, ge=512, le=122880)
    desired_count: int = Field(default=1, ge=1, le=10)
    database: DatabaseConfig = DatabaseConfig()
    auth: TrackingAuthConfig = TrackingAuthConfig()
    certificate_arn: Arn | None = None
    """HTTPS certificate for the tracking ALB (required for `auth.mode: oidc`)."""


class SageMakerTrackingConfig(ConfigModel):
    server_size: Literal["Small", "Medium", "Large"] = "Small"
    mlflow_version: str = d.SAGEMAKER_MLFLOW_VERSION
    automatic_model_registration: bool = True


class TrackingConfig(ConfigModel):
    mode: Literal["self-hosted", "sagemaker"] = "self-hosted"
    """`self-hosted`: MLflow on Fargate + RDS PostgreSQL behind an internal ALB. `sagemaker`: SageMaker's
    managed MLflow tracking server."""
    artifact_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9/_-]*/$")] = d.MLFLOW_PREFIX
    """Prefix in the models bucket for MLflow artifacts; the server's role is scoped to it."""
    self_hosted: SelfHostedTrackingConfig | None = None
    """Settings for mode `self-hosted` (required there: at least `image`)."""
    sagemaker: SageMakerTrackingConfig = SageMakerTrackingConfig()


# Alarms -------------------------------------------------------------------------------------------------------
class ModelQualityAlarmConfig(ConfigModel):
    namespace: str = d.MODEL_METRICS_NAMESPACE
    """CloudWatch namespace the runtime publishes model metrics to."""
    metric_name: str = d.MODEL_QUALITY_METRIC
    threshold: float = d.MODEL_QUALITY_THRESHOLD
    comparison: Literal["LessThanThreshold", "GreaterThanThreshold"] = "LessThanThreshold"
    """Alarm when the metric is below (quality score) or above (error-like metric) the threshold."""


class AlarmsConfig(ConfigModel):
    error_rate_percent: float = Field(default=d.ALARM_5XX_PERCENT, gt=0, le=100)
    """Target 5xx as percent of requests."""
    min_requests: int = Field(default=d.ALARM_MIN_REQUESTS, ge=0)
    """Below this many requests per period the error-rate alarm does not judge (low traffic misleads)."""
    p99_latency_ms: float = Field(default=d.ALARM_P99_MS, gt=0)
    period_seconds: Literal[10, 30, 60, 300] = 60
    evaluation_periods: int = Field(default=d.ALARM_EVALUATION_PERIODS, ge=1, le=60)
    datapoints_to_alarm: int = Field(default=d.ALARM_DATAPOINTS, ge=1, le=60)
    model_quality: ModelQualityAlarmConfig = ModelQualityAlarmConfig()
    emails: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    """Email subscriptions to the alarm topic (each confirms by mail)."""
