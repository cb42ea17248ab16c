"""Pure statistics of the canary judge: plain functions on numbers and arrays, no I/O.

Conventions: `baseline` comes first, `canary` second; every comparison asks "is the canary worse?" (one-sided),
and a regression needs both statistical significance (p < alpha) and an effect beyond the configured tolerance,
as in Kayenta. What Kayenta misses is covered here: error counts are compared with an exact test that works when
the baseline has zero errors, and a dispersion test catches a variance increase at equal location.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Largest sample (per side) for which the Mann-Whitney null distribution is computed exactly (no ties);
#: above it the normal approximation (with tie and continuity corrections) is accurate to well below 0.001.
EXACT_MWU_MAX = 60
#: Quantiles of the baseline posterior used to integrate P(p_canary - p_baseline > tolerance).
POSTERIOR_GRID = 4000
#: Pseudo-count added to every histogram bin before PSI (keeps empty bins finite, Jeffreys-style).
PSI_SMOOTHING = 0.5

Worse = Literal["higher", "lower"]


def as_sample(values: ArrayLike) -> NDArray[np.float64]:
    """A 1-D float array of the finite values (NaN and inf dropped: CloudWatch gaps never count as data)."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    return arr[np.isfinite(arr)]


# Error rates -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateComparison:
    baseline_rate: float
    canary_rate: float
    difference: float
    """canary_rate - baseline_rate (absolute, e.g. 0.004 = 0.4 percentage points)."""
    p_value: float
    """One-sided Fisher exact test: probability of at least this many canary errors if both rates were equal."""
    prob_exceeds_tolerance: float
    """Posterior probability that the canary's true rate exceeds the baseline's by more than the tolerance
    (independent Beta posteriors with Jeffreys priors)."""
    regressed: bool
    """p_value < alpha and difference > tolerance."""


def _count(value: float, name: str) -> int:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite count >= 0, got {value!r}")
    return round(value)


def fisher_greater(base_errors: int, base_total: int, canary_errors: int, canary_total: int) -> float:
    """One-sided Fisher exact p-value for "the canary's error rate is greater than the baseline's".

    Conditions on the total number of errors: under equal rates the canary's share of them is hypergeometric.
    It stays exact when the baseline has no errors at all (where ratio tests and Kayenta's per-interval rates
    break down): 0 of 20000 vs 8 of 2000 gives p = (2000/22000)^8 roughly, while 1 of 2000 gives p ~ 0.09.
    """
    from scipy.stats import hypergeom

    errors = base_errors + canary_errors
    if canary_errors == 0:
        return 1.0
    return float(hypergeom.sf(canary_errors - 1, base_total + canary_total, errors, canary_total))


def prob_difference_exceeds(base_errors: int, base_total: int, canary_errors: int, canary_total: int,
                            tolerance: float) -> float:
    """P(p_canary - p_baseline > tolerance | data) with Beta(errors + 1/2, ok + 1/2) posteriors.

    Integrates the canary's posterior tail over quantiles of the baseline's posterior (deterministic midpoint
    rule in probability space, accurate to ~1/POSTERIOR_GRID).
    """
    from scipy.stats import beta

    grid = (np.arange(POSTERIOR_GRID) + 0.5) / POSTERIOR_GRID
    p_base = beta.ppf(grid, base_errors + 0.5, base_total - base_errors + 0.5)
    tail = beta.sf(np.minimum(p_base + tolerance, 1.0), canary_errors + 0.5, canary_total - canary_errors + 0.5)
    return float(np.clip(tail.mean(), 0.0, 1.0))


def compare_error_rates(base_errors: float, base_total: float, canary_errors: float, canary_total: float, *,
                        tolerance: float, alpha: float) -> RateComparison:
    """Is the canary's error rate worse than the baseline's by more than `tolerance` (absolute), significantly?"""
    xb, nb = _count(base_errors, "baseline errors"), _count(base_total, "baseline requests")
    xc, nc = _count(canary_errors, "canary errors"), _count(canary_total, "canary requests")
    if nb == 0 or nc == 0:
        raise ValueError("both sides need at least one request to compare error rates")
    # CloudWatch can count a 5xx in a different period than its request; never let a rate exceed 1.
    xb, xc = min(xb, nb), min(xc, nc)
    rate_b, rate_c = xb / nb, xc / nc
    p_value = fisher_greater(xb, nb, xc, nc)
    prob = prob_difference_exceeds(xb, nb, xc, nc, tolerance)
    diff = rate_c - rate_b
    return RateComparison(rate_b, rate_c, diff, p_value, prob, p_value < alpha and diff > tolerance)


