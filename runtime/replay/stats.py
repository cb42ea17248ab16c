"""Pure statistics of the replay and shadow gates: paired comparisons of a candidate with its champion.

Every pair is one request (or one row of it) answered by both models, so each test here is a paired one: exact
Clopper-Pearson bounds for a rate, McNemar's exact test on discordant pairs, Wilcoxon signed-rank tests (one-sided,
and two one-sided for equivalence), and a paired bootstrap for ratios of latency quantiles. Sample sizes for a
wanted power use the usual normal approximations; they are estimates for the "needs N more" message, never the
basis of a verdict.

Kept here rather than shared with the canary judge (runtime/canary/stats.py is being redesigned): the functions
are small and tested against scipy and brute force in tests/test_replay_stats.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Resamples of the latency bootstrap at least; more when the per-test alpha is small (tails need samples).
BOOTSTRAP_MIN = 1000
#: Resamples drawn at once (memory: chunk x pairs floats).
BOOTSTRAP_CHUNK = 250
#: Asymptotic relative efficiency of the signed-rank test to the t-test in the worst case (Hodges-Lehmann 0.864):
#: sample sizes for it are the t-test's divided by this.
SIGNED_RANK_ARE = 0.864
#: "No sample size decides this" (an estimate sitting exactly on its bound).
UNREACHABLE = 10**9


def _z(p: float) -> float:
    """The standard normal quantile z with P(Z > z) = p."""
    from scipy.stats import norm

    return float(norm.isf(p))


# Rates ---------------------------------------------------------------------------------------------------------
def clopper_pearson(successes: int, n: int, alpha: float) -> tuple[float, float]:
    """Exact one-sided bounds (lower, upper) of a binomial rate, each at level alpha: P(true < lower) <= alpha and
    P(true > upper) <= alpha whatever the rate (the pair is a 1 - 2 alpha interval)."""
    from scipy.stats import beta

    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} not within 0..{n}")
    lower = 0.0 if successes == 0 else float(beta.ppf(alpha, successes, n - successes + 1))
    upper = 1.0 if successes == n else float(beta.isf(alpha, successes + 1, n - successes))
    return lower, upper


def binomial_upper_tail(k: int, n: int, p: float = 0.5) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    from scipy.stats import binom

    if k <= 0:
        return 1.0
    return float(binom.sf(k - 1, n, p))


def mcnemar_worse(worse: int, better: int) -> float:
    """McNemar's exact one-sided p-value for "the candidate is worse": of the discordant pairs, `worse` went the
    champion's way (champion right, candidate wrong) and `better` the candidate's; under equal accuracy each
    discordant pair goes either way with probability 1/2."""
    return binomial_upper_tail(worse, worse + better, 0.5)


def n_for_rate_bound(rate: float, bound: float, alpha: float, power: float) -> int:
    """Rows needed so that a one-sided bound at level alpha lands on the right side of `bound` with probability
    `power` when the true rate is `rate` (normal approximation; rate == bound can never be decided)."""
    if rate == bound:
        return UNREACHABLE
    za, zb = _z(alpha), _z(1 - power)
    spread = za * math.sqrt(bound * (1 - bound)) + zb * math.sqrt(max(rate * (1 - rate), 0.0))
    return max(1, math.ceil((spread / (bound - rate)) ** 2))


def n_for_mcnemar(discordance: float, drop: float, alpha: float, power: float) -> int:
    """Pairs needed by McNemar's one-sided test to detect an accuracy drop `drop` with probability `power`, when a
    share `discordance` of pairs is discordant (Connor 1987)."""
    psi = max(discordance, drop, 1e-9)
    za, zb = _z(alpha), _z(1 - power)
    return max(1, math.ceil(((za * math.sqrt(psi) + zb * math.sqrt(max(psi - drop**2, 0.0))) / drop) ** 2))


def n_for_location(sd: float, effect: float, alpha: float, power: float) -> int:
    """Pairs needed by a one-sided signed-rank test to detect a location shift `effect` of differences with
    standard deviation `sd` (t-test size over the signed-rank test's worst-case efficiency)."""
    if effect <= 0:
        return UNREACHABLE
    za, zb = _z(alpha), _z(1 - power)
    return max(1, math.ceil(((za + zb) * max(sd, 1e-12) / effect) ** 2 / SIGNED_RANK_ARE))


# Locations -----------------------------------------------------------------------------------------------------
Alternative = Literal["greater", "less"]


def signed_rank(differences: ArrayLike, alternative: Alternative) -> float:
    """Wilcoxon signed-rank one-sided p-value for the differences' location being above ("greater") or below
    ("less") zero. Zero differences carry no sign and are dropped; none left: p = 1 (no evidence)."""
    from scipy.stats import wilcoxon

    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d) & (d != 0)]
    if d.size == 0:
        return 1.0
    return float(wilcoxon(d, alternative=alternative, zero_method="wilcox").pvalue)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Equivalence:
    """Two one-sided signed-rank tests (TOST) of paired differences against a margin +-m."""

    p_equivalent: float
    """max of the two one-sided p-values of "location > -m" and "location < +m": <= alpha shows equivalence."""
    p_above: float
    """p-value of "location > +m" (the candidate shifted up beyond the margin)."""
    p_below: float
    """p-value of "location < -m"."""


