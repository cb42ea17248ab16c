"""The canary judge's statistics, checked against scipy's reference implementations and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from runtime.canary import stats


# Error rates ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("xb", "nb", "xc", "nc"), [(0, 20000, 8, 2000), (0, 20000, 1, 2000), (5, 10000, 3, 1000),
                                                   (40, 1000, 2, 100), (3, 50, 0, 60), (0, 200, 0, 200)])
def test_fisher_greater_matches_scipy_one_sided(xb: int, nb: int, xc: int, nc: int) -> None:
    expected = sp.fisher_exact([[xc, nc - xc], [xb, nb - xb]], alternative="greater").pvalue  # type: ignore[attr-defined]
    assert stats.fisher_greater(xb, nb, xc, nc) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_fisher_zero_error_baseline_is_the_chance_all_errors_land_in_the_canary() -> None:
    # 0/20000 vs k/2000: every one of the k errors fell on the canary, which holds 1/11 of the traffic.
    assert stats.fisher_greater(0, 20000, 1, 2000) == pytest.approx(2000 / 22000)
    assert stats.fisher_greater(0, 20000, 8, 2000) < 1e-8


def test_posterior_probability_agrees_with_monte_carlo() -> None:
    rng = np.random.default_rng(3)
    for xb, nb, xc, nc, tol in [(0, 20000, 8, 2000, 0.001), (0, 20000, 1, 2000, 0.001), (10, 1000, 15, 1000, 0.0)]:
        draws_b = rng.beta(xb + 0.5, nb - xb + 0.5, 400_000)
        draws_c = rng.beta(xc + 0.5, nc - xc + 0.5, 400_000)
        monte_carlo = float(np.mean(draws_c - draws_b > tol))
        assert stats.prob_difference_exceeds(xb, nb, xc, nc, tol) == pytest.approx(monte_carlo, abs=0.005)


def test_error_rates_need_significance_and_an_increase_beyond_the_tolerance() -> None:
    few = stats.compare_error_rates(0, 20000, 8, 2000, tolerance=0.001, alpha=0.05)
    assert few.regressed
    assert few.difference == pytest.approx(0.004)
    assert few.baseline_rate == 0
    one = stats.compare_error_rates(0, 20000, 1, 2000, tolerance=0.001, alpha=0.05)
    assert not one.regressed
    assert one.p_value > 0.05
    # Significant but within the tolerance: 0.1% -> 0.18% at high volume with a tolerance of 0.5 pp.
    small = stats.compare_error_rates(100, 100_000, 180, 100_000, tolerance=0.005, alpha=0.05)
    assert small.p_value < 1e-5
    assert not small.regressed
    # Large but not significant: 1 error in 20 canary requests.
    noisy = stats.compare_error_rates(0, 20, 1, 20, tolerance=0.001, alpha=0.05)
    assert noisy.difference == pytest.approx(0.05)
    assert not noisy.regressed


def test_error_rates_clamp_errors_to_requests_and_reject_bad_counts() -> None:
    clamped = stats.compare_error_rates(0, 100, 120, 100, tolerance=0.0, alpha=0.05)
    assert clamped.canary_rate == 1.0
    with pytest.raises(ValueError, match="canary errors"):
        stats.compare_error_rates(0, 100, -1, 100, tolerance=0.0, alpha=0.05)
    with pytest.raises(ValueError, match="baseline requests"):
        stats.compare_error_rates(0, math.nan, 0, 100, tolerance=0.0, alpha=0.05)
    with pytest.raises(ValueError, match="at least one request"):
        stats.compare_error_rates(0, 0, 0, 100, tolerance=0.0, alpha=0.05)


# Mann-Whitney U -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 4), (8, 8), (10, 12), (25, 30), (60, 60)])
def test_exact_mann_whitney_matches_scipy(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + m)
    baseline, canary = rng.normal(size=m), rng.normal(0.4, size=n)
    u, p = stats.mann_whitney_greater(baseline, canary)
    ref = sp.mannwhitneyu(canary, baseline, alternative="greater", method="exact")
    assert u == ref.statistic
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


def test_null_distribution_is_a_symmetric_probability_distribution() -> None:
    cdf = stats.u_null_cdf(7, 9)
    pmf = np.diff(np.concatenate([[0.0], cdf]))
    assert cdf[-1] == pytest.approx(1.0)
    assert np.all(pmf >= 0)
    assert np.allclose(pmf, pmf[::-1])
    assert pmf[0] == pytest.approx(1 / math.comb(16, 7))


def test_large_or_tied_samples_use_the_normal_approximation_like_scipy() -> None:
    rng = np.random.default_rng(5)
    baseline, canary = rng.normal(size=200), rng.normal(0.2, size=150)
    ref = sp.mannwhitneyu(canary, baseline, alternative="greater", method="asymptotic")
    assert stats.mann_whitney_greater(baseline, canary)[1] == pytest.approx(ref.pvalue, rel=1e-9)
    tied_b, tied_c = np.round(rng.normal(size=20)), np.round(rng.normal(0.5, size=20))
    ref = sp.mannwhitneyu(tied_c, tied_b, alternative="greater", method="asymptotic")
    assert stats.mann_whitney_greater(tied_b, tied_c)[1] == pytest.approx(ref.pvalue, rel=1e-9)


def test_mann_whitney_drops_nan_and_handles_constant_samples() -> None:
    assert stats.mann_whitney_greater([1.0, 1.0, math.nan], [1.0, 1.0, 1.0]) == (3.0, 1.0)
    with pytest.raises(ValueError, match="at least one finite"):
        stats.mann_whitney_greater([math.nan], [1.0])


# Hodges-Lehmann --------------------------------------------------------------------------------------------------
def test_hodges_lehmann_estimate_is_the_median_pairwise_difference() -> None:
    result = stats.hodges_lehmann([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8], confidence=0.9)
    diffs = sorted(c - b for c in [3, 4, 5, 6, 7, 8] for b in [1, 2, 3, 4, 5])
    assert result.estimate == pytest.approx(float(np.median(diffs))) == 2.5


@pytest.mark.parametrize(("n", "m", "confidence"), [(8, 8, 0.9), (12, 10, 0.95), (70, 80, 0.9)])
def test_hodges_lehmann_interval_is_the_inverted_mann_whitney_test(n: int, m: int, confidence: float) -> None:
    """Every shift inside the interval is not rejected by the one-sided tests at (1 - confidence) / 2; just
    outside each end it is (the interval's defining property)."""
    rng = np.random.default_rng(n + m)
    baseline, canary = rng.normal(size=m), rng.normal(1.0, size=n)
    ci = stats.hodges_lehmann(baseline, canary, confidence=confidence)
    tail = (1 - confidence) / 2
    eps = 1e-9

    def p_greater(delta: float) -> float:
        return stats.mann_whitney_greater(baseline, canary - delta)[1]

    def p_less(delta: float) -> float:
        return stats.mann_whitney_greater(-baseline, -(canary - delta))[1]

    assert p_greater(ci.low - eps) <= tail + 1e-12
    assert p_greater(ci.low + eps) > tail
    assert p_less(ci.high + eps) <= tail + 1e-12
    assert p_less(ci.high - eps) > tail
    assert ci.low < ci.estimate < ci.high


def test_hodges_lehmann_interval_is_unbounded_when_samples_are_too_small() -> None:
    ci = stats.hodges_lehmann([1.0, 2.0], [3.0, 4.0], confidence=0.95)
    assert ci.low == -math.inf
    assert ci.high == math.inf
    with pytest.raises(ValueError, match="confidence"):
        stats.hodges_lehmann([1.0], [2.0], confidence=1.0)


# Location, spread, histograms -----------------------------------------------------------------------------------
def test_location_regression_needs_a_significant_shift_beyond_tolerance() -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(0.100, 0.004, 12)
    slow = stats.compare_location(base, rng.normal(0.130, 0.004, 12), tolerance=0.10, alpha=0.05)
    assert slow.regressed
    assert slow.relative_shift == pytest.approx(0.3, abs=0.05)
    assert slow.shift.low > 0
    slightly = stats.compare_location(base, base + 0.005, tolerance=0.10, alpha=0.05)
    assert slightly.p_value < 0.05
    assert not slightly.regressed
    faster = stats.compare_location(base, rng.normal(0.070, 0.004, 12), tolerance=0.10, alpha=0.05)
    assert not faster.regressed
    assert faster.worsening < 0


def test_location_respects_the_bad_direction() -> None:
    rng = np.random.default_rng(12)
    base = rng.normal(0.90, 0.005, 10)
    worse_quality = rng.normal(0.80, 0.005, 10)
    assert stats.compare_location(base, worse_quality, tolerance=0.02, alpha=0.05, worse="lower").regressed
    assert not stats.compare_location(base, worse_quality, tolerance=0.02, alpha=0.05, worse="higher").regressed


def test_location_relative_to_a_zero_baseline() -> None:
    cmp = stats.compare_location(np.zeros(8), np.linspace(1, 2, 8), tolerance=0.1, alpha=0.05)
    assert cmp.relative_shift == math.inf
    assert cmp.regressed


def test_spread_catches_a_variance_increase_at_equal_median() -> None:
    rng = np.random.default_rng(21)
    base = rng.normal(0.100, 0.005, 10)
    wide = np.median(base) + 6 * (base - np.median(base))  # same median, six times the scatter
    assert np.median(wide) == pytest.approx(np.median(base))
    assert not stats.compare_location(base, wide, tolerance=0.10, alpha=0.05).regressed
    spread = stats.compare_spread(base, wide, tolerance=0.25, alpha=0.05)
    assert spread.regressed
    assert spread.relative_increase > 2
    assert not stats.compare_spread(wide, base, tolerance=0.25, alpha=0.05).regressed  # narrower is fine


def test_quantile_spread_and_zero_spread_baseline() -> None:
    assert stats.quantile_spread(np.arange(101.0)) == pytest.approx(80.0)
    constant = stats.compare_spread(np.full(8, 0.1), np.linspace(0.05, 0.15, 8), tolerance=0.25, alpha=0.05)
    assert constant.relative_increase == math.inf
    assert constant.regressed
    both_flat = stats.compare_spread(np.full(8, 0.1), np.full(8, 0.1), tolerance=0.25, alpha=0.05)
    assert both_flat.relative_increase == 0
    assert not both_flat.regressed
    with pytest.raises(ValueError, match="two values"):
        stats.compare_spread([1.0], [1.0, 2.0], tolerance=0.25, alpha=0.05)


def test_psi_by_hand() -> None:
    # No smoothing: p = (0.5, 0.5), q = (0.25, 0.75): PSI = -0.25 ln 2 + 0.25 ln 1.5.
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert stats.population_stability_index([50, 50], [25, 75], smoothing=0.0) == pytest.approx(expected)
    assert stats.population_stability_index([10, 20, 30], [10, 20, 30]) == pytest.approx(0.0)
    assert math.isfinite(stats.population_stability_index([100, 0], [0, 100]))


def test_histogram_comparison_needs_a_big_and_significant_shift() -> None:
    shifted = stats.compare_histograms([700, 300], [400, 600], psi_threshold=0.2, alpha=0.05)
    assert shifted.regressed
    assert shifted.psi > 0.2
    assert shifted.p_value < 1e-6
    same = stats.compare_histograms([700, 300], [69, 31], psi_threshold=0.2, alpha=0.05)
    assert not same.regressed
    # Big PSI from a handful of predictions is noise, not a shift.
    tiny = stats.compare_histograms([3, 1], [1, 3], psi_threshold=0.2, alpha=0.05)
    assert tiny.psi > 0.2
    assert not tiny.regressed


def test_homogeneity_matches_scipy_and_ignores_empty_bins() -> None:
    ref = sp.chi2_contingency([[70, 20, 10], [50, 30, 20]], correction=False).pvalue  # type: ignore[attr-defined]
    assert stats.homogeneity_p_value([70, 20, 10, 0], [50, 30, 20, 0]) == pytest.approx(ref)
    assert stats.homogeneity_p_value([5, 0], [7, 0]) == 1.0
    with pytest.raises(ValueError, match="same bins"):
        stats.homogeneity_p_value([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least one count"):
        stats.population_stability_index([0, 0], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        stats.population_stability_index([1, -1], [1, 2])


def test_ks_two_sample_matches_scipy() -> None:
    a, b = [0.1, 0.2, 0.3, 0.4], [0.35, 0.45, 0.5, 0.6]
    ref = sp.ks_2samp(a, b)
    assert stats.ks_two_sample(a, b) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))  # type: ignore[attr-defined]


# Score ------------------------------------------------------------------------------------------------------------
def test_score_range_and_cut_offs() -> None:
    assert stats.score_range([(0.4, True), (0.6, True)]) == stats.ScoreRange(100.0, 100.0)
    assert stats.score_range([(0.4, False), (0.6, True)]) == stats.ScoreRange(60.0, 60.0)
    assert stats.score_range([(1, True), (1, None), (2, False)]) == stats.ScoreRange(25.0, 50.0)
    with pytest.raises(ValueError, match="positive weight"):
        stats.score_range([(0, True)])
    cut = {"pass_score": 90.0, "marginal_score": 60.0}
    assert stats.classify_score(stats.ScoreRange(90, 90), **cut) == "PASS"
    assert stats.classify_score(stats.ScoreRange(89.9, 89.9), **cut) == "MARGINAL"
    assert stats.classify_score(stats.ScoreRange(60, 60), **cut) == "MARGINAL"
    assert stats.classify_score(stats.ScoreRange(59.9, 59.9), **cut) == "FAIL"
    assert stats.classify_score(stats.ScoreRange(92, 100), **cut) == "PASS"  # even the worst case passes
    assert stats.classify_score(stats.ScoreRange(50, 80), **cut) == "MARGINAL"  # even the best case misses
    assert stats.classify_score(stats.ScoreRange(40, 55), **cut) == "FAIL"
    assert stats.classify_score(stats.ScoreRange(80, 100), **cut) == "INCONCLUSIVE"
