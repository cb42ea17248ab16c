"""Compact plot data a gate adds to its report under `details.plots`, for the HTML page (runtime/html/).

Binned counts, never raw rows: a histogram is its edges and counts, a confusion matrix its label counts, a residual
plot a grid of counts. Everything is optional; a report without `details.plots` (an older one) still renders, with
fewer charts. The keys each gate writes are documented in docs/reports.md ("Plot data").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from runtime.report import Report

#: Most classes a confusion matrix shows; the rest are pooled into "(other)".
MAX_LABELS = 20
#: Bins of a histogram and of each axis of a residual grid.
BINS = 30
GRID_BINS = 24


def add(report: Report, **plots: Any) -> None:
    """Merge `plots` into `report.details["plots"]`."""
    report.details.setdefault("plots", {}).update(plots)


def _round(values: np.ndarray | Sequence[float]) -> list[float]:
    return [float(f"{v:.6g}") for v in values]


def histogram(values: Sequence[float] | np.ndarray, *, bins: int = BINS, lo: float | None = None,
              hi: float | None = None) -> dict[str, Any]:
    """Counts of the finite values on `bins` equal bins over [lo, hi] (default: their range); values beyond `hi`
    are counted in `overflow`, below `lo` in `underflow`."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return {"edges": [], "counts": [], "n": 0}
    low = float(data.min()) if lo is None else lo
    high = float(data.max()) if hi is None else hi
    if high <= low:
        high = low + (abs(low) * 0.05 or 1.0)
    edges = np.linspace(low, high, bins + 1)
    counts, _ = np.histogram(data[(data >= low) & (data <= high)], bins=edges)
    return {"edges": _round(edges), "counts": [int(c) for c in counts], "n": int(data.size),
            "overflow": int((data > high).sum()), "underflow": int((data < low).sum())}


def latency_histogram(latencies_ms: Sequence[float], thresholds_ms: Mapping[str, float | None]) -> dict[str, Any]:
    """Latency (ms) on 0..hi: hi covers the slowest request, or the 99.5th percentile when a few are far slower
    (those are counted as overflow), and every threshold within twice that range, so the limits are on the axis.
    `thresholds_ms` names each limit ({"p95": 250.0, ...}); they are copied alongside."""
    data = np.asarray(latencies_ms, dtype=float)
    limits = {k: float(v) for k, v in thresholds_ms.items() if v is not None}
    if data.size == 0:
        return {"edges": [], "counts": [], "n": 0, "unit": "ms", "thresholds": limits}
    top = float(data.max())
    tail = float(np.percentile(data, 99.5))
    if top > 3 * tail > 0:
        top = 1.5 * tail
    reach = [v for v in limits.values() if v <= 2 * top]
    high = _nice_ceiling(max([top, *reach]) * 1.05)
    out = histogram(data, bins=BINS, lo=0.0, hi=high)
    return {**out, "unit": "ms", "thresholds": limits}


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= value)


def confusion(truth: Sequence[Any] | np.ndarray, predicted: Sequence[Any] | np.ndarray, *,
              max_labels: int = MAX_LABELS) -> dict[str, Any]:
    """Counts of (actual, predicted) label pairs: `counts[i][j]` rows of actual `labels[i]` predicted as
    `labels[j]`. Labels are compared as text; beyond `max_labels` the rarest are pooled into "(other)"."""
    actual, guess = _as_labels(truth), _as_labels(predicted)
    names, freq = np.unique(np.concatenate([actual, guess]), return_counts=True)
    order = sorted(zip(names.tolist(), freq.tolist(), strict=True), key=lambda kv: (-kv[1], kv[0]))
    keep = [str(n) for n, _ in order[:max_labels]]
    labels = sorted(keep, key=_label_key)
    pooled = len(order) > max_labels
    if pooled:
        labels.append("(other)")
    index = {name: i for i, name in enumerate(labels)}
    other = len(labels) - 1
    counts = np.zeros((len(labels), len(labels)), dtype=int)
    for a, p in zip(actual, guess, strict=True):
        counts[index.get(a, other), index.get(p, other)] += 1
    correct = int((actual == guess).sum())
    return {"labels": labels, "counts": counts.tolist(), "rows": len(actual),
            "accuracy": correct / len(actual) if len(actual) else None}


def _as_labels(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Labels as text; whole floats as integers (a model returning 1.0 predicts the label 1)."""
    items = np.asarray(values).tolist()
    return np.asarray([str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in items],
                      dtype=object)


def _label_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def residuals(truth: Sequence[float] | np.ndarray, predicted: Sequence[float] | np.ndarray, *,
              bins: int = GRID_BINS) -> dict[str, Any]:
    """Residuals (actual - predicted) against the prediction as a grid of counts, plus the residual histogram and
    summary errors. The residual axis is symmetric around 0 and covers the 99th percentile of |residual| (the rest
    is counted as clipped)."""
    y = np.asarray(truth, dtype=float)
    p = np.asarray(predicted, dtype=float)
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    if y.size == 0:
        return {"rows": 0}
    r = y - p
    reach = float(np.percentile(np.abs(r), 99)) or float(np.abs(r).max()) or 1.0
    reach = _nice_ceiling(reach * 1.05)
    p_lo, p_hi = float(p.min()), float(p.max())
    if p_hi <= p_lo:
        p_hi = p_lo + (abs(p_lo) * 0.05 or 1.0)
    x_edges = np.linspace(p_lo, p_hi, bins + 1)
    y_edges = np.linspace(-reach, reach, bins + 1)
    inside = np.abs(r) <= reach
    grid, _, _ = np.histogram2d(p[inside], r[inside], bins=[x_edges, y_edges])
    return {"predicted_edges": _round(x_edges), "residual_edges": _round(y_edges),
            "counts": grid.astype(int).tolist(), "rows": int(y.size), "clipped": int((~inside).sum()),
            "residual_histogram": histogram(r, lo=-reach, hi=reach),
            "predicted_histogram": histogram(p),
            "mae": float(np.mean(np.abs(r))), "rmse": float(math.sqrt(np.mean(r * r))),
            "bias": float(np.mean(r))}
