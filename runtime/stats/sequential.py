"""Always-valid tests: mixtures of likelihood ratios that are nonnegative supermartingales under their null.

By Ville's inequality such a process M satisfies P(M ever reaches 1/alpha) <= alpha, so a decision "FAIL when
M >= 1/alpha" may be taken at every look, as often as the caller likes, and the chance that any look FAILs when the
null holds stays <= alpha. Each test here multiplies one likelihood ratio per period (a batch of data whose totals
are known), conditioning on what the null leaves free, so the guarantee holds for any traffic split, any change of
traffic or of the metric's level between periods, and any number of looks.

Exactness: `binomial_log_e` and `multinomial_log_e` are built on the with-replacement model of a draw; the real
conditional law of the counts (a draw without replacement from the period's pooled data, the hypergeometric) is
smaller in the convex order (Hoeffding 1963), so the expectation of every ratio is <= 1: exact supermartingales
at every sample size. `normal_log_e` is the Gaussian mixture (Robbins), valid asymptotically; it serves the PASS
side (bounding the effect) and sample-size planning.

All functions work in log space and broadcast over leading axes; the period axis is the last one (before a bin
axis where there is one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Grid points of a discrete mixture (per side).
GRID_POINTS = 40

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Mixture:
    """A discrete prior over tilts (log odds ratios or score tilts) mixing the likelihood ratios."""

    tilts: Array
    log_weights: Array
    """log prior weights; they sum to 1."""


def half_normal(scale: float, *, sign: int = 1, points: int = GRID_POINTS) -> Mixture:
    """Half-normal prior with standard deviation `scale` on a log-spaced grid over [scale/100, 6 scale], on one side
    of the null (sign +1: alternatives above it, -1: below). Any weights keep the test valid; these put the power
    near effects of size `scale`."""
    if not scale > 0:
        raise ValueError(f"mixture scale must be > 0, got {scale}")
    grid = np.geomspace(scale / 100.0, 6.0 * scale, points)
    weights = np.exp(-0.5 * (grid / scale) ** 2) * grid  # density x spacing on a log grid
    return Mixture(sign * grid, np.log(weights / weights.sum()))


def two_sided(scale: float, *, points: int = GRID_POINTS) -> Mixture:
    """Half of the prior on each side of the null."""
    up, down = half_normal(scale, points=points), half_normal(scale, sign=-1, points=points)
    return Mixture(np.concatenate([up.tilts, down.tilts]),
                   np.concatenate([up.log_weights, down.log_weights]) - math.log(2.0))


def logsumexp(values: Array, axis: int = -1) -> Array:
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(values - top), axis=axis))


def _f(values: ArrayLike) -> Array:
    return np.asarray(values, dtype=np.float64)


def binomial_log_e(x: ArrayLike, m: ArrayLike, p0: ArrayLike, mixture: Mixture) -> Array:
    """log of the mixture over tilts psi of prod_j Bin(x_j; m_j, q_j(psi)) / Bin(x_j; m_j, p0_j), where
    q(psi) = p0 e^psi / (1 - p0 + p0 e^psi): the alternative multiplies the odds of a success by e^psi.

    Null: x_j ~ Bin(m_j, p0_j) independently per period (last axis), or any law below it in the convex order
    (the hypergeometric of a draw without replacement). For one-sided mixtures the null may be composite: with
    positive tilts, any success probability <= p0_j; with negative tilts, any >= p0_j. Periods with m_j = 0 count
    for nothing. Returns the log e-value for the leading shape."""
    xs, ms, ps = np.broadcast_arrays(_f(x), _f(m), np.clip(_f(p0), 0.0, 1.0))
    total = xs.sum(axis=-1)
    out = np.empty((*total.shape, len(mixture.tilts)))
    for g, psi in enumerate(mixture.tilts):
        out[..., g] = psi * total - np.sum(ms * np.log1p(ps * math.expm1(psi)), axis=-1)
    return logsumexp(out + mixture.log_weights)


def multinomial_log_e(total: ArrayLike, n: ArrayLike, p0: ArrayLike, scores: ArrayLike, mixture: Mixture) -> Array:
    """log of the mixture over psi of prod_j exp(psi T_j) / (sum_b p0_jb e^(psi s_jb))^n_j: n_j draws from the bins
    b of period j with shares p0_jb, tilted towards high scores s_jb (psi > 0) or low ones (psi < 0).

    `total` (..., J) is T_j, the sum of the scores of the n_j draws; `p0` and `scores` are (..., J, B). Null: the
    n_j draws come from p0_j, with or without replacement (the canary's share of a period's pooled data under
    exchangeability is a draw without replacement). Exact at every sample size."""
    t, nn = np.broadcast_arrays(_f(total), _f(n))
    shares, s = np.broadcast_arrays(_f(p0), _f(scores))
    grand = t.sum(axis=-1)
    out = np.empty((*grand.shape, len(mixture.tilts)))
    for g, psi in enumerate(mixture.tilts):
        mgf = np.sum(shares * np.exp(psi * s), axis=-1)
        out[..., g] = psi * grand - np.sum(nn * np.log(np.where(nn > 0, mgf, 1.0)), axis=-1)
    return logsumexp(out + mixture.log_weights)


def dirichlet_log_e(x: ArrayLike, p0: ArrayLike, concentration: float = 1.0) -> Array:
    """log of the Dirichlet(concentration) mixture over bin shares q of prod_j prod_b (q_b / p0_jb)^x_jb: an
    omnibus test that the canary's draws x_j (..., J, B) come from the period's pooled shares p0_j, for unordered
    bins (class labels). Exact at every sample size, like `multinomial_log_e`."""
    from scipy.special import gammaln

    counts, shares = np.broadcast_arrays(_f(x), _f(p0))
    summed = counts.sum(axis=-2)
    bins = summed.shape[-1]
    a = concentration
    log_mix = (gammaln(bins * a) - bins * gammaln(a) + np.sum(gammaln(a + summed), axis=-1)
               - gammaln(bins * a + summed.sum(axis=-1)))
    log_null = np.sum(np.where(counts > 0, counts * np.log(np.where(counts > 0, shares, 1.0)), 0.0), axis=(-2, -1))
    return log_mix - log_null


# Gaussian mixture (asymptotic): PASS bounds and planning ----------------------------------------------------------
def normal_log_e(s: ArrayLike, v: ArrayLike, rho: float) -> Array:
    """One-sided (drift > 0) normal mixture: log of 2 sqrt(rho / (v + rho)) exp(s^2 / (2 (v + rho))) Phi(s / sqrt(v +
    rho)), the half-normal mixture (prior precision rho) over the drift theta of exp(theta s - theta^2 v / 2) for a
    sum s with variance v."""
    from scipy.special import log_ndtr

    ss, vv = np.broadcast_arrays(_f(s), _f(v))
    total = vv + rho
    return (math.log(2.0) + 0.5 * np.log(rho / total) + ss ** 2 / (2 * total) + log_ndtr(ss / np.sqrt(total)))


def normal_boundary(v: ArrayLike, level: float, rho: float) -> Array:
    """The s at which `normal_log_e(s, v, rho)` reaches log(1/level): an always-valid one-sided bound, so that
    P(a sum of mean 0 and variance v ever exceeds it) <= level (asymptotically)."""
    from scipy.special import log_ndtr

    vv = _f(v)
    total = vv + rho
    target = -math.log(level)
    b = np.sqrt(total * (2 * target + np.log(total / rho)))
    for _ in range(8):  # fixed point: the Phi term is close to 1 at the boundary, so this converges fast
        b = np.sqrt(total * np.maximum(2 * (target - math.log(2.0) - log_ndtr(b / np.sqrt(total)))
                                       + np.log(total / rho), 0.0))
    return b
