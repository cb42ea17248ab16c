"""The model gate's checks as pure functions over numbers and arrays (no MLflow, no I/O).

Each function returns `Check`s whose reasons name the metric, the observed value and the threshold. Anything
that cannot be judged (a missing or NaN metric, a group too small, an undefined rate) is INCONCLUSIVE, never PASS.

Statistical checks (metrics computed on the evaluation rows, regressions vs the champion on the same rows, fairness)
decide on confidence bounds with the gate's `alpha` split evenly over them (`levels`), so a candidate meeting
every threshold is FAILed at most at `gates.alpha` in all; see runtime.gates.evaluated and runtime.gates.fairness.
Metrics only read from the training run (no evaluation rows to recompute them) are compared as logged point
estimates: their error rate is unknown, and the check says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from runtime.config.gates import LatencyGateConfig, MetricThresholdConfig, PredictionSanityConfig
from runtime.gates.fairness import GroupRates, fairness, group_rates
from runtime.gates.fairness import check_names as fairness_check_names
from runtime.gates.row_checks import Scored, computed, evaluated_checks, levels
from runtime.gates.row_checks import check_names as row_check_names
from runtime.report import Check, failed, inconclusive, passed

__all__ = ["GroupRates", "Scored", "computed", "evaluated_checks", "fairness", "fairness_check_names", "group_rates",
           "levels", "row_check_names"]

#: Slack for float comparisons at a threshold (a metric exactly at its bound passes).
_EPS = 1e-12


def fmt(value: float) -> str:
    """Numbers in reasons: 4 significant digits, enough to see why a threshold was crossed."""
    return f"{value:.4g}"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


# Metrics ------------------------------------------------------------------------------------------------------
LOGGED_DECISION: dict[str, Any] = {"method": "logged point estimate compared with the threshold", "alpha": None,
                                   "note": "no sample size: the false-FAIL rate is not controlled; set "
                                           "gates.evaluation so the gate computes the metric with confidence bounds"}


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
        out = failed(check, value, threshold, f"{name} = {fmt(value)} is below the minimum {fmt(bounds.min)}")
    elif bounds.max is not None and value > bounds.max + _EPS:
        out = failed(check, value, threshold, f"{name} = {fmt(value)} is above the maximum {fmt(bounds.max)}")
    else:
        out = passed(check, value, threshold, f"{name} = {fmt(value)} within {threshold}")
    out.decision = LOGGED_DECISION
    return out


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
        out = failed(check, worsening, threshold,
                     f"{story}: worse by {fmt(worsening)} > allowed {fmt(allowed)} ({direction})")
    elif worsening > 0:
        out = passed(check, worsening, threshold, f"{story}: worse by {fmt(worsening)} <= allowed {fmt(allowed)}")
    else:
        out = passed(check, worsening, threshold, f"{story}: no worse ({direction})")
    out.decision = LOGGED_DECISION
    return out


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
