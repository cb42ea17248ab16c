"""Publishing what a variant served as CloudWatch metrics, in the shape the canary judge reads back.

The serving side (or `mlcicd local run`, against a moto server) records per-request observations; this module
aggregates them per period into `MetricDatum`s with the names of `runtime.metrics` and dimensions ModelName and
Variant (plus Bin for the histograms). Response times go out twice: as a value/count histogram, so real CloudWatch
can compute percentiles (p99) from them (moto computes the average only), and as counts per bin of the fixed grid
of `runtime.canary.bins` (`ResponseTimeCount`), the per-request distribution the judge compares.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, SupportsFloat

from runtime import metrics as m
from runtime.canary.bins import latency_bin, score_bin

#: CloudWatch accepts at most 150 distinct values per datum and 1000 datums per PutMetricData call.
MAX_VALUES_PER_DATUM = 150
MAX_DATUMS_PER_CALL = 1000


@dataclass(frozen=True)
class Observation:
    """One request as a variant served it."""

    timestamp: datetime
    latency_s: float
    status: int
    """HTTP status; 5xx counts as an error (like the ALB's HTTPCode_Target_5XX_Count)."""
    predictions: Sequence[SupportsFloat | str] = field(default_factory=tuple)
    """The predictions returned (class labels or scores); empty for a failed request."""


def _dims(model_name: str, variant: str, **extra: str) -> list[dict[str, str]]:
    dims = [{"Name": m.DIMENSION_MODEL, "Value": model_name}, {"Name": m.DIMENSION_VARIANT, "Value": variant}]
    return dims + [{"Name": k, "Value": v} for k, v in extra.items()]


def _period_start(ts: datetime, period_seconds: int) -> datetime:
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=UTC)


def period_metric_data(observations: Sequence[Observation], *, model_name: str, variant: str, timestamp: datetime,
                       high_resolution: bool = False, bin_edges: Sequence[float] | None = None,
                       quality: float | None = None, quality_metric: str | None = None) -> list[dict[str, Any]]:
    """The datums of one variant for one period (all observations belong to it)."""
    resolution = {"StorageResolution": 1} if high_resolution else {}

    def datum(name: str, unit: str, dims: list[dict[str, str]], **value: Any) -> dict[str, Any]:
        return {"MetricName": name, "Dimensions": dims, "Timestamp": timestamp, "Unit": unit, **value, **resolution}

    dims = _dims(model_name, variant)
    errors = sum(1 for o in observations if o.status >= 500)
    out = [datum(m.ALB_REQUESTS, "Count", dims, Value=float(len(observations))),
           datum(m.ALB_TARGET_5XX, "Count", dims, Value=float(errors))]
    latencies = Counter(round(o.latency_s, 4) for o in observations if math.isfinite(o.latency_s))
    items = sorted(latencies.items())
    for start in range(0, len(items), MAX_VALUES_PER_DATUM):
        chunk = items[start:start + MAX_VALUES_PER_DATUM]
        out.append(datum(m.ALB_RESPONSE_TIME, "Seconds", dims, Values=[v for v, _ in chunk],
                         Counts=[float(c) for _, c in chunk]))
    by_bin = Counter(latency_bin(o.latency_s) for o in observations if math.isfinite(o.latency_s))
    for label, count in sorted(by_bin.items()):
        out.append(datum(m.RESPONSE_TIME_COUNT, "Count", _dims(model_name, variant, **{m.DIMENSION_BIN: label}),
                         Value=float(count)))
    predictions = [p for o in observations if o.status < 400 for p in o.predictions]
    bins = Counter(score_bin(p, bin_edges) for p in predictions)
    for label, count in sorted(bins.items()):
        out.append(datum(m.PREDICTION_COUNT, "Count", _dims(model_name, variant, **{m.DIMENSION_BIN: label}),
                         Value=float(count)))
    numeric = [float(p) for p in predictions if not isinstance(p, str) and math.isfinite(float(p))]
    if numeric:
        out.append(datum(m.PREDICTION_MEAN, "None", dims, Value=sum(numeric) / len(numeric)))
    if quality is not None and math.isfinite(quality):
        from runtime.config.defaults import MODEL_QUALITY_METRIC

        # The stack's `alarms.modelQuality.metricName` when given: the name the alarm and the judge read.
        out.append(datum(quality_metric or MODEL_QUALITY_METRIC, "None", dims, Value=float(quality)))
    return out


def observations_metric_data(observations: Iterable[Observation], *, model_name: str, variant: str,
                             period_seconds: int = 60, bin_edges: Sequence[float] | None = None
                             ) -> list[dict[str, Any]]:
    """Group observations into periods (by timestamp) and aggregate each: what a variant's sidecar would publish."""
    by_period: dict[datetime, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_period[_period_start(obs.timestamp, period_seconds)].append(obs)
    out: list[dict[str, Any]] = []
    for start in sorted(by_period):
        out += period_metric_data(by_period[start], model_name=model_name, variant=variant, timestamp=start,
                                  high_resolution=period_seconds < 60, bin_edges=bin_edges)
    return out


def put_metric_data(client: Any, namespace: str, data: Sequence[dict[str, Any]]) -> int:
    """Send datums in batches of at most 1000 (the API's limit); returns the number of calls made."""
    calls = 0
    for start in range(0, len(data), MAX_DATUMS_PER_CALL):
        client.put_metric_data(Namespace=namespace, MetricData=list(data[start:start + MAX_DATUMS_PER_CALL]))
        calls += 1
    return calls
