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
    target_column: str | None = None
    """The label column: optional in the current data (inference data has no label), validated like any other
    column when present. Default: `gates.evaluation.targetColumn` when the stack config has one, else none."""


class QualityConfig(ConfigModel):
    """Quality limits for the current data."""

    max_null_rate: float = Field(default=0.05, ge=0, le=1)
    """Largest share of missing values (null or NaN) per column *above the reference's own share*: a column fails
    when its missing share exceeds the reference's by more than this, beyond sampling error (one-sided test at
    `drift.ksAlpha`, Bonferroni over the columns). Default: 0.05."""
    max_duplicate_rate: float = Field(default=0.05, ge=0, le=1)
    """Largest share of rows that repeat an earlier row (all columns equal). Default: 0.05."""
    max_out_of_range_rate: float = Field(default=0.01, ge=0, le=1)
    """Largest share of a column's values outside its range (declared min/max, else the reference's) or outside
    its declared allowed categories. A range taken from the reference is judged against its size: a few hundred
    reference rows leave a sizeable share of new values outside their range by chance, so the share must also be
    significantly more than that (beta-binomial test at `drift.ksAlpha`, Bonferroni over the columns).
    Default: 0.01."""
    fail_on_constant_columns: bool = True
    """A column with a single value in the current data fails unless the reference is constant too.
    Default: true."""
    min_rows: int = Field(default=100, ge=1)
    """Fewer current (or reference) rows than this is INCONCLUSIVE, never PASS; an empty current frame too.
    Default: 100."""


class DriftConfig(ConfigModel):
    """Drift of each column between the reference and the current data (one family of tests, see
    docs/data-validation.md)."""

    ks_alpha: float = Field(default=0.01, gt=0, lt=1)
    """Level of every drift test (KS, chi-square, missing share) after the correction for testing many columns;
    with identical distributions the whole gate raises a false alarm at most this often. Default: 0.01."""
    min_effect_size: float = Field(default=0.02, ge=0, le=1)
    """Smallest effect called drift however small the p-value (huge samples find trivial shifts): the KS statistic
    for numeric columns, the total variation distance for categorical ones, the change of the missing share.
    Default: 0.02."""
    psi_threshold: float = Field(default=0.2, gt=0)
    """PSI at or above which a significant difference counts as drift even when the effect is below
    minEffectSize. Default: 0.2."""
    bins: int = Field(default=10, ge=2, le=100)
    """Reference-quantile bins of numeric columns for PSI. Default: 10."""
    correction: Literal["benjamini-hochberg", "bonferroni", "none"] = "benjamini-hochberg"
    """Multiple-testing correction over every drift test. Default: benjamini-hochberg."""
    max_drifted_share: float = Field(default=0.0, ge=0, le=1)
    """Share of tested columns allowed to drift before the data gate fails. Default: 0.0 (any drifted column
    fails)."""
    max_new_category_rate: float = Field(default=0.01, ge=0, le=1)
    """Share of current rows with a category the reference never had above which a significant difference counts
    as drift even when the total variation is below minEffectSize. Default: 0.01."""
    detectable_effect: float = Field(default=0.2, gt=0, le=1)
    """The drift the gate must be able to see: a column with no significant drift PASSes only if its test had
    `power` to detect a KS distance (or total variation) of this size; otherwise it is INCONCLUSIVE with the
    number of rows needed. Default: 0.2."""
    power: float = Field(default=0.9, ge=0.5, lt=1)
    """Power required to detect `detectableEffect`. Default: 0.9."""


class SparkConfig(ConfigModel):
    """The Spark engine on EMR Serverless (`data.engine: spark`): the application the stack creates and how the
    pipeline's jobs use it."""

    release_label: str = Field(default="emr-7.8.0", pattern=r"^emr-\d+\.\d+\.\d+$")
    """EMR release of the application (Spark 3.5, Python 3.9+ with pyarrow in the job's environment). Changing it
    replaces the application. Default: emr-7.8.0."""
    max_vcpu: int = Field(default=64, ge=4, le=4000)
    """Most vCPUs the application may use at once (a cost ceiling). Default: 64."""
    max_memory_gb: int = Field(default=256, ge=16, le=16000)
    """Most memory (GB) the application may use at once. Default: 256."""
    idle_stop_minutes: int = Field(default=15, ge=1, le=10080)
    """The application stops after this many idle minutes (no cost while stopped; the next job then waits for a
    cold start of about a minute and a half). Default: 15."""
    timeout_minutes: int = Field(default=60, ge=5, le=1440)
    """A validation job still running after this is cancelled and the action fails. Default: 60."""
    training_data_key: str = "training/"
    """Key (or prefix of a Parquet dataset) in the data bucket of the training data the pipeline's Validate action
    checks with this engine (the repository's `pipeline.trainingDataPath` is the local engine's). The job role
    may read it, the inference prefix and the reference profile. Default: training/."""
    environment_key: str = "spark/mlcicd-env.tar.gz"
    """Key in the data bucket of the packed Python environment (`venv-pack` of `pip install ml-cicd[spark]`)
    the job runs in. Default: spark/mlcicd-env.tar.gz."""


class DataValidationConfig(ConfigModel):
    """`mlcicd data validate`: schema, quality and drift of a current data frame against a reference."""

    schema_: DataSchemaConfig = Field(default=DataSchemaConfig(), alias="schema")
    """Default: the schema of the reference, extra columns fail."""
    quality: QualityConfig = QualityConfig()
    """Default: see QualityConfig."""
    drift: DriftConfig = DriftConfig()
    """Default: see DriftConfig."""
    engine: Literal["local", "spark"] = "local"
    """Where the summaries are computed: `local` streams the files on the build machine (bounded memory, about
    10^7 rows per side per minute on two cores); `spark` runs the same summaries as a Spark job on EMR Serverless
    (the pipeline's Validate action and the drift job submit it and wait). Default: local."""
    spark: SparkConfig = SparkConfig()
    """Default: see SparkConfig."""


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
    effect_size: float = Field(default=0.02, gt=0)
    """Shortfall the gate must catch with probability `gates.power`, in the metric's units: a value this far below
    `min` (above `max`), or worse than the champion by `maxRegression` plus this. The gate passes only when its
    confidence bounds rule such a shortfall out; otherwise it is INCONCLUSIVE and states the evaluation rows
    needed. Applies where the gate computes the metric from the evaluation rows (docs/gates.md). Default: 0.02."""


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
    effect_size: float = Field(default=0.1, gt=0, le=1)
    """Unfairness the checks must catch with probability `gates.power`: a ratio this far below its minimum, a
    difference this far above its maximum. A check fails when its confidence bound is beyond the threshold and
    passes when the bound on the other side rules this effect out. Default: 0.1."""


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
    alpha: float = Field(default=0.01, gt=0, le=0.2)
    """Largest chance that the gate FAILs a candidate that meets every threshold, over all its statistical checks
    together (split evenly over the metric, regression and fairness checks). Default: 0.01."""
    power: float = Field(default=0.9, ge=0.5, lt=1)
    """Chance of catching each check's `effectSize` at the evaluation rows the report states; one minus it bounds
    the chance of passing a candidate with that effect. Default: 0.9."""
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
