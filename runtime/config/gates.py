"""Config sections for the gates: data validation and drift, and the model gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from runtime.config.base import ConfigModel


class ColumnSchema(ConfigModel):
    type: Literal["float", "int", "string", "category", "bool", "datetime"]
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    """Allowed categories (string/category columns)."""


class DataSchemaConfig(ConfigModel):
    columns: dict[str, ColumnSchema] = {}
    """Declared columns. Empty: the schema is taken from the reference data."""
    allow_extra_columns: bool = False
    """An extra column in the current data is a FAIL unless true."""
    exclude_from_drift: list[str] = []
    """Columns not tested for drift (ids, timestamps, the label)."""


class QualityConfig(ConfigModel):
    max_null_rate: float = Field(default=0.05, ge=0, le=1)
    max_duplicate_rate: float = Field(default=0.05, ge=0, le=1)
    max_out_of_range_rate: float = Field(default=0.01, ge=0, le=1)
    fail_on_constant_columns: bool = True
    min_rows: int = Field(default=100, ge=1)
    """Fewer current rows than this is INCONCLUSIVE (not enough evidence)."""


class DriftConfig(ConfigModel):
    ks_alpha: float = Field(default=0.05, gt=0, lt=1)
    """Family-wise (Bonferroni) or false-discovery (Benjamini-Hochberg) level for the KS and chi-square tests."""
    min_effect_size: float = Field(default=0.02, ge=0, le=1)
    """KS statistic below which a significant p-value is not called drift (huge samples find tiny shifts)."""
    psi_threshold: float = Field(default=0.2, gt=0)
    """PSI at or above which a column drifts, whatever the p-value."""
    bins: int = Field(default=10, ge=2, le=100)
    """Quantile bins of the reference for PSI and the HTML histograms."""
    correction: Literal["benjamini-hochberg", "bonferroni", "none"] = "benjamini-hochberg"
    max_drifted_share: float = Field(default=0.0, ge=0, le=1)
    """Share of tested columns allowed to drift before the data gate fails."""
    max_new_category_rate: float = Field(default=0.01, ge=0, le=1)
    """Share of current rows with a category the reference never had above which the column fails."""


class DataValidationConfig(ConfigModel):
    schema_: DataSchemaConfig = Field(default=DataSchemaConfig(), alias="schema")
    quality: QualityConfig = QualityConfig()
    drift: DriftConfig = DriftConfig()


class MetricThresholdConfig(ConfigModel):
    min: float | None = None
    max: float | None = None
    max_regression: float | None = Field(default=None, ge=0)
    """Largest allowed worsening vs the champion, in the metric's units."""
    higher_is_better: bool = True


class FairnessConfig(ConfigModel):
    sensitive_column: str
    """Column of the evaluation data holding the group (not a model feature unless it is one)."""
    demographic_parity_ratio_min: float | None = Field(default=0.8, ge=0, le=1)
    equalized_odds_difference_max: float | None = Field(default=0.1, ge=0, le=1)
    metric_ratio_min: float | None = Field(default=None, ge=0, le=1)
    """Worst group's accuracy divided by the best group's."""
    min_group_size: int = Field(default=30, ge=1)
    """Groups smaller than this make the check INCONCLUSIVE."""


class LatencyGateConfig(ConfigModel):
    p95_ms: float = Field(default=50.0, gt=0)
    """p95 of single-row predictions, measured in-process."""
    samples: int = Field(default=200, ge=20, le=100_000)


class PredictionSanityConfig(ConfigModel):
    max_class_share: float | None = Field(default=0.98, gt=0, le=1)
    """No single predicted class may take more than this share (a collapsed classifier)."""
    min_class_share: float | None = Field(default=None, ge=0, le=1)
    score_min: float | None = None
    score_max: float | None = None
    """Bounds for regression outputs or scores."""


class EvaluationDataConfig(ConfigModel):
    path: str
    """Evaluation dataset (Parquet or CSV; local path or s3:// URI)."""
    target_column: str


class ModelGateConfig(ConfigModel):
    metrics: dict[str, MetricThresholdConfig] = {}
    """Metric name (as logged in the run) to bounds and allowed regression."""
    allow_no_champion: bool = True
    """With no champion yet, absolute thresholds alone may pass."""
    champion_alias: str = "champion"
    candidate_alias: str = "candidate"
    """Alias set on the candidate version when the gate passes."""
    evaluation: EvaluationDataConfig | None = None
    """Needed for fairness, latency and prediction checks."""
    fairness: FairnessConfig | None = None
    latency: LatencyGateConfig | None = None
    predictions: PredictionSanityConfig = PredictionSanityConfig()
