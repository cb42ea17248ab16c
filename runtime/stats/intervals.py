"""Confidence bounds for decisions on one fixed sample (the model gate's evaluation rows).

Every bound is one-sided with a stated level: P(the bound is on the wrong side of the truth) <= level.
- `clopper_pearson_*`: exact bounds of a binomial proportion (a rate, an accuracy).
- `paired_difference_bounds`: exact bounds of the difference of two proportions measured on the same rows (the
  candidate's vs the champion's accuracy): the discordance rate and the conditional McNemar proportion, each
  with a Clopper-Pearson bound at half the level (Bonferroni).
- `percentile_bounds`: bootstrap percentile bounds from resampled statistics (any metric, paired by resampling
  rows).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


def _f(values: ArrayLike) -> Array:
    return np.asarray(values, dtype=np.float64)


def clopper_pearson_lower(x: ArrayLike, n: ArrayLike, level: float) -> Array:
    """Exact lower bound of a proportion with x successes in n trials (0 when x = 0; NaN when n = 0)."""
    from scipy.special import betaincinv

    xs, ns = np.broadcast_arrays(_f(x), _f(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = betaincinv(np.maximum(xs, 1e-300), np.maximum(ns - xs + 1, 1e-300), level)
    return np.where(ns <= 0, np.nan, np.where(xs <= 0, 0.0, bound))


def clopper_pearson_upper(x: ArrayLike, n: ArrayLike, level: float) -> Array:
    """Exact upper bound of a proportion with x successes in n trials (1 when x = n; NaN when n = 0)."""
    xs, ns = np.broadcast_arrays(_f(x), _f(n))
    return 1.0 - clopper_pearson_lower(ns - xs, ns, level)


def paired_difference_bounds(worse: ArrayLike, better: ArrayLike, n: ArrayLike, level: float) -> tuple[Array, Array]:
    """Bounds (lower, upper) of the paired difference (worse - better) / n in the population, each one-sided at
    `level`: `worse` counts the rows only the champion gets right, `better` those only the candidate gets right.

    The difference is d (2 pi - 1) with d the discordance rate and pi = P(worse | discordant). pi gets an exact
    Clopper-Pearson bound at level/2 and d one on each side at level/4 (which side of d a bound needs depends on
    the sign of the pi bound), and the product's extreme over that box is the bound: the union of the three
    misses has probability <= level."""
    w, b, nn = np.broadcast_arrays(_f(worse), _f(better), _f(n))
    discordant = w + b
    half, quarter = level / 2.0, level / 4.0
    d_lo, d_hi = clopper_pearson_lower(discordant, nn, quarter), clopper_pearson_upper(discordant, nn, quarter)
    has = discordant > 0
    safe = np.where(has, discordant, 1.0)
    pi_lo = np.where(has, clopper_pearson_lower(w, safe, half), 0.0)
    pi_hi = np.where(has, clopper_pearson_upper(w, safe, half), 1.0)
    s_lo, s_hi = 2 * pi_lo - 1, 2 * pi_hi - 1
    lower = np.where(s_lo >= 0, d_lo * s_lo, d_hi * s_lo)
    upper = np.where(s_hi >= 0, d_hi * s_hi, d_lo * s_hi)
    return lower, upper


def mcnemar_worse(worse: ArrayLike, better: ArrayLike, level: float) -> NDArray[np.bool_]:
    """Exact one-sided McNemar test at `level`: are rows only the champion gets right significantly more common
    than rows only the candidate gets right? (The Clopper-Pearson lower bound of pi exceeds 1/2.)"""
    w, b = np.broadcast_arrays(_f(worse), _f(better))
    discordant = w + b
    bound = clopper_pearson_lower(w, np.where(discordant > 0, discordant, 1.0), level)
    return (discordant > 0) & (bound > 0.5)


def percentile_bounds(replicates: ArrayLike, level: float) -> tuple[Array, Array]:
    """Bootstrap percentile bounds (lower, upper), each one-sided at `level`, from replicates on the last axis."""
    reps = _f(replicates)
    lower = np.quantile(reps, level, axis=-1)
    upper = np.quantile(reps, 1.0 - level, axis=-1)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
