"""Two-sample comparisons of binned distributions, period by period (arrays (..., periods, bins)).

Within a period, under "both sides serve the same distribution", the canary's counts are a draw without replacement
from the period's pooled counts whatever the traffic split: every statistic here is taken relative to that pooled
distribution, so unequal request volumes never masquerade as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def _f(values: ArrayLike) -> Array:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class Pooled:
    """The pooled view of one comparison: per period the pooled shares, the canary's count and share of traffic."""

    shares: Array
    """(..., J, B) pooled share of each bin (0 in an empty period)."""
    total: Array
    """(..., J) pooled count."""
    canary: Array
    """(..., J) canary's count."""

    @property
    def canary_share(self) -> Array:
        return np.divide(self.canary, self.total, out=np.zeros_like(self.total), where=self.total > 0)

    @property
    def weight(self) -> Array:
        """Sum over periods of n_canary * (1 - canary share): the expected score sum of the canary grows by
        `delta * weight` when its score mean exceeds the baseline's by delta."""
        return np.sum(self.canary * (1.0 - self.canary_share), axis=-1)


def pool(baseline: ArrayLike, canary: ArrayLike) -> Pooled:
    b, c = np.broadcast_arrays(_f(baseline), _f(canary))
    pooled = b + c
    total = pooled.sum(axis=-1)
    shares = np.divide(pooled, total[..., None], out=np.zeros_like(pooled), where=total[..., None] > 0)
    return Pooled(shares, total, c.sum(axis=-1))


def ridits(shares: ArrayLike) -> Array:
    """Mid-ranks of each bin in [0, 1] (share below plus half the bin's own): a rank score with mean 1/2 under the
    pooled distribution, so a rank test on binned data handles ties exactly."""
    p = _f(shares)
    return np.cumsum(p, axis=-1) - p / 2.0


def score_moments(pooled: Pooled, scores: Array, canary_counts: Array) -> tuple[Array, Array, Array]:
    """(score total of the canary per period, its centred sum S over periods, the permutation variance V of S).

    V is exact for a draw without replacement: n_c n_b / (N - 1) times the pooled variance of the score."""
    totals = np.sum(canary_counts * scores, axis=-1)
    mean = np.sum(pooled.shares * scores, axis=-1)
    centred = np.sum(totals - pooled.canary * mean, axis=-1)
    var = np.sum(pooled.shares * (scores - mean[..., None]) ** 2, axis=-1)
    baseline = pooled.total - pooled.canary
    perm = np.divide(pooled.canary * baseline, pooled.total - 1.0, out=np.zeros_like(var),
                     where=pooled.total > 1)
    return totals, centred, np.sum(perm * var, axis=-1)


def shifted_shares(shares: ArrayLike, boundaries: ArrayLike, shift: float) -> Array:
    """Bin shares after moving the distribution up by `shift` on a latent scale where `boundaries` (..., B - 1)
    are the inner bin edges (non-decreasing) and the CDF is linear within a bin; below the first edge the CDF is
    taken as 0 and above the last as 1. Used to translate an effect (x1.1 latency, a 0.2 sd shift) into binned
    data. Vectorised over leading axes (B x B comparisons per distribution)."""
    p = _f(shares)
    edges = np.broadcast_to(_f(boundaries), (*p.shape[:-1], p.shape[-1] - 1))
    cdf = np.cumsum(p, axis=-1)[..., :-1]
    target = edges - shift  # the new CDF at edge e is the old CDF at e - shift
    index = np.sum(edges[..., None, :] < target[..., :, None], axis=-1)  # edges strictly below each target
    lo = np.clip(index - 1, 0, edges.shape[-1] - 1)
    hi = np.clip(index, 0, edges.shape[-1] - 1)
    lo_e, hi_e = np.take_along_axis(edges, lo, -1), np.take_along_axis(edges, hi, -1)
    lo_c = np.where(index > 0, np.take_along_axis(cdf, lo, -1), 0.0)
    hi_c = np.where(index < edges.shape[-1], np.take_along_axis(cdf, hi, -1), 1.0)
    width = hi_e - lo_e
    frac = np.divide(target - lo_e, width, out=np.zeros_like(width), where=width > 0)
    inside = lo_c + np.clip(frac, 0, 1) * (hi_c - lo_c)
    at_first = np.where(target >= edges[..., :1], cdf[..., :1], 0.0)  # at (or, rounded, past) the first edge
    new_cdf = np.where(index == 0, at_first, np.where(index == edges.shape[-1], 1.0, inside))
    padded = np.concatenate([np.zeros((*cdf.shape[:-1], 1)), new_cdf, np.ones((*cdf.shape[:-1], 1))], axis=-1)
    return np.diff(padded, axis=-1)


