"""Stack output names: the contract between the program (`infra/` exports them), the components' generated
commands (the Deploy action reads the endpoint with `jq`) and the runtime (`pulumi stack output --json` readers).

Every layer can use it (infra -> components -> runtime); `read_stack_outputs` reads a saved
`pulumi stack output --json` file for the canary judge and the rollout check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.errors import UsageError

DATA_BUCKET = "dataBucket"
MODELS_BUCKET = "modelsBucket"
PIPELINE_BUCKET = "pipelineBucket"
LOG_BUCKET = "logBucket"
KMS_KEY_ARN = "kmsKeyArn"
IMAGE_REPOSITORY_URL = "imageRepositoryUrl"
IMAGE_REPOSITORY_ARN = "imageRepositoryArn"
MODEL_NAME = "modelName"
MODEL_VERSION = "modelVersion"
IMAGE_DIGEST = "imageDigest"

# Network
VPC_ID = "vpcId"
PRIVATE_SUBNET_IDS = "privateSubnetIds"

# Serving (present once `model.imageDigest` is pinned)
MODEL_ENDPOINT = "modelEndpoint"
SERVING_CLUSTER = "servingCluster"
SERVING_SERVICE = "servingService"
SERVING_LOG_GROUP = "servingLogGroup"
#: ECS: the load balancer's own DNS name, the target of the DNS record (alias or CNAME) for
#: `serving.loadBalancer.hostname` (no certificate covers this name itself).
SERVING_LOAD_BALANCER_DNS_NAME = "servingLoadBalancerDnsName"
#: ALB metric dimensions the canary judge reads: the load balancer's and the target groups' ARN suffixes
#: (`{"primary": ..., "alternate": ...}`; the canary is whichever the production rule currently weights less).
SERVING_LOAD_BALANCER = "servingLoadBalancerArnSuffix"
SERVING_TARGET_GROUPS = "servingTargetGroupArnSuffixes"
#: CodeDeploy deployment group (strategy `blue-green` only): the deploy stage starts deployments in it.
SERVING_DEPLOYMENT_GROUP = "servingDeploymentGroup"
#: The shadow variant's ECS service or Kubernetes Deployment (`serving.shadow.enabled` only).
SHADOW_SERVICE = "servingShadowService"

# Canary alarms
ROLLBACK_ALARMS = "rollbackAlarmNames"
ROLLBACK_COMPOSITE_ALARM = "rollbackCompositeAlarm"
ALARM_TOPIC_ARN = "alarmTopicArn"

# Tracking
#: `MLFLOW_TRACKING_URI` of the stack (self-hosted: `https://<tracking.selfHosted.hostname>`; sagemaker: the server
#: URL; external: `tracking.external.uri`).
TRACKING_URI = "trackingUri"
#: Self-hosted: the tracking load balancer's own DNS name, the target of the DNS record (alias or CNAME) for
#: `tracking.selfHosted.hostname` (no certificate covers this name itself).
TRACKING_LOAD_BALANCER_DNS_NAME = "trackingLoadBalancerDnsName"
#: Self-hosted with basic auth: the Secrets Manager secret holding the MLflow admin credentials.
TRACKING_ADMIN_SECRET_ARN = "trackingAdminSecretArn"
#: SageMaker mode: the tracking server ARN (the URI the `sagemaker-mlflow` plugin takes).
TRACKING_SERVER_ARN = "trackingServerArn"

# Delivery pipeline and monitoring
PIPELINE_NAME = "pipelineName"
#: The Deploy action's role: add it to the trust policy of `pipeline.deployRoleArn`.
PIPELINE_DEPLOY_ROLE_ARN = "pipelineDeployActionRoleArn"
DRIFT_ALARM = "driftAlarmName"
BATCH_JOB = "batchInferenceProject"
#: `data.engine: spark`: the EMR Serverless application that runs the data gate.
DATA_SPARK_APPLICATION = "dataSparkApplicationId"

# Inference capture (`monitoring.capture.enabled` with serving)
CAPTURE_STREAM = "captureStreamName"
CAPTURE_TABLE = "captureGlueTable"
CAPTURE_ALARMS = "captureAlarmNames"


def read_stack_outputs(path: Path | None, option: str = "--stack-outputs") -> dict[str, Any]:
    """The outputs in `path` (empty when no file is given); UsageError (exit 2) for a missing or malformed file."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such file; save `pulumi stack output --json --stack S > FILE`") \
            from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{option} {path}: not readable JSON ({exc}); save `pulumi stack output --json`") from None
    if not isinstance(data, dict):
        raise UsageError(f"{option} {path}: expected a JSON object of outputs")
    return data