# Mann-Whitney U and Hodges-Lehmann --------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _u_null_pmf(n: int, m: int) -> tuple[float, ...]:
    """P(U = u), u = 0..n*m, for U = #{(i, j): x_i > y_j} with |x| = n, |y| = m, no ties (exact)."""
    # p[i][j][u] = i/(i+j) p[i-1][j][u-j] + j/(i+j) p[i][j-1][u]: sums of positives, no cancellation.
    previous = [np.ones(1) for _ in range(m + 1)]  # i = 0: U = 0 with certainty for every j
    for i in range(1, n + 1):
        current = [np.ones(1)]  # j = 0
        for j in range(1, m + 1):
            out = np.zeros(i * j + 1)
            out[j:j + (i - 1) * j + 1] += i / (i + j) * previous[j]
            out[: i * (j - 1) + 1] += j / (i + j) * current[j - 1]
            current.append(out)
        previous = current
    return tuple(previous[m].tolist())


def u_null_cdf(n: int, m: int) -> NDArray[np.float64]:
    """Exact P(U <= u) for u = 0..n*m under the null (no ties). Used for small samples (<= EXACT_MWU_MAX)."""
    if n < 1 or m < 1:
        raise ValueError("both samples need at least one value")
    return np.minimum(np.cumsum(np.asarray(_u_null_pmf(n, m))), 1.0)


def _ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.stats import rankdata

    return np.asarray(rankdata(values), dtype=np.float64)


def _tie_term(pooled: NDArray[np.float64]) -> float:
    _, counts = np.unique(pooled, return_counts=True)
    return float(np.sum(counts.astype(np.float64) ** 3 - counts))


def _u_sigma(n: int, m: int, tie_term: float) -> float:
    total = n + m
    return math.sqrt(n * m / 12.0 * ((total + 1) - tie_term / (total * (total - 1))))


def _use_exact(n: int, m: int, tie_term: float) -> bool:
    return tie_term == 0 and n <= EXACT_MWU_MAX and m <= EXACT_MWU_MAX


def mann_whitney_greater(baseline: ArrayLike, canary: ArrayLike) -> tuple[float, float]:
    """U statistic of the canary and the one-sided p-value for "canary values tend to be greater".

    Exact null distribution for small samples without ties, otherwise the normal approximation with tie and
    continuity corrections (the same choices `hodges_lehmann` makes, so the test and the interval agree).
    """
    b, c = as_sample(baseline), as_sample(canary)
    n, m = len(c), len(b)
    if n == 0 or m == 0:
        raise ValueError("both samples need at least one finite value")
    pooled = np.concatenate([c, b])
    ranks = _ranks(pooled)
    u = float(ranks[:n].sum() - n * (n + 1) / 2.0)
    tie_term = _tie_term(pooled)
    if _use_exact(n, m, tie_term):
        cdf = u_null_cdf(n, m)
        k = round(u)
        return u, float(1.0 if k == 0 else 1.0 - cdf[k - 1])
    sigma = _u_sigma(n, m, tie_term)
    if sigma == 0:  # every value identical: no evidence of a difference
        return u, 1.0
    from scipy.stats import norm

    z = (u - n * m / 2.0 - 0.5) / sigma
    return u, float(norm.sf(z))


def _u_lower_critical(n: int, m: int, tail: float, tie_term: float) -> int:
    """Largest u with P(U <= u) <= tail under the null; -1 when even U = 0 is more likely than that."""
    if _use_exact(n, m, tie_term):
        cdf = u_null_cdf(n, m)
        return int(np.searchsorted(cdf, tail, side="right")) - 1
    from scipy.stats import norm

    sigma = _u_sigma(n, m, tie_term)
    return max(-1, math.floor(n * m / 2.0 - 0.5 + norm.ppf(tail) * sigma))


@dataclass(frozen=True)
class HodgesLehmann:
    estimate: float
    """Median of all pairwise differences canary_i - baseline_j: the location shift of the canary."""
    low: float
    high: float
    """Distribution-free confidence interval from the Mann-Whitney null distribution (may be infinite for very
    small samples)."""
    confidence: float


