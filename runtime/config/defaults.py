"""Every default of the stack config that a component shares, named, in one place.

The config model (`runtime.config`) uses these for its field defaults and the components (`components/`) use the same
constants when an argument is left out, so a stack file that omits a key and a program that omits an argument get
the same value. Direction: components import this module, never the reverse.

Beside each: the config key, what it decides, whether it is a security decision (docs/security.md), and what
changing it does to a deployed stack ("in place": the resource is updated; "replaces": Pulumi deletes and
recreates it; "new revision": an immutable resource such as a task definition gets a new revision and the service
rolls it out with its deployment strategy). Defaults only the runtime's checks use (gates, smoke, canary judge) stay
beside their fields in `checks.py` and `gates.py`.
"""

from typing import Final

from runtime.serving.command import RUN_AS_UID

# Network ------------------------------------------------------------------------------------------------------
#: `network.mode`: use an existing VPC. Switching modes moves every workload to another VPC (replaces them).
NETWORK_MODE: Final = "existing"
#: `network.cidr` (mode `create`). Changing it replaces the VPC, its subnets and everything in them.
NETWORK_CIDR = "10.40.0.0/16"
#: `network.azCount` (mode `create`). Changing it adds or removes subnets (and their NAT gateways, endpoints' ENIs).
NETWORK_AZ_COUNT = 2
#: `network.egress` (mode `create`). Security: `endpoints` leaves private subnets without any internet route.
#: Changing it adds or removes the NAT gateways or the interface endpoints (in place for everything else).
NETWORK_EGRESS: Final = "endpoints"

# Storage ------------------------------------------------------------------------------------------------------
#: `storage.forceDestroy`. Security: false, so `pulumi destroy` cannot delete non-empty buckets. In place.
FORCE_DESTROY = False
#: `storage.noncurrentVersionDays`: how long overwritten data and model versions are kept. In place (lifecycle).
NONCURRENT_VERSION_DAYS = 90
#: `storage.accessLogDays`: how long S3 and ALB access logs are kept. In place (lifecycle).
ACCESS_LOG_DAYS = 365

# Image registry -----------------------------------------------------------------------------------------------
#: `registry.mutableTags`. Security: IMMUTABLE tags, so a pinned digest's tag can never be re-pointed. In place.
MUTABLE_TAGS = False
#: `registry.scanOnPush`. Security: every pushed image is scanned. In place.
SCAN_ON_PUSH = True
#: `registry.untaggedExpiryDays`. In place (lifecycle policy).
ECR_UNTAGGED_EXPIRY_DAYS = 7
#: `registry.maxTaggedImages`. In place (lifecycle policy; the oldest tagged images beyond it expire).
ECR_MAX_TAGGED_IMAGES = 50

# Serving ------------------------------------------------------------------------------------------------------
#: `serving.backend`. Switching backends replaces the whole model service.
SERVING_BACKEND: Final = "ecs"
#: `serving.port`: the scoring server's container port (unprivileged: the container is non-root). New task
#: definition revision; on ECS also replaces the target groups (a target group's port is fixed).
SERVING_PORT = 8080
#: `serving.cpu` / `serving.memory` per task or pod. New revision (task definition or pod template).
SERVING_CPU = 1024
SERVING_MEMORY = 2048
#: `serving.autoscaling.minCapacity` / `maxCapacity` / `targetCpuPercent`. In place (scaling target and policy;
#: the initial desired count only at creation).
SERVING_MIN_CAPACITY = 2
SERVING_MAX_CAPACITY = 6
SERVING_TARGET_CPU_PERCENT = 60.0
#: `serving.canary.strategy`. Security: every strategy rolls back on the canary alarms. Between the ECS-native
#: strategies in place (target groups and the listener rule are added or removed); to or from `blue-green` also
#: changes the service's deployment controller and adds or removes the CodeDeploy resources.
CANARY_STRATEGY: Final = "canary"
#: `serving.canary.percent` and its allowed range. In place (applies to the next deployment).
CANARY_PERCENT = 10.0
CANARY_PERCENT_BOUNDS = (1.0, 50.0)
#: `serving.canary.stepPercent` (linear) and its allowed range. In place.
LINEAR_STEP_PERCENT = 20.0
LINEAR_STEP_BOUNDS = (5.0, 50.0)
#: `serving.canary.bakeMinutes`. In place (ECS deployment configuration, CodeDeploy config, Argo steps).
CANARY_BAKE_MINUTES = 10
#: `serving.loadBalancer.internal`. Security: internal; false warns. Changing it replaces the load balancer.
LOAD_BALANCER_INTERNAL = True
#: Effective `serving.logRetentionDays` (also the tracking server's and the build logs' unless set). In place.
LOG_RETENTION_DAYS_PRODUCTION = 365
LOG_RETENTION_DAYS_OTHER = 30
#: `serving.eks.namespace`. Changing it recreates every namespaced object of the service in the new namespace.
EKS_NAMESPACE = "ml-serving"
#: `serving.eks.argoRolloutsChartVersion`. In place (Helm upgrade of the controller).
ARGO_ROLLOUTS_CHART_VERSION = "2.40.5"
#: `serving.eks.runAsUser`: the non-root UID of every container: the serving command's user
#: (runtime/serving/command.py). Security. New pod template revision.
EKS_RUN_AS_USER = RUN_AS_UID
#: `serving.eks.scratchMib`: size limit of the writable /tmp. New pod template revision.
EKS_SCRATCH_MIB = 512

