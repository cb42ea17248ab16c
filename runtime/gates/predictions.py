"""The model gate's prediction checks: load the candidate from the registry, score the evaluation data and judge
what it predicts (finite values, class shares, score range, fairness across a sensitive column) and how fast one
row is scored. The judgements are `runtime.gates.model_checks`; a model that cannot be loaded or scored makes
every prediction check INCONCLUSIVE."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.config.gates import LatencyGateConfig, ModelGateConfig
from runtime.gates import model_checks as mc
from runtime.gates.evaluation_data import positive_label
from runtime.gates.reasons import one_line
from runtime.gates.registry import Registry, TrackingUnavailable
from runtime.report import Report, inconclusive

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.pyfunc import PyFuncModel


def prediction_check_names(cfg: ModelGateConfig) -> list[str]:
    names = ["predictions:finite"]
    sanity = cfg.predictions
    if cfg.task == "classification" and (sanity.max_class_share is not None or sanity.min_class_share is not None):
        names.append("predictions:class-share")
    if sanity.score_min is not None or sanity.score_max is not None:
        names.append("predictions:score-range")
    if cfg.fairness is not None:
        names += mc.fairness_check_names(cfg.fairness)
    if cfg.latency is not None:
        names.append("latency:p95")
    return names


def not_evaluated(report: Report, names: list[str], reason: str) -> None:
    """Every prediction check INCONCLUSIVE for one reason."""
    for name in names:
        report.add(inconclusive(name, f"not evaluated: {reason}"))


def model_inputs(pyfunc: PyFuncModel, frame: pd.DataFrame, cfg: ModelGateConfig) -> pd.DataFrame:
    """The columns the model takes: those its signature names, else everything but the target and the sensitive
    column."""
    assert cfg.evaluation is not None
    schema = pyfunc.metadata.get_input_schema()
    names = schema.input_names() if schema is not None and schema.has_input_names() else None
    if names:
        missing = [str(n) for n in names if n not in frame.columns]
        if missing:
            raise ValueError(f"the evaluation data lacks model input columns {', '.join(missing[:10])}")
        return frame.reindex(columns=list(names))  # all present (checked above)
    drop = [cfg.evaluation.target_column]
    if cfg.fairness is not None:
        drop.append(cfg.fairness.sensitive_column)
    return frame.drop(columns=drop)


def as_array(predictions: Any) -> np.ndarray:
    """Predictions as a 1-D array (one column squeezed) or a 2-D array (several outputs per row)."""
    values = np.asarray(predictions)  # DataFrame, Series, list or array alike
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    return values


def time_single_rows(pyfunc: PyFuncModel, inputs: pd.DataFrame, samples: int, warmup: int,
                     threshold_ms: float) -> tuple[list[float], bool]:
    """Seconds per single-row prediction (rows cycled), and whether timing stopped early: it does once so many
    samples exceeded the threshold that the p95 of all planned samples can no longer pass."""
    rows = [inputs.iloc[[i % len(inputs)]] for i in range(min(len(inputs), warmup + samples))]
    for i in range(warmup):
        pyfunc.predict(rows[i % len(rows)])
    durations: list[float] = []
    slow = 0
    # With this many samples above the threshold, numpy's (interpolated) p95 of all planned samples exceeds it.
    decisive = samples - math.floor(0.95 * (samples - 1))
    for i in range(samples):
        row = rows[(warmup + i) % len(rows)]
        start = time.perf_counter()
        pyfunc.predict(row)
        elapsed = time.perf_counter() - start
        durations.append(elapsed)
        if elapsed * 1000.0 > threshold_ms:
            slow += 1
            if slow >= decisive:
                return durations, i + 1 < samples
    return durations, False


def prediction_checks(report: Report, registry: Registry, version: str, frame: pd.DataFrame,
                      cfg: ModelGateConfig) -> None:
    assert cfg.evaluation is not None
    names = prediction_check_names(cfg)
    report.details["evaluation"] = {"path": cfg.evaluation.path, "rows": len(frame)}
    if len(frame) == 0:
        not_evaluated(report, names, f"the evaluation data {cfg.evaluation.path} has no rows")
        return
    with tempfile.TemporaryDirectory(prefix="mlcicd-gate-") as workdir:
        try:
            pyfunc = registry.load_model(version, Path(workdir))
        except TrackingUnavailable:
            raise
        except Exception as exc:
            not_evaluated(report, names, f"model version {version} could not be loaded: {one_line(exc)}")
            return
        try:
            inputs = model_inputs(pyfunc, frame, cfg)
            predictions = as_array(pyfunc.predict(inputs))
        except Exception as exc:
            not_evaluated(report, names, f"model version {version} could not score the evaluation data: "
                          f"{one_line(exc)}")
            return
        truth = frame[cfg.evaluation.target_column].to_numpy()
        report.add(mc.finite_predictions(predictions, len(frame)))
        if "predictions:class-share" in names:
            report.add(mc.class_share(predictions, truth, cfg.predictions))
            report.details["class_shares"] = mc.class_shares(predictions) if predictions.ndim == 1 else None
        if "predictions:score-range" in names:
            report.add(mc.score_range(predictions, cfg.predictions))
        if cfg.fairness is not None:
            _fairness_checks(report, frame, truth, predictions, cfg)
        if cfg.latency is not None:
            _latency_check(report, pyfunc, inputs, cfg.latency)


def _fairness_checks(report: Report, frame: pd.DataFrame, truth: np.ndarray, predictions: np.ndarray,
                     cfg: ModelGateConfig) -> None:
    assert cfg.evaluation is not None
    assert cfg.fairness is not None
    fairness = cfg.fairness
    if predictions.ndim != 1 or len(predictions) != len(frame):
        for name in mc.fairness_check_names(fairness):
            report.add(inconclusive(name, f"not evaluated: fairness needs one predicted label per row "
                                    f"(got shape {predictions.shape} for {len(frame)} rows)"))
        return
    positive = positive_label(frame, cfg.evaluation.target_column, fairness.positive_label)
    groups = frame[fairness.sensitive_column].to_numpy()
    checks, rates = mc.fairness(truth, predictions, groups, positive, fairness)
    for check in checks:
        report.add(check)
    report.details["fairness"] = {"column": fairness.sensitive_column, "positive_label": positive,
                                  "groups": {g: r.to_dict() for g, r in rates.items()}}


def _latency_check(report: Report, pyfunc: PyFuncModel, inputs: pd.DataFrame, latency: LatencyGateConfig) -> None:
    try:
        durations, stopped = time_single_rows(pyfunc, inputs, latency.samples, latency.warmup, latency.p95_ms)
    except Exception as exc:
        report.add(inconclusive("latency:p95", f"not evaluated: a single-row prediction failed: {one_line(exc)}",
                                threshold=f"p95 <= {mc.fmt(latency.p95_ms)} ms"))
        return
    check = mc.latency(durations, latency)
    if stopped:
        check.reason += (f" (stopped after {len(durations)} of {latency.samples} samples: enough "
                         f"already exceeded {mc.fmt(latency.p95_ms)} ms to decide the p95)")
    report.add(check)
    report.details["latency"] = mc.latency_percentiles(durations)
