"""The statistics the gates decide with (runtime.stats), against brute force and scipy.

Validity of an always-valid test rests on one fact per period: the expected likelihood ratio under the null is at
most 1. These tests compute that expectation exactly, by enumerating every outcome of small draws without
replacement (the hypergeometric the canary's share of a period really follows) and with replacement.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from runtime.stats import histograms as h
from runtime.stats import intervals, planning
from runtime.stats import sequential as seq


def _e(log_e: object) -> float:
    return math.exp(float(np.asarray(log_e)))


@pytest.mark.parametrize("mixture", [seq.half_normal(0.7), seq.half_normal(0.7, sign=-1), seq.two_sided(0.5)])
def test_binomial_e_value_has_mean_one_under_the_binomial_and_at_most_one_under_the_hypergeometric(
        mixture: seq.Mixture) -> None:
    m, p0 = 7, 0.3
    binomial = sum(stats.binom.pmf(x, m, p0) * _e(seq.binomial_log_e([x], [m], p0, mixture)) for x in range(m + 1))
    assert binomial == pytest.approx(1.0, rel=1e-9)
    # 7 events among 10 canary + 23 baseline requests: the canary's share of them is hypergeometric.
    expected = sum(stats.hypergeom.pmf(x, 33, 10, 7) * _e(seq.binomial_log_e([x], [m], 10 / 33, mixture))
                   for x in range(m + 1))
    assert expected <= 1.0 + 1e-12


def test_binomial_e_value_matches_the_mixture_of_likelihood_ratios_by_hand() -> None:
    mixture = seq.half_normal(1.0, points=5)
    x, m, p0 = np.array([2.0, 0.0, 3.0]), np.array([5.0, 1.0, 4.0]), np.array([0.2, 0.5, 0.4])
    by_hand = 0.0
    for psi, w in zip(mixture.tilts, np.exp(mixture.log_weights), strict=True):
        q = p0 * np.exp(psi) / (1 - p0 + p0 * np.exp(psi))
        by_hand += w * np.prod(stats.binom.pmf(x, m, q) / stats.binom.pmf(x, m, p0))
    assert _e(seq.binomial_log_e(x, m, p0, mixture)) == pytest.approx(by_hand, rel=1e-10)


def test_one_sided_binomial_e_value_stays_below_one_for_any_rate_on_the_null_side() -> None:
    up = seq.half_normal(1.0)
    for p in (0.05, 0.1, 0.2):  # composite null "rate <= 0.2"
        mean = sum(stats.binom.pmf(x, 9, p) * _e(seq.binomial_log_e([x], [9], 0.2, up)) for x in range(10))
        assert mean <= 1.0 + 1e-12


def _draws_without_replacement(pooled: list[int], n: int) -> dict[tuple[int, ...], float]:
    """Exact law of the bin counts of n draws without replacement from pooled bin counts."""
    items = [b for b, count in enumerate(pooled) for _ in range(count)]
    law: dict[tuple[int, ...], float] = {}
    combos = list(itertools.combinations(range(len(items)), n))
    for combo in combos:
        counts = tuple(int(np.sum([items[i] == b for i in combo])) for b in range(len(pooled)))
        law[counts] = law.get(counts, 0.0) + 1.0 / len(combos)
    return law


def test_multinomial_and_dirichlet_e_values_are_at_most_one_for_the_canary_share_of_a_period() -> None:
    pooled = [3, 2, 4]  # 9 requests in three bins, 4 of them the canary's
    n = 4
    shares = np.array(pooled) / sum(pooled)
    scores = h.ridits(shares)
    law = _draws_without_replacement(pooled, n)
    for mixture in (seq.half_normal(0.7), seq.two_sided(0.7)):
        mean = sum(p * _e(seq.multinomial_log_e([np.dot(c, scores)], [n], shares[None], scores[None], mixture))
                   for c, p in law.items())
        assert mean <= 1.0 + 1e-12
    mean = sum(p * _e(seq.dirichlet_log_e(np.array(c, dtype=float)[None], shares[None])) for c, p in law.items())
    assert mean <= 1.0 + 1e-12


def test_dirichlet_e_value_of_two_bins_is_the_beta_integral() -> None:
    x, p0 = np.array([[3.0, 5.0]]), np.array([[0.4, 0.6]])
    integral = integrate.quad(lambda q: q ** 3 * (1 - q) ** 5, 0, 1)[0]
    assert _e(seq.dirichlet_log_e(x, p0)) == pytest.approx(integral / (0.4 ** 3 * 0.6 ** 5), rel=1e-8)


def test_normal_mixture_matches_numerical_integration_and_its_boundary() -> None:
    s, v, rho = 3.0, 4.0, 2.0
    tau = 1 / math.sqrt(rho)
    integral = integrate.quad(lambda t: 2 * stats.norm.pdf(t, 0, tau) * math.exp(t * s - t * t * v / 2), 0, 50)[0]
    assert math.exp(float(seq.normal_log_e(s, v, rho))) == pytest.approx(integral, rel=1e-7)
    b = seq.normal_boundary(np.array([0.5, 5.0, 500.0]), 0.01, rho)
    assert seq.normal_log_e(b, np.array([0.5, 5.0, 500.0]), rho) == pytest.approx(math.log(100), abs=1e-6)


def test_normal_boundary_holds_its_level_over_many_looks() -> None:
    rng = np.random.default_rng(3)
    walks = np.cumsum(rng.normal(size=(20000, 200)), axis=1)
    v = np.arange(1, 201)
    crossed = (walks >= seq.normal_boundary(v, 0.05, 1.0)).any(axis=1).mean()
    assert crossed <= 0.05


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (17, 40), (850, 1000)])
def test_clopper_pearson_equals_scipy_exact_interval(x: int, n: int) -> None:
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.98, method="exact")
    assert float(intervals.clopper_pearson_lower(x, n, 0.01)) == pytest.approx(ci.low, abs=1e-9)
    assert float(intervals.clopper_pearson_upper(x, n, 0.01)) == pytest.approx(ci.high, abs=1e-9)


def test_paired_difference_bounds_cover_at_their_level_by_enumeration() -> None:
    """Every trinomial outcome (only-champion, only-candidate, agree) of 30 rows, at a few truths."""
    n, level = 30, 0.1
    a, b = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = a + b <= n
    lower, upper = intervals.paired_difference_bounds(a[ok], b[ok], n, level)
    for p_worse, p_better in ((0.05, 0.05), (0.1, 0.02), (0.0, 0.1), (0.2, 0.15)):
        pmf = stats.multinomial.pmf(np.stack([a[ok], b[ok], n - a[ok] - b[ok]], axis=1), n,
                                    [p_worse, p_better, 1 - p_worse - p_better])
        true = p_worse - p_better
        assert pmf[lower > true + 1e-12].sum() <= level
        assert pmf[upper < true - 1e-12].sum() <= level


def test_mcnemar_matches_the_exact_binomial_test() -> None:
    for worse, better in ((12, 3), (9, 4), (0, 0), (5, 5)):
        expected = worse + better > 0 and stats.binomtest(worse, worse + better, 0.5,
                                                          alternative="greater").pvalue < 0.05
        assert bool(intervals.mcnemar_worse(worse, better, 0.05)) == expected


def test_ridits_are_mid_ranks_and_the_permutation_variance_is_exact() -> None:
    baseline, canary = np.array([[2.0, 1.0, 3.0]]), np.array([[1.0, 2.0, 0.0]])
    pooled = h.pool(baseline, canary)
    values = np.repeat(np.arange(3), (baseline + canary)[0].astype(int))
    ranks = stats.rankdata(values) / len(values) - 0.5 / len(values)
    assert h.ridits(pooled.shares)[0][values] == pytest.approx(ranks)
    scores = h.ridits(pooled.shares)
    _, centred, var = h.score_moments(pooled, scores, canary)
    sums = [scores[0][list(c)].sum() for c in itertools.combinations(values, 3)]
    assert float(var) == pytest.approx(np.var(sums), rel=1e-12)
    assert float(centred) == pytest.approx(float(np.dot(canary[0], scores[0])) - np.mean(sums))


def test_binned_quantile_and_count_above_interpolate_in_the_log() -> None:
    edges = np.log([1.0, 2.0, 4.0])
    counts = np.array([0.0, 50.0, 50.0, 0.0])  # half in [1, 2), half in [2, 4)
    assert math.exp(float(h.quantile(counts, edges, 0.5))) == pytest.approx(2.0)
    assert math.exp(float(h.quantile(counts, edges, 0.75))) == pytest.approx(2.0 * math.sqrt(2.0))
    assert float(h.count_above(counts, edges, math.log(2 * math.sqrt(2)))) == pytest.approx(25.0)
    assert float(h.count_above(counts, edges, math.log(0.5))) == pytest.approx(100.0)


def test_shifting_a_binned_distribution() -> None:
    shares = np.array([0.25, 0.25, 0.25, 0.25])
    boundaries = np.array([0.0, 1.0, 2.0])
    assert h.shifted_shares(shares, boundaries, 0.0) == pytest.approx(shares)
    assert h.shifted_shares(shares, boundaries, 1.0) == pytest.approx([0.0, 0.25, 0.25, 0.5])
    assert float(h.ridit_effect(shares, h.shifted_shares(shares, boundaries, 1.0))) > 0
    normal = h.normal_boundaries(np.full(200, 1 / 200))
    effect = float(h.ridit_effect(np.full(200, 1 / 200), h.shifted_shares(np.full(200, 1 / 200), normal, 0.2)))
    assert effect == pytest.approx(stats.norm.cdf(0.2 / math.sqrt(2)) - 0.5, abs=2e-3)


def test_planning_is_consistent_with_the_boundary() -> None:
    drift, alpha, power, rho = 0.5, 0.01, 0.9, 4.0
    v = planning.information_needed(drift, alpha=alpha, power=power, rho=rho)
    z = planning.z(power)
    assert drift * v - z * math.sqrt(v) >= float(seq.normal_boundary(v, alpha, rho))
    assert drift * v * 0.9 - z * math.sqrt(v * 0.9) < float(seq.normal_boundary(v * 0.9, alpha, rho))
    assert planning.information_needed(0.0, alpha=alpha, power=power, rho=rho) == math.inf
    assert planning.fixed_sample_n(0.02, math.sqrt(0.85 * 0.15), alpha=0.01, power=0.9) == pytest.approx(4150, abs=1)
