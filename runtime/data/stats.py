"""The statistics of the data gate as plain functions on numpy arrays: two-sample KS on sorted samples, its
p-value, chi-square, PSI, multiple-testing corrections.

Only numpy is imported at module level; scipy is imported lazily for the small-sample cases where scipy's own
method is the reference (exact two-sample KS when both samples have at most `EXACT_MAX_N` values, and the
finite-n Kolmogorov distribution for an effective size below `PELZ_GOOD_MIN_N`), so the large-n hot path pays
neither scipy's import time (0.3-0.8 s) nor `scipy.stats.kstwo.sf`'s cost at large n (about 1 s per value at
n = 500,000).

Agreement with scipy (asserted in tests/test_data_validation.py):
- `ks_statistic_sorted(a, b)` returns exactly the float `scipy.stats.ks_2samp(a, b, method="asymp").statistic`
  (same float arithmetic at the maximising point, ties included).
- `ks_pvalue(d, n1, n2)` is scipy's `ks_2samp` two-sided p-value: scipy itself for small samples, and for large
  samples the Pelz-Good expansion of the Kolmogorov distribution at n = round(n1*n2/(n1+n2)), which is what
  `scipy.stats.kstwo.sf` evaluates there (within 3e-8 where scipy switches to 2 * smirnov).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Up to this many values in the larger sample, scipy's exact two-sample distribution gives the p-value (scipy's
#: own `method="auto"` cut-off).
EXACT_MAX_N = 10_000
#: Effective sample sizes below this use scipy's finite-n Kolmogorov distribution; above, the Pelz-Good expansion
#: (measured against scipy.stats.kstwo.sf: 2e-5 worst case at n = 50, 3e-8 from n = 1000).
PELZ_GOOD_MIN_N = 100
#: Share floor for PSI so an empty bin does not make it infinite (the usual 1e-4, as in Evidently).
PSI_EPSILON = 1e-4
#: Block size of the coarse pass of the KS maximum search (see `_max_ecdf_gap`).
_KS_BLOCK = 64


# --------------------------------------------------------------------------------------------------------------
# Two-sample Kolmogorov-Smirnov
# --------------------------------------------------------------------------------------------------------------

def sorted_rank(b: np.ndarray, keys: np.ndarray, side: str = "right") -> np.ndarray:
    """`np.searchsorted(b, keys, side)` for a sorted `b`, in two cache-friendly levels.

    numpy's binary search over a large array costs a cache miss per step for keys spread over it (about
    20 misses per key at a million values). Here the keys are first located among every 64th value of `b` (a
    sample small enough to stay in cache), which bounds each answer to a window of 64 consecutive values; six
    vectorised halving steps inside the window finish the search. Same result as np.searchsorted, exactly.
    """
    n = b.shape[0]
    stride = _KS_BLOCK
    if n <= 4 * stride or keys.shape[0] * 8 > n:  # dense keys: numpy's search is cache-friendly enough
        return np.searchsorted(b, keys, side=side)  # type: ignore[call-overload]
    sample = b[stride - 1::stride]
    # All of b[:stride*j] is <= key (or < key for side="left"), and b[stride*(j+1)-1] is not: the answer lies in
    # [stride*j, stride*j + stride - 1] (the tail after the last full window is shorter than stride).
    pos = np.searchsorted(sample, keys, side=side).astype(np.int64) * stride  # type: ignore[call-overload]
    step = stride // 2
    while step:
        probe = pos + (step - 1)
        values = b.take(probe, mode="clip")
        ok = (values <= keys) if side == "right" else (values < keys)
        ok &= probe < n
        pos += ok * step
        step //= 2
    return pos


def _ecdf_gaps(a: np.ndarray, b: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """(i+1)/n1 - #{b <= a_i}/n2 at the given indices of a (all when None), in scipy's float arithmetic."""
    n1, n2 = a.shape[0], b.shape[0]
    if idx is None:
        counts = sorted_rank(b, a)
        ranks = np.arange(1, n1 + 1, dtype=np.int64)
    else:
        counts = sorted_rank(b, a[idx])
        ranks = idx + 1
    return ranks / n1 - counts / n2


