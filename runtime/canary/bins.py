"""Histogram bins the publishers and the judge share: response times and predictions.

- Response times: a fixed geometric grid, 1 ms x 2^(k/3) for k = 0..47 (1 ms to ~52 s, three bins per doubling,
  26 % wide), plus one open bin below and one above. Publishers count requests per bin and period
  (`ResponseTimeCount`, dimension `Bin`); on the load balancer the judge reads the same bins with CloudWatch's
  trimmed-count statistic `TC(lo:hi)` of `TargetResponseTime`.
- Predictions: class labels as they are (unordered); numbers as intervals `[lo,hi)`: ten bins of 0.1 on [0, 1]
  (scores, probabilities), twenty per decade beyond (regression outputs, signed), so the judge can order them.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Sequence
from typing import SupportsFloat

import numpy as np

#: Inner edges of the response-time bins, seconds.
LATENCY_EDGES_S: tuple[float, ...] = tuple(0.001 * 2 ** (k / 3) for k in range(48))
#: Score bins used when predictions are numbers in [0, 1] (class probabilities): ten equal-width bins.
SCORE_EDGES: tuple[float, ...] = tuple(i / 10 for i in range(11))
#: Bins per decade for numeric predictions outside [0, 1].
DECADE_BINS = 20
#: Magnitude below which a negative prediction falls into the bin next to 0.
TINY = 1e-6


def _g(x: float) -> str:
    return f"{x:.6g}"


def _interval(lo: float, hi: float, closed_right: bool = False) -> str:
    return f"[{_g(lo)},{_g(hi)}{']' if closed_right else ')'}"


LATENCY_LABELS: tuple[str, ...] = (
    _interval(0.0, LATENCY_EDGES_S[0]),
    *(_interval(lo, hi) for lo, hi in itertools.pairwise(LATENCY_EDGES_S)),
    f"[{_g(LATENCY_EDGES_S[-1])},inf)")
#: log of the inner edges, the scale the judge interpolates on.
LATENCY_LOG_EDGES = np.log(np.asarray(LATENCY_EDGES_S))


def latency_bin(seconds: float) -> str:
    """Label of the response-time bin holding `seconds` (finite, >= 0)."""
    index = int(np.searchsorted(LATENCY_LOG_EDGES, math.log(seconds), side="right")) if seconds > 0 else 0
    return LATENCY_LABELS[index]


def latency_tc_stat(index: int) -> str:
    """CloudWatch statistic counting the requests of bin `index`: `TC(lo:hi)` counts values in (lo, hi]."""
    edges = LATENCY_EDGES_S
    lo = "" if index == 0 else _g(edges[index - 1])
    hi = "" if index == len(edges) else _g(edges[index])
    return f"TC({lo}:{hi})"


def score_bin(value: SupportsFloat | str, edges: Sequence[float] | None = None) -> str:
    """Histogram bin label of one prediction: the label itself for classes (str; int and bool unless `edges` are
    given), else the interval of `edges` a number falls into (the last bin includes its upper edge; beyond the
    edges `(-inf,lo)` and `(hi,inf)`); without `edges`, tenths on [0, 1] and twenty bins per decade (signed)
    outside."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | numbers.Integral) and edges is None:
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "non-finite"
    if edges is not None:
        bounds = tuple(edges)
        if x < bounds[0]:
            return f"(-inf,{_g(bounds[0])})"
        if x > bounds[-1]:
            return f"({_g(bounds[-1])},inf)"
        index = min(int(np.searchsorted(bounds, x, side="right")), len(bounds) - 1)
        return _interval(bounds[index - 1], bounds[index], closed_right=index == len(bounds) - 1)
    if 0.0 <= x <= 1.0:
        return score_bin(x, SCORE_EDGES)
    if x > 1.0:
        k = math.floor(DECADE_BINS * math.log10(x))
        return _interval(10 ** (k / DECADE_BINS), 10 ** ((k + 1) / DECADE_BINS))
    if -x < TINY:
        return f"[{_g(-TINY)},0)"
    k = math.floor(DECADE_BINS * math.log10(-x))
    return f"[{_g(-(10 ** ((k + 1) / DECADE_BINS)))},{_g(-(10 ** (k / DECADE_BINS)))})"


_INTERVAL = re.compile(r"^[\[(]\s*(-?(?:inf|[0-9.eE+-]+))\s*,\s*(-?(?:inf|[0-9.eE+-]+))\s*[\])]$")
_LEGACY = re.compile(r"^(-?[0-9.eE+]+)-(-?[0-9.eE+]+)$")


def bin_position(label: str) -> float | None:
    """Where a bin lies on the number line (the midpoint of a finite interval, the finite end of an open one), or
    None for a label that is not a numeric interval (a class)."""
    match = _INTERVAL.match(label) or _LEGACY.match(label)
    if match is None:
        return None
    try:
        lo, hi = float(match.group(1)), float(match.group(2))
    except ValueError:
        return None
    if math.isinf(lo) and math.isinf(hi):
        return None
    if math.isinf(lo):
        return hi - 1e-9 * max(1.0, abs(hi))
    if math.isinf(hi):
        return lo + 1e-9 * max(1.0, abs(lo))
    return (lo + hi) / 2.0


def order_bins(labels: Sequence[str]) -> list[str] | None:
    """The labels in numeric order when every one is a numeric interval (ordered predictions), else None."""
    positions = [bin_position(label) for label in labels]
    known = [p for p in positions if p is not None]
    if len(labels) < 2 or len(known) < len(labels):
        return None
    return [label for _, label in sorted(zip(known, labels, strict=True), key=lambda pair: pair[0])]
