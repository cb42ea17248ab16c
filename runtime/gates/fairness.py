"""Group fairness of the candidate's predictions, decided on confidence bounds of the groups' rates.

Each group's rate (positive-prediction rate, true- and false-positive rate, accuracy) gets exact Clopper-Pearson
bounds. A ratio min/max over groups is bounded by the extreme bounds (upper: min of the upper bounds over max of
the lower bounds), a gap max - min likewise; only the bounds of the two extreme groups matter for a ratio (level/2
each), every group's for a gap (level / (2 x groups) each, per rate). A check FAILs when its bound at the check's
share of `gates.alpha` lies beyond the threshold (an exactly fair model, or one at the threshold, fails at most at
that rate) and PASSes when the bound at 1 - `gates.power` rules out the threshold missed by `effectSize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runtime.config.gates import FairnessConfig
from runtime.report import Check, failed, inconclusive, passed
from runtime.stats.intervals import clopper_pearson_lower, clopper_pearson_upper
from runtime.stats.planning import fixed_sample_n

NAMES = {"demographic_parity_ratio_min": "fairness:demographic-parity",
         "equalized_odds_difference_max": "fairness:equalized-odds", "metric_ratio_min": "fairness:accuracy-ratio"}


def fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class GroupRates:
    rows: int
    positive_rate: float
    """Share of the group's rows predicted positive."""
    tpr: float
    """True-positive rate (NaN when the group has no positive labels)."""
    fpr: float
    """False-positive rate (NaN when the group has no negative labels)."""
    accuracy: float
    counts: dict[str, tuple[int, int]]
    """(successes, trials) behind each rate."""

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "positive_rate": self.positive_rate, "tpr": self.tpr, "fpr": self.fpr,
                "accuracy": self.accuracy}


def _rate(hits: np.ndarray) -> tuple[float, tuple[int, int]]:
    return (float(hits.mean()) if hits.size else math.nan), (int(hits.sum()), int(hits.size))


def group_rates(true_labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray,
                positive: Any) -> dict[str, GroupRates]:
    """Per-group rates; null groups are one group named `<null>`."""
    codes, uniques = pd.factorize(pd.Series(groups), use_na_sentinel=False)
    names = {k: "<null>" if pd.isna(u) else str(u) for k, u in enumerate(uniques)}
    predicted_pos = predictions == positive
    actual_pos = true_labels == positive
    correct = predictions == true_labels
    out: dict[str, GroupRates] = {}
    for key in sorted(set(names.values())):
        mask = np.isin(codes, [k for k, name in names.items() if name == key])
        rates = {"positive_rate": _rate(predicted_pos[mask]), "tpr": _rate(predicted_pos[mask & actual_pos]),
                 "fpr": _rate(predicted_pos[mask & ~actual_pos]), "accuracy": _rate(correct[mask])}
        out[key] = GroupRates(int(mask.sum()), rates["positive_rate"][0], rates["tpr"][0], rates["fpr"][0],
                              rates["accuracy"][0], {k: v[1] for k, v in rates.items()})
    return out


def check_names(cfg: FairnessConfig) -> list[str]:
    return [name for key, name in NAMES.items() if getattr(cfg, key) is not None]


