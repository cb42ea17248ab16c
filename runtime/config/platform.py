"""Config sections for the AWS platform: network, deployed model, storage, registry, serving, alarms (the tracking
server's are in `runtime.config.tracking`).

Every default is a named constant in `runtime.config.defaults`; the docstring under each field is its reference
documentation (rendered into docs/config-reference.md and the JSON Schema), and states the effective default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from runtime.config import defaults as d
from runtime.config.base import ConfigModel
from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
from runtime.config.replay import ShadowConfig

AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")]
Arn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")]
ImageDigest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
Cidr = Annotated[str, StringConstraints(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")]
ModelVersion = Annotated[str, StringConstraints(pattern=r"^[1-9]\d*$")]
Alias = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,254}$")]
AcmCertificateArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9A-Za-z-]+$")]
"""An ACM certificate in the stack's region (a load balancer can only use certificates of its own region)."""
Hostname = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")]
"""A DNS name of the team's own domain that clients use instead of a load balancer's (ACM certifies only names of
domains you control, never `*.elb.amazonaws.com`)."""
EcrRepositoryArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+"
            r"(?:[._-][a-z0-9]+)*$")]


# Network ------------------------------------------------------------------------------------------------------
class NetworkConfig(ConfigModel):
    mode: Literal["existing", "create"] = d.NETWORK_MODE
    """`existing`: use the VPC and subnets named below. `create`: build a minimal private VPC."""
    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")] | None = None
    """VPC id (mode `existing` only)."""
    private_subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []
    """Private subnets for tasks, databases and internal load balancers (mode `existing`; at least two AZs)."""
    public_subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []
    """Public subnets, needed only for an internet-facing load balancer (mode `existing`)."""
    cidr: Cidr = d.NETWORK_CIDR
    """VPC CIDR block (mode `create`; /24 or larger, split into /prefix+4 subnets). Default `10.40.0.0/16`.
    Changing it replaces the VPC."""
    az_count: int = Field(default=d.NETWORK_AZ_COUNT, ge=2, le=4)
    """Availability zones to spread subnets over (mode `create`). Default 2."""
    egress: Literal["nat", "endpoints"] = d.NETWORK_EGRESS
    """How private tasks reach AWS APIs (mode `create`). Default `endpoints`: a gateway endpoint for S3 and
    interface endpoints for ECR (api, dkr), CloudWatch Logs, Secrets Manager, STS and CloudWatch metrics, admitting
    HTTPS from the VPC only; no route to the internet at all. `nat`: public subnets with one NAT gateway per AZ.
    An internet-facing load balancer (`serving.loadBalancer.internal: false`) adds public subnets either way."""


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
    force_destroy: bool = d.FORCE_DESTROY
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
    mutable_tags: bool = d.MUTABLE_TAGS
    """Allow tags to be overwritten. Security default: false (IMMUTABLE); true warns."""
    scan_on_push: bool = d.SCAN_ON_PUSH
    """Scan each pushed image for vulnerabilities. Security default: true; false warns."""
    image_repository_arn: EcrRepositoryArn | None = None
    """In a stack that does not host the delivery pipeline (production): the repository the pipeline pushes to,
    `pulumi stack output imageRepositoryArn --stack <the pipeline's stack>`. This stack then creates no repository
    and serves `model.imageDigest` from that one, so it runs the very image the pipeline built, scanned and
    tested (the other keys of this section are the pipeline stack's). Same account and region; required in
    production without `pipeline`. Default: none (this stack creates its repository)."""


# Serving ------------------------------------------------------------------------------------------------------
class AutoscalingConfig(ConfigModel):
    min_capacity: int = Field(default=d.SERVING_MIN_CAPACITY, ge=1, le=1000)
    """Minimum tasks (ECS) or replicas (EKS); also the initial desired count. Default 2."""
    max_capacity: int = Field(default=d.SERVING_MAX_CAPACITY, ge=1, le=1000)
    """Maximum tasks or replicas. Default 6."""
    target_cpu_percent: float = Field(default=d.SERVING_TARGET_CPU_PERCENT, gt=0, le=100)
    """Target-tracking CPU utilisation (percent). Default 60."""
    target_requests_per_target: int | None = Field(default=None, ge=1)
    """ECS only: also track load balancer requests per task per minute, counted over both target groups (a
    canary moves traffic between them). Default: none (CPU only)."""


