"""Config sections for delivery: the CodePipeline and the scheduled monitoring jobs.

Defaults shared with the components are named in `runtime.config.defaults`; the docstring under each field is its
reference documentation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from runtime.config import defaults as d
from runtime.config.base import ConfigModel
from runtime.config.platform import Arn

ScheduleExpression = Annotated[str, StringConstraints(
    pattern=r"^(rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$")]
"""An EventBridge Scheduler expression: `rate(N minutes|hours|days)` or a six-field `cron(...)`."""
S3Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")]
"""A key prefix inside a stack bucket: no leading slash, ends with `/`."""
PathPattern = Annotated[str, StringConstraints(min_length=1, max_length=255)]
CodeBuildCompute = Literal["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE",
                           "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"]
Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]


GitHubRepository = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
CodePipelineArn = Annotated[str, StringConstraints(
    pattern=r"^arn:aws[a-z-]*:codepipeline:[a-z0-9-]+:\d{12}:[A-Za-z0-9.@_-]+$")]


class PipelineConfig(ConfigModel):
    """The delivery pipeline. ONE stack hosts it: the stack it deploys (`deployStack`, staging in the examples),
    which then promotes to `promoteTo` by pull request. The config refuses a `pipeline` section in any other stack
    and a second stack file with a pipeline on the same repository and branch (every push would train twice and
    two `pulumi up` would race for the stack lock)."""

    repository: GitHubRepository
    """GitHub repository `owner/name` holding this project and the training code."""
    branch: str = "main"
    """Branch whose pushes start the pipeline and which promotion pull requests target."""
    connection_arn: Arn
    """CodeStar (CodeConnections) connection to GitHub, authorised once in the console."""
    manual_approval: bool = False
    """Require a person to approve in CodePipeline before the promotion pull request is opened."""
    train_command: str = "python -m training.train"
    """The team's training entry point; it logs to the stack's MLflow (`MLFLOW_TRACKING_URI` is set) and registers
    a new version of `model.name`."""
    test_command: str = "python -m pytest -q"
    """Unit tests of the training code (Validate stage)."""
    lint_command: str = "ruff check ."
    """Linter of the training code (Validate stage)."""
    install_command: str = d.INSTALL_COMMAND
    """How every action but UnitTests and Lint installs the repository (the `mlcicd` runtime and the training code)
    in its build container: the runtime alone, without the Pulumi SDKs (the `infra` extra; Deploy gets them from
    Pulumi's own install). The pip cache is kept in the pipeline bucket between builds."""
    test_install_command: str = d.TEST_INSTALL_COMMAND
    """How the UnitTests and Lint actions install the repository: with the test tools (`testCommand`,
    `lintCommand`)."""
    training_data_path: str = "data/train.parquet"
    """Training data in the repository (Parquet or CSV) that the Validate stage checks against the reference
    profile `monitoring.drift.referenceProfileKey` before anything is trained."""
    data_paths: list[PathPattern] = Field(default=["data/**"], min_length=1, max_length=8)
    """Changes under these paths (glob) start the pipeline for a data change (CodePipeline allows 1 to 8)."""
    code_paths: list[PathPattern] = Field(default=["training/**", "src/**", "pyproject.toml"], min_length=1,
                                          max_length=8)
    """Changes under these paths (glob) start the pipeline for a code change (1 to 8). Paths in neither list (docs,
    workflows, the stack files, so also a merged promotion) start nothing."""
    deploy_stack: str = "staging"
    """Stack the Deploy stage updates with `pulumi up` (the candidate pinned) and the Verify stage tests. It is also
    the stack that hosts the pipeline: its buckets, image repository and MLflow are the ones the actions use."""
    promote_to: str = "production"
    """Stack whose file the Promote stage edits in a pull request."""
    deploy_role_arn: Arn
    """IAM role the Deploy action assumes for `pulumi up --stack <deployStack>` (it holds the permissions to manage
    that stack; it must trust the deploy action's role). The build roles themselves stay least-privilege."""
    github_token_secret_arn: Arn
    """Secrets Manager secret holding a GitHub token (fine-grained: contents and pull requests, read and write, on
    `repository` only) with which the Promote action pushes a branch and opens the pull request."""
    pulumi_access_token_secret_arn: Arn | None = None
    """Secrets Manager secret holding `PULUMI_ACCESS_TOKEN` (Pulumi Cloud backend). One of this or
    `pulumiBackendUrl` is required."""
    pulumi_backend_url: Annotated[str, StringConstraints(pattern=r"^(s3|https)://\S+$")] | None = None
    """Self-managed state backend (`s3://bucket/prefix`) or a self-hosted Pulumi Cloud URL (`https://...`, then
    with the access token). Default: Pulumi Cloud."""
    pulumi_passphrase_secret_arn: Arn | None = None
    """Secrets Manager secret with `PULUMI_CONFIG_PASSPHRASE`, for stacks using the passphrase secrets provider.
    Default: none (Pulumi Cloud or an `awskms://` secrets provider need none)."""
    pulumi_version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")] = d.PULUMI_VERSION
    """Pulumi CLI version the Deploy and Promote actions install."""
    python_version: Literal["3.11", "3.12"] = d.PYTHON_VERSION
    """Python runtime of the CodeBuild image."""
    compute_type: CodeBuildCompute = d.COMPUTE_TYPE
    """CodeBuild compute type of every action but Train."""
    train_compute_type: CodeBuildCompute = d.TRAIN_COMPUTE_TYPE
    """CodeBuild compute type of the Train action."""
    build_image: str = d.BUILD_IMAGE
    """CodeBuild image (Ubuntu standard image: Python, Docker, AWS CLI, jq, git)."""
    timeout_minutes: int = Field(default=d.ACTION_TIMEOUT_MINUTES, ge=5, le=2160)
    """Build timeout of every action but Train."""
    train_timeout_minutes: int = Field(default=d.TRAIN_TIMEOUT_MINUTES, ge=5, le=2160)
    """Build timeout of the Train action (CodeBuild allows up to 36 hours)."""
    approval_timeout_minutes: int = Field(default=d.APPROVAL_TIMEOUT_MINUTES, ge=5, le=86400)
    """How long the manual approval waits before the execution fails (default 3 days)."""
    fail_on_severities: list[Severity] = Field(default=["CRITICAL"], min_length=1)
    """ECR scan finding severities that fail the Package stage. Default: CRITICAL only."""
    log_retention_days: int | None = Field(default=None, ge=1, le=3653)
    """Retention (days) of the build logs of the pipeline and the monitoring jobs. Default: the stack's log
    retention (`serving.logRetentionDays`, itself 365 in production and 30 elsewhere)."""


class DriftMonitorConfig(ConfigModel):
    enabled: bool = True
    """Run the scheduled drift job (needs `pipeline`: the job runs the runtime from that repository)."""
    schedule: ScheduleExpression = d.DRIFT_SCHEDULE
    """EventBridge Scheduler expression; also the period of the drift alarm (capped at one day)."""
    inference_prefix: S3Prefix = d.DRIFT_INFERENCE_PREFIX
    """Prefix in the data bucket where served requests are captured (`monitoring.capture` writes there, the drift
    job reads there)."""
    reference_profile_key: str = d.DRIFT_REFERENCE_PROFILE_KEY
    """Key in the data bucket of the training reference profile: the training data of the model in production,
    which `mlcicd champion reference` writes after each verified production rollout (the pipeline's data gate and
    the drift job compare with it)."""
    alarm_threshold: float = Field(default=d.DRIFT_ALARM_THRESHOLD, gt=0, le=1)
    """Drift score (share of drifted columns) at or above which the drift alarm fires."""
    window_hours: float = Field(default=24.0, gt=0, le=24 * 35)
    """The drift job compares the captures of the last `windowHours` (per model version) with the reference."""
    min_window_rows: int = Field(default=200, ge=1)
    """Fewer captured rows (status 200) of a version in the window: its drift is INCONCLUSIVE (metric
    `DriftWindowInconclusive`), never PASS."""
    retrain_on_drift: bool = False
    """Start the delivery pipeline when the drift alarm fires: this stack's `pipeline`, or `retrainPipelineArn`
    when another stack hosts it."""
    retrain_pipeline_arn: CodePipelineArn | None = None
    """The delivery pipeline hosted by another stack of this account and region (the hosting stack's pipeline,
    `arn:aws:codepipeline:<region>:<account>:<project>-<stack>-delivery`), started when `retrainOnDrift`. Only in a
    stack without its own `pipeline`. Default: none."""


class JobSourceConfig(ConfigModel):
    """Where the scheduled jobs of a stack WITHOUT its own `pipeline` check out the repository (`mlcicd` and the
    training project). A stack hosting the pipeline uses the pipeline's repository, branch and connection."""

    repository: GitHubRepository
    """GitHub repository `owner/name`."""
    branch: str = "main"
    """Branch the jobs check out."""
    connection_arn: Arn
    """CodeConnections connection to GitHub (the same one the hosting stack's pipeline uses)."""
    install_command: str = d.INSTALL_COMMAND
    """How the jobs install the repository in their build container."""


class BatchInferenceConfig(ConfigModel):
    enabled: bool = False
    """Score `inputPrefix` on a schedule with the pinned serving image (needs `model.imageDigest` and `pipeline`)."""
    schedule: ScheduleExpression = d.BATCH_SCHEDULE
    """EventBridge Scheduler expression."""
    input_prefix: S3Prefix = d.BATCH_INPUT_PREFIX
    """Prefix in the data bucket holding the CSV files to score."""
    output_prefix: S3Prefix = d.BATCH_OUTPUT_PREFIX
    """Prefix in the data bucket receiving predictions (`<run>/<file>.json`) and the summary report."""


class CaptureFeatureConfig(ConfigModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    """Input column as the model's signature names it (`mlcicd capture schema` prints them)."""
    type: Literal["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"]
    """MLflow signature type; the Glue column is boolean, int, bigint, float, double or string (binary, datetime)."""


class CaptureConfig(ConfigModel):
    enabled: bool = False
    """Capture sampled requests of the model service (records through Firehose to the data bucket as Parquet
    under `monitoring.drift.inferencePrefix`, partitioned `model=<name>/dt=<yyyy-MM-dd>/`). Needs `inputSchema`."""
    sample_percent: float = Field(default=100.0, ge=0, le=100)
    """Share of requests captured, chosen by a hash of the inference id (the same request is sampled on every
    variant and in replays)."""
    input_schema: list[CaptureFeatureConfig] = []
    """The model's input columns, which become the Glue table's feature columns (Firehose silently drops fields the
    table lacks). Print it from the registered model with `mlcicd capture schema --model-uri models:/NAME/V`; the
    Package stage fails when a new version's signature differs."""
    prediction_type: Literal["boolean", "long", "double", "string"] = "double"
    """Type of the prediction column (`mlcicd capture schema` derives it from the signature's output)."""
    drop_fields: list[str] = []
    """Input features never captured (PII): removed in the serving process, before anything leaves it."""
    hash_fields: list[str] = []
    """Input features captured as SHA-256 of the model name and the value (joinable, not readable; low-entropy
    values stay guessable, so drop those instead)."""
    buffer_records: int = Field(default=10_000, ge=100, le=1_000_000)
    """Sampled requests each server process holds in memory at most; beyond it they are dropped and counted
    (`CaptureRequestsDropped`), never waited for."""
    delivery_buffer_seconds: int = Field(default=d.CAPTURE_DELIVERY_BUFFER_SECONDS, ge=60, le=900)
    """Firehose buffering interval: how long records wait before an S3 object is written."""
    delivery_buffer_mib: int = Field(default=d.CAPTURE_DELIVERY_BUFFER_MIB, ge=64, le=128)
    """Firehose buffering size (Parquet conversion needs at least 64 MiB)."""


class QualityMonitorConfig(ConfigModel):
    enabled: bool = False
    """Run `mlcicd monitor quality` on the drift job's schedule (needs `monitoring.capture.enabled` and the drift
    job)."""
    labels_prefix: S3Prefix = "labels/"
    """Prefix in the data bucket of ground-truth label files (CSV with `inference_id,label` and optionally `row`;
    labels arrive late, in any number of files)."""
    window_hours: float = Field(default=24.0, gt=0, le=24 * 35)
    """`mlcicd monitor quality` scores the captures of the last `windowHours` that have labels."""
    metric: Literal["accuracy", "f1", "mae", "rmse"] = "accuracy"
    """Metric published as `alarms.modelQuality.metricName` (the model-quality alarm watches it); f1 is of the
    positive class `gates.fairness.positiveLabel` (default 1)."""
    min_labels: int = Field(default=100, ge=1)
    """Fewer labelled captures of a version (or variant) in the window: its quality is INCONCLUSIVE."""


class MonitoringConfig(ConfigModel):
    drift: DriftMonitorConfig = DriftMonitorConfig()
    batch: BatchInferenceConfig = BatchInferenceConfig()
    source: JobSourceConfig | None = None
    """Repository of the scheduled jobs in a stack that does not host the pipeline (required there when a job is
    enabled; not allowed beside a `pipeline` section). Default: the pipeline's."""
    capture: CaptureConfig = CaptureConfig()
    quality: QualityMonitorConfig = QualityMonitorConfig()
