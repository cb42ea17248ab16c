"""The model gate's checks as pure functions over numbers and arrays (no MLflow, no I/O).

Each function returns `Check`s whose reasons name the metric, the observed value and the threshold. Anything
that cannot be judged (a missing or NaN metric, a group too small, an undefined rate) is INCONCLUSIVE, never PASS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runtime.config.gates import FairnessConfig, LatencyGateConfig, MetricThresholdConfig, PredictionSanityConfig
from runtime.report import Check, failed, inconclusive, passed

#: Slack for float comparisons at a threshold (a metric exactly at its bound passes).
_EPS = 1e-12


def fmt(value: float) -> str:
    """Numbers in reasons: 4 significant digits, enough to see why a threshold was crossed."""
    return f"{value:.4g}"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


# Metrics ------------------------------------------------------------------------------------------------------
def bounds_text(bounds: MetricThresholdConfig) -> str:
    if bounds.min is not None and bounds.max is not None:
        return f"{fmt(bounds.min)} <= x <= {fmt(bounds.max)}"
    if bounds.min is not None:
        return f">= {fmt(bounds.min)}"
    return f"<= {fmt(bounds.max)}" if bounds.max is not None else "none"


def metric_bounds(name: str, value: float | None, bounds: MetricThresholdConfig, source: str) -> Check:
    """Absolute bounds of one metric of the candidate. `source` says where the value came from (run, version)."""
    check = f"metric:{name}"
    threshold = bounds_text(bounds)
    if value is None:
        return inconclusive(check, f"metric {name} is not logged in {source}; threshold {threshold}",
                            threshold=threshold)
    if not math.isfinite(value):
        return inconclusive(check, f"metric {name} is {value} in {source}; threshold {threshold}", value, threshold)
    if bounds.min is not None and value < bounds.min - _EPS:
        return failed(check, value, threshold, f"{name} = {fmt(value)} is below the minimum {fmt(bounds.min)}")
    if bounds.max is not None and value > bounds.max + _EPS:
        return failed(check, value, threshold, f"{name} = {fmt(value)} is above the maximum {fmt(bounds.max)}")
    return passed(check, value, threshold, f"{name} = {fmt(value)} within {threshold}")


def metric_regression(name: str, candidate: float | None, champion: float | None, bounds: MetricThresholdConfig,
                      champion_source: str) -> Check:
    """Worsening of one metric vs the champion, in the metric's units; direction from `higherIsBetter`."""
    check = f"regression:{name}"
    allowed = bounds.max_regression if bounds.max_regression is not None else 0.0
    direction = "higher is better" if bounds.higher_is_better else "lower is better"
    threshold = f"worsening <= {fmt(allowed)} ({direction})"
    for who, value in (("candidate", candidate), (champion_source, champion)):
        if value is None:
            return inconclusive(check, f"metric {name} is not logged for the {who}; cannot compare "
                                f"(allowed worsening {fmt(allowed)})", threshold=threshold)
        if not math.isfinite(value):
            return inconclusive(check, f"metric {name} is {value} for the {who}; cannot compare "
                                f"(allowed worsening {fmt(allowed)})", threshold=threshold)
    assert candidate is not None
    assert champion is not None
    worsening = (champion - candidate) if bounds.higher_is_better else (candidate - champion)
    story = f"{name} = {fmt(candidate)} vs {fmt(champion)} for the {champion_source}"
    if worsening > allowed + _EPS:
        return failed(check, worsening, threshold,
                      f"{story}: worse by {fmt(worsening)} > allowed {fmt(allowed)} ({direction})")
    if worsening > 0:
        return passed(check, worsening, threshold, f"{story}: worse by {fmt(worsening)} <= allowed {fmt(allowed)}")
    return passed(check, worsening, threshold, f"{story}: no worse ({direction})")


