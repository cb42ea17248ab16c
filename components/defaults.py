"""Component-level constants (AWS names and policies), in one place. Config defaults live in
runtime/config/defaults.py; these are the fixed choices a component makes."""

#: TLS 1.3 policy for HTTPS listeners (TLS 1.3 only).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-3-2021-06"

#: S3 encryption: SSE-KMS with a bucket key (cuts KMS request cost by ~99 %).
SSE_ALGORITHM = "aws:kms"

#: Server access logs and ALB access logs can only be delivered to an SSE-S3 (AES256) bucket: AWS requirement.
LOG_BUCKET_SSE_ALGORITHM = "AES256"

#: Pipeline artifacts are transient; keep them this many days.
PIPELINE_ARTIFACT_DAYS = 30

#: Abort incomplete multipart uploads after this many days (they cost storage and are invisible).
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

#: Interface endpoints of a created VPC (egress `endpoints`): ECR image pulls (api + dkr; layers come through the
#: S3 gateway endpoint), task logs, secrets injected by ECS, STS for the SDKs, CloudWatch metrics from the runtime.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "monitoring")

#: The serving container's command, user and only writable paths are defined once in runtime/serving/command.py.

#: Seconds a draining target keeps its in-flight requests (scoring calls are short).
DEREGISTRATION_DELAY_SECONDS = 30
#: Seconds the load balancer health checks of a new task are ignored while the model loads.
HEALTH_CHECK_GRACE_SECONDS = 60

#: Tracking server (MLflow on Fargate): port, non-root user, database name and user, PostgreSQL port.
TRACKING_PORT = 5000
TRACKING_CONTAINER_USER = "10001:10001"
TRACKING_DB_NAME = "mlflow"
TRACKING_DB_USER = "mlflow"
POSTGRES_PORT = 5432
#: Generated MLflow admin password length (MLflow requires at least 12 characters).
TRACKING_ADMIN_PASSWORD_LENGTH = 40
