"""Model gate: its statistical checks (runtime.gates: the functions `mlcicd gate model` calls on the evaluation rows)
on simulated evaluation data of known truth.

Truths: null = exactly at the configured threshold (the hardest case for the false-FAIL rate: accuracy 0.85 for
`min: 0.85`, F1 0.80, RMSE 1.00 for `max: 1.0`, the same accuracy as the champion, equal group rates); effect =
the threshold missed by `effectSize` (accuracy 0.83, 2 points below the champion, parity ratio 0.7, odds gap 0.2,
F1 0.78, RMSE 1.02). Each check runs alone, so it holds the gate's whole alpha; `gate (all checks)` runs four
together at the null (alpha split between them).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from benchmarks.decisions_common import Row
from runtime.config.gates import ModelGateConfig
from runtime.gates import model_checks as mc
from runtime.report import Check, Verdict, combine

TITLE = "Model gate (confidence bounds on the evaluation rows)"
ROWS = (100, 300, 1000, 3000, 10000, 100000)
GROUP_SIZES = (30, 100, 300, 1000, 3000, 10000, 100000)
EVALUATION = {"path": "evaluation.parquet", "targetColumn": "y"}


def config(**gates: object) -> ModelGateConfig:
    return ModelGateConfig.model_validate({"evaluation": EVALUATION, **gates})


def _verdicts(checks: list[Check]) -> Verdict:
    return combine(c.verdict for c in checks)


def accuracy_rows(rng: np.random.Generator, n: int, accuracy: float) -> mc.Scored:
    truth = np.zeros(n, dtype=int)
    return mc.Scored(truth, (rng.random(n) >= accuracy).astype(int))


def paired_rows(rng: np.random.Generator, n: int, only_champion: float, only_candidate: float) -> mc.Scored:
    """Rows where the champion is right 90 % of the time and the two disagree on `only_*` of the rows."""
    u = rng.random(n)
    champ_right = u < 0.9
    flip = rng.random(n)
    cand_right = np.where(champ_right, flip >= only_champion / 0.9, flip < only_candidate / 0.1)
    truth = np.zeros(n, dtype=int)
    return mc.Scored(truth, (~cand_right).astype(int), (~champ_right).astype(int))


def f1_rows(rng: np.random.Generator, n: int, f1: float) -> mc.Scored:
    """Base rate 1/2, precision = recall = f1."""
    y = (rng.random(n) < 0.5).astype(int)
    false_positive = f1 * (1 / f1 - 1) if f1 else 0.0
    pred = np.where(y == 1, rng.random(n) < f1, rng.random(n) < false_positive).astype(int)
    return mc.Scored(y, pred)


def rmse_rows(rng: np.random.Generator, n: int, rmse: float) -> mc.Scored:
    y = rng.normal(0, 3, n)
    return mc.Scored(y, y + rng.normal(0, rmse, n))


def group_rows(rng: np.random.Generator, n: int, rates: tuple[tuple[float, float], ...]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n rows per group; group g has label base rate 1/2, TPR rates[g][0] and FPR rates[g][1]."""
    truth, pred, groups = [], [], []
    for g, (tpr, fpr) in enumerate(rates):
        y = rng.random(n) < 0.5
        truth.append(y.astype(int))
        pred.append(np.where(y, rng.random(n) < tpr, rng.random(n) < fpr).astype(int))
        groups.append(np.full(n, g))
    return np.concatenate(truth), np.concatenate(pred), np.concatenate(groups)


Sim = Callable[[np.random.Generator, int, bool], Verdict]


def metric_sim(cfg: ModelGateConfig, make: Callable[[np.random.Generator, int, bool], mc.Scored]) -> Sim:
    return lambda rng, n, effect: _verdicts(mc.evaluated_checks(cfg, make(rng, n, effect)))


def fairness_sim(cfg: ModelGateConfig, null: tuple, effect_rates: tuple) -> Sim:
    assert cfg.fairness is not None
    fairness = cfg.fairness
    alpha, power = mc.levels(cfg)

    def sim(rng: np.random.Generator, n: int, effect: bool) -> Verdict:
        truth, pred, groups = group_rows(rng, n, effect_rates if effect else null)
        return _verdicts(mc.fairness(truth, pred, groups, 1, fairness, alpha=alpha, power=power)[0])
    return sim


