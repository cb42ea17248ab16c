"""The model gate's plot data (`details.plots`, docs/reports.md): the metric bounds the checks apply, the limits of
the prediction and fairness checks, and compact summaries of what the candidate predicted on the evaluation rows
(confusion matrix for classification, residual grid for regression, single-row latency histogram)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from runtime import plot_data
from runtime.config.gates import LatencyGateConfig, ModelGateConfig


def metric_bounds(cfg: ModelGateConfig) -> dict[str, dict[str, Any]]:
    """Per metric: min, max, maxRegression and direction, as the metric checks apply them."""
    return {name: {"min": b.min, "max": b.max, "max_regression": b.max_regression,
                   "higher_is_better": b.higher_is_better} for name, b in sorted(cfg.metrics.items())}


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "biuf"


def prediction_plots(cfg: ModelGateConfig, truth: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    """What the prediction checks saw, binned: their limits, and the confusion matrix (classification) or the
    residual grid (regression) when the model returns one value per row."""
    sanity = cfg.predictions
    out: dict[str, Any] = {"task": cfg.task, "prediction_limits": {
        "max_class_share": sanity.max_class_share, "min_class_share": sanity.min_class_share,
        "score_min": sanity.score_min, "score_max": sanity.score_max}}
    if cfg.fairness is not None:
        f = cfg.fairness
        out["fairness_limits"] = {"demographic_parity_ratio_min": f.demographic_parity_ratio_min,
                                  "equalized_odds_difference_max": f.equalized_odds_difference_max,
                                  "metric_ratio_min": f.metric_ratio_min, "min_group_size": f.min_group_size}
    if predictions.ndim != 1 or len(predictions) != len(truth):
        return out
    if cfg.task == "classification":
        out["confusion"] = plot_data.confusion(truth, predictions)
    elif _is_numeric(predictions) and _is_numeric(np.asarray(truth)):
        out["residuals"] = plot_data.residuals(truth, predictions)
    return out


def latency_plot(durations_s: Sequence[float], cfg: LatencyGateConfig) -> dict[str, Any]:
    return plot_data.latency_histogram([d * 1000.0 for d in durations_s], {"p95": cfg.p95_ms})