# Predictions --------------------------------------------------------------------------------------------------
def is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "biuf"


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a prediction is NaN, inf or None (numeric or object outputs)."""
    if is_numeric(values):
        return ~np.isfinite(values.astype(float))
    return np.asarray(pd.isna(values), dtype=bool)


def finite_predictions(predictions: np.ndarray, rows: int) -> Check:
    """Every evaluation row gets exactly one finite prediction."""
    name = "predictions:finite"
    got = predictions.shape[0] if predictions.ndim else 0
    if got != rows:
        return failed(name, got, f"{rows} predictions",
                      f"the model returned {got} predictions for {rows} evaluation rows")
    bad = int(missing_mask(predictions).sum())
    if bad:
        return failed(name, bad, "0 NaN/inf", f"{bad} of {predictions.size} predictions are NaN, inf or null")
    return passed(name, 0, "0 NaN/inf", f"all {predictions.size} predictions are finite")


def class_shares(predictions: np.ndarray) -> dict[str, float]:
    """Share of rows per predicted class (finite predictions only), largest first."""
    valid = predictions[~missing_mask(predictions)]
    if valid.size == 0:
        return {}
    counts = pd.Series(valid).value_counts(normalize=True)
    return {str(label): float(share) for label, share in counts.items()}


def class_share(predictions: np.ndarray, true_labels: np.ndarray, cfg: PredictionSanityConfig) -> Check:
    """No collapsed classifier: the largest class share under maxClassShare, every true class above
    minClassShare."""
    name = "predictions:class-share"
    limits = []
    if cfg.max_class_share is not None:
        limits.append(f"max share <= {_pct(cfg.max_class_share)}")
    if cfg.min_class_share is not None:
        limits.append(f"min share >= {_pct(cfg.min_class_share)}")
    threshold = ", ".join(limits)
    if predictions.ndim != 1:
        return inconclusive(name, f"the model returns {predictions.shape[1]} values per row; class shares need "
                            "one predicted label per row", threshold=threshold)
    shares = class_shares(predictions)
    if not shares:
        return inconclusive(name, "no finite predictions to count classes in", threshold=threshold)
    top_label, top_share = next(iter(shares.items()))
    if cfg.max_class_share is not None and top_share > cfg.max_class_share + _EPS:
        return failed(name, top_share, threshold, f"class {top_label} is predicted for {_pct(top_share)} of rows "
                      f"> maxClassShare {_pct(cfg.max_class_share)} (a collapsed classifier)")
    if cfg.min_class_share is not None:
        expected = {str(v) for v in pd.unique(pd.Series(true_labels).dropna())} | set(shares)
        low_label = min(sorted(expected), key=lambda label: shares.get(label, 0.0))
        low_share = shares.get(low_label, 0.0)
        if low_share < cfg.min_class_share - _EPS:
            return failed(name, low_share, threshold, f"class {low_label} is predicted for {_pct(low_share)} of "
                          f"rows < minClassShare {_pct(cfg.min_class_share)}")
    return passed(name, top_share, threshold, f"largest class {top_label} takes {_pct(top_share)} of rows "
                  f"({len(shares)} classes predicted)")


def score_range(predictions: np.ndarray, cfg: PredictionSanityConfig) -> Check:
    """Regression outputs or scores within [scoreMin, scoreMax]."""
    name = "predictions:score-range"
    low = "-inf" if cfg.score_min is None else fmt(cfg.score_min)
    high = "inf" if cfg.score_max is None else fmt(cfg.score_max)
    threshold = f"[{low}, {high}]"
    if not is_numeric(predictions):
        return inconclusive(name, f"predictions are not numeric (dtype {predictions.dtype}); cannot check the "
                            f"range {threshold}", threshold=threshold)
    values = predictions.astype(float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return inconclusive(name, "no finite predictions to check the range of", threshold=threshold)
    lowest, highest = float(values.min()), float(values.max())
    observed = [lowest, highest]
    if cfg.score_min is not None and lowest < cfg.score_min - _EPS:
        return failed(name, observed, threshold, f"lowest prediction {fmt(lowest)} < scoreMin {fmt(cfg.score_min)}")
    if cfg.score_max is not None and highest > cfg.score_max + _EPS:
        return failed(name, observed, threshold,
                      f"highest prediction {fmt(highest)} > scoreMax {fmt(cfg.score_max)}")
    return passed(name, observed, threshold, f"predictions range {fmt(lowest)}..{fmt(highest)} within {threshold}")


# Fairness -----------------------------------------------------------------------------------------------------
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

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "positive_rate": self.positive_rate, "tpr": self.tpr, "fpr": self.fpr,
                "accuracy": self.accuracy}


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def group_rates(true_labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray,
                positive: Any) -> dict[str, GroupRates]:
    """Per-group rates; null groups are one group named `<null>`."""
    keys = pd.Series(groups).astype(object).where(pd.notna(groups), "<null>").astype(str).to_numpy()
    predicted_pos = predictions == positive
    actual_pos = true_labels == positive
    correct = predictions == true_labels
    out: dict[str, GroupRates] = {}
    for key in sorted(set(keys)):
        mask = keys == key
        out[key] = GroupRates(rows=int(mask.sum()), positive_rate=_mean(predicted_pos[mask]),
                              tpr=_mean(predicted_pos[mask & actual_pos]),
                              fpr=_mean(predicted_pos[mask & ~actual_pos]), accuracy=_mean(correct[mask]))
    return out


def fairness_check_names(cfg: FairnessConfig) -> list[str]:
    names = []
    if cfg.demographic_parity_ratio_min is not None:
        names.append("fairness:demographic-parity")
    if cfg.equalized_odds_difference_max is not None:
        names.append("fairness:equalized-odds")
    if cfg.metric_ratio_min is not None:
        names.append("fairness:accuracy-ratio")
    return names


def _spread(rates: dict[str, GroupRates], attr: str) -> tuple[str, float, str, float]:
    """(lowest group, its value, highest group, its value) of one rate."""
    ordered = sorted(rates, key=lambda g: (getattr(rates[g], attr), g))
    low, high = ordered[0], ordered[-1]
    return low, getattr(rates[low], attr), high, getattr(rates[high], attr)


def fairness(true_labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray, positive: Any,
             cfg: FairnessConfig) -> tuple[list[Check], dict[str, GroupRates]]:
    """Demographic parity ratio, equalized-odds difference and worst/best accuracy ratio across the groups of
    `cfg.sensitive_column`, each where its threshold is set."""
    rates = group_rates(true_labels, predictions, groups, positive)
    column = cfg.sensitive_column
    names = fairness_check_names(cfg)
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
    if cfg.demographic_parity_ratio_min is not None:
        checks.append(_parity(rates, column, positive, cfg.demographic_parity_ratio_min))
    if cfg.equalized_odds_difference_max is not None:
        checks.append(_equalized_odds(rates, column, positive, cfg.equalized_odds_difference_max))
    if cfg.metric_ratio_min is not None:
        checks.append(_accuracy_ratio(rates, column, cfg.metric_ratio_min))
    return checks, rates


def _parity(rates: dict[str, GroupRates], column: str, positive: Any, minimum: float) -> Check:
    name = "fairness:demographic-parity"
    threshold = f"ratio >= {fmt(minimum)}"
    low, low_rate, high, high_rate = _spread(rates, "positive_rate")
    if high_rate <= 0:
        return inconclusive(name, f"no group of {column} is ever predicted positive (label {positive!r}): "
                            "the ratio is undefined", threshold=threshold)
    ratio = low_rate / high_rate
    story = (f"positive-prediction rate across {column} ranges from {fmt(low_rate)} (group {low!r}) to "
             f"{fmt(high_rate)} (group {high!r}): demographic parity ratio {fmt(ratio)}")
    if ratio < minimum - _EPS:
        return failed(name, ratio, threshold, f"{story} < {fmt(minimum)}")
    return passed(name, ratio, threshold, f"{story} >= {fmt(minimum)}")


def _equalized_odds(rates: dict[str, GroupRates], column: str, positive: Any, maximum: float) -> Check:
    name = "fairness:equalized-odds"
    threshold = f"difference <= {fmt(maximum)}"
    for group, r in sorted(rates.items()):
        if math.isnan(r.tpr):
            return inconclusive(name, f"group {group!r} of {column} has no positive labels ({positive!r}): its "
                                "true-positive rate is undefined", threshold=threshold)
        if math.isnan(r.fpr):
            return inconclusive(name, f"group {group!r} of {column} has no negative labels: its "
                                "false-positive rate is undefined", threshold=threshold)
    gaps = {}
    for attr, label in (("tpr", "true-positive rate"), ("fpr", "false-positive rate")):
        low, low_rate, high, high_rate = _spread(rates, attr)
        gaps[label] = (high_rate - low_rate, low, high)
    which = max(gaps, key=lambda k: gaps[k][0])
    gap, low, high = gaps[which]
    story = (f"largest gap across {column} is in {which}: {fmt(gap)} between group {high!r} and group {low!r} "
             f"(TPR gap {fmt(gaps['true-positive rate'][0])}, FPR gap {fmt(gaps['false-positive rate'][0])})")
    if gap > maximum + _EPS:
        return failed(name, gap, threshold, f"{story} > {fmt(maximum)}")
    return passed(name, gap, threshold, f"{story} <= {fmt(maximum)}")


def _accuracy_ratio(rates: dict[str, GroupRates], column: str, minimum: float) -> Check:
    name = "fairness:accuracy-ratio"
    threshold = f"ratio >= {fmt(minimum)}"
    low, low_acc, high, high_acc = _spread(rates, "accuracy")
    if high_acc <= 0:
        return inconclusive(name, f"no group of {column} has a correct prediction: the ratio is undefined",
                            threshold=threshold)
    ratio = low_acc / high_acc
    story = (f"accuracy across {column} ranges from {fmt(low_acc)} (group {low!r}) to {fmt(high_acc)} "
             f"(group {high!r}): ratio {fmt(ratio)}")
    if ratio < minimum - _EPS:
        return failed(name, ratio, threshold, f"{story} < {fmt(minimum)}")
    return passed(name, ratio, threshold, f"{story} >= {fmt(minimum)}")


# Latency ------------------------------------------------------------------------------------------------------
def latency_percentiles(durations_s: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(durations_s, dtype=float) * 1000.0
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()), "samples": int(ms.size)}


def latency(durations_s: Sequence[float], cfg: LatencyGateConfig) -> Check:
    """p95 of single-row prediction times against `p95Ms`."""
    name = "latency:p95"
    threshold = f"p95 <= {fmt(cfg.p95_ms)} ms"
    if len(durations_s) == 0:
        return inconclusive(name, "no timed predictions", threshold=threshold)
    stats = latency_percentiles(durations_s)
    story = (f"p95 {fmt(stats['p95_ms'])} ms (p50 {fmt(stats['p50_ms'])}, p99 {fmt(stats['p99_ms'])}) over "
             f"{stats['samples']} single-row predictions")
    if stats["p95_ms"] > cfg.p95_ms:
        return failed(name, stats["p95_ms"], threshold, f"{story} > {fmt(cfg.p95_ms)} ms")
    return passed(name, stats["p95_ms"], threshold, f"{story} <= {fmt(cfg.p95_ms)} ms")