def equivalence(differences: ArrayLike, margin: float) -> Equivalence:
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    p_low = signed_rank(d + margin, "greater")
    p_high = signed_rank(d - margin, "less")
    return Equivalence(p_equivalent=max(p_low, p_high), p_above=signed_rank(d - margin, "greater"),
                       p_below=signed_rank(d + margin, "less"))


# Latency -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RatioInterval:
    ratio: float
    """quantile(candidate) / quantile(champion) on all pairs."""
    lower: float
    """One-sided lower bound at level alpha (paired percentile bootstrap)."""
    upper: float
    resamples: int


def bootstrap_resamples(alpha: float, floor: int = BOOTSTRAP_MIN) -> int:
    """Enough resamples for about 10 in the tail beyond an alpha-quantile."""
    return max(floor, math.ceil(10 / alpha))


def quantile_ratios(candidate: ArrayLike, champion: ArrayLike, quantiles: Sequence[float], alpha: float, *,
                    rng: np.random.Generator, resamples: int | None = None) -> list[RatioInterval]:
    """Ratios of the q-quantiles (inverse empirical CDF) of paired latencies with one-sided percentile-bootstrap
    bounds. Pairs are resampled together, so the bounds reflect the pairing (both sides met the same request);
    one set of resamples serves every quantile. A resample is a multinomial count per pair, and its quantile the
    first sorted value whose cumulative count reaches q n: no array is copied or partitioned per resample."""
    cand = np.asarray(candidate, dtype=np.float64)
    champ = np.asarray(champion, dtype=np.float64)
    if cand.shape != champ.shape or cand.size == 0:
        raise ValueError("quantile_ratios needs two non-empty paired samples of equal length")
    n = cand.size
    total = resamples or bootstrap_resamples(alpha)
    sides = []
    for values in (cand, champ):
        order = np.argsort(values, kind="stable")
        rank = np.empty(n, dtype=np.int32)
        rank[order] = np.arange(n)
        sides.append((values[order], rank))
    targets = [max(1, math.ceil(q * n)) for q in quantiles]
    draws: list[list[NDArray[np.float64]]] = [[] for _ in quantiles]
    floor = np.finfo(np.float64).tiny
    for start in range(0, total, BOOTSTRAP_CHUNK):
        size = min(BOOTSTRAP_CHUNK, total - start)
        drawn = rng.integers(0, n, size=(size, n), dtype=np.int32)
        offsets = np.arange(size, dtype=np.int32)[:, None] * n
        # Per resample and side: how often each rank was drawn, cumulated along the sorted order.
        cums = [np.cumsum(np.bincount((rank[drawn] + offsets).ravel(), minlength=size * n).reshape(size, n),
                          axis=1, dtype=np.int32) for _, rank in sides]
        for i, k in enumerate(targets):
            picked = [values[(cum >= k).argmax(axis=1)] for (values, _), cum in zip(sides, cums, strict=True)]
            draws[i].append(picked[0] / np.maximum(picked[1], floor))
    out = []
    for i, k in enumerate(targets):
        ratio = sides[0][0][k - 1] / max(sides[1][0][k - 1], floor)
        lower, upper = np.quantile(np.concatenate(draws[i]), [alpha, 1 - alpha])
        out.append(RatioInterval(float(ratio), float(lower), float(upper), total))
    return out


def tail_samples_needed(q: float, tail: int = 10) -> int:
    """Pairs needed for `tail` observations beyond the q-quantile (below it a bootstrap of the quantile is
    unreliable: it resamples the same few points)."""
    return math.ceil(tail / (1 - q))


def n_for_interval(n: int, estimate: float, bound: float, far_end: float) -> int:
    """Pairs needed for an interval now reaching from `estimate` to `far_end` to end before `bound` (widths shrink
    as 1/sqrt(n)); UNREACHABLE when the estimate sits on the bound."""
    gap = abs(bound - estimate)
    if gap == 0:
        return UNREACHABLE
    return max(n + 1, math.ceil(n * (abs(far_end - estimate) / gap) ** 2))


def bonferroni(alpha: float, tests: int) -> float:
    """Per-test level keeping the chance of any false FAIL among `tests` tests at or below alpha."""
    return alpha / max(tests, 1)