def hodges_lehmann(baseline: ArrayLike, canary: ArrayLike, *, confidence: float) -> HodgesLehmann:
    """Hodges-Lehmann shift estimate and its two-sided confidence interval (Kayenta's latency statistic)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    b, c = as_sample(baseline), as_sample(canary)
    n, m = len(c), len(b)
    if n == 0 or m == 0:
        raise ValueError("both samples need at least one finite value")
    diffs = np.sort((c[:, None] - b[None, :]).ravel())
    estimate = float(np.median(diffs))
    u_lo = _u_lower_critical(n, m, (1.0 - confidence) / 2.0, _tie_term(np.concatenate([c, b])))
    if u_lo < 0:
        return HodgesLehmann(estimate, -math.inf, math.inf, confidence)
    return HodgesLehmann(estimate, float(diffs[u_lo]), float(diffs[n * m - u_lo - 1]), confidence)


def _relative(delta: float, reference: float) -> float:
    if reference != 0:
        return delta / abs(reference)
    if delta == 0:
        return 0.0
    return math.copysign(math.inf, delta)


@dataclass(frozen=True)
class ShiftComparison:
    baseline_median: float
    canary_median: float
    shift: HodgesLehmann
    relative_shift: float
    """Hodges-Lehmann shift divided by the baseline median, signed (canary - baseline)."""
    worsening: float
    """relative_shift in the bad direction (positive = worse)."""
    p_value: float
    """One-sided Mann-Whitney p-value for a shift in the bad direction."""
    regressed: bool
    """p_value < alpha and worsening > tolerance."""


def compare_location(baseline: ArrayLike, canary: ArrayLike, *, tolerance: float, alpha: float,
                     worse: Worse = "higher") -> ShiftComparison:
    """Mann-Whitney U + Hodges-Lehmann: has the canary shifted in the bad direction by more than `tolerance`
    (relative to the baseline median), significantly? The interval reported is the two-sided 1 - 2*alpha one, whose
    lower (upper) end is the one-sided 1 - alpha bound the test decides with."""
    b, c = as_sample(baseline), as_sample(canary)
    sign = 1.0 if worse == "higher" else -1.0
    _, p_value = mann_whitney_greater(sign * b, sign * c)
    shift = hodges_lehmann(b, c, confidence=1.0 - 2.0 * alpha)
    base_median, canary_median = float(np.median(b)), float(np.median(c))
    relative = _relative(shift.estimate, base_median)
    worsening = sign * relative
    return ShiftComparison(base_median, canary_median, shift, relative, worsening, p_value,
                           p_value < alpha and worsening > tolerance)


# Spread (variance-only regressions) --------------------------------------------------------------------------
def quantile_spread(values: ArrayLike, low: float = 10.0, high: float = 90.0) -> float:
    """Inter-quantile range (default p90 - p10), linear interpolation."""
    arr = as_sample(values)
    if len(arr) == 0:
        raise ValueError("no finite values")
    lo, hi = np.percentile(arr, [low, high])
    return float(hi - lo)


@dataclass(frozen=True)
class SpreadComparison:
    baseline_spread: float
    canary_spread: float
    relative_increase: float
    """canary_spread / baseline_spread - 1 (inf when the baseline has no spread and the canary has)."""
    p_value: float
    """One-sided rank test on absolute deviations from each side's median (a Brown-Forsythe-style test that
    does not assume normality): small when the canary's values scatter more."""
    regressed: bool
    """p_value < alpha and relative_increase > tolerance."""


def compare_spread(baseline: ArrayLike, canary: ArrayLike, *, tolerance: float, alpha: float,
                   low: float = 10.0, high: float = 90.0) -> SpreadComparison:
    """Has the canary's scatter grown beyond `tolerance` at any location? Catches a variance-only regression
    that the location test (and Kayenta) cannot see because the medians are equal."""
    b, c = as_sample(baseline), as_sample(canary)
    if len(b) < 2 or len(c) < 2:
        raise ValueError("a spread needs at least two values per side")
    spread_b, spread_c = quantile_spread(b, low, high), quantile_spread(c, low, high)
    _, p_value = mann_whitney_greater(np.abs(b - np.median(b)), np.abs(c - np.median(c)))
    increase = _relative(spread_c - spread_b, spread_b)
    return SpreadComparison(spread_b, spread_c, increase, p_value, p_value < alpha and increase > tolerance)


