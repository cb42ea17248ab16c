"""The replay statistics against scipy and brute force (runtime/replay/stats.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, wilcoxon

from runtime.replay import stats


@pytest.mark.parametrize(("x", "n"), [(0, 50), (3, 50), (25, 50), (50, 50), (7, 1000)])
def test_clopper_pearson_bounds_are_the_exact_binomial_tail_inversions(x: int, n: int) -> None:
    alpha = 0.01
    lower, upper = stats.clopper_pearson(x, n, alpha)
    if x > 0:
        assert binom.sf(x - 1, n, lower) == pytest.approx(alpha, rel=1e-6)  # P(X >= x | lower) = alpha
    else:
        assert lower == 0
    if x < n:
        assert binom.cdf(x, n, upper) == pytest.approx(alpha, rel=1e-6)  # P(X <= x | upper) = alpha
    else:
        assert upper == 1


def test_clopper_pearson_lower_bound_exceeds_the_true_rate_at_most_alpha_of_the_time() -> None:
    rng = np.random.default_rng(3)
    n, p, alpha = 400, 0.05, 0.05
    draws = rng.binomial(n, p, 4000)
    misses = np.mean([stats.clopper_pearson(int(x), n, alpha)[0] > p for x in draws])
    assert misses <= alpha


@pytest.mark.parametrize(("worse", "better"), [(0, 0), (5, 0), (12, 7), (3, 20)])
def test_mcnemar_exact_is_the_one_sided_binomial_test_of_discordant_pairs(worse: int, better: int) -> None:
    expected = 1.0 if worse + better == 0 else binomtest(worse, worse + better, 0.5, alternative="greater").pvalue
    assert stats.mcnemar_worse(worse, better) == pytest.approx(expected)


def test_signed_rank_is_scipys_wilcoxon_without_the_zeros() -> None:
    d = np.array([0.0, 0.3, -0.1, 0.5, 0.0, 0.9, -0.2, 0.4, 0.7, 1.1, -0.05, 0.6])
    for alternative in ("greater", "less"):
        expected = wilcoxon(d[d != 0], alternative=alternative).pvalue  # type: ignore[attr-defined]
        assert stats.signed_rank(d, alternative) == pytest.approx(expected)
    assert stats.signed_rank(np.zeros(20), "greater") == 1.0  # no sign, no evidence


def test_equivalence_shows_identical_predictions_equivalent_and_a_shift_beyond_the_margin() -> None:
    rng = np.random.default_rng(0)
    same = stats.equivalence(np.zeros(200), margin=0.5)
    assert same.p_equivalent < 1e-6
    assert min(same.p_above, same.p_below) == 1.0
    shifted = stats.equivalence(rng.normal(1.0, 0.2, 200), margin=0.5)
    assert shifted.p_above < 1e-6
    assert shifted.p_equivalent > 0.5


def _brute_force(cand: np.ndarray, champ: np.ndarray, q: float, alpha: float, seed: int,
                 total: int) -> tuple[float, float]:
    """The same resamples drawn the same way, each quantile computed on the copied resample."""
    rng = np.random.default_rng(seed)
    ratios = []
    n = cand.size
    for start in range(0, total, stats.BOOTSTRAP_CHUNK):
        idx = rng.integers(0, n, size=(min(stats.BOOTSTRAP_CHUNK, total - start), n), dtype=np.int32)
        ratios.append(np.quantile(cand[idx], q, axis=1, method="inverted_cdf")
                      / np.quantile(champ[idx], q, axis=1, method="inverted_cdf"))
    lower, upper = np.quantile(np.concatenate(ratios), [alpha, 1 - alpha])
    return float(lower), float(upper)


def test_quantile_ratio_bootstrap_equals_resampling_the_pairs_by_brute_force() -> None:
    rng = np.random.default_rng(11)
    champ = rng.lognormal(np.log(5), 0.4, 300)
    cand = champ * rng.lognormal(0.1, 0.2, 300)
    found = stats.quantile_ratios(cand, champ, [0.5, 0.9], 0.05, rng=np.random.default_rng(5), resamples=500)
    for q, interval in zip((0.5, 0.9), found, strict=True):
        assert interval.ratio == pytest.approx(np.quantile(cand, q, method="inverted_cdf")
                                               / np.quantile(champ, q, method="inverted_cdf"))
        lower, upper = _brute_force(cand, champ, q, 0.05, 5, 500)
        assert (interval.lower, interval.upper) == pytest.approx((lower, upper))
        assert interval.lower <= interval.ratio <= interval.upper


def test_a_constant_ratio_has_no_spread() -> None:
    champ = np.random.default_rng(2).lognormal(1, 0.5, 100)
    (interval,) = stats.quantile_ratios(2 * champ, champ, [0.5], 0.01, rng=np.random.default_rng(0))
    assert (interval.lower, interval.ratio, interval.upper) == pytest.approx((2, 2, 2))


def test_sample_sizes_for_power() -> None:
    # p = 0: the upper bound alone must fall under the bound; exact answer ln(alpha)/ln(1 - bound) = 90.
    assert stats.n_for_rate_bound(0.0, 0.05, 0.01, 0.8) == pytest.approx(math.log(0.01) / math.log(0.95), rel=0.2)
    assert stats.n_for_rate_bound(0.04, 0.05, 0.01, 0.8) > stats.n_for_rate_bound(0.02, 0.05, 0.01, 0.8)
    assert stats.n_for_rate_bound(0.05, 0.05, 0.01, 0.8) == stats.UNREACHABLE
    assert stats.n_for_mcnemar(0.1, 0.02, 0.01, 0.8) > stats.n_for_mcnemar(0.1, 0.05, 0.01, 0.8)
    assert stats.tail_samples_needed(0.99) == 1000
    assert stats.bonferroni(0.05, 5) == pytest.approx(0.01)


def test_mcnemar_sample_size_reaches_the_power_it_promises() -> None:
    """Simulated: discordant pairs 10 %, a 3-point drop; at the computed size the exact test detects it >= 80 %."""
    rng = np.random.default_rng(8)
    psi, drop, alpha = 0.10, 0.03, 0.01
    n = stats.n_for_mcnemar(psi, drop, alpha, 0.8)
    hits = 0
    for _ in range(400):
        draws = rng.multinomial(n, [(psi + drop) / 2, (psi - drop) / 2, 1 - psi])
        hits += stats.mcnemar_worse(int(draws[0]), int(draws[1])) <= alpha
    assert hits / 400 >= 0.75  # the normal approximation; within sampling error of 0.8
