"""The decisions hold their error rates: a few hundred simulated runs per cell on a fixed seed grid, through the
same decision functions the gates run (the full grid is `python -m benchmarks decisions`).

A null cell (as good as the baseline / champion) may FAIL at most at alpha plus its Monte Carlo margin: the count
must stay within the 99.9th percentile of Binomial(trials, alpha). Effect cells at a sample size the docs state
must reach the power target within their margin, and never PASS more often than 1 - power allows.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchmarks import decisions_canary as canary
from benchmarks import decisions_gate as gate
from benchmarks.decisions_common import counts, sequential
from runtime.report import Verdict

TRIALS = 200
ALPHA = canary.CFG.alpha
POWER = canary.CFG.power


def _allowed(trials: int, rate: float) -> float:
    return float(stats.binom.ppf(0.999, trials, rate))


@pytest.mark.parametrize("ratio", [1, 9])
@pytest.mark.parametrize(("metric", "n"), [("errors", 1000), ("errors", 20000), ("latency", 1000), ("tail", 5000),
                                           ("predictions (scores)", 5000), ("predictions (classes)", 5000),
                                           ("quality", 5000)])
def test_canary_metric_false_fail_rate_within_alpha(metric: str, n: int, ratio: int) -> None:
    rng = np.random.default_rng([n, ratio, len(metric)])
    fail, passed = canary.simulate(metric, False, rng, TRIALS, n, ratio)
    f, _, _ = counts(fail, passed)
    assert f <= _allowed(TRIALS, ALPHA), f"{metric} n={n} 1:{ratio}: {f} of {TRIALS} FAILed"


@pytest.mark.parametrize(("metric", "n", "ratio"), [("errors", 20000, 9), ("latency", 5000, 1), ("tail", 20000, 1),
                                                    ("predictions (scores)", 5000, 1)])
def test_canary_metric_catches_its_documented_effect(metric: str, n: int, ratio: int) -> None:
    rng = np.random.default_rng([n, ratio, 7])
    fail, passed = canary.simulate(metric, True, rng, TRIALS, n, ratio)
    f, _, p = counts(fail, passed)
    assert f >= TRIALS * POWER - 3 * np.sqrt(TRIALS * POWER * (1 - POWER)), f"{metric}: power {f / TRIALS:.2f}"
    assert p <= _allowed(TRIALS, 1 - POWER)


def test_stopping_at_the_first_decisive_look() -> None:
    fails = np.array([[False, True, False], [False, False, False], [False, False, True]])
    passes = np.array([[True, False, False], [False, False, False], [False, True, False]])
    fail, passed = sequential(fails, passes)
    assert fail.tolist() == [False, False, False]
    assert passed.tolist() == [True, False, True]


GATE_CELLS = [(check, null, sim, n) for check, null, _, sim, sizes, thin in gate.CHECKS if thin == 1
              for n in (sizes[0], 1000)]


@pytest.mark.parametrize(("check", "scenario", "sim", "n"), GATE_CELLS,
                         ids=[f"{c}-{s[:12]}-{n}" for c, s, _, n in GATE_CELLS])
def test_model_gate_false_fail_rate_within_alpha(check: str, scenario: str, sim: gate.Sim, n: int) -> None:
    rng = np.random.default_rng([n, len(check), len(scenario)])
    verdicts = [sim(rng, n, False) for _ in range(TRIALS)]
    fails = sum(v is Verdict.FAIL for v in verdicts)
    assert fails <= _allowed(TRIALS, gate.ModelGateConfig().alpha), f"{check} ({scenario}) n={n}: {fails} FAILed"


def test_bootstrap_f1_false_fail_rate_within_alpha() -> None:
    check, _, _, sim, _, _ = next(c for c in gate.CHECKS if c[0] == "metric:f1_score")
    rng = np.random.default_rng(5)
    fails = sum(sim(rng, 1000, False) is Verdict.FAIL for _ in range(TRIALS // 2))
    assert fails <= _allowed(TRIALS // 2, gate.ModelGateConfig().alpha), check


def test_model_gate_catches_two_points_of_accuracy_below_the_champion() -> None:
    _, _, _, sim, _, _ = next(c for c in gate.CHECKS if c[0] == "regression:accuracy")
    rng = np.random.default_rng(11)
    verdicts = [sim(rng, 10000, True) for _ in range(TRIALS)]
    assert sum(v is Verdict.FAIL for v in verdicts) >= TRIALS * 0.85
    assert sum(v is Verdict.PASS for v in verdicts) <= _allowed(TRIALS, 0.1)


def test_benchmark_sections_are_found_by_the_registry_and_rows_serialise() -> None:
    from benchmarks.decisions_common import Row, sections

    names = [m.__name__.rsplit(".", 1)[-1] for m in sections()]
    assert names[:2] == ["decisions_canary", "decisions_gate"]
    assert all(callable(m.run) and isinstance(m.TITLE, str) for m in sections())
    row = Row("canary", "errors", "5xx 0.5 % both", "null", 1000, "canary requests", "1:9", 1000, 25, 900, 75,
              0.01, 0.9)
    data = row.to_dict()
    assert data["fail_rate"] == 0.025
    assert data["fail_interval"][0] < 0.025 < data["fail_interval"][1]
    assert data["held"] is False  # 25 of 1000 at alpha 1 %: beyond Monte Carlo error
