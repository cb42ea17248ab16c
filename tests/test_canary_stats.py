"""The canary judge's tests (runtime.canary.stats) on hand-made counts, and the score.

What matters beyond the raw statistics (tests/test_decision_stats.py): each test conditions period by period, so
traffic that shifts between the sides over time, or a response time that follows the load, is no evidence
against a good canary; and each PASS needs the documented effect ruled out.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.canary import bins, stats
from runtime.canary.score import ScoreRange, classify_score, score_range

LEVELS = stats.Levels(alpha=0.002, beta=0.1)


def test_errors_zero_error_baseline_fails_on_a_handful_of_canary_errors_and_passes_on_none() -> None:
    fail = stats.errors([30000], [0], [3000], [8], levels=LEVELS, ratio=2.0, tolerance=0.001)
    assert bool(fail.fail)
    assert not bool(fail.passed)
    one = stats.errors([30000], [0], [3000], [1], levels=LEVELS, ratio=2.0, tolerance=0.001)
    assert not bool(one.fail)
    clean = stats.errors([30000], [0], [5000], [0], levels=LEVELS, ratio=2.0, tolerance=0.001)
    assert bool(clean.passed)


def test_errors_within_the_tolerance_never_fail_however_significant() -> None:
    # 0.10 % -> 0.15 %: a 1.5x increase that is significant at this volume but only 0.05 pp.
    out = stats.errors([2_000_000], [2000], [2_000_000], [3000], levels=LEVELS, ratio=2.0, tolerance=0.001)
    assert float(out.stats["log_e_worse"]) > -math.log(LEVELS.alpha)
    assert not bool(out.fail)
    assert bool(out.passed)  # a ratio of 2 is ruled out


def test_errors_condition_on_each_periods_split() -> None:
    """The canary takes 10 % of the traffic in the first half and 50 % in the second, while the error rate of
    BOTH sides jumps from 0.1 % to 2 % (a dependency failing). Pooled over the window the canary looks 3x worse;
    period by period it is exactly as good."""
    nb = np.array([9000] * 5 + [5000] * 5)
    nc = np.array([1000] * 5 + [5000] * 5)
    rate = np.array([0.001] * 5 + [0.02] * 5)
    out = stats.errors(nb, nb * rate, nc, nc * rate, levels=LEVELS, ratio=2.0, tolerance=0.001)
    assert float(out.stats["rate_ratio"]) > 1.5
    assert float(out.stats["log_e_worse"]) < 0
    assert not bool(out.fail)


def test_errors_needed_grows_as_the_baseline_rate_falls_and_uses_the_floor_at_zero() -> None:
    high = stats.errors_needed(90000, 900, 10000, levels=LEVELS, ratio=2.0, tolerance=0.001)
    low = stats.errors_needed(90000, 90, 10000, levels=LEVELS, ratio=2.0, tolerance=0.001)
    zero = stats.errors_needed(90000, 0, 10000, levels=LEVELS, ratio=2.0, tolerance=0.001)
    assert high < low
    assert 3000 < zero < 5000  # log(2 / beta) / tolerance plus the mixture's cost
    assert stats.errors_needed(90000, 0, 10000, levels=LEVELS, ratio=2.0, tolerance=0.0) == math.inf


def _latency(median: float, n: int, *, sigma: float = 0.5, tail: float = 0.0, periods: int = 6) -> np.ndarray:
    rng = np.random.default_rng(round(median * 1e4) + n)
    out = np.zeros((periods, len(bins.LATENCY_LABELS)))
    for j in range(periods):
        z = rng.normal(size=n)
        x = median * (1 + 0.3 * j) * np.exp(sigma * z)  # the level follows the load on both sides
        x *= 1 + tail * (z > 1.6)
        out[j] = np.bincount(np.searchsorted(bins.LATENCY_LOG_EDGES, np.log(x), side="right"),
                             minlength=len(bins.LATENCY_LABELS))
    return out


def test_latency_is_judged_within_each_period_so_a_shared_trend_is_no_evidence() -> None:
    out = stats.latency(_latency(0.1, 9000), _latency(0.1, 1000), bins.LATENCY_LOG_EDGES, levels=LEVELS,
                        tolerance=0.1)
    assert bool(out.passed)
    slower = stats.latency(_latency(0.1, 9000), _latency(0.12, 1000), bins.LATENCY_LOG_EDGES, levels=LEVELS,
                           tolerance=0.1)
    assert bool(slower.fail)
    # +10 % on every request, lognormal with log-sd 0.5: Phi(log 1.1 / 0.5 / sqrt 2) - 1/2 = 0.054
    assert float(slower.stats["effect_at_tolerance"]) == pytest.approx(0.054, abs=0.005)


def test_tail_fails_on_slow_outliers_and_passes_a_canary_within_the_tolerance() -> None:
    base = _latency(0.1, 20000)
    same = stats.tail(base, _latency(0.1, 5000), bins.LATENCY_LOG_EDGES, levels=LEVELS, tolerance=0.2)
    assert bool(same.passed)
    outliers = stats.tail(base, _latency(0.1, 5000, tail=1.0), bins.LATENCY_LOG_EDGES, levels=LEVELS, tolerance=0.2)
    assert bool(outliers.fail)
    assert float(outliers.stats["p99_increase"]) > 0.3


def test_ordered_predictions_fail_on_a_shift_in_either_direction() -> None:
    rng = np.random.default_rng(4)
    edges = np.linspace(-3, 3, 13)

    def hist(shift: float, n: int) -> np.ndarray:
        return np.array([np.bincount(np.searchsorted(edges, rng.normal(shift, 1, n)), minlength=14)
                         for _ in range(4)], dtype=float)

    base = hist(0.0, 20000)
    assert bool(stats.predictions_ordered(base, hist(0.0, 5000), levels=LEVELS, shift_sd=0.2).passed)
    for shift in (0.3, -0.3):
        assert bool(stats.predictions_ordered(base, hist(shift, 5000), levels=LEVELS, shift_sd=0.2).fail)


def test_class_predictions_fail_on_a_changed_share() -> None:
    base = np.array([[7000.0, 3000.0]] * 4)
    assert bool(stats.predictions_classes(base, np.array([[700.0, 300.0]] * 4) * 2, levels=LEVELS,
                                          share_change=0.05).passed)
    assert bool(stats.predictions_classes(base, np.array([[1200.0, 800.0]] * 4), levels=LEVELS,
                                          share_change=0.05).fail)


def test_quality_sign_tests() -> None:
    base = np.full(12, 0.90)
    worse = stats.quality(base, np.full(12, 0.80), levels=LEVELS, higher_is_better=True, tolerance=0.02,
                          threshold=None, min_points=5)
    assert bool(worse.fail)
    good = stats.quality(base, np.full(12, 0.90) + np.linspace(-0.005, 0.005, 12), levels=LEVELS,
                         higher_is_better=True, tolerance=0.02, threshold=0.8, min_points=5)
    assert bool(good.passed)
    losses = stats.quality(np.full(12, 0.30), np.full(12, 0.40), levels=LEVELS, higher_is_better=False,
                           tolerance=0.02, threshold=None, min_points=5)
    assert bool(losses.fail)
    few = stats.quality(base[:3], base[:3], levels=LEVELS, higher_is_better=True, tolerance=0.02, threshold=None,
                        min_points=5)
    assert not bool(few.passed)
    assert not bool(few.fail)


def test_score_range_and_cut_offs() -> None:
    assert score_range([(0.4, True), (0.6, True)]) == ScoreRange(100.0, 100.0)
    assert score_range([(0.4, False), (0.6, True)]) == ScoreRange(60.0, 60.0)
    assert score_range([(1, True), (1, None), (2, False)]) == ScoreRange(25.0, 50.0)
    with pytest.raises(ValueError, match="positive weight"):
        score_range([(0, True)])
    cut = {"pass_score": 90.0, "marginal_score": 60.0}
    assert classify_score(ScoreRange(90, 90), **cut) == "PASS"
    assert classify_score(ScoreRange(89.9, 89.9), **cut) == "MARGINAL"
    assert classify_score(ScoreRange(59.9, 59.9), **cut) == "FAIL"
    assert classify_score(ScoreRange(92, 100), **cut) == "PASS"
    assert classify_score(ScoreRange(50, 80), **cut) == "MARGINAL"
    assert classify_score(ScoreRange(80, 100), **cut) == "INCONCLUSIVE"


def test_bins_label_latency_and_predictions_in_order() -> None:
    assert bins.latency_bin(0.0005) == bins.LATENCY_LABELS[0]
    assert bins.latency_bin(100.0) == bins.LATENCY_LABELS[-1]
    assert bins.latency_tc_stat(0) == "TC(:0.001)"
    assert bins.latency_tc_stat(len(bins.LATENCY_EDGES_S)) == f"TC({bins.LATENCY_EDGES_S[-1]:.6g}:)"
    assert bins.score_bin(0.05) == "[0,0.1)"
    assert bins.score_bin(1.0) == "[0.9,1]"
    assert bins.score_bin(0.95, [0, 0.5, 1]) == "[0.5,1]"
    assert bins.score_bin(2.0, [0, 1]) == "(1,inf)"
    assert bins.score_bin(250.0) == "[223.872,251.189)"
    assert bins.score_bin(-0.3) == "[-0.316228,-0.281838)"
    assert bins.score_bin(1) == "1"
    assert bins.score_bin("churn") == "churn"
    assert bins.score_bin(float("nan")) == "non-finite"
    values = [-5.0, -0.3, 0.05, 0.95, 1.5, 250.0]
    labels = [bins.score_bin(v) for v in values]
    assert bins.order_bins(list(reversed(labels))) == labels
    assert bins.order_bins(["0-0.1", "0.1-0.2"]) == ["0-0.1", "0.1-0.2"]  # labels of earlier publishers
    assert bins.order_bins(["churn", "stay"]) is None