class CanaryConfig(ConfigModel):
    strategy: Literal["canary", "linear", "rolling", "blue-green"] = d.CANARY_STRATEGY
    """How a new model version takes traffic. Default `canary`: `percent` for `bakeMinutes`, then all (ECS-native
    CANARY). `linear`: `stepPercent` every `bakeMinutes` (ECS-native LINEAR). `rolling`: replace tasks in place.
    `blue-green`: the CodeDeploy controller (ECS only) with the canary percent and bake time; deployments are
    then started in CodeDeploy. Every strategy rolls back on the canary alarms; the ECS-controlled ones also have
    the deployment circuit breaker. See docs/architecture.md, "Deployment strategy choice"."""
    percent: float = Field(default=d.CANARY_PERCENT, gt=0, le=100)
    """Share of traffic (percent) the new version receives during the bake (strategies canary, blue-green).
    Default 10; allowed 1 to 50; whole percents for `blue-green`."""
    step_percent: float = Field(default=d.LINEAR_STEP_PERCENT, gt=0, le=100)
    """Traffic added per step (strategy linear). Default 20; allowed 5 to 50."""
    bake_minutes: int = Field(default=d.CANARY_BAKE_MINUTES, ge=0, le=1440)
    """Minutes to hold each step while the alarms and the judge watch; also how long the old version stays up
    after the full shift. Default 10; at least 1 for `blue-green`."""
    judge: CanaryJudgeConfig = CanaryJudgeConfig()
    """How `mlcicd canary judge` decides between baseline and canary."""
    probe: CanaryProbeConfig = CanaryProbeConfig()
    """Probe traffic for the judge where nothing publishes per-variant metrics (the EKS analysis step sends it to
    the stable and canary Services): rate, bounds and allowed hosts."""


class LoadBalancerConfig(ConfigModel):
    internal: bool = d.LOAD_BALANCER_INTERNAL
    """Internal (private) load balancer. Security default: true; false makes it internet-facing and warns."""
    certificate_arn: AcmCertificateArn | None = None
    """ACM certificate for `protocol: HTTPS`: HTTPS on 443 with the TLS 1.3 policy, port 80 only redirects.
    Default: none."""
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    """Listener protocol. Default `HTTP` (internal load balancers only); `HTTPS` requires `certificateArn` and
    `hostname`."""
    hostname: Hostname | None = None
    """Backend `ecs`: the DNS name clients use, a record of your domain you point at the load balancer (alias or
    CNAME to the `servingLoadBalancerDnsName` output); `modelEndpoint` uses it. Required with `protocol: HTTPS`,
    where it must match `certificateArn`: no ACM certificate covers the load balancer's own DNS name, so TLS
    verification of `https://<load balancer DNS name>` fails. Default: none, `modelEndpoint` is
    `http://<load balancer DNS name>`. Not with backend `eks` (its endpoint is the in-cluster Service URL)."""
    ingress_cidrs: list[Cidr] = []
    """CIDRs allowed to reach the load balancer. Default: the VPC CIDR, unless security groups are listed below
    (then only those). Never implied `0.0.0.0/0`."""
    ingress_security_group_ids: list[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]] = []
    """Security groups allowed to reach the load balancer. Default: none."""
    deletion_protection: bool | None = None
    """Default: on in production, off elsewhere. Turning it off in production warns."""


class EksConfig(ConfigModel):
    cluster_name: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")]
    """Existing EKS cluster to deploy to (the stack never creates or changes the cluster itself)."""
    endpoint: Annotated[str, StringConstraints(pattern=r"^https://")]
    """Cluster API endpoint (private or CIDR-restricted)."""
    certificate_authority_data: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/=\s]{20,}$")]
    """Base64 cluster CA certificate (`aws eks describe-cluster --query cluster.certificateAuthority.data`)."""
    role_arn: Arn | None = None
    """Role to assume for cluster access (passed to `aws eks get-token --role-arn` in the generated kubeconfig).
    Default: none, the deploying identity's own credentials."""
    namespace: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] = d.EKS_NAMESPACE
    """Namespace for the model service. Default `ml-serving`."""
    create_namespace: bool = True
    """Create the namespace, labelled for the `restricted` Pod Security Standard. Default true; false when a
    platform team owns it (then make sure it enforces `restricted` too; the program warns)."""
    install_argo_rollouts: bool = False
    """Install the Argo Rollouts controller with Helm. Default false (the cluster already runs it)."""
    argo_rollouts_chart_version: str = d.ARGO_ROLLOUTS_CHART_VERSION
    """Helm chart version of Argo Rollouts when installed. Default `2.40.5`."""
    judge_image: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@sha256:[0-9a-f]{64}$")] | None = None
    """Runtime image (with the `mlcicd` CLI) that runs `mlcicd canary judge` as the Rollout's analysis step,
    pinned by digest. Required unless `canary.strategy` is `rolling`. Not the serving image: that one holds
    only the model and MLflow's scoring server."""
    judge_pod_identity: bool = True
    """Give the judge its own IAM role through EKS Pod Identity (read CloudWatch metrics, publish the probe's
    metrics into the model namespace only). Default true; needs the `eks-pod-identity-agent` add-on on the
    cluster."""
    run_as_user: int = Field(default=d.EKS_RUN_AS_USER, ge=1, le=2147483647)
    """Non-root UID every container runs as (also the group and fsGroup). Default 10001."""
    scratch_mib: int = Field(default=d.EKS_SCRATCH_MIB, ge=16, le=65536)
    """Size limit of the writable `/tmp` (emptyDir) next to the read-only root filesystem. Default 512."""


