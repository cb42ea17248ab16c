"""The choices components make on their own, named, in one place.

Defaults the stack config shares (ports, sizes, thresholds, schedules, the secure booleans users may turn off) live
in `runtime/config/defaults.py`, and components import them from there: one value, one place. This module holds what
no config key sets: fixed security settings, AWS requirements and the defaults of component-only arguments.
Beside each: why, and what changing it would do to a deployed stack ("in place", "replaces", "new revision" as in
runtime/config/defaults.py). Security decisions are listed in docs/security.md.
"""

# Arguments without a config key ---------------------------------------------------------------------------------
#: `protect` (ArtifactStore, ImageRepository), `deletion_protection` (ModelService), `production` (TrackingServer):
#: production protections are off unless the caller asks; the program turns them on for production stacks.
PRODUCTION_PROTECTIONS = False

# Load balancers -------------------------------------------------------------------------------------------------
#: Security: TLS 1.3 only on every HTTPS listener. In place.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-3-2021-06"
#: Seconds a draining target keeps its in-flight requests (scoring calls are short). In place.
DEREGISTRATION_DELAY_SECONDS = 30
#: Seconds the load balancer health checks of a new serving task are ignored while the model loads (also the
#: container health check's start period). New task definition revision / in place on the service.
HEALTH_CHECK_GRACE_SECONDS = 60

# S3 and KMS -----------------------------------------------------------------------------------------------------
#: Security: SSE-KMS with a bucket key (the bucket key cuts KMS request cost by ~99 %). In place.
SSE_ALGORITHM = "aws:kms"
#: Server access logs and ALB access logs can only be delivered to an SSE-S3 (AES256) bucket: AWS requirement.
LOG_BUCKET_SSE_ALGORITHM = "AES256"
#: Pipeline artifacts are transient; kept this many days. In place (lifecycle).
PIPELINE_ARTIFACT_DAYS = 30
#: Incomplete multipart uploads are aborted after this many days (they cost storage and are invisible). In place.
ABORT_MULTIPART_DAYS = 7
#: Days a KMS key waits before deletion when removed from the stack (the maximum: a mistake can be undone).
KMS_DELETION_WINDOW_DAYS = 30

#: Regions opened before August 2022 deliver ALB access logs from a regional ELB account instead of the
#: `logdelivery.elasticloadbalancing.amazonaws.com` service principal (AWS ELB user guide, "Attach a policy").
ELB_LEGACY_LOG_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1", "me-south-1",
    "sa-east-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
})

# Network --------------------------------------------------------------------------------------------------------
#: Interface endpoints of a created VPC (egress `endpoints`): ECR image pulls (api + dkr; layers come through the
#: S3 gateway endpoint), task logs, secrets injected by ECS, STS for the SDKs, CloudWatch metrics from the runtime.
#: Adding or removing one adds or removes that endpoint only.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "monitoring")

# Containers (ECS tasks and EKS pods) ---------------------------------------------------------------------------
#: Security: the only writable path of every container (root filesystems are read-only): an ephemeral task volume
#: on Fargate (no tmpfs there), a size-limited emptyDir on EKS. HOME points at it. New revision.
SCRATCH_PATH = "/tmp"  # noqa: S108 - a mount point in the container, not a temp file here
#: The serving container's command, user and writable paths are defined once in runtime/serving/command.py.

#: Seconds between autoscaling actions of the serving service: out fast (latency), in slowly (no flapping). In place.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300

# Inference capture ------------------------------------------------------------------------------------------------
#: Key prefix in the data bucket of capture records Firehose could not convert or deliver (beside the captures).
#: Changing it moves where new failures land (the delivery role's grant follows). In place.
CAPTURE_ERROR_PREFIX = "inference-errors/"

# Tracking server (MLflow on Fargate) ----------------------------------------------------------------------------
#: MLflow's port, its non-root user (security), the database name and user, PostgreSQL's port. The database name and
#: user are fixed at creation: changing them would replace the database.
TRACKING_PORT = 5000
TRACKING_CONTAINER_USER = "10001:10001"
TRACKING_DB_NAME = "mlflow"
TRACKING_DB_USER = "mlflow"
POSTGRES_PORT = 5432
#: Generated MLflow admin password length (MLflow requires at least 12 characters). Read once, at first start.
TRACKING_ADMIN_PASSWORD_LENGTH = 40