def _max_ecdf_gap(a: np.ndarray, b: np.ndarray) -> float:
    """max over x of F_a(x) - F_b(x) for sorted samples a and b (the one-sided KS statistic D+).

    The maximum of a difference of right-continuous step functions is reached at a point of `a` (where F_a jumps
    up), and among tied values at the last one, whose rank i+1 is the right-rank scipy uses; the other tied ranks
    give strictly smaller values, so the maximum over all i of (i+1)/n1 - #{b <= a_i}/n2 is exactly scipy's.

    Exact search in two passes instead of evaluating every point: the coarse pass evaluates every 64th point;
    within a block starting at i0 and ending before i1 the gap is at most i1/n1 - #{b <= a_i0}/n2, so only blocks
    whose bound reaches the best coarse value can hold the maximum, and only those are evaluated point by point.
    Integer arithmetic (scaled by n1*n2) keeps the pruning exact; the result is the float scipy computes at the
    maximum.
    """
    n1, n2 = a.shape[0], b.shape[0]
    block = _KS_BLOCK
    if n1 <= 8 * block:
        return float(_ecdf_gaps(a, b, None).max())
    starts = np.arange(0, n1, block, dtype=np.int64)
    below = sorted_rank(b, a[starts]).astype(np.int64)
    scaled = (starts + 1) * n2 - below * n1
    best = scaled.max()
    ends = np.minimum(starts + block, n1)
    bound = ends * n2 - below * n1
    candidates = np.flatnonzero(bound >= best)
    if candidates.size * 4 >= starts.size:  # little to prune (e.g. identical samples): evaluate everything
        return float(_ecdf_gaps(a, b, None).max())
    idx = (starts[candidates][:, None] + np.arange(block, dtype=np.int64)).ravel()
    idx = idx[idx < n1]
    return float(_ecdf_gaps(a, b, idx).max())


