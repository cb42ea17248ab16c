"""The data gate's tests other than KS, as plain functions on counts: chi-square on merged cells, PSI, two
proportions, the reference-range exceedance test, multiple-testing corrections, and the power side (the sample
size a test needs to detect an effect). Only numpy at import; scipy lazily on rare paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Share floor for PSI so an empty bin does not make it infinite (the usual 1e-4, as in Evidently).
PSI_EPSILON = 1e-4
#: Chi-square cells need this expected count on each side (Cochran's rule); rarer categories are pooled.
MIN_EXPECTED = 5.0


# --------------------------------------------------------------------------------------------------------------
# Normal distribution (no scipy)
# --------------------------------------------------------------------------------------------------------------

def norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_isf(p: float) -> float:
    """z with P(Z > z) = p, by bisection on `norm_sf` (to 1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    lo, hi = -40.0, 40.0
    z = 0.0
    for _ in range(200):  # bisection on the monotone sf: plain and exact enough
        z = (lo + hi) / 2
        if norm_sf(z) > p:
            lo = z
        else:
            hi = z
        if hi - lo < 1e-12:
            break
    return z


# --------------------------------------------------------------------------------------------------------------
# Chi-square
# --------------------------------------------------------------------------------------------------------------

def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with integer `df` degrees of freedom (closed forms of the regularized
    upper incomplete gamma function at integer and half-integer order; no scipy import)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if not math.isfinite(x):
        return 0.0 if x > 0 else float("nan")
    if x <= 0:
        return 1.0
    y = x / 2.0
    if df % 2 == 0:  # Q(k, y) = e^-y * sum_{i<k} y^i / i!
        i = np.arange(df // 2, dtype=np.float64)
        logs = -y + i * math.log(y) - np.array([math.lgamma(v + 1) for v in i])
        total = float(np.exp(logs).sum())
    else:  # Q(k+1/2, y) = erfc(sqrt y) + e^-y * sum_{i=1..k} y^(i-1/2) / Gamma(i+1/2)
        total = math.erfc(math.sqrt(y))
        if df > 1:
            i = np.arange(1, (df - 1) // 2 + 1, dtype=np.float64)
            logs = -y + (i - 0.5) * math.log(y) - np.array([math.lgamma(v + 0.5) for v in i])
            total += float(np.exp(logs).sum())
    return min(max(total, 0.0), 1.0)


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    df: int
    p_value: float


def chi_square_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> ChiSquare:
    """Pearson chi-square test that two count vectors over the same categories come from one distribution
    (the 2 x K contingency table; no continuity correction). Categories empty in both are dropped."""
    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(cur_counts, dtype=np.float64)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    k = ref.shape[0]
    n_ref, n_cur = ref.sum(), cur.sum()
    if k < 2 or n_ref == 0 or n_cur == 0:
        return ChiSquare(0.0, max(k - 1, 0), 1.0)
    total = n_ref + n_cur
    col = ref + cur
    exp_ref = col * (n_ref / total)
    exp_cur = col * (n_cur / total)
    stat = float((((ref - exp_ref) ** 2) / exp_ref).sum() + (((cur - exp_cur) ** 2) / exp_cur).sum())
    return ChiSquare(stat, k - 1, chi2_sf(stat, k - 1))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index sum((c - r) * ln(c / r)) over bin shares, shares floored at PSI_EPSILON."""
    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(cur_counts, dtype=np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    r = np.maximum(ref / ref.sum(), PSI_EPSILON)
    c = np.maximum(cur / cur.sum(), PSI_EPSILON)
    return float(((c - r) * np.log(c / r)).sum())


def total_variation(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Half the L1 distance between the two category distributions (equals the KS statistic for two categories)."""
    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(cur_counts, dtype=np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    return float(0.5 * np.abs(ref / ref.sum() - cur / cur.sum()).sum())


def merge_cells(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool rare categories so that every cell expects at least MIN_EXPECTED rows on each side.

    Cells are chosen on the pooled counts (reference + current) only, which do not depend on which side a row
    came from: under the null hypothesis the test on the pooled cells keeps its level. Categories are taken from
    the most to the least frequent; those whose pooled count is below the threshold are summed into one cell, and
    that cell joins the smallest kept one when it is itself too small."""
    ref = np.asarray(ref_counts, dtype=np.int64)
    cur = np.asarray(cur_counts, dtype=np.int64)
    pooled = ref + cur
    total = int(pooled.sum())
    if total == 0:
        return ref[:0], cur[:0]
    smaller = min(int(ref.sum()), int(cur.sum()))
    threshold = MIN_EXPECTED * total / max(smaller, 1)  # pooled count at which the smaller side expects 5
    order = np.argsort(-pooled, kind="stable")
    keep = order[pooled[order] >= threshold]
    rest = order[(pooled[order] < threshold) & (pooled[order] > 0)]
    r, c = list(ref[keep]), list(cur[keep])
    if rest.size:
        rr, cc = int(ref[rest].sum()), int(cur[rest].sum())
        if rr + cc >= threshold or not r:
            r.append(rr)
            c.append(cc)
        else:
            r[-1] += rr
            c[-1] += cc
    return np.array(r, dtype=np.int64), np.array(c, dtype=np.int64)



# --------------------------------------------------------------------------------------------------------------
# Proportions and ranges
# --------------------------------------------------------------------------------------------------------------

def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value of the 2x2 table [[k1, n1-k1], [k2, n2-k2]] (scipy's definition: the tables
    no more likely than the observed one, with a 1e-7 relative tolerance)."""
    total = k1 + k2
    lo, hi = max(0, total - n2), min(total, n1)
    denominator = _log_choose(n1 + n2, total)
    logs = np.array([_log_choose(n1, x) + _log_choose(n2, total - x) - denominator for x in range(lo, hi + 1)])
    observed = logs[k1 - lo]
    return float(min(1.0, np.exp(logs[logs <= observed + 1e-7 * abs(observed) + 1e-12]).sum()))


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value that two binomial proportions are equal: Fisher's exact test when a cell expects fewer
    than MIN_EXPECTED, else the pooled z test."""
    if n1 == 0 or n2 == 0 or (k1 + k2 == 0) or (k1 + k2 == n1 + n2):
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    if min(pooled, 1 - pooled) * min(n1, n2) < MIN_EXPECTED:
        if pooled > 0.5:
            k1, k2 = n1 - k1, n2 - k2
        return fisher_exact(k1, n1, k2, n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return min(1.0, 2 * norm_sf(abs(k1 / n1 - k2 / n2) / se))


def excess_pvalue(k: int, n: int, increase: float, k_ref: int, n_ref: int) -> float:
    """One-sided p-value of H0: p_cur - p_ref <= increase, from k of n current and k_ref of n_ref reference
    rows (Wald z with each side's own variance, floored at one row's worth so zero counts are not certain)."""
    p, q = k / n, k_ref / n_ref
    var = max(p * (1 - p), 1 / n) / n + max(q * (1 - q), 1 / n_ref) / n_ref
    return norm_sf((p - q - increase) / math.sqrt(var))


def range_exceedance_pvalue(k: int, n: int, n_ref: int, ends: int) -> float:
    """P(K >= k): the chance that k or more of n new values from the reference's own (continuous) distribution
    fall outside the range its n_ref values spanned (beyond one or both `ends`).

    With all n + n_ref values exchangeable, one end: K >= k iff the k most extreme values are all new, so
    P = C(n, k) / C(n + n_ref, k). Both ends: P(K = t) = (t + 1) C(n - t + n_ref - 2, n_ref - 2) / C(n + n_ref,
    n_ref), summed over t >= k (the beta-binomial with the Beta(2, n_ref - 1) uncovered mass). Ties only make
    exceedance rarer, so the p-value is conservative for discrete data."""
    if k <= 0 or n_ref <= ends:
        return 1.0
    if ends == 1:
        return math.exp(_log_choose(n, k) - _log_choose(n + n_ref, k))
    m = n_ref
    log_total = _log_choose(n + m, m)
    total, t = 0.0, k
    while t <= n:  # terms fall off geometrically; sum windows of them until they no longer count
        ts = np.arange(t, min(n, t + 65_535) + 1, dtype=np.float64)
        ratio = np.concatenate(([1.0], (ts[:-1] + 2) / (ts[:-1] + 1) * (n - ts[:-1]) / (n - ts[:-1] + m - 2)))
        first = math.log(t + 1) + _log_choose(n - t + m - 2, m - 2) - log_total
        terms = np.exp(first + np.cumsum(np.log(ratio)))
        total += float(terms.sum())
        if terms[-1] < 1e-18 * max(total, 1e-300):
            break
        t = int(ts[-1]) + 1
    return min(total, 1.0)


# --------------------------------------------------------------------------------------------------------------
# Power: the sample size a test needs
# --------------------------------------------------------------------------------------------------------------

def ks_needed(effect: float, alpha: float, power: float, n_ref: int) -> int | None:
    """Current rows that give the KS test at least `power` to detect a KS distance `effect` against a reference of
    n_ref rows, or None when no current size suffices (the reference is too small).

    At the point where the CDFs differ by `effect`, the difference of the ECDFs is about normal with standard
    deviation at most 0.5*sqrt(1/n1 + 1/n2); D is at least its absolute value, so the test (asymptotic critical
    value c = K_alpha*sqrt(1/n1 + 1/n2)) rejects with probability >= `power` once
    sqrt(1/n1 + 1/n2) <= effect / (K_alpha + 0.5*z_power). Conservative: the real power is higher."""
    k_alpha = math.sqrt(-math.log(alpha / 2) / 2)
    room = (effect / (k_alpha + 0.5 * norm_isf(1 - power))) ** 2 - 1 / n_ref
    return None if room <= 0 else math.ceil(1 / room)


def chi2_isf(p: float, df: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile with upper tail p."""
    z = norm_isf(p)
    h = 2 / (9 * df)
    return df * max(1 - h + z * math.sqrt(h), 0.0) ** 3


def chi2_power(noncentrality: float, df: int, alpha: float) -> float:
    """Power of the chi-square test at level alpha, by Patnaik's approximation of the noncentral chi-square."""
    critical = chi2_isf(alpha, df)
    lam = noncentrality
    scale = (df + 2 * lam) / (df + lam)
    nu = (df + lam) ** 2 / (df + 2 * lam)
    x = critical / scale
    z = ((x / nu) ** (1 / 3) - (1 - 2 / (9 * nu))) / math.sqrt(2 / (9 * nu))
    return norm_sf(z)


def chi2_needed(effect: float, df: int, alpha: float, power: float, n_ref: int) -> int | None:
    """Current rows that give the chi-square test `power` to detect a total variation distance `effect` (the
    least favourable case: the noncentrality of a TVD d is at least 4*d^2*n_ref*n/(n_ref+n)), or None."""
    lo, hi = 0.0, 1.0
    while chi2_power(hi, max(df, 1), alpha) < power:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if chi2_power(mid, max(df, 1), alpha) < power else (lo, mid)
    n_eff = hi / (4 * effect**2)
    room = 1 / n_eff - 1 / n_ref
    return None if room <= 0 else math.ceil(1 / room)


# --------------------------------------------------------------------------------------------------------------
# Multiple testing
# --------------------------------------------------------------------------------------------------------------

def adjust_pvalues(p_values: list[float], method: str) -> list[float]:
    """Adjusted p-values: "benjamini-hochberg" (step-up, controls the false discovery rate), "bonferroni"
    (controls the family-wise error rate) or "none". NaN stays NaN and does not count as a test."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out.tolist()
    pv = p[valid]
    if method == "none":
        adj = pv
    elif method == "bonferroni":
        adj = np.minimum(pv * m, 1.0)
    elif method == "benjamini-hochberg":
        order = np.argsort(pv)
        ranked = pv[order] * m / np.arange(1, m + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        adj = np.empty(m)
        adj[order] = np.minimum(ranked, 1.0)
    else:
        raise ValueError(f"unknown correction {method!r}; use benjamini-hochberg, bonferroni or none")
    out[valid] = adj
    return out.tolist()