class ServingConfig(ConfigModel):
    backend: Literal["ecs", "eks"] = d.SERVING_BACKEND
    """`ecs`: Fargate service behind an ALB. `eks`: Argo Rollouts on an existing cluster (needs `eks`)."""
    port: int = Field(default=d.SERVING_PORT, ge=1024, le=65535)
    """Container port of the MLflow scoring server (unprivileged: the container runs as non-root). Default 8080."""
    cpu: int = Field(default=d.SERVING_CPU, ge=256, le=16384)
    """CPU units per task (1024 = 1 vCPU); a Fargate size together with `memory`. Default 1024."""
    memory: int = Field(default=d.SERVING_MEMORY, ge=512, le=122880)
    """Memory (MiB) per task. Default 2048."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    canary: CanaryConfig = CanaryConfig()
    load_balancer: LoadBalancerConfig = LoadBalancerConfig()
    log_retention_days: int | None = Field(default=None, ge=1, le=3653)
    """Log retention. Default: 365 in production, 30 elsewhere."""
    environment: dict[str, str] = {}
    """Extra environment variables for the serving container (no secrets here)."""
    eks: EksConfig | None = None
    """Cluster access, required when `backend` is `eks`."""
    shadow: ShadowConfig = ShadowConfig()
    """A shadow variant fed a mirror of live traffic. Default: off."""


# Alarms -------------------------------------------------------------------------------------------------------
class ModelQualityAlarmConfig(ConfigModel):
    namespace: str = d.MODEL_METRICS_NAMESPACE
    """CloudWatch namespace the runtime publishes model metrics to (quality, canary verdict); the serving task
    may publish to this namespace only. Default `MLCICD/Model`."""
    metric_name: str = d.MODEL_QUALITY_METRIC
    """Quality metric, published per `ModelName` and `Variant`; the rollback alarm watches the canary variant.
    Default `PredictionQuality`."""
    threshold: float = d.MODEL_QUALITY_THRESHOLD
    """Quality threshold. Default 0.8."""
    comparison: Literal["LessThanThreshold", "GreaterThanThreshold"] = d.MODEL_QUALITY_COMPARISON
    """Alarm when the metric is below (quality score) or above (error-like metric) the threshold. Default
    `LessThanThreshold`."""


class AlarmsConfig(ConfigModel):
    error_rate_percent: float = Field(default=d.ALARM_5XX_PERCENT, gt=0, le=100)
    """Target 5xx as percent of requests, in the worst target group. Default 1."""
    min_requests: int = Field(default=d.ALARM_MIN_REQUESTS, ge=0)
    """Below this many requests per period a target group's error rate and p99 count as 0: low traffic does
    not judge (the canary judge answers INCONCLUSIVE there instead). Default 50."""
    p99_latency_ms: float = Field(default=d.ALARM_P99_MS, gt=0)
    """p99 target response time threshold (ms), in the worst target group. Default 500."""
    period_seconds: Literal[10, 30, 60, 300] = d.ALARM_PERIOD_SECONDS
    """Alarm period. Default 60. Load balancer metrics exist per minute only: their alarms use at least 60."""
    evaluation_periods: int = Field(default=d.ALARM_EVALUATION_PERIODS, ge=1, le=60)
    """Periods each alarm evaluates. Default 3."""
    datapoints_to_alarm: int = Field(default=d.ALARM_DATAPOINTS, ge=1, le=60)
    """Breaching periods (of `evaluationPeriods`) that raise an alarm. Default 2. The canary-verdict alarm
    always uses 1 of 1: one failed verdict is decisive."""
    model_quality: ModelQualityAlarmConfig = ModelQualityAlarmConfig()
    emails: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    """Email subscriptions to the (KMS-encrypted) alarm topic; each address confirms by mail. Default: none."""