def normal_boundaries(shares: ArrayLike) -> Array:
    """Inner bin edges on a standard normal latent scale: the normal quantiles of the cumulative shares (clipped
    so empty tails stay finite). Any ordered distribution is a monotone image of a normal, so a shift of d on
    this scale is a shift of d standard deviations in rank terms."""
    from scipy.special import ndtri

    cdf = np.cumsum(_f(shares), axis=-1)[..., :-1]
    return ndtri(np.clip(cdf, 1e-9, 1.0 - 1e-9))


def ridit_effect(shares: ArrayLike, shifted: ArrayLike) -> Array:
    """Mean ridit (relative to `shares`) of the `shifted` distribution minus 1/2: P(shifted > original) +
    P(tie) / 2 - 1/2 on the bins, the effect a rank test sees."""
    s = ridits(shares)
    return np.sum(_f(shifted) * s, axis=-1) - 0.5


def quantile(counts: ArrayLike, log_edges: ArrayLike, q: float) -> Array:
    """q-quantile of binned counts (..., B) with inner edges `log_edges` (B - 1, log scale), interpolating
    linearly in the log within a bin; returned on the log scale. The open outer bins give their inner edge."""
    c = _f(counts)
    edges = _f(log_edges)
    total = c.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(c, axis=-1) / np.where(total > 0, total, 1.0)
    index = np.clip(np.argmax(cdf >= q, axis=-1), 0, c.shape[-1] - 1)
    lo = np.where(index > 0, edges[np.clip(index - 1, 0, len(edges) - 1)], edges[0])
    hi = np.where(index < len(edges), edges[np.clip(index, 0, len(edges) - 1)], edges[-1])
    below = np.where(index > 0, np.take_along_axis(cdf, np.clip(index - 1, 0, None)[..., None], -1)[..., 0], 0.0)
    inside = np.take_along_axis(cdf, index[..., None], -1)[..., 0] - below
    frac = np.divide(q - below, inside, out=np.zeros_like(below), where=inside > 0)
    out = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
    return np.where(total[..., 0] > 0, out, np.nan)


def count_above(counts: ArrayLike, log_edges: ArrayLike, log_value: ArrayLike) -> Array:
    """Counts (..., B) above `log_value` (...,), the bin holding it split linearly in the log."""
    c = _f(counts)
    edges = _f(log_edges)
    x = _f(log_value)
    index = np.searchsorted(edges, x, side="right")  # bin holding x
    upper = np.cumsum(c[..., ::-1], axis=-1)[..., ::-1]  # count in bins >= b
    above_bin = np.where(index + 1 < c.shape[-1],
                         np.take_along_axis(upper, np.clip(index + 1, 0, c.shape[-1] - 1)[..., None], -1)[..., 0],
                         0.0)
    own = np.take_along_axis(c, np.clip(index, 0, c.shape[-1] - 1)[..., None], -1)[..., 0]
    lo = edges[np.clip(index - 1, 0, len(edges) - 1)]
    hi = edges[np.clip(index, 0, len(edges) - 1)]
    inner = (index > 0) & (index < len(edges))
    frac = np.where(inner, np.clip((hi - x) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0),
                    np.where(index == 0, 1.0, 0.0))
    return above_bin + own * frac
