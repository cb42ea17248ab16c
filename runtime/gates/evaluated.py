"""Metrics the model gate computes itself on the evaluation rows, decided with confidence bounds.

For a metric it knows (`ROW_METRICS`) and with `gates.evaluation` set, the gate scores the candidate (and the
champion, on the same rows) instead of trusting a logged point estimate:
- accuracy / error_rate: exact bounds (Clopper-Pearson; paired candidate - champion by the conditional McNemar
  construction of `runtime.stats.intervals`);
- precision, recall, f1 (binary, positive label `gates.fairness.positiveLabel` or 1) and mae, mse, rmse, r2:
  paired bootstrap percentile bounds (resampling rows; for binary labels the rows' eight joint outcomes).
A bound at the check's share of `gates.alpha` decides FAIL (the threshold lies beyond it); a bound at
1 - `gates.power` on the other side decides PASS (the effect `effectSize` lies beyond it); between them the check is
INCONCLUSIVE with the evaluation rows needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime.stats import intervals

#: Metric names the gate computes from rows, and whether higher is better.
CLASSIFICATION: dict[str, bool] = {"accuracy": True, "error_rate": False, "precision": True, "recall": True,
                                   "f1": True, "f1_score": True}
REGRESSION: dict[str, bool] = {"mae": False, "mean_absolute_error": False, "mse": False, "mean_squared_error": False,
                               "rmse": False, "root_mean_squared_error": False, "r2": True, "r2_score": True}
EXACT = ("accuracy", "error_rate")
#: Bootstrap resamples (fixed seed: the same rows give the same report).
BOOTSTRAP = 4000
SEED = 20260112
#: Rows per chunk of a row bootstrap (bounds memory at large evaluation sets).
CHUNK = 2_000_000


def row_metric(name: str, task: str) -> bool:
    return name in (CLASSIFICATION if task == "classification" else REGRESSION)


@dataclass(frozen=True)
class Bounds:
    """A metric (or a worsening vs the champion) with one-sided bounds at two levels."""

    estimate: float
    fail_low: float
    fail_high: float
    """Bounds at the check's alpha: FAIL when a threshold lies beyond them."""
    pass_low: float
    pass_high: float
    """Bounds at 1 - power: PASS when the effect lies beyond them."""
    sd: float
    """Standard deviation of one row's contribution (for the rows-needed estimate)."""
    method: str


# Exact: accuracy ----------------------------------------------------------------------------------------------------
def accuracy_bounds(correct: int, rows: int, *, alpha: float, beta: float) -> Bounds:
    p = correct / rows
    return Bounds(p, float(intervals.clopper_pearson_lower(correct, rows, alpha)),
                  float(intervals.clopper_pearson_upper(correct, rows, alpha)),
                  float(intervals.clopper_pearson_lower(correct, rows, beta)),
                  float(intervals.clopper_pearson_upper(correct, rows, beta)), math.sqrt(max(p * (1 - p), 1e-4)),
                  "exact Clopper-Pearson bounds")


def paired_accuracy_worsening(only_champion: int, only_candidate: int, rows: int, *, alpha: float,
                              beta: float) -> Bounds:
    """Champion accuracy - candidate accuracy on the same rows."""
    fail_lo, fail_hi = intervals.paired_difference_bounds(only_champion, only_candidate, rows, alpha)
    pass_lo, pass_hi = intervals.paired_difference_bounds(only_champion, only_candidate, rows, beta)
    discordance = (only_champion + only_candidate) / rows
    return Bounds((only_champion - only_candidate) / rows, float(fail_lo), float(fail_hi), float(pass_lo),
                  float(pass_hi), math.sqrt(max(discordance, 0.02)),
                  "exact paired bounds (discordant rows, conditional McNemar)")