def ks_statistic_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided two-sample KS statistic of two sorted, NaN-free, non-empty float64 samples.

    Equals `scipy.stats.ks_2samp(a, b, method="asymp").statistic` exactly (the same float).
    """
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ValueError("KS needs two non-empty samples")
    d_plus = _max_ecdf_gap(a, b)
    d_minus = _max_ecdf_gap(b, a)  # = -min(F_a - F_b): IEEE subtraction is sign-symmetric
    return min(max(d_plus, d_minus), 1.0)


def ks_statistic_bounds(values: np.ndarray, counts: np.ndarray, ranks: np.ndarray, n_ref: int,
                        b: np.ndarray) -> tuple[float, float]:
    """Bounds of the KS statistic when the reference is known only at some order statistics (a profile's sketch).

    `values` are strictly increasing reference values, the first its minimum and the last its maximum;
    `counts[j]` is the exact number of reference values <= values[j], and `ranks[j]` a 0-based rank at which
    values[j] occurs (so at most ranks[j] values are below it); `b` is the sorted current sample.
    The lower bound is |F_ref - F_cur| at the stored values (true values of the difference). Between two stored
    values v_j < v_j+1, F_ref lies in [counts[j], ranks[j+1]] / n_ref and F_cur between its value at v_j and its
    value just below v_j+1, which bounds the difference from above. The width is at most about 1/len(values) plus
    the current sample's largest share between two stored values.
    """
    n2 = b.shape[0]
    cur_right = sorted_rank(b, values, "right")
    cur_left = cur_right.copy()  # differs only where the current sample holds the stored value itself
    tied = np.flatnonzero((cur_right > 0) & (b.take(cur_right - 1, mode="clip") == values))
    if tied.size:
        cur_left[tied] = np.searchsorted(b, values[tied], side="left")
    f_ref = counts / n_ref
    f_cur = cur_right / n2
    lower = max(float(np.max(np.abs(f_ref - f_cur))), float(cur_left[0]) / n2)  # F_ref = 0 below the minimum
    upper = lower
    if values.shape[0] > 1:
        upper = max(upper, float(np.max(ranks[1:] / n_ref - f_cur[:-1])),
                    float(np.max(cur_left[1:] / n2 - f_ref[:-1])))
    return min(lower, 1.0), min(upper, 1.0)


def ks_effective_n(n1: int, n2: int) -> float:
    """round(n1*n2/(n1+n2)) computed as scipy does (larger size first, round half to even)."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return float(np.round(m * n / (m + n)))


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of the two-sample KS statistic `d` for sample sizes n1, n2 (scipy's asymptotic path).

    For max(n1, n2) <= EXACT_MAX_N scipy uses the exact distribution, which needs the samples: call
    `ks_2samp_small` instead (this function then still returns scipy's asymptotic value).
    """
    en = ks_effective_n(n1, n2)
    if en < PELZ_GOOD_MIN_N:
        from scipy.stats import kstwo

        return float(np.clip(kstwo.sf(d, en), 0.0, 1.0))
    return kolmogorov_sf(en, d)


def ks_2samp_small(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of `scipy.stats.ks_2samp(a, b)` for small sorted samples: scipy's exact method.

    scipy's own routine is called directly so that, where the exact computation fails numerically, scipy's
    fallback to the asymptotic p-value happens here without scipy's RuntimeWarning (warnings filters are not
    thread-safe to silence); the statistic is the one scipy reports (rounded to a multiple of 1/lcm(n1, n2)).
    """
    try:
        from scipy.stats._stats_py import _attempt_exact_2kssamp  # type: ignore[attr-defined]
    except ImportError:  # a scipy without the helper: the public function (it may warn on fallback)
        from scipy.stats import ks_2samp

        result = ks_2samp(a, b)
        return float(result.statistic), float(result.pvalue)  # type: ignore[attr-defined]
    n1, n2 = a.shape[0], b.shape[0]
    d = ks_statistic_sorted(a, b)
    g = math.gcd(n1, n2)
    success, d, p = _attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
    if not success:
        p = ks_pvalue(d, n1, n2)
    return float(d), float(np.clip(p, 0.0, 1.0))


def ks_2samp_sorted(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(statistic, two-sided p-value) of two sorted, NaN-free samples, as `scipy.stats.ks_2samp(a, b)` gives them:
    scipy itself for small samples (exact method), the fast path above for large ones."""
    if max(a.shape[0], b.shape[0]) <= EXACT_MAX_N:
        return ks_2samp_small(a, b)
    d = ks_statistic_sorted(a, b)
    return d, ks_pvalue(d, a.shape[0], b.shape[0])


_PI2 = math.pi**2
_PI4 = _PI2**2
_PI6 = _PI2**3
_SQRT2PI = math.sqrt(2 * math.pi)
_SQRT3 = math.sqrt(3.0)
_MIN_LOG = -708.0


def kolmogorov_sf(n: float, x: float) -> float:
    """P(D_n >= x) for the one-sample two-sided Kolmogorov statistic, by the Pelz-Good (1976) expansion

        P(D_n <= x) ~ K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5,  z = x*sqrt(n),

    each K_i written with Jacobi theta transforms so it converges for small z (Simard and L'Ecuyer 2011, the
    method scipy uses for large n). Valid for n of about 100 and more (error below 1e-5, 3e-8 from n = 1000).
    """
    if not math.isfinite(x) or x >= 1.0:
        return 0.0 if x >= 1.0 else float("nan")
    if x <= 0.0 or n * x <= 0.5:
        return 1.0
    if n * x * x >= 370.0:
        return 0.0
    z = math.sqrt(n) * x
    z2 = z * z
    z4 = z2 * z2
    z6 = z4 * z2
    qlog = -_PI2 / 8.0 / z2
    if qlog < _MIN_LOG:
        return 1.0
    q = math.exp(qlog)
    k1a, k1b = -z2, _PI2 / 4.0
    k2a, k2b, k2c = 6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * _PI2 / 4.0, _PI4 * (1 - 2 * z2) / 16.0
    k3a = -30 * z6 - 90 * z6 * z2
    k3b = _PI2 * (135 * z4 - 96 * z6) / 4.0
    k3c = _PI4 * (-60 * z2 + 212 * z4) / 16.0
    k3d = _PI6 * (5 - 30 * z2) / 64.0
    s0 = s1 = s2 = s3 = 0.0
    kmax = math.ceil(16 * z / math.pi)
    for k in range(kmax, 0, -1):  # Horner scheme over odd m = 2k-1 of c_m * q^(m^2)
        m2 = float((2 * k - 1) ** 2)
        qk = q ** (8 * k)
        s0 = s0 * qk + 1.0
        s1 = s1 * qk + (k1a + k1b * m2)
        s2 = s2 * qk + (k2a + k2b * m2 + k2c * m2 * m2)
        s3 = s3 * qk + (k3a + k3b * m2 + k3c * m2 * m2 + k3d * m2 * m2 * m2)
    scale = q * _SQRT2PI
    k0 = s0 * scale / z
    k1 = s1 * scale / (6 * z4)
    k2 = s2 * scale / (72 * z6 * z)
    k3 = s3 * scale / (6480 * z6 * z4)
    q2 = math.exp(-_PI2 / 2.0 / z2)  # the sums over all integers k of K2 and K3
    extra2 = extra3 = 0.0
    for k in range(kmax, 0, -1):
        k2f = float(k * k)
        qk = q2**k2f
        extra2 += k2f * qk
        extra3 += (_SQRT3 * z + math.pi * k) * (_SQRT3 * z - math.pi * k) * k2f * qk
    k2 += extra2 * _PI2 * _SQRT2PI / (-36 * z2 * z)
    k3 += extra3 * _PI2 * _SQRT2PI / (216 * z6)
    cdf = k0 + k1 / math.sqrt(n) + k2 / n + k3 / (n * math.sqrt(n))
    return min(max(1.0 - cdf, 0.0), 1.0)


# --------------------------------------------------------------------------------------------------------------
# Chi-square, PSI, effect sizes
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


def quantile_edges(sorted_values: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges of `bins` equal-frequency bins of a sorted sample: the k/bins empirical quantiles
    (inverse ECDF), duplicates removed so ties merge bins. Bin i holds values in (edge[i-1], edge[i]]."""
    n = sorted_values.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float64)
    ranks = np.ceil(np.arange(1, bins) * n / bins).astype(np.int64) - 1
    edges = np.unique(sorted_values[np.clip(ranks, 0, n - 1)])
    return edges[edges < sorted_values[-1]]  # an edge at the maximum would leave the last bin empty


def bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of a sorted sample in the bins (-inf, e0], (e0, e1], ..., (e_last, +inf)."""
    cuts = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate(([0], cuts, [sorted_values.shape[0]]))).astype(np.int64)


def display_edges(sorted_values: np.ndarray, bins: int = 24) -> np.ndarray:
    """Equal-width histogram edges over the reference's 0.5%-99.5% range (outliers fall in the end bins)."""
    n = sorted_values.shape[0]
    if n == 0:
        return np.array([0.0, 1.0])
    lo = float(sorted_values[int(0.005 * (n - 1))])
    hi = float(sorted_values[math.ceil(0.995 * (n - 1))])
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        lo, hi = float(sorted_values[0]), float(sorted_values[-1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo - 0.5, lo + 0.5]) if math.isfinite(lo) else np.array([0.0, 1.0])
    return np.linspace(lo, hi, bins + 1)


def histogram_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per display bin [e_i, e_i+1), values below the first edge in the first bin and above the last in
    the last one."""
    cuts = np.searchsorted(sorted_values, edges[1:-1], side="left")
    return np.diff(np.concatenate(([0], cuts, [sorted_values.shape[0]]))).astype(np.int64)


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
