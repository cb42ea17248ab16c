"""Config sections for the delivery checks: smoke and load tests, and the canary judge."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runtime.config.base import ConfigModel


class LoadTestConfig(ConfigModel):
    rps: float = Field(default=20.0, gt=0, le=5000)
    """Fixed request rate of `mlcicd smoke --load`."""
    duration_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How long the load test runs (bounded; the test aborts early once a threshold is lost)."""
    p95_ms: float = Field(default=250.0, gt=0)
    """k6-style threshold: p95 latency must stay below this."""
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    """k6-style threshold: share of failed requests must stay at or below this."""
    max_requests: int = Field(default=100_000, ge=1)
    """Hard cap on requests sent, whatever rps x duration says."""


class SmokeConfig(ConfigModel):
    requests: int = Field(default=100, ge=1, le=100_000)
    """Requests sent for the latency and error check."""
    concurrency: int = Field(default=4, ge=1, le=256)
    """Requests in flight at once."""
    readiness_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    """Budget for `/ping` to answer 200 before the endpoint counts as not ready."""
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    p50_ms: float = Field(default=100.0, gt=0)
    p95_ms: float = Field(default=250.0, gt=0)
    p99_ms: float = Field(default=500.0, gt=0)
    max_error_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests allowed to fail (non-2xx, timeout, malformed body)."""
    sample_payloads: list[dict[str, Any]] = []
    """Request bodies for `/invocations` (MLflow scoring JSON, e.g. `{dataframe_split: {columns, data}}`).
    Default: derived from the model's signature."""
    load: LoadTestConfig = LoadTestConfig()


class CanaryWeights(ConfigModel):
    errors: float = Field(default=0.4, ge=0)
    latency: float = Field(default=0.3, ge=0)
    predictions: float = Field(default=0.2, ge=0)
    quality: float = Field(default=0.1, ge=0)


class CanaryJudgeConfig(ConfigModel):
    window_minutes: int = Field(default=10, ge=1, le=1440)
    """Observation window read from CloudWatch."""
    min_requests: int = Field(default=200, ge=1)
    """Minimum requests on each side; below it the judge is INCONCLUSIVE, never PASS."""
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    """Significance level of each statistical test."""
    latency_tolerance: float = Field(default=0.10, ge=0, le=10)
    """Allowed relative latency increase of the canary (Hodges-Lehmann shift / baseline median)."""
    error_rate_tolerance: float = Field(default=0.005, ge=0, le=1)
    """Allowed absolute increase in error rate before the rate test may fail the canary."""
    spread_tolerance: float = Field(default=0.25, ge=0, le=10)
    """Allowed relative increase of the latency spread (p90 - p10) or p99 (variance-only regressions)."""
    prediction_psi: float = Field(default=0.2, gt=0)
    """PSI between baseline and canary prediction distributions above which predictions differ."""
    weights: CanaryWeights = CanaryWeights()
    pass_score: float = Field(default=90.0, ge=0, le=100)
    """Score at or above which the canary passes."""
    marginal_score: float = Field(default=60.0, ge=0, le=100)
    """Score at or above which (and below `passScore`) the verdict is MARGINAL (treated as a FAIL to act on)."""
