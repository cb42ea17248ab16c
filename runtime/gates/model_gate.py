"""`mlcicd gate model`: may this registered model version go on towards production?

Reads the candidate's metrics from the MLflow run behind the model version and, when the stack config names an
evaluation dataset, loads the model and scores it (prediction sanity, fairness, latency). Thresholds come from
`gates` in the stack config (`runtime.config.gates.ModelGateConfig`); the checks themselves are pure functions in
`runtime.gates.model_checks`.

Fail closed. Bad input the user can fix is a `UsageError` (exit 2): an unknown model, a version or alias given
on the command line that does not exist, an unreadable evaluation file, a column the config names that the data
lacks. Missing evidence is INCONCLUSIVE (exit 3): a metric not logged or NaN, no champion when the config
requires one, a model that cannot be loaded or scored, a tracking server that does not answer within the
configured retry budget (`gates.trackingRetries` x `gates.trackingTimeoutSeconds`).

The verdict is recorded where promotion looks for it (`runtime.evidence`): the model version is tagged with the
verdict, the report's location and the image digest; on PASS only, the candidate alias moves to the version;
with a report bucket, the report is uploaded to `s3://<bucket>/reports/<model>/<version>/model-gate.json`.

This module is the order of the steps; each step is its own module:
- `registry`: the candidate and champion versions and their metrics in MLflow;
- `evaluation_data`: the evaluation frame (local file or S3) and its columns;
- `metric_thresholds`: logged metrics against bounds and against the champion;
- `predictions`: the loaded model's predictions, fairness and single-row latency;
- `recording`: report upload, model-version tags and the candidate alias.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.config.gates import ModelGateConfig
from runtime.errors import UsageError
from runtime.gates.evaluation_data import EvaluationUnavailable, load_evaluation
from runtime.gates.metric_thresholds import metric_checks
from runtime.gates.predictions import not_evaluated, prediction_check_names, prediction_checks
from runtime.gates.reasons import redact
from runtime.gates.recording import KIND, record_verdict
from runtime.gates.registry import (
    Registry,
    Resolved,
    TrackingUnavailable,
    _NotFound,
    bounded_http,
    parse_ref,
    resolve_tracking_uri,
)
from runtime.report import Report, inconclusive

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND", "EvaluationUnavailable", "TrackingUnavailable", "_NotFound", "gate_model"]

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def gate_model(model: str, candidate: str, champion: str | None = None, *, config: ModelGateConfig | None = None,
               tracking_uri: str | None = None, base_dir: Path | None = None, report_path: Path | None = None,
               report_bucket: str | None = None, image_digest: str | None = None) -> Report:
    """Judge `candidate` (a version number or `@alias` of registered model `model`) against the thresholds in
    `config` and the champion (`champion`, else the `championAlias` version if it exists), record the verdict in
    the registry (and the report in `report_bucket`), and return the finished report.

    `report_path` is where the caller writes the report (recorded in the version's tags when there is no
    bucket). Raises UsageError for bad input (exit 2); everything else is in the report's verdict."""
    cfg = config or ModelGateConfig()
    uri = resolve_tracking_uri(tracking_uri)
    cand_ref = parse_ref(candidate, "--candidate")
    champ_ref = parse_ref(champion, "--champion") if champion is not None else None
    _check_arguments(model, report_bucket, image_digest)
    report = Report(KIND, subject={"model": model, "version": cand_ref.version})
    if image_digest is not None:
        report.subject["image_digest"] = image_digest
    report.details["tracking_uri"] = redact(uri)
    report.details["candidate_ref"] = cand_ref.text
    frame, evaluation_problem = load_evaluation(cfg, base_dir)
    from mlflow import MlflowClient

    with bounded_http(cfg):
        registry = Registry(MlflowClient(tracking_uri=uri, registry_uri=uri), uri, model)
        try:
            cand, champ = registry.resolve(cand_ref, champ_ref, cfg)
        except TrackingUnavailable as exc:
            report.add(inconclusive("tracking", str(exc)))
            return report.finish()
        _describe_versions(report, cand, champ)
        try:
            _judge(report, registry, cand, champ, cfg, frame=frame, evaluation_problem=evaluation_problem)
        except TrackingUnavailable as exc:
            report.add(inconclusive("tracking", str(exc)))
        record_verdict(report, registry, cand.version, cfg, report_path=report_path, report_bucket=report_bucket,
                       image_digest=image_digest)
    return report


def _check_arguments(model: str, report_bucket: str | None, image_digest: str | None) -> None:
    if image_digest is not None and not _DIGEST.match(image_digest):
        raise UsageError(f"--image-digest {image_digest!r}: expected sha256:<64 lowercase hex>")
    if report_bucket is not None and not _BUCKET.match(report_bucket):
        raise UsageError(f"--report-bucket {report_bucket!r}: expected an S3 bucket name (no s3:// or key)")
    if not model.strip():
        raise UsageError("--model: empty registered model name")


def _describe_versions(report: Report, cand: Resolved, champ: Resolved | None) -> None:
    report.subject["version"] = cand.version
    report.subject["champion"] = champ.version if champ else None
    report.details["candidate"] = {"version": cand.version, "metrics_from": cand.source, "metrics": cand.metrics}
    report.details["champion"] = ({"version": champ.version, "metrics_from": champ.source,
                                   "metrics": champ.metrics} if champ else None)


def _judge(report: Report, registry: Registry, cand: Resolved, champ: Resolved | None, cfg: ModelGateConfig, *,
           frame: pd.DataFrame | None, evaluation_problem: str | None) -> None:
    """Every check on the resolved versions; TrackingUnavailable propagates (the caller reports it)."""
    if cand.status != "READY":
        report.add(inconclusive("model-version", f"{cand.label} is {cand.status}, not READY"))
    metric_checks(report, registry.model, cand, champ, cfg)
    if evaluation_problem is not None:
        not_evaluated(report, prediction_check_names(cfg), evaluation_problem)
    elif frame is not None:
        prediction_checks(report, registry, cand.version, frame, cfg)
