"""Config sections for the delivery checks: smoke and load tests, and the canary judge."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator

from runtime.config.base import ConfigModel


class LoadTestConfig(ConfigModel):
    """`mlcicd smoke --load`: an open-model load test (requests arrive on a fixed schedule, whether or not earlier
    ones have been answered) with k6-style thresholds. The defaults are safe against a loopback endpoint."""

    rps: float = Field(default=20.0, gt=0, le=5000)
    """Fixed arrival rate in requests per second. Default 20."""
    duration_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How long requests keep arriving. Default 30. The run aborts early once a threshold is already lost."""
    p95_ms: float = Field(default=250.0, gt=0)
    """k6-style threshold: p95 latency of successful requests must stay at or below this. Default 250."""
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    """k6-style threshold: share of sent requests that fail must stay at or below this. Default 0.01."""
    max_requests: int = Field(default=100_000, ge=1)
    """Hard cap on requests scheduled, whatever `rps` x `durationSeconds` says. Default 100000."""
    max_in_flight: int = Field(default=64, ge=1, le=4096)
    """Requests outstanding at once (and the connection pool size). A request whose arrival finds this many
    unanswered is dropped and counted: a server that cannot keep up shows as dropped requests. Default 64."""
    min_achieved_ratio: float = Field(default=0.9, gt=0, le=1)
    """Successful responses per second must reach this share of `rps`. Default 0.9."""