# Bootstrap ----------------------------------------------------------------------------------------------------------
def _binary_metric(name: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    def value(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            if name == "precision":
                return tp / (tp + fp)
            if name == "recall":
                return tp / (tp + fn)
            if name in ("f1", "f1_score"):
                return 2 * tp / (2 * tp + fp + fn)
            return (tp + tn) / (tp + fp + fn + tn)
    return value


def binary_cells(truth: np.ndarray, candidate: np.ndarray, champion: np.ndarray | None, positive: object
                 ) -> np.ndarray:
    """Counts of the eight joint outcomes (truth positive, champion says positive, candidate says positive)."""
    y = truth == positive
    cand = candidate == positive
    champ = champion == positive if champion is not None else np.zeros_like(cand)
    return np.bincount(4 * y.astype(int) + 2 * champ.astype(int) + cand.astype(int), minlength=8).astype(float)


def _confusion(cells: np.ndarray, side: int) -> tuple[np.ndarray, ...]:
    """(tp, fp, fn, tn) over the last axis of 8-cell counts; side 0 = candidate, 1 = champion."""
    idx = np.arange(8)
    y, said = idx // 4 == 1, ((idx // 2) % 2 == 1) if side else (idx % 2 == 1)
    pick = [y & said, ~y & said, y & ~said, ~y & ~said]
    return tuple(np.sum(cells * mask, axis=-1) for mask in pick)


def bootstrap_binary(name: str, cells: np.ndarray, *, paired: bool, higher_is_better: bool, alpha: float,
                     beta: float) -> Bounds:
    """The metric (paired: the worsening vs the champion) from the eight joint outcomes; resampling rows is a
    multinomial draw over these cells."""
    rng = np.random.default_rng(SEED)
    rows = int(cells.sum())
    reps = rng.multinomial(rows, cells / rows, size=BOOTSTRAP).astype(float)
    metric = _binary_metric(name)

    def stat(c: np.ndarray) -> np.ndarray:
        cand = metric(*_confusion(c, 0))
        if not paired:
            return cand
        diff = metric(*_confusion(c, 1)) - cand
        return diff if higher_is_better else -diff

    return _from_replicates(float(stat(cells)), stat(reps), rows=rows, alpha=alpha, beta=beta,
                            method="paired bootstrap over rows" if paired else "bootstrap over rows")


def _regression_value(name: str, err: np.ndarray, truth: np.ndarray) -> np.ndarray:
    if name in ("mae", "mean_absolute_error"):
        return np.mean(np.abs(err), axis=-1)
    mse = np.mean(err ** 2, axis=-1)
    if name in ("mse", "mean_squared_error"):
        return mse
    if name in ("rmse", "root_mean_squared_error"):
        return np.sqrt(mse)
    spread = np.var(truth, axis=-1)
    return 1.0 - mse / np.where(spread > 0, spread, np.nan)


def bootstrap_regression(name: str, truth: np.ndarray, candidate: np.ndarray, champion: np.ndarray | None, *,
                         higher_is_better: bool, alpha: float, beta: float) -> Bounds:
    rng = np.random.default_rng(SEED)
    rows = len(truth)
    err_c = candidate - truth
    err_b = champion - truth if champion is not None else None

    def stat(index: np.ndarray | slice) -> np.ndarray:
        y = truth[index]
        cand = _regression_value(name, err_c[index], y)
        if err_b is None:
            return cand
        diff = _regression_value(name, err_b[index], y) - cand
        return diff if higher_is_better else -diff

    per_chunk = max(1, CHUNK // max(rows, 1))
    reps = np.concatenate([stat(rng.integers(0, rows, size=(min(per_chunk, BOOTSTRAP - start), rows)))
                           for start in range(0, BOOTSTRAP, per_chunk)])
    return _from_replicates(float(stat(slice(None))), reps, rows=rows, alpha=alpha, beta=beta,
                            method="paired bootstrap over rows" if err_b is not None else "bootstrap over rows")


def _from_replicates(estimate: float, reps: np.ndarray, *, rows: int, alpha: float, beta: float,
                     method: str) -> Bounds:
    finite = reps[np.isfinite(reps)]
    if len(finite) < len(reps) * 0.99 or not math.isfinite(estimate):
        return Bounds(estimate, math.nan, math.nan, math.nan, math.nan, math.nan, method)
    fail_lo, fail_hi = intervals.percentile_bounds(finite, alpha)
    pass_lo, pass_hi = intervals.percentile_bounds(finite, beta)
    return Bounds(estimate, float(fail_lo), float(fail_hi), float(pass_lo), float(pass_hi),
                  float(np.std(finite) * math.sqrt(rows)), f"{method} ({len(reps)} resamples, percentile)")
