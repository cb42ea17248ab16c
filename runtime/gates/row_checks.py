"""The model gate's checks of metrics it computes on the evaluation rows (`runtime.gates.evaluated`).

`metric:<name>` checks a metric against `min`/`max`, `regression:<name>` its worsening vs the champion (scored on the
same rows) against `maxRegression`. Each decides on bounds at its share of `gates.alpha` (FAIL) and at 1 -
`gates.power` (PASS); otherwise INCONCLUSIVE with the rows needed for the configured power at `effectSize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.config.gates import MetricThresholdConfig, ModelGateConfig
from runtime.gates import evaluated as ev
from runtime.gates.fairness import check_names as fairness_names
from runtime.report import Check, failed, inconclusive, passed
from runtime.stats.planning import fixed_sample_n


def fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Scored:
    """The evaluation rows' targets and both models' predictions on them (champion None: no champion scored)."""

    truth: np.ndarray
    candidate: np.ndarray
    champion: np.ndarray | None = None
    positive: Any = 1
    """Positive label of binary precision, recall and F1."""


def computed(name: str, cfg: ModelGateConfig) -> bool:
    """Does the gate compute this metric from the evaluation rows (rather than read the logged value)?"""
    return cfg.evaluation is not None and ev.row_metric(name, cfg.task)


def check_names(cfg: ModelGateConfig) -> list[str]:
    names = []
    for name, bounds in sorted(cfg.metrics.items()):
        if computed(name, cfg):
            if bounds.min is not None or bounds.max is not None:
                names.append(f"metric:{name}")
            if bounds.max_regression is not None:
                names.append(f"regression:{name}")
    return names


def levels(cfg: ModelGateConfig) -> tuple[float, float]:
    """(alpha of each statistical check, power): the gate's alpha split evenly over its row metrics, regressions
    and fairness checks."""
    count = len(check_names(cfg)) + (len(fairness_names(cfg.fairness)) if cfg.fairness is not None else 0)
    return cfg.alpha / max(count, 1), cfg.power


def _decide(name: str, b: ev.Bounds, *, low: float | None, high: float | None, effect: float, alpha: float,
            power: float, rows: int, what: str, threshold: str) -> Check:
    """FAIL when the alpha-level bound lies beyond a threshold; PASS when the (1 - power)-level bounds rule out
    missing it by `effect`; otherwise INCONCLUSIVE."""
    needed = fixed_sample_n(effect, b.sd, alpha=alpha, power=power) if math.isfinite(b.sd) else math.inf
    decision: dict[str, Any] = {"method": b.method, "alpha": alpha, "power": power, "effect": effect, "rows": rows,
                                "rows_needed": needed, "estimate": b.estimate,
                                "bounds": {"alpha": [b.fail_low, b.fail_high], "power": [b.pass_low, b.pass_high]}}
    if not math.isfinite(b.fail_low):
        out = inconclusive(name, f"{what} = {fmt(b.estimate)}: undefined on some resamples of the {rows} rows "
                           "(a class never predicted or never present)", b.estimate, threshold)
        out.decision = decision
        return out
    story = (f"{what} = {fmt(b.estimate)} on {rows} evaluation rows, bounds [{fmt(b.fail_low)}, {fmt(b.fail_high)}] "
             f"at alpha {alpha:.3g} ({b.method})")
    if low is not None and b.fail_high < low:
        out = failed(name, b.estimate, threshold, f"{story}: even the upper bound is below {fmt(low)}")
    elif high is not None and b.fail_low > high:
        out = failed(name, b.estimate, threshold, f"{story}: even the lower bound is above {fmt(high)}")
    elif (low is None or b.pass_low > low - effect) and (high is None or b.pass_high < high + effect):
        out = passed(name, b.estimate, threshold, f"{story}; missing the threshold by {fmt(effect)} or more is "
                     f"ruled out (bounds [{fmt(b.pass_low)}, {fmt(b.pass_high)}] at {1 - power:.3g})")
    else:
        more = f"about {needed:,.0f} rows" if math.isfinite(needed) else "more rows"
        out = inconclusive(name, f"{story}; cannot decide yet: {more} give {power:.0%} power at an effect of "
                           f"{fmt(effect)}", b.estimate, threshold)
    out.decision = decision
    return out


def _bounds_for(name: str, cfg: ModelGateConfig, rows: Scored, *, paired: bool, alpha: float,
                beta: float) -> ev.Bounds:
    higher = (ev.CLASSIFICATION | ev.REGRESSION)[name]
    truth, candidate, positive = rows.truth, rows.candidate, rows.positive
    champion = rows.champion if paired else None
    if name in ev.EXACT:
        correct_c = candidate == truth
        if champion is None:
            hits = int(correct_c.sum()) if name == "accuracy" else int((~correct_c).sum())
            return ev.accuracy_bounds(hits, len(truth), alpha=alpha, beta=beta)
        correct_b = champion == truth
        worse, better = int(np.sum(correct_b & ~correct_c)), int(np.sum(correct_c & ~correct_b))
        return ev.paired_accuracy_worsening(worse, better, len(truth), alpha=alpha, beta=beta)
    if cfg.task == "classification":
        cells = ev.binary_cells(truth, candidate, champion, positive)
        return ev.bootstrap_binary(name, cells, paired=champion is not None, higher_is_better=higher, alpha=alpha,
                                   beta=beta)
    return ev.bootstrap_regression(name, truth.astype(float), candidate.astype(float),
                                   None if champion is None else champion.astype(float), higher_is_better=higher,
                                   alpha=alpha, beta=beta)


def metric_check(name: str, bounds: MetricThresholdConfig, cfg: ModelGateConfig, rows: Scored) -> Check:
    alpha, power = levels(cfg)
    both = bounds.min is not None and bounds.max is not None
    side = alpha / 2 if both else alpha
    b = _bounds_for(name, cfg, rows, paired=False, alpha=side, beta=1 - power)
    threshold = " and ".join(t for t in (f">= {fmt(bounds.min)}" if bounds.min is not None else "",
                                         f"<= {fmt(bounds.max)}" if bounds.max is not None else "") if t)
    return _decide(f"metric:{name}", b, low=bounds.min, high=bounds.max, effect=bounds.effect_size, alpha=side,
                   power=power, rows=len(rows.truth), what=name, threshold=threshold)


def regression_check(name: str, bounds: MetricThresholdConfig, cfg: ModelGateConfig, rows: Scored, *,
                     champion_label: str = "champion") -> Check:
    alpha, power = levels(cfg)
    allowed = bounds.max_regression or 0.0
    b = _bounds_for(name, cfg, rows, paired=True, alpha=alpha, beta=1 - power)
    return _decide(f"regression:{name}", b, low=None, high=allowed, effect=bounds.effect_size, alpha=alpha,
                   power=power, rows=len(rows.truth), what=f"{name} worsening vs the {champion_label}",
                   threshold=f"worsening <= {fmt(allowed)}")


def evaluated_checks(cfg: ModelGateConfig, rows: Scored, *, champion_label: str = "champion",
                     champion_problem: str | None = None) -> list[Check]:
    """Every `metric:` and `regression:` check the gate computes from the rows (`check_names`), in that order."""
    truth, positive = rows.truth, rows.positive
    checks = []
    for name, bounds in sorted(cfg.metrics.items()):
        if not computed(name, cfg):
            continue
        binary = name in ("precision", "recall", "f1", "f1_score")
        problem = None
        if binary and not np.any(truth == positive):
            problem = f"positive label {positive!r} does not occur in the evaluation target"
        if bounds.min is not None or bounds.max is not None:
            checks.append(inconclusive(f"metric:{name}", f"not evaluated: {problem}") if problem else
                          metric_check(name, bounds, cfg, rows))
        if bounds.max_regression is None:
            continue
        if rows.champion is None:
            if champion_problem is not None:
                checks.append(inconclusive(f"regression:{name}", f"not evaluated: {champion_problem}"))
            continue
        checks.append(inconclusive(f"regression:{name}", f"not evaluated: {problem}") if problem else
                      regression_check(name, bounds, cfg, rows, champion_label=champion_label))
    return checks