def _bounds(rates: dict[str, GroupRates], attr: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    hits = np.array([rates[g].counts[attr][0] for g in sorted(rates)], dtype=float)
    trials = np.array([rates[g].counts[attr][1] for g in sorted(rates)], dtype=float)
    return clopper_pearson_lower(hits, trials, level), clopper_pearson_upper(hits, trials, level)


def ratio_bounds(rates: dict[str, GroupRates], attr: str, level: float) -> tuple[float, float]:
    """(lower, upper) bound of min/max over groups of a rate, each one-sided at `level`."""
    lo, hi = _bounds(rates, attr, level / 2)
    upper = float(np.min(hi) / np.max(lo)) if np.max(lo) > 0 else math.inf
    lower = float(np.min(lo) / np.max(hi)) if np.max(hi) > 0 else 0.0
    return lower, min(upper, 1.0)


def gap_bounds(rates: dict[str, GroupRates], attr: str, level: float) -> tuple[float, float]:
    """(lower, upper) bound of max - min over groups of a rate, each one-sided at `level`."""
    lo, hi = _bounds(rates, attr, level / (2 * len(rates)))
    return max(0.0, float(np.max(lo) - np.min(hi))), float(np.max(hi) - np.min(lo))


def _decision(method: str, *, alpha: float, power: float, effect: float, needed: float,
              rows: int) -> dict[str, Any]:
    return {"method": method, "alpha": alpha, "power": power, "effect": effect,
            "rows_per_group_needed": needed, "rows_per_group": rows}


def _ratio_check(name: str, rates: dict[str, GroupRates], attr: str, minimum: float, story: str, *, alpha: float,
                 power: float, effect: float) -> Check:
    threshold = f"ratio >= {fmt(minimum)}"
    values = {g: getattr(r, attr) for g, r in rates.items()}
    high = max(values.values())
    if not high > 0:
        return inconclusive(name, f"no group has a non-zero {story}: the ratio is undefined", threshold=threshold)
    low_group = min(values, key=lambda g: (values[g], g))
    high_group = max(values, key=lambda g: (values[g], g))
    ratio = values[low_group] / high
    fail_lo, fail_hi = ratio_bounds(rates, attr, alpha)
    pass_lo, _ = ratio_bounds(rates, attr, 1 - power)
    smallest = min(r.counts[attr][1] for r in rates.values())
    sd = math.sqrt(max((1 - high) / high, 1e-3) * 2)
    needed = fixed_sample_n(math.log(minimum / max(minimum - effect, 1e-9)), sd, alpha=alpha / 2, power=power)
    decision = _decision("exact Clopper-Pearson bounds per group", alpha=alpha, power=power, effect=effect,
                         needed=needed, rows=smallest) | {
        "bounds": {"fail": [fail_lo, fail_hi], "pass": [pass_lo, None]}}
    text = (f"{story} ranges from {fmt(values[low_group])} (group {low_group!r}) to {fmt(high)} (group "
            f"{high_group!r}): ratio {fmt(ratio)}, upper bound {fmt(fail_hi)} at alpha {alpha:g}, lower bound "
            f"{fmt(pass_lo)} at {1 - power:g}")
    if fail_hi < minimum:
        check = failed(name, ratio, threshold, f"{text}: even the upper bound is below {fmt(minimum)}")
    elif pass_lo > minimum - effect:
        check = passed(name, ratio, threshold, f"{text}: a ratio at or below {fmt(minimum - effect)} is ruled out")
    else:
        check = inconclusive(name, f"{text}: cannot decide yet; about {needed:,.0f} rows per group give the "
                             f"configured power", ratio, threshold)
    check.decision = decision
    return check


def _equalized_odds(rates: dict[str, GroupRates], column: str, positive: Any, maximum: float, *, alpha: float,
                    power: float, effect: float) -> Check:
    name = NAMES["equalized_odds_difference_max"]
    threshold = f"difference <= {fmt(maximum)}"
    for group, r in sorted(rates.items()):
        if math.isnan(r.tpr) or math.isnan(r.fpr):
            which = "positive" if math.isnan(r.tpr) else "negative"
            return inconclusive(name, f"group {group!r} of {column} has no {which} labels ({positive!r} is the "
                                "positive label): its rates are undefined", threshold=threshold)
    gaps = {attr: max(getattr(r, attr) for r in rates.values()) - min(getattr(r, attr) for r in rates.values())
            for attr in ("tpr", "fpr")}
    fail = {attr: gap_bounds(rates, attr, alpha / 2)[0] for attr in gaps}
    ok = {attr: gap_bounds(rates, attr, (1 - power) / 2)[1] for attr in gaps}
    gap = max(gaps.values())
    smallest = min(min(r.counts[a][1] for a in gaps) for r in rates.values())
    needed = fixed_sample_n(effect, 0.5 * math.sqrt(2), alpha=alpha / (4 * len(rates)), power=power)
    text = (f"TPR gap {fmt(gaps['tpr'])} (lower bound {fmt(fail['tpr'])}), FPR gap {fmt(gaps['fpr'])} (lower bound "
            f"{fmt(fail['fpr'])}) across {column}; upper bounds {fmt(ok['tpr'])} and {fmt(ok['fpr'])} at "
            f"{1 - power:g}")
    if max(fail.values()) > maximum:
        check = failed(name, gap, threshold, f"{text}: a lower bound exceeds {fmt(maximum)} (alpha {alpha:g})")
    elif max(ok.values()) < maximum + effect:
        check = passed(name, gap, threshold, f"{text}: a gap of {fmt(maximum + effect)} or more is ruled out")
    else:
        check = inconclusive(name, f"{text}: cannot decide yet; about {needed:,.0f} rows per group and label give "
                             "the configured power", gap, threshold)
    check.decision = _decision("exact Clopper-Pearson bounds per group and rate", alpha=alpha, power=power,
                               effect=effect, needed=needed, rows=smallest) | {"bounds": {"fail": fail, "pass": ok}}
    return check


def fairness(true_labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray, positive: Any,
             cfg: FairnessConfig, *, alpha: float, power: float) -> tuple[list[Check], dict[str, GroupRates]]:
    """Demographic parity ratio, equalized-odds difference and worst/best accuracy ratio across the groups of
    `cfg.sensitive_column`, each where its threshold is set; `alpha` is each check's share of the gate's."""
    rates = group_rates(true_labels, predictions, groups, positive)
    column = cfg.sensitive_column
    names = check_names(cfg)
    small = {g: r.rows for g, r in rates.items() if r.rows < cfg.min_group_size}
    if len(rates) < 2:
        only = ", ".join(repr(g) for g in rates) or "none"
        return [inconclusive(n, f"column {column} has one group ({only}) in the evaluation data: nothing to "
                             "compare") for n in names], rates
    if small:
        listed = ", ".join(f"{g!r} has {n} rows" for g, n in sorted(small.items()))
        return [inconclusive(n, f"too few rows to judge groups of {column}: {listed} < minGroupSize "
                             f"{cfg.min_group_size}", observed=min(small.values()),
                             threshold=f"rows >= {cfg.min_group_size}") for n in names], rates
    checks = []
    effect = cfg.effect_size
    if cfg.demographic_parity_ratio_min is not None:
        checks.append(_ratio_check(NAMES["demographic_parity_ratio_min"], rates, "positive_rate",
                                   cfg.demographic_parity_ratio_min,
                                   f"positive-prediction rate (label {positive}) across {column}", alpha=alpha,
                                   power=power, effect=effect))
    if cfg.equalized_odds_difference_max is not None:
        checks.append(_equalized_odds(rates, column, positive, cfg.equalized_odds_difference_max, alpha=alpha,
                                      power=power, effect=effect))
    if cfg.metric_ratio_min is not None:
        checks.append(_ratio_check(NAMES["metric_ratio_min"], rates, "accuracy", cfg.metric_ratio_min,
                                   f"accuracy across {column}", alpha=alpha, power=power, effect=effect))
    return checks, rates
