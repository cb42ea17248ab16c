"""The canary judge's plot data (`details.plots`, docs/reports.md): what both sides served period by period, and
their prediction histograms. Reported for people, never judged: the decision is runtime/canary/judge.py's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runtime.canary.judge import CanaryData

#: Per-period series kept for the timeline, and the factor to their unit (response times in ms).
TIMELINE: dict[str, float] = {"requests": 1.0, "errors": 1.0, "latency": 1000.0, "latency_p99": 1000.0,
                              "quality": 1.0, "prediction_mean": 1.0}


class SeriesQuery(Protocol):
    """What the timeline needs of a metrics query (runtime/canary/metrics_source.py `Query`)."""

    @property
    def id(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def key(self) -> str: ...


def timeline(queries: Iterable[SeriesQuery], series: Mapping[str, Sequence[tuple[datetime, float]]],
             period_seconds: int) -> dict[str, Any]:
    """Both sides' series on one list of period starts (null where a series has no datapoint): requests, errors
    (5xx), latency and latency_p99 (ms), quality, prediction_mean."""
    kept = [q for q in queries if q.key in TIMELINE]
    periods = sorted({ts for q in kept for ts, _ in series.get(q.id, [])})
    index = {ts: i for i, ts in enumerate(periods)}
    sides: dict[str, dict[str, list[float | None]]] = {"baseline": {}, "canary": {}}
    for q in kept:
        values: list[float | None] = [None] * len(periods)
        for ts, value in series.get(q.id, []):
            values[index[ts]] = round(value * TIMELINE[q.key], 6)
        if any(v is not None for v in values):
            sides.setdefault(q.side, {})[q.key] = values
    return {"period_seconds": period_seconds, "periods": [ts.isoformat() for ts in periods], **sides}


def canary_plots(data: CanaryData) -> dict[str, Any]:
    """The plot data of one judged window: its timeline and both prediction histograms (summed counts)."""
    bins = sorted(set(data.baseline.prediction_counts) | set(data.canary.prediction_counts))
    out: dict[str, Any] = {}
    if data.timeline:
        out["timeline"] = dict(data.timeline)
    if bins:
        out["predictions"] = {"bins": bins,
                              "baseline": [float(data.baseline.prediction_counts.get(b, 0.0)) for b in bins],
                              "canary": [float(data.canary.prediction_counts.get(b, 0.0)) for b in bins]}
    return out
