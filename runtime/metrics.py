"""CloudWatch metric contract shared by the platform (alarms, Pulumi) and the runtime (publishers, judge).

Load balancer metrics come from AWS (namespace AWS/ApplicationELB, per target group). Model metrics are published
by the runtime into the namespace from the stack config (`alarms.modelQuality.namespace`, default MLCICD/Model).
Constants only: the serving image carries this module with runtime/serving/.
"""

ALB_NAMESPACE = "AWS/ApplicationELB"
ALB_REQUESTS = "RequestCount"
ALB_TARGET_5XX = "HTTPCode_Target_5XX_Count"
ALB_RESPONSE_TIME = "TargetResponseTime"  # seconds
ALB_DIMENSION_LB = "LoadBalancer"  # the load balancer's arnSuffix
ALB_DIMENSION_TG = "TargetGroup"  # the target group's arnSuffix

#: Dimensions of every model metric the runtime publishes.
DIMENSION_MODEL = "ModelName"
DIMENSION_VARIANT = "Variant"  # "baseline" or "canary" while a canary runs
VARIANT_BASELINE = "baseline"
VARIANT_CANARY = "canary"
VARIANT_SHADOW = "shadow"  # a shadow variant: mirrored traffic only, never answers a caller

#: Published by `mlcicd canary judge --act`: 1 when the canary passed, 0 when it failed (the rollback alarm
#: fires on 0). Dimension: ModelName.
CANARY_VERDICT = "CanaryVerdict"
#: Published by the drift monitor: share of drifted columns (0..1). Dimension: ModelName.
DRIFT_SCORE = "DriftScore"
#: Prediction statistics published for the canary judge's distribution comparison (dimensions ModelName, Variant).
PREDICTION_MEAN = "PredictionMean"
#: Prediction histogram for the canary judge: per period, how many predictions fell into each bin (dimensions
#: ModelName, Variant, Bin). Bin labels are the publisher's (a class label, or a numeric interval such as
#: "[0.3,0.4)" from `runtime.canary.bins.score_bin`); the judge compares whatever bins either side published.
PREDICTION_COUNT = "PredictionCount"
#: Response-time histogram for the canary judge: per period, how many requests fell into each bin of the fixed
#: grid `runtime.canary.bins.LATENCY_LABELS` (dimensions ModelName, Variant, Bin).
RESPONSE_TIME_COUNT = "ResponseTimeCount"
DIMENSION_BIN = "Bin"

#: Published by every serving process with inference capture (dimension ModelName), per minute and at shutdown:
#: sampled requests whose records reached the Firehose stream, and those that did not (buffer full, delivery failed
#: after retries, or still buffered when the process stopped). The capture alarm fires on any drop.
CAPTURE_SENT = "CaptureRequestsSent"
CAPTURE_DROPPED = "CaptureRequestsDropped"

#: Published by `mlcicd monitor drift` / `monitor quality` per model version (dimensions ModelName, ModelVersion).
DIMENSION_VERSION = "ModelVersion"
#: 1 when the drift job's window had too few captured rows to decide (a version, or the whole window), else 0.
DRIFT_INCONCLUSIVE = "DriftWindowInconclusive"
#: Live quality: labels that match no capture, captures in the window without a label (dimension ModelName).
QUALITY_UNMATCHED_LABELS = "QualityUnmatchedLabels"
QUALITY_UNLABELED_CAPTURES = "QualityUnlabeledCaptures"
#: Published by serving processes that mirror to a shadow variant (dimension ModelName): copies the shadow answered,
#: and copies that did not reach it (no answer, or dropped because the mirror buffer was full or at shutdown).
MIRROR_SENT = "ShadowMirrorSent"
MIRROR_FAILED = "ShadowMirrorFailed"
