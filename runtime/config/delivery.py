"""Config sections for delivery: the CodePipeline and the scheduled monitoring jobs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from runtime.config.base import ConfigModel
from runtime.config.platform import Arn


class PipelineConfig(ConfigModel):
    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    """GitHub repository `owner/name` holding this project and the training code."""
    branch: str = "main"
    connection_arn: Arn
    """CodeStar (CodeConnections) connection to GitHub, authorised once in the console."""
    manual_approval: bool = False
    """Require a person to approve before the promotion step."""
    train_command: str = "python -m training.train"
    """The team's training entry point; it logs to the stack's MLflow and registers a version."""
    test_command: str = "python -m pytest -q"
    lint_command: str = "ruff check ."
    data_paths: list[str] = ["data/**"]
    """Changes under these paths start the pipeline for a data change."""
    code_paths: list[str] = ["training/**", "src/**", "pyproject.toml"]
    """Changes under these paths start the pipeline for a code change."""
    compute_type: str = "BUILD_GENERAL1_SMALL"
    build_image: str = "aws/codebuild/standard:7.0"
    log_retention_days: int | None = Field(default=None, ge=1, le=3653)
    """Default: 365 in production, 30 elsewhere."""


class DriftMonitorConfig(ConfigModel):
    enabled: bool = True
    schedule: str = "rate(1 day)"
    """EventBridge schedule expression."""
    inference_prefix: str = "inference/"
    """Prefix in the data bucket where served requests are captured."""
    reference_profile_key: str = "profiles/reference.json"
    """Key in the data bucket of the training reference profile."""
    alarm_threshold: float = Field(default=0.2, gt=0)
    """Drift score (share of drifted columns) at or above which the drift alarm fires."""
    retrain_on_drift: bool = False
    """Start the delivery pipeline when the drift alarm fires."""


class BatchInferenceConfig(ConfigModel):
    enabled: bool = False
    schedule: str = "cron(0 3 * * ? *)"
    input_prefix: str = "batch/input/"
    output_prefix: str = "batch/output/"


class MonitoringConfig(ConfigModel):
    drift: DriftMonitorConfig = DriftMonitorConfig()
    batch: BatchInferenceConfig = BatchInferenceConfig()
