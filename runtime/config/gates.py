"""Config sections for the gates: data validation and drift, and the model gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from runtime.config.base import ConfigModel
from runtime.config.replay import ReplayGateConfig, ShadowStageConfig


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
    """Bounds for one metric logged in the candidate's run. Set at least one of min, max, maxRegression."""

    min: float | None = None
    """Lowest acceptable value (inclusive). Default: no lower bound."""
    max: float | None = None
    """Highest acceptable value (inclusive). Default: no upper bound."""
    max_regression: float | None = Field(default=None, ge=0)
    """Largest allowed worsening vs the champion, in the metric's units (0.01 = one point of accuracy).
    Default: not compared with the champion."""
    higher_is_better: bool = True
    """Direction of "worse" for maxRegression: true for accuracy/F1/AUC, false for losses and errors.
    Default: true."""


class FairnessConfig(ConfigModel):
    """Group fairness of the candidate's predictions on the evaluation data (classification only). Each threshold
    set to null is not checked; at least one must be set."""

    sensitive_column: str
    """Column of the evaluation data holding the group. It is passed to the model only if the model's input
    signature names it. Required."""
    positive_label: int | str = 1
    """Target value that counts as the positive outcome (for positive rates, TPR and FPR). Default: 1."""
    demographic_parity_ratio_min: float | None = Field(default=0.8, ge=0, le=1)
    """Lowest allowed ratio of positive-prediction rates, min over groups / max over groups (the four-fifths
    rule). Default: 0.8."""
    equalized_odds_difference_max: float | None = Field(default=0.1, ge=0, le=1)
    """Largest allowed gap between groups in true-positive rate or false-positive rate, whichever is larger.
    Default: 0.1."""
    metric_ratio_min: float | None = Field(default=None, ge=0, le=1)
    """Lowest allowed ratio of the worst group's accuracy to the best group's. Default: null (not checked)."""
    min_group_size: int = Field(default=30, ge=1)
    """Groups with fewer evaluation rows make the fairness checks INCONCLUSIVE (too few to judge).
    Default: 30."""


class LatencyGateConfig(ConfigModel):
    """In-process prediction latency of the loaded model, one row per call (the serving shape)."""

    p95_ms: float = Field(default=50.0, gt=0)
    """Highest allowed p95 of single-row predictions, in milliseconds. Default: 50."""
    samples: int = Field(default=200, ge=20, le=100_000)
    """Timed single-row predictions (rows of the evaluation data, cycled). Default: 200."""
    warmup: int = Field(default=10, ge=0, le=10_000)
    """Untimed predictions first (lazy initialisation, caches). Default: 10."""


class PredictionSanityConfig(ConfigModel):
    """Checks every candidate's predictions on the evaluation data must pass (run whenever `evaluation` is set).
    NaN or infinite predictions always fail."""

    max_class_share: float | None = Field(default=0.98, gt=0, le=1)
    """Classification: no single predicted class may take more than this share of rows (a collapsed
    classifier). Default: 0.98; null: not checked."""
    min_class_share: float | None = Field(default=None, ge=0, le=1)
    """Classification: every class present in the evaluation target must be predicted for at least this share
    of rows. Default: null (not checked)."""
    score_min: float | None = None
    """Lowest allowed prediction value (regression outputs or numeric scores). Default: null (not checked)."""
    score_max: float | None = None
    """Highest allowed prediction value (regression outputs or numeric scores). Default: null (not checked)."""


class EvaluationDataConfig(ConfigModel):
    """Held-out data the candidate is scored on for the fairness, latency and prediction checks."""

    path: str
    """Parquet (`.parquet`, `.pq`) or CSV (`.csv`) file: a local path (relative to the directory of
    Pulumi.yaml when the gate runs with --stack, else to the working directory) or an s3://bucket/key URI.
    Required."""
    target_column: str
    """Column with the true label or value; never passed to the model. Required."""


class ModelGateConfig(ConfigModel):
    """`mlcicd gate model`: the bar a candidate model version clears before it is packaged."""

    metrics: dict[str, MetricThresholdConfig] = {}
    """Metric name (as logged in the run behind the model version) to bounds and allowed regression.
    Default: empty, which makes the gate INCONCLUSIVE (nothing to judge on)."""
    task: Literal["classification", "regression"] = "classification"
    """What the model predicts: class-share and fairness checks apply to classification only.
    Default: classification."""
    allow_no_champion: bool = True
    """With no champion yet (the champion alias unset), absolute bounds alone may pass. false: the gate is
    INCONCLUSIVE until a champion exists. Default: true."""
    champion_alias: str = "champion"
    """Registered-model alias of the version in production, compared against by default. Default: champion."""
    candidate_alias: str = "candidate"
    """Alias set on the candidate version when the gate passes (never on FAIL or INCONCLUSIVE).
    Default: candidate."""
    evaluation: EvaluationDataConfig | None = None
    """Needed for fairness, latency and prediction checks. Default: none (metric checks only)."""
    fairness: FairnessConfig | None = None
    """Default: none (not checked)."""
    latency: LatencyGateConfig | None = None
    """Default: none (not checked)."""
    predictions: PredictionSanityConfig = PredictionSanityConfig()
    """Default: maxClassShare 0.98 and the NaN/inf check, whenever `evaluation` is set."""
    tracking_timeout_seconds: int = Field(default=10, ge=1, le=600)
    """Timeout of each HTTP request to the tracking server (MLFLOW_HTTP_REQUEST_TIMEOUT, unless that is set in
    the environment). Default: 10."""
    tracking_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a failed HTTP request to the tracking server, after 0, 2, 4, ... s of backoff
    (MLFLOW_HTTP_REQUEST_MAX_RETRIES, unless set in the environment). An unreachable server makes the gate
    INCONCLUSIVE after at most (retries + 1) x timeout plus the backoff. Default: 2."""
    replay: ReplayGateConfig | None = None
    """The replay gate on captured production traffic (`mlcicd gate replay`; with it set, the pipeline runs it
    after the staging deploy). Default: none (not in the pipeline; the command then uses the defaults)."""
    shadow: ShadowStageConfig | None = None
    """The pipeline's optional Shadow stage. Default: none."""
