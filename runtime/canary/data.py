"""What the canary judge reads: both sides' metrics over the window since the deployment start (per period and in
total), and how to read the model-quality metric. Filled by runtime/canary/metrics_source.py (CloudWatch) or a
test; judged by runtime/canary/judge.py and runtime/canary/metric_judges.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.config.defaults import MODEL_QUALITY_METRIC
from runtime.config.platform import ModelQualityAlarmConfig


@dataclass(frozen=True)
class VariantMetrics:
    """What one side (baseline or canary) served: totals, and per period (aligned on `CanaryData.periods`)."""

    requests: float | None = None
    """Total requests; None when no datapoint exists at all."""
    errors: float | None = None
    """Total 5xx responses; None when no datapoint exists (the ALB publishes none while there are none: 0)."""
    latency: Sequence[float] = ()
    """Per-period average response time, seconds (reported, not tested)."""
    latency_p99: Sequence[float] = ()
    """Per-period p99 response time, seconds (reported, not tested)."""
    quality: Sequence[float] = ()
    """Per-period model-quality metric (NaN where a period has none)."""
    prediction_counts: Mapping[str, float] = field(default_factory=dict)
    """Predictions per histogram bin, summed over the window."""
    prediction_mean: Sequence[float] = ()
    """Per-period mean prediction (reported, not scored)."""
    requests_by_period: Sequence[float] = ()
    """Requests per period; empty: the totals count as one period (a single look)."""
    errors_by_period: Sequence[float] = ()
    """5xx responses per period."""
    latency_histogram: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Requests per response-time bin (`runtime.canary.bins.LATENCY_LABELS`) and period."""
    prediction_histogram: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Predictions per histogram bin and period; empty: `prediction_counts` count as one period."""


@dataclass(frozen=True)
class CanaryData:
    baseline: VariantMetrics
    canary: VariantMetrics
    start: datetime | None = None
    end: datetime | None = None
    period_seconds: int = 60
    source: Mapping[str, Any] = field(default_factory=dict)
    """How the data was read (namespace, dimensions, notes), copied into the report."""
    periods: Sequence[datetime] = ()
    """Start of each period the per-period series are aligned to (empty: series are aligned at their ends)."""
    timeline: Mapping[str, Any] = field(default_factory=dict)
    """Per-period series of both sides for the report's charts (runtime/canary/plots.py); never judged."""


@dataclass(frozen=True)
class QualityRule:
    """How to read the model-quality metric: its direction and the alarm's threshold (`alarms.modelQuality`)."""

    metric_name: str = MODEL_QUALITY_METRIC
    higher_is_better: bool = True
    threshold: float | None = None

    @classmethod
    def from_alarm(cls, alarm: ModelQualityAlarmConfig) -> QualityRule:
        """The rule the stack's model-quality alarm states (`alarms.modelQuality`)."""
        return cls(metric_name=alarm.metric_name, higher_is_better=alarm.comparison == "LessThanThreshold",
                   threshold=alarm.threshold)