ONLY_DP = {"demographicParityRatioMin": 0.8, "equalizedOddsDifferenceMax": None, "minGroupSize": 30}
ONLY_EO = {"demographicParityRatioMin": None, "equalizedOddsDifferenceMax": 0.1, "minGroupSize": 30}
# Positive-prediction rate = (TPR + FPR) / 2 at base rate 1/2: (0.5, 0.1) gives 0.3, (0.38, 0.1) 0.24 (ratio 0.8),
# (0.32, 0.1) 0.21 (ratio 0.7).
CHECKS: list[tuple[str, str, str, Sim, tuple[int, ...], int]] = [
    ("metric:accuracy", "accuracy 0.85 (min 0.85)", "accuracy 0.83",
     metric_sim(config(metrics={"accuracy": {"min": 0.85}}),
                lambda rng, n, e: accuracy_rows(rng, n, 0.83 if e else 0.85)), ROWS, 1),
    ("regression:accuracy", "as accurate as the champion (0.90)", "2 points below the champion",
     metric_sim(config(metrics={"accuracy": {"maxRegression": 0.0}}),
                lambda rng, n, e: paired_rows(rng, n, 0.06 if e else 0.05, 0.04 if e else 0.05)), ROWS, 1),
    ("fairness:demographic-parity", "exactly fair (0.3 both)", "parity ratio 0.7",
     fairness_sim(config(fairness={"sensitiveColumn": "g", **ONLY_DP}), ((0.5, 0.1), (0.5, 0.1)),
                  ((0.5, 0.1), (0.32, 0.1))), GROUP_SIZES, 1),
    ("fairness:demographic-parity", "at the threshold (ratio 0.8)", "parity ratio 0.7",
     fairness_sim(config(fairness={"sensitiveColumn": "g", **ONLY_DP}), ((0.5, 0.1), (0.38, 0.1)),
                  ((0.5, 0.1), (0.32, 0.1))), GROUP_SIZES, 1),
    ("fairness:equalized-odds", "exactly fair (TPR 0.8, FPR 0.1 both)", "TPR gap 0.2",
     fairness_sim(config(fairness={"sensitiveColumn": "g", **ONLY_EO}), ((0.8, 0.1), (0.8, 0.1)),
                  ((0.8, 0.1), (0.6, 0.1))), GROUP_SIZES, 1),
    ("metric:f1_score", "F1 0.80 (min 0.80)", "F1 0.78",
     metric_sim(config(metrics={"f1_score": {"min": 0.8}}), lambda rng, n, e: f1_rows(rng, n, 0.78 if e else 0.8)),
     ROWS[:-1], 2),
    ("metric:rmse", "RMSE 1.00 (max 1.0)", "RMSE 1.02",
     metric_sim(config(task="regression", metrics={"rmse": {"max": 1.0}}),
                lambda rng, n, e: rmse_rows(rng, n, 1.02 if e else 1.0)), ROWS[:3], 10),
]


def whole_gate(rng: np.random.Generator, n: int) -> Verdict:
    cfg = config(metrics={"accuracy": {"min": 0.85, "maxRegression": 0.0}},
                 fairness={"sensitiveColumn": "g", "demographicParityRatioMin": 0.8,
                           "equalizedOddsDifferenceMax": 0.1})
    assert cfg.fairness is not None
    rows = paired_rows(rng, 2 * n, 0.05, 0.05)
    truth, pred, groups = group_rows(rng, n, ((0.8, 0.1), (0.8, 0.1)))
    alpha, power = mc.levels(cfg)
    checks = mc.evaluated_checks(cfg, rows)
    checks += mc.fairness(truth, pred, groups, 1, cfg.fairness, alpha=alpha, power=power)[0]
    return _verdicts(checks)


def _row(check: str, scenario: str, truth: str, n: int, unit: str, verdicts: list[Verdict], cfg_alpha: float,
         cfg_power: float) -> Row:
    fail = sum(v is Verdict.FAIL for v in verdicts)
    passed = sum(v is Verdict.PASS for v in verdicts)
    return Row("model gate", check, scenario, "null" if truth == "null" else "effect", n, unit, "-", len(verdicts),
               fail, len(verdicts) - fail - passed, passed, cfg_alpha, cfg_power)


def run(trials: int, rng: np.random.Generator) -> list[Row]:
    defaults = ModelGateConfig()
    rows: list[Row] = []
    for check, null, effect, sim, sizes, thin in CHECKS:
        started = time.perf_counter()
        unit = "rows per group" if check.startswith("fairness") else "evaluation rows"
        for n in sizes:
            count = max(100, trials // thin // (5 if n >= 100000 else 1))
            for truth, words in (("null", null), ("effect", effect)):
                verdicts = [sim(rng, n, truth == "effect") for _ in range(count)]
                rows.append(_row(check, words, truth, n, unit, verdicts, defaults.alpha, defaults.power))
        print(f"  gate {check} ({null}): {time.perf_counter() - started:.1f} s", flush=True)
    verdicts = [whole_gate(rng, 1000) for _ in range(trials)]
    rows.append(_row("gate (all checks)", "accuracy at min and as the champion, exactly fair", "null", 1000,
                     "rows per group", verdicts, defaults.alpha, defaults.power))
    return rows
