"""Config sections for the gates: data validation and drift, and the model gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from runtime.config.base import ConfigModel


class ColumnSchema(ConfigModel):
    """The contract of one column. Declared columns override what is taken from the reference data."""

    type: Literal["float", "int", "string", "category", "bool", "datetime"]
    """Logical type. `float` also accepts integer columns; `string` and `category` accept string and
    dictionary-encoded columns (`category` also booleans). Required."""
    nullable: bool = True
    """false: any null (or NaN) in the current data is a FAIL. Default: true (the null-rate limit still applies)."""
    min: float | None = None
    """Lowest allowed value of a numeric column. Default: the reference's minimum."""
    max: float | None = None
    """Highest allowed value of a numeric column. Default: the reference's maximum."""
    allowed: list[str] | None = None
    """Allowed categories of a string/category/bool column (booleans as "true"/"false"); values outside count as
    out of range. Default: not checked (categories unseen in the reference are reported by the drift check)."""


class DataSchemaConfig(ConfigModel):
    """Which columns the data must have, with which types."""

    columns: dict[str, ColumnSchema] = {}
    """Declared columns. Default: empty (the schema is taken from the reference data; declared columns are added to
    it or override the reference's entry)."""
    allow_extra_columns: bool = False
    """A column in the current data that the schema does not know is a FAIL unless true. Default: false."""
    exclude_from_drift: list[str] = []
    """Columns not tested for drift (ids, timestamps, the label); their range is not compared with the reference's
    either (declared min/max still apply). Default: none."""


class QualityConfig(ConfigModel):
    """Quality limits for the current data."""

    max_null_rate: float = Field(default=0.05, ge=0, le=1)
    """Largest share of missing values (null or NaN) per column. Default: 0.05."""
    max_duplicate_rate: float = Field(default=0.05, ge=0, le=1)
    """Largest share of rows that repeat an earlier row (all columns equal). Default: 0.05."""
    max_out_of_range_rate: float = Field(default=0.01, ge=0, le=1)
    """Largest share of a column's values outside its range (declared min/max, else the reference's) or outside
    its declared allowed categories. Default: 0.01."""
    fail_on_constant_columns: bool = True
    """A column with a single value in the current data fails unless the reference is constant too.
    Default: true."""
    min_rows: int = Field(default=100, ge=1)
    """Fewer current (or reference) rows than this is INCONCLUSIVE, never PASS; an empty current frame too.
    Default: 100."""


class DriftConfig(ConfigModel):
    """Drift of each column between the reference and the current data."""

    ks_alpha: float = Field(default=0.05, gt=0, lt=1)
    """Level of the KS (numeric) and chi-square (categorical) tests after the correction for testing many columns:
    family-wise error rate (Bonferroni) or false discovery rate (Benjamini-Hochberg). Default: 0.05."""
    min_effect_size: float = Field(default=0.02, ge=0, le=1)
    """Smallest effect called drift however small the p-value (huge samples find trivial shifts): the KS statistic
    for numeric columns, the total variation distance for categorical ones. Default: 0.02."""
    psi_threshold: float = Field(default=0.2, gt=0)
    """PSI at or above which a column drifts, whatever the p-value. Default: 0.2."""
    bins: int = Field(default=10, ge=2, le=100)
    """Reference-quantile bins of numeric columns for PSI. Default: 10."""
    correction: Literal["benjamini-hochberg", "bonferroni", "none"] = "benjamini-hochberg"
    """Multiple-testing correction over the tested columns. Default: benjamini-hochberg."""
    max_drifted_share: float = Field(default=0.0, ge=0, le=1)
    """Share of tested columns allowed to drift before the data gate fails. Default: 0.0 (any drifted column
    fails)."""
    max_new_category_rate: float = Field(default=0.01, ge=0, le=1)
    """Share of current rows with a category the reference never had above which the column drifts.
    Default: 0.01."""
    profile_quantiles: int = Field(default=65_536, ge=10_000, le=100_000_000)
    """Reference profiles (`--write-profile`) store numeric columns with at most this many values whole (exact KS)
    and larger ones as this many order statistics with exact counts (KS within about 1/profileQuantiles, reported
    as bounds). Default: 65536 (about 0.6 MB per numeric column)."""


class DataValidationConfig(ConfigModel):
    """`mlcicd data validate`: schema, quality and drift of a current data frame against a reference."""

    schema_: DataSchemaConfig = Field(default=DataSchemaConfig(), alias="schema")
    """Default: the schema of the reference, extra columns fail."""
    quality: QualityConfig = QualityConfig()
    """Default: see QualityConfig."""
    drift: DriftConfig = DriftConfig()
    """Default: see DriftConfig."""


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