# Prediction distributions ------------------------------------------------------------------------------------
def _aligned(baseline_counts: Sequence[float], canary_counts: Sequence[float]) -> tuple[NDArray[np.float64], ...]:
    b = np.asarray(baseline_counts, dtype=np.float64)
    c = np.asarray(canary_counts, dtype=np.float64)
    if b.shape != c.shape or b.ndim != 1 or len(b) == 0:
        raise ValueError("histograms must have the same bins (non-empty, one dimension)")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(c))) or np.any(b < 0) or np.any(c < 0):
        raise ValueError("histogram counts must be finite and >= 0")
    if b.sum() <= 0 or c.sum() <= 0:
        raise ValueError("each histogram needs at least one count")
    return b, c


def population_stability_index(baseline_counts: Sequence[float], canary_counts: Sequence[float],
                               smoothing: float = PSI_SMOOTHING) -> float:
    """PSI = sum((q - p) * ln(q / p)) over bins, p the baseline's shares and q the canary's, each count smoothed
    by `smoothing` so an empty bin stays finite. Rules of thumb: < 0.1 stable, 0.1-0.2 moderate, > 0.2 shifted."""
    b, c = _aligned(baseline_counts, canary_counts)
    p = (b + smoothing) / (b.sum() + smoothing * len(b))
    q = (c + smoothing) / (c.sum() + smoothing * len(c))
    return float(np.sum((q - p) * np.log(q / p)))


def homogeneity_p_value(baseline_counts: Sequence[float], canary_counts: Sequence[float]) -> float:
    """Chi-square test that both histograms come from one distribution (bins empty on both sides dropped)."""
    from scipy.stats import chi2_contingency

    b, c = _aligned(baseline_counts, canary_counts)
    keep = (b + c) > 0
    if keep.sum() < 2:
        return 1.0
    table = np.vstack([np.round(b[keep]), np.round(c[keep])])
    if np.any(table.sum(axis=1) == 0):
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HistogramComparison:
    psi: float
    p_value: float
    regressed: bool
    """psi > threshold and p_value < alpha (a shift big enough to matter and not sampling noise)."""


def compare_histograms(baseline_counts: Sequence[float], canary_counts: Sequence[float], *, psi_threshold: float,
                       alpha: float) -> HistogramComparison:
    psi = population_stability_index(baseline_counts, canary_counts)
    p_value = homogeneity_p_value(baseline_counts, canary_counts)
    return HistogramComparison(psi, p_value, psi > psi_threshold and p_value < alpha)


def ks_two_sample(baseline: ArrayLike, canary: ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and two-sided p-value."""
    from scipy.stats import ks_2samp

    b, c = as_sample(baseline), as_sample(canary)
    if len(b) == 0 or len(c) == 0:
        raise ValueError("both samples need at least one finite value")
    result = ks_2samp(b, c)
    return float(result.statistic), float(result.pvalue)  # type: ignore[attr-defined]


# Score --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreRange:
    low: float
    high: float
    """Score (0-100) if every metric without data failed (low) or passed (high); equal when all have data."""


def score_range(outcomes: Sequence[tuple[float, bool | None]]) -> ScoreRange:
    """Weighted share of passing metrics, 0-100. Each outcome is (weight, passed), passed None = no data."""
    total = sum(weight for weight, _ in outcomes)
    if total <= 0:
        raise ValueError("at least one metric needs a positive weight")
    passed = sum(weight for weight, ok in outcomes if ok is True)
    unknown = sum(weight for weight, ok in outcomes if ok is None)
    return ScoreRange(100.0 * passed / total, 100.0 * (passed + unknown) / total)


Label = Literal["PASS", "MARGINAL", "FAIL", "INCONCLUSIVE"]


def classify_score(score: ScoreRange, *, pass_score: float, marginal_score: float) -> Label:
    """PASS when even the worst case passes; FAIL or MARGINAL (by the best case) when even the best case misses
    `pass_score`; INCONCLUSIVE when the metrics without data decide."""
    if score.low >= pass_score:
        return "PASS"
    if score.high < pass_score:
        return "MARGINAL" if score.high >= marginal_score else "FAIL"
    return "INCONCLUSIVE"