# Tracking -----------------------------------------------------------------------------------------------------
#: `tracking.artifactPrefix`: MLflow's artifact root in the models bucket; every role touching artifacts is scoped
#: to it. In place (policies, server settings); existing artifacts stay under the old prefix.
MLFLOW_PREFIX = "mlflow/"
#: `tracking.selfHosted.cpu` / `memory`. New task definition revision of the MLflow server.
TRACKING_CPU = 1024
TRACKING_MEMORY = 2048
#: `tracking.selfHosted.database.*`. In place (RDS modifies the instance; in production in the maintenance
#: window). The backup retention is a security decision: at least 7 days.
RDS_INSTANCE_CLASS = "db.t4g.small"
RDS_STORAGE_GB = 20
RDS_ENGINE_VERSION = "16"  # the major: RDS applies minor upgrades itself
RDS_BACKUP_DAYS = 7
#: `tracking.sagemaker.mlflowVersion`.
SAGEMAKER_MLFLOW_VERSION = "3.0"
#: `tracking.selfHosted.auth.adminUsername`: MLflow reads it only when it first creates the admin user.
TRACKING_ADMIN_USER = "admin"
#: `tracking.selfHosted.auth.oidc.sessionTimeoutSeconds`. Security: one hour (AWS's default is 7 days). In place.
OIDC_SESSION_SECONDS = 3600

# Alarms -------------------------------------------------------------------------------------------------------
#: `alarms.modelQuality.namespace`: where the runtime publishes model metrics; the serving task, the probe and the
#: drift job may publish there only. In place (alarms and policies follow; old datapoints stay in the old one).
MODEL_METRICS_NAMESPACE = "MLCICD/Model"
#: `alarms.modelQuality.metricName` / `threshold` / `comparison`. In place.
MODEL_QUALITY_METRIC = "PredictionQuality"
MODEL_QUALITY_THRESHOLD = 0.8
MODEL_QUALITY_COMPARISON: Final = "LessThanThreshold"
#: `alarms.errorRatePercent`, `minRequests`, `p99LatencyMs`, `periodSeconds`, `evaluationPeriods`,
#: `datapointsToAlarm`: the rollback alarms' thresholds and evaluation. In place.
ALARM_5XX_PERCENT = 1.0
ALARM_MIN_REQUESTS = 50
ALARM_P99_MS = 500.0
ALARM_PERIOD_SECONDS: Final = 60
ALARM_EVALUATION_PERIODS = 3
ALARM_DATAPOINTS = 2

# Delivery pipeline (`pipeline.*`): all in place (CodeBuild projects and the pipeline are updated) ----------------
BUILD_IMAGE = "aws/codebuild/standard:7.0"
COMPUTE_TYPE: Final = "BUILD_GENERAL1_SMALL"
TRAIN_COMPUTE_TYPE: Final = "BUILD_GENERAL1_LARGE"
ACTION_TIMEOUT_MINUTES = 60
TRAIN_TIMEOUT_MINUTES = 240
APPROVAL_TIMEOUT_MINUTES = 4320  # 3 days
PULUMI_VERSION = "3.272.0"
PYTHON_VERSION: Final = "3.11"
#: `pipeline.installCommand` and `monitoring.source.installCommand`: how every build installs the repository.
#: How every action but UnitTests and Lint installs the repository: the runtime alone (no Pulumi SDKs).
INSTALL_COMMAND = "python -m pip install -e ."
#: How UnitTests and Lint install it: with the test tools.
TEST_INSTALL_COMMAND = "python -m pip install -e '.[test]'"

# Monitoring jobs (`monitoring.drift.*`, `monitoring.batch.*`): all in place -------------------------------------
DRIFT_SCHEDULE = "rate(1 day)"
DRIFT_INFERENCE_PREFIX = "inference/"
DRIFT_REFERENCE_PROFILE_KEY = "profiles/reference.npz"
#: Drift share (drifted columns / columns) at or above which the drift alarm fires.
DRIFT_ALARM_THRESHOLD = 0.2
BATCH_SCHEDULE = "cron(0 3 * * ? *)"
BATCH_INPUT_PREFIX = "batch/input/"
BATCH_OUTPUT_PREFIX = "batch/output/"

# Inference capture (`monitoring.capture.*`) -------------------------------------------------------------------
#: `monitoring.capture.deliveryBufferSeconds` / `deliveryBufferMib`: Firehose's buffering before it writes an S3
#: object (Parquet conversion needs at least 64 MiB). In place (the stream is updated).
CAPTURE_DELIVERY_BUFFER_SECONDS = 300
CAPTURE_DELIVERY_BUFFER_MIB = 128