#: Top-level keys of an MLflow scoring request (`/invocations`); exactly one of them per request.
SCORING_INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class SmokeConfig(ConfigModel):
    """`mlcicd smoke`: readiness, protocol and latency checks against an MLflow-compatible scoring endpoint."""

    requests: int = Field(default=100, ge=1, le=100_000)
    """Requests sent for the latency and error-rate checks. Default 100 (p99 needs at least 100 successes)."""
    concurrency: int = Field(default=4, ge=1, le=256)
    """Requests in flight at once during the latency check (and the connection pool size). Default 4."""
    readiness_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    """Budget for `/ping` to answer 200 (polled with exponential backoff); not ready within it is a FAIL.
    Default 120."""
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """Total time one request may take (connect, send, answer, body) before it counts as timed out. Default 10."""
    p50_ms: float = Field(default=100.0, gt=0)
    """Threshold for the median latency of successful `/invocations` requests. Default 100."""
    p95_ms: float = Field(default=250.0, gt=0)
    """Threshold for the p95 latency (needs at least 20 successful requests, else INCONCLUSIVE). Default 250."""
    p99_ms: float = Field(default=500.0, gt=0)
    """Threshold for the p99 latency (needs at least 100 successful requests, else INCONCLUSIVE). Default 500."""
    max_error_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests allowed to fail (non-200, timeout, malformed body, wrong number of predictions).
    Default 0."""
    sample_payloads: list[dict[str, Any]] = Field(default=[])
    """Request bodies for `/invocations` in MLflow's scoring format, each with exactly one of `dataframe_split`,
    `dataframe_records`, `instances`, `inputs` (plus optional `params`). Default: none; then the payloads come
    from `--sample-data` or the model's input example or signature (`--model-uri`). `--sample-data` on the
    command line takes precedence over these. The canary probe sends them too (a multi-row `dataframe_split` as
    one request per row); with `serving.backend: eks` and a judged strategy they are required, because the
    Rollout's analysis step probes stable and canary with them."""
    load: LoadTestConfig = Field(default=LoadTestConfig())

    @field_validator("sample_payloads")
    @classmethod
    def _scoring_requests(cls, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, payload in enumerate(payloads):
            keys = [k for k in SCORING_INPUT_KEYS if k in payload]
            extra = sorted(set(payload) - {*SCORING_INPUT_KEYS, "params"})
            if len(keys) != 1 or extra:
                raise ValueError(f"samplePayloads[{i}] must have exactly one of {', '.join(SCORING_INPUT_KEYS)} "
                                 f"(plus optional `params`); it has {sorted(payload) or 'no keys'}")
        return payloads


class CanaryWeights(ConfigModel):
    """Weight of each metric in the canary score (any non-negative numbers; the score divides by their sum).
    A weight of 0 leaves a metric out: do that for a metric your service does not publish, otherwise its missing
    data keeps the judge from passing."""

    errors: float = Field(default=0.4, ge=0)
    """5xx rate (exact conditional test per period). Default 0.4."""
    latency: float = Field(default=0.15, ge=0)
    """Location of the per-request response time (rank test on the response-time histogram). Default 0.15."""
    tail: float = Field(default=0.15, ge=0)
    """Tail of the per-request response time: the share of requests slower than the p99. Default 0.15."""
    predictions: float = Field(default=0.2, ge=0)
    """Prediction distribution (published prediction histogram). Default 0.2."""
    quality: float = Field(default=0.1, ge=0)
    """Model-quality metric (`alarms.modelQuality`). Default 0.1."""


JudgeMetric = Literal["errors", "latency", "tail", "predictions", "quality"]


class CanaryJudgeConfig(ConfigModel):
    """`mlcicd canary judge`: how canary and baseline are compared (docs/canary.md explains each test and shows
    the measured false-FAIL rates and power)."""

    window_minutes: int = Field(default=10, ge=1, le=1440)
    """Observation window read from CloudWatch, ending at `--end-time` (default now), when no `--start-time` is
    given; with one, the judge reads everything since that time instead. Default 10."""
    period_seconds: Literal[1, 5, 10, 30, 60, 120, 300] = 60
    """Length of one data point. ALB metrics exist per minute (60); custom metrics published at high resolution
    may use 1-30. Default 60."""
    min_requests: int = Field(default=200, ge=1)
    """Minimum requests (and, for the prediction histogram, predictions) on each side before the judge may PASS;
    below it the verdict is INCONCLUSIVE, or FAIL on decisive evidence. Default 200."""
    min_points: int = Field(default=5, ge=3, le=1000)
    """Periods with a quality value on both sides before the quality check may decide. Default 5."""
    alpha: float = Field(default=0.01, gt=0, le=0.2)
    """Largest chance that the judge FAILs a canary as good as its baseline, counted over the whole decision: every
    metric and every look (`--until-decided`, repeated runs with one `--start-time`), at any traffic split. Split
    evenly over the metrics that can fail. Default 0.01."""
    power: float = Field(default=0.9, ge=0.5, lt=1)
    """Chance of catching each metric's documented effect (the `...Ratio`, `...Tolerance`, `...Sd` and
    `...Change` keys) once the canary has the sample size the report states; one minus it bounds the chance of
    PASSing a canary with that effect. Default 0.9."""
    max_bake_minutes: int | None = Field(default=None, ge=1, le=1440)
    """How long after `--start-time` a canary whose data cannot decide yet keeps baking (INCONCLUSIVE: no verdict
    published, nothing rolled back, judged again) before `--on-inconclusive` applies. On EKS, how long after its
    first probed window the analysis job keeps probing window after window before INCONCLUSIVE fails the analysis.
    Default: null, the larger of `serving.canary.bakeMinutes` (after which ECS shifts the remaining traffic) and
    `windowMinutes` (on EKS one window, no extension, unless bakeMinutes is the longer)."""
    error_rate_ratio: float = Field(default=2.0, gt=1, le=1000)
    """Effect the errors check must catch: the canary's 5xx rate this many times the baseline's. Default 2."""
    error_rate_tolerance: float = Field(default=0.001, ge=0, le=1)
    """Practical floor of the errors check (absolute, 0.001 = 0.1 percentage points): a significant increase
    fails only beyond it, and a canary whose own 5xx rate is proven below it passes the errors check (a baseline
    without errors gives no ratio to compare with). Default 0.001."""
    latency_tolerance: float = Field(default=0.10, gt=0, le=10)
    """Effect the latency check must catch: every request this much slower (0.10 = +10 %). A significantly slower
    canary fails when its estimated slow-down exceeds half of it. Default 0.10."""
    tail_tolerance: float = Field(default=0.20, gt=0, le=10)
    """Effect the tail check must catch: the p99 response time this much higher (0.20 = +20 %). A canary with
    significantly more requests beyond the pooled p99 fails when its estimated p99 exceeds the baseline's by more
    than half of it. Default 0.20."""
    prediction_shift_sd: float = Field(default=0.2, gt=0, le=5)
    """Effect the predictions check must catch for ordered predictions (scores, regression outputs): a shift by
    this many standard deviations, in rank terms P(canary > baseline) = Phi(d / sqrt 2), so any monotone
    transformation of the predictions has the same effect. Default 0.2."""
    prediction_share_change: float = Field(default=0.05, gt=0, le=1)
    """Effect the predictions check must catch for class-label predictions: some class's share changes by this
    much (absolute, 0.05 = 5 percentage points). Default 0.05."""
    quality_tolerance: float = Field(default=0.02, ge=0, le=10)
    """Effect the quality check must catch: the model-quality metric this much worse (relative, direction from
    `alarms.modelQuality.comparison`). Default 0.02."""
    weights: CanaryWeights = Field(default=CanaryWeights())
    critical: list[JudgeMetric] = Field(default=["errors"])
    """Metrics whose failure fails the canary whatever the score. Default `[errors]`."""
    pass_score: float = Field(default=90.0, ge=0, le=100)
    """Score (0-100, weighted share of passing metrics) at or above which the canary passes. Default 90."""
    marginal_score: float = Field(default=60.0, ge=0, le=100)
    """Score at or above which (and below `passScore`) the canary is MARGINAL: reported as FAIL (a canary that
    is not clearly good is rolled back), with the MARGINAL label kept in the report details. Default 60."""

    def bake_limit_minutes(self, platform_bake_minutes: int = 0) -> int:
        """The maximum bake in effect: `maxBakeMinutes`, else the larger of the platform's bake
        (`serving.canary.bakeMinutes`) and `windowMinutes`."""
        return self.max_bake_minutes or max(platform_bake_minutes, self.window_minutes)


class CanaryProbeConfig(ConfigModel):
    """`mlcicd canary probe` and `mlcicd canary judge --probe-*`: labelled or sample requests sent at a fixed rate
    to the baseline and the canary at once (each row to both), so the judge has per-variant metrics where no
    serving component publishes them (the EKS analysis step). Bounded in rate, requests and time; only loopback
    and the hosts listed here may be probed."""

    rps: float = Field(default=10.0, gt=0, le=200)
    """Requests per second sent to EACH side (the same row to baseline and canary). Default 10: 6000 requests a
    side over a 10-minute window, enough for the judge to rule its documented effects out on a clean canary (a
    5xx rate below 0.1 % needs about 3500 clean requests), and a load a single scoring pod carries."""
    max_requests: int = Field(default=20_000, ge=1, le=1_000_000)
    """Hard cap on requests per side; a probe whose rate x duration (plus one period of warm-up) exceeds it is
    refused before anything is sent. Default 20000."""
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Total time one request may take before it counts as an error. Default 10."""
    max_in_flight: int = Field(default=16, ge=1, le=512)
    """Unanswered requests allowed per side; a request whose send time finds this many is not sent and counts as
    an error (a side that cannot keep up shows as errors, and the probe stays bounded in time). Default 16."""
    allowed_hosts: list[str] = Field(default=["*.svc.cluster.local"])
    """Host patterns (shell-style, e.g. `*.svc.cluster.local`) probe URLs may point at, besides loopback
    (`localhost`, 127.0.0.0/8, ::1: always allowed). Anything else is refused with exit 2. Default
    `[*.svc.cluster.local]`: in-cluster Services."""
    min_baseline_success_rate: float = Field(default=0.9, gt=0, le=1)
    """Share of the baseline's requests that must be answered with predictions; below it the stable version (or
    the probe's payloads) is broken, a comparison against it proves nothing, and the probe publishes nothing
    (INCONCLUSIVE). Default 0.9."""
    visibility_timeout_seconds: float = Field(default=120.0, ge=0, le=900)
    """`canary judge --probe-*` only: how long to wait after publishing for CloudWatch to return every published
    request of the window before judging; what is still missing then makes the verdict INCONCLUSIVE.
    Default 120."""

    def requests_per_side(self, seconds: float, period_seconds: int) -> int:
        """The most requests a probe sends each side over `seconds` (rounded up to whole periods) plus up to one
        period of warm-up: what `maxRequests` caps."""
        measured = math.ceil(seconds / period_seconds) * period_seconds
        return math.ceil(self.rps * (measured + period_seconds))
