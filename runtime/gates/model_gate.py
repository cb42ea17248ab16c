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
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from runtime.config.gates import EvaluationDataConfig, ModelGateConfig
from runtime.errors import UsageError
from runtime.evidence import KIND_MODEL_GATE, digest_tag, evidence_key, report_tag, verdict_tag
from runtime.gates import model_checks as mc
from runtime.report import Report, Verdict, inconclusive, passed
from runtime.tracking import bounded_mlflow_http, require_registry

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.pyfunc import PyFuncModel

KIND = KIND_MODEL_GATE
_REF = re.compile(r"^(?:(?P<version>[1-9][0-9]*)|@(?P<alias>[A-Za-z0-9_][A-Za-z0-9_.-]*))$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST",)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
#: The part of a connection failure worth reading (requests/urllib3 bury it in pool and retry wrappers).
_NETWORK_CAUSE = re.compile(r"\[Errno -?\d+\][^\"')]*|Read timed out\.?(?: \(read timeout=[\d.]+\))?"
                            r"|Connection aborted[^\"')]*|Remote end closed connection[^\"')]*")
T = TypeVar("T")


class TrackingUnavailable(Exception):
    """The tracking server could not be asked (unreachable, timed out, answered with an error)."""


class _NotFound(Exception):
    pass


@dataclass(frozen=True)
class ModelRef:
    """A `--candidate`/`--champion` value: a version number or `@alias`."""

    option: str
    text: str
    version: str | None = None
    alias: str | None = None


def parse_ref(text: str, option: str) -> ModelRef:
    match = _REF.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected a model version number (e.g. 3) or an alias (e.g. @champion)")
    return ModelRef(option, text.strip(), match["version"], match["alias"])


@dataclass(frozen=True)
class Resolved:
    """A model version the gate talks about, with where its metrics came from."""

    version: str
    label: str
    """How reasons name it: `candidate version 3 (@candidate)`."""
    metrics: dict[str, float] | None
    source: str
    """Where the metrics were read (`run <id> of candidate version 3`), or why they could not be."""
    status: str = "READY"


def redact(uri: str) -> str:
    """A tracking URI fit for reports and logs: user and password removed."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError("no tracking server: pass --tracking-uri URI (http(s)://... or sqlite:///path) or set "
                         "MLFLOW_TRACKING_URI")
    require_registry(uri)
    return uri


def bounded_http(cfg: ModelGateConfig) -> AbstractContextManager[None]:
    """MLflow's HTTP retry budget for the gate's calls (`gates.trackingRetries`, `gates.trackingTimeoutSeconds`)."""
    return bounded_mlflow_http(cfg.tracking_retries, cfg.tracking_timeout_seconds)


def _why(exc: BaseException) -> str:
    """A failed tracking call in a few words: the network cause when there is one, else the message."""
    found = _NETWORK_CAUSE.search(str(exc))
    return found.group(0).strip() if found else _short(exc)


def _short(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line for a reason, credentials in URLs (`scheme://user:pass@`) removed."""
    text = _USERINFO.sub(r"\1", " ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Registry:
    """One registered model as the gate sees it, through an explicit client (no global MLflow state).

    Every call goes through `ask`: a not-found answer raises `_NotFound`, anything else (unreachable, timed out,
    a server error, a broken sqlite file) `TrackingUnavailable`, so no failure can turn into a PASS."""

    client: MlflowClient
    uri: str
    model: str

    def ask(self, what: str, call: Callable[..., T], *args: Any) -> T:
        from mlflow.exceptions import MlflowException

        try:
            return call(*args)
        except MlflowException as exc:
            if exc.error_code in _NOT_FOUND:
                raise _NotFound(_short(exc)) from exc
            raise TrackingUnavailable(f"tracking server {redact(self.uri)} could not {what}: {_why(exc)}") from exc
        except Exception as exc:
            raise TrackingUnavailable(f"tracking server {redact(self.uri)} could not {what}: {_why(exc)}") from exc

    def version(self, ref: ModelRef, aliases: dict[str, str]) -> ModelVersion:
        if ref.alias is not None:
            version = aliases.get(ref.alias)
            if version is None:
                known = ", ".join(f"@{a}" for a in sorted(aliases)) or "none"
                raise UsageError(f"{ref.option} {ref.text}: registered model {self.model!r} has no alias "
                                 f"{ref.alias!r} (its aliases: {known})")
        else:
            version = ref.version
        assert version is not None
        try:
            return self.ask(f"read version {version} of model {self.model!r}", self.client.get_model_version,
                            self.model, version)
        except _NotFound:
            raise UsageError(f"{ref.option} {ref.text}: registered model {self.model!r} has no version {version}; "
                             "pass an existing version number or alias") from None

    def metrics(self, mv: ModelVersion, label: str) -> tuple[dict[str, float] | None, str]:
        """The metrics of the run behind a version (None, why) when there are none to read."""
        if not mv.run_id:
            return None, f"{label} has no run (registered without a run id), so it has no logged metrics"
        try:
            run = self.ask(f"read run {mv.run_id} of {label}", self.client.get_run, mv.run_id)
        except _NotFound:
            return None, f"run {mv.run_id} of {label} no longer exists"
        return {k: float(v) for k, v in run.data.metrics.items()}, f"run {mv.run_id} of {label}"

    def describe(self, mv: ModelVersion, role: str, ref: ModelRef, *, with_metrics: bool) -> Resolved:
        label = f"{role} version {mv.version}" + (f" ({ref.text})" if ref.alias else "")
        metrics, source = self.metrics(mv, label) if with_metrics else (None, label)
        return Resolved(str(mv.version), label, metrics, source, str(mv.status))

    def resolve(self, candidate: ModelRef, champion: ModelRef | None,
                cfg: ModelGateConfig) -> tuple[Resolved, Resolved | None]:
        """The candidate and the champion (None: there is none). UsageError for what the user typed that does not
        exist; TrackingUnavailable when the registry cannot be asked."""
        try:
            registered = self.ask(f"read registered model {self.model!r}", self.client.get_registered_model,
                                  self.model)
        except _NotFound:
            raise UsageError(f"--model {self.model}: no registered model named {self.model!r} at "
                             f"{redact(self.uri)}; check the name or --tracking-uri") from None
        aliases = {str(k): str(v) for k, v in (registered.aliases or {}).items()}
        cand = self.describe(self.version(candidate, aliases), "candidate", candidate, with_metrics=True)
        if champion is None:
            if cfg.champion_alias not in aliases:
                return cand, None
            champion = ModelRef("--champion", f"@{cfg.champion_alias}", alias=cfg.champion_alias)
        needs_metrics = any(b.max_regression is not None for b in cfg.metrics.values())
        champ = self.describe(self.version(champion, aliases), "champion", champion, with_metrics=needs_metrics)
        return cand, champ

    def load_model(self, version: str, workdir: Path) -> PyFuncModel:
        """Download the version's artifacts with this registry's URI and load them as a pyfunc model."""
        import mlflow

        source = self.ask(f"locate the artifacts of version {version}",
                          self.client.get_model_version_download_uri, self.model, version)
        if source.startswith("models:/"):  # an MLflow 3 logged model: its artifacts live at the model's location
            model_id = source[len("models:/"):].split("/", 1)[0]
            source = self.ask(f"read logged model {model_id}", self.client.get_logged_model,
                              model_id).artifact_location
        local = mlflow.artifacts.download_artifacts(artifact_uri=source, tracking_uri=self.uri,
                                                    dst_path=str(workdir))
        return mlflow.pyfunc.load_model(local)

    def tag(self, version: str, key: str, value: str) -> None:
        self.ask(f"tag version {version}", self.client.set_model_version_tag, self.model, version, key, value)

    def set_alias(self, alias: str, version: str) -> None:
        self.ask(f"set alias @{alias}", self.client.set_registered_model_alias, self.model, alias, version)


# Metric checks --------------------------------------------------------------------------------------------------
def metric_checks(report: Report, model: str, cand: Resolved, champ: Resolved | None, cfg: ModelGateConfig) -> None:
    if not cfg.metrics:
        report.add(inconclusive("metrics", "no metric thresholds configured (gates.metrics is empty): nothing to "
                                "judge the candidate on; set them in the stack config and pass --stack"))
    for name, bounds in sorted(cfg.metrics.items()):
        if (bounds.min is None and bounds.max is None) or mc.computed(name, cfg):  # computed: evaluated_checks
            continue
        if cand.metrics is None:
            report.add(inconclusive(f"metric:{name}", f"cannot read metric {name}: {cand.source}; threshold "
                                    f"{mc.bounds_text(bounds)}", threshold=mc.bounds_text(bounds)))
        else:
            report.add(mc.metric_bounds(name, cand.metrics.get(name), bounds, cand.source))
    absolute = any(b.min is not None or b.max is not None for b in cfg.metrics.values())
    if champ is None:
        alias = f"@{cfg.champion_alias}"
        if not absolute:
            report.add(inconclusive("champion-comparison", f"no champion (alias {alias} is not set on model "
                                    f"{model!r}) and no metric has an absolute bound (min/max): nothing to pass on"))
        elif cfg.allow_no_champion:
            report.add(passed("champion-comparison", None, "allowNoChampion",
                              f"no champion: absolute thresholds only (alias {alias} is not set on model {model!r}; "
                              "gates.allowNoChampion is true)"))
        else:
            report.add(inconclusive("champion-comparison", f"no champion: alias {alias} is not set on model "
                                    f"{model!r} and gates.allowNoChampion is false; set the alias on the version "
                                    "that serves production or pass --champion", threshold="allowNoChampion"))
        return
    same = " (the candidate itself)" if champ.version == cand.version else ""
    compared = [n for n, b in sorted(cfg.metrics.items()) if b.max_regression is not None]
    what = f"metrics {', '.join(compared)}" if compared else "no metric (none sets maxRegression)"
    report.add(passed("champion-comparison", champ.version, None, f"compared with {champ.label}{same}: {what}"))
    for name in [n for n in compared if not mc.computed(n, cfg)]:
        bounds = cfg.metrics[name]
        cand_value = cand.metrics.get(name) if cand.metrics is not None else None
        champ_value = champ.metrics.get(name) if champ.metrics is not None else None
        report.add(mc.metric_regression(name, cand_value, champ_value, bounds, champ.label))


# Evaluation data ------------------------------------------------------------------------------------------------
def read_evaluation(cfg: EvaluationDataConfig, base_dir: Path | None) -> pd.DataFrame:
    """The evaluation frame from a local file or s3:// URI. UsageError for a missing, unsupported or unreadable
    file; EvaluationUnavailable when S3 itself cannot be asked (the prediction checks are then INCONCLUSIVE)."""
    import io

    import pandas as pd

    where = f"gates.evaluation.path = {cfg.path}"
    suffix = Path(cfg.path.split("?", 1)[0]).suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise UsageError(f"{where}: unsupported file type {suffix or '(none)'!r}; use .parquet or .csv")
    source: Any
    if cfg.path.startswith("s3://"):
        source = io.BytesIO(_read_s3(cfg.path, where))
    else:
        path = Path(cfg.path)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        if not path.is_file():
            raise UsageError(f"{where}: no such file {path}; fix the path (relative paths start at the directory "
                             "of Pulumi.yaml with --stack, else at the working directory)")
        source = path
    try:
        return pd.read_csv(source) if suffix == ".csv" else pd.read_parquet(source)
    except Exception as exc:  # corrupt or truncated files: pyarrow, csv and OS errors alike
        raise UsageError(f"{where}: cannot read it as {suffix[1:]}: {_short(exc)}") from exc


class EvaluationUnavailable(Exception):
    """The evaluation data's store (S3) could not be asked: missing evidence, not a usage error."""


def _s3_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}))


def _read_s3(uri: str, where: str) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise UsageError(f"{where}: not an s3://bucket/key URI")
    try:
        return _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchBucket", "404", "403", "AccessDenied"):
            raise UsageError(f"{where}: cannot read it ({code}); check the bucket, key and permissions") from exc
        raise EvaluationUnavailable(f"S3 could not return {uri}: {_short(exc)}") from exc
    except BotoCoreError as exc:
        raise EvaluationUnavailable(f"S3 could not return {uri}: {_short(exc)}") from exc


def positive_label(frame: pd.DataFrame, target: str, configured: Any) -> Any:
    """The target's own value matching `positiveLabel` (1 matches 1, 1.0, True and "1")."""
    values = list(frame[target].dropna().unique())
    for value in values:
        if value == configured or str(value) == str(configured):
            return value
    shown = ", ".join(repr(v) for v in values[:10]) or "none"
    raise UsageError(f"gates.fairness.positiveLabel = {configured!r} does not occur in target column {target!r} "
                     f"(values: {shown}); set it to the positive class")


def check_columns(frame: pd.DataFrame, cfg: ModelGateConfig) -> None:
    assert cfg.evaluation is not None
    needed = {"gates.evaluation.targetColumn": cfg.evaluation.target_column}
    if cfg.fairness is not None:
        needed["gates.fairness.sensitiveColumn"] = cfg.fairness.sensitive_column
    for key, column in needed.items():
        if column not in frame.columns:
            shown = ", ".join(map(str, list(frame.columns)[:20]))
            raise UsageError(f"{key} = {column}: no such column in {cfg.evaluation.path} (columns: {shown})")


# Prediction checks ----------------------------------------------------------------------------------------------
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
    return names + mc.row_check_names(cfg)


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


def score_champion(registry: Registry, version: str, frame: pd.DataFrame, cfg: ModelGateConfig,
                   workdir: Path) -> tuple[np.ndarray | None, str | None]:
    """The champion's predictions on the evaluation rows (paired regression checks), or why there are none."""
    try:
        pyfunc = registry.load_model(version, workdir)
        return as_array(pyfunc.predict(model_inputs(pyfunc, frame, cfg))), None
    except TrackingUnavailable:
        raise
    except Exception as exc:
        return None, f"champion version {version} could not score the evaluation data: {_short(exc)}"


def prediction_checks(report: Report, registry: Registry, version: str, frame: pd.DataFrame,
                      cfg: ModelGateConfig, *, champion: str | None = None) -> None:
    assert cfg.evaluation is not None
    names = prediction_check_names(cfg)

    def not_evaluated(reason: str) -> None:
        for name in names:
            report.add(inconclusive(name, f"not evaluated: {reason}"))

    report.details["evaluation"] = {"path": cfg.evaluation.path, "rows": len(frame)}
    if len(frame) == 0:
        not_evaluated(f"the evaluation data {cfg.evaluation.path} has no rows")
        return
    target = cfg.evaluation.target_column
    with tempfile.TemporaryDirectory(prefix="mlcicd-gate-") as workdir:
        try:
            pyfunc = registry.load_model(version, Path(workdir))
        except TrackingUnavailable:
            raise
        except Exception as exc:
            not_evaluated(f"model version {version} could not be loaded: {_short(exc)}")
            return
        try:
            inputs = model_inputs(pyfunc, frame, cfg)
            predictions = as_array(pyfunc.predict(inputs))
        except Exception as exc:
            not_evaluated(f"model version {version} could not score the evaluation data: {_short(exc)}")
            return
        truth = frame[target].to_numpy()
        report.add(mc.finite_predictions(predictions, len(frame)))
        if mc.row_check_names(cfg):
            champ, problem = (score_champion(registry, champion, frame, cfg, Path(workdir) / "champion")
                              if champion is not None else (None, None))
            positive = cfg.fairness.positive_label if cfg.fairness is not None else 1
            for check in mc.evaluated_checks(cfg, mc.Scored(truth, predictions, champ, positive),
                                             champion_label=f"champion version {champion}", champion_problem=problem):
                report.add(check)
        if "predictions:class-share" in names:
            report.add(mc.class_share(predictions, truth, cfg.predictions))
            report.details["class_shares"] = mc.class_shares(predictions) if predictions.ndim == 1 else None
        if "predictions:score-range" in names:
            report.add(mc.score_range(predictions, cfg.predictions))
        if cfg.fairness is not None:
            fairness_names = mc.fairness_check_names(cfg.fairness)
            if predictions.ndim != 1 or len(predictions) != len(frame):
                for name in fairness_names:
                    report.add(inconclusive(name, f"not evaluated: fairness needs one predicted label per row "
                                            f"(got shape {predictions.shape} for {len(frame)} rows)"))
            else:
                positive = positive_label(frame, target, cfg.fairness.positive_label)
                groups = frame[cfg.fairness.sensitive_column].to_numpy()
                alpha, power = mc.levels(cfg)
                checks, rates = mc.fairness(truth, predictions, groups, positive, cfg.fairness, alpha=alpha,
                                            power=power)
                for check in checks:
                    report.add(check)
                report.details["fairness"] = {"column": cfg.fairness.sensitive_column, "positive_label": positive,
                                              "groups": {g: r.to_dict() for g, r in rates.items()}}
        if cfg.latency is not None:
            latency = cfg.latency
            try:
                durations, stopped = time_single_rows(pyfunc, inputs, latency.samples, latency.warmup,
                                                      latency.p95_ms)
            except Exception as exc:
                report.add(inconclusive("latency:p95", f"not evaluated: a single-row prediction failed: "
                                        f"{_short(exc)}", threshold=f"p95 <= {mc.fmt(latency.p95_ms)} ms"))
            else:
                check = mc.latency(durations, latency)
                if stopped:
                    check.reason += (f" (stopped after {len(durations)} of {latency.samples} samples: enough "
                                     f"already exceeded {mc.fmt(latency.p95_ms)} ms to decide the p95)")
                report.add(check)
                report.details["latency"] = mc.latency_percentiles(durations)


# Recording the verdict ------------------------------------------------------------------------------------------
def upload_report(bucket: str, key: str, body: str) -> str:
    _s3_client().put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
    return f"s3://{bucket}/{key}"


def record_verdict(report: Report, registry: Registry, version: str, cfg: ModelGateConfig, *,
                   report_path: Path | None, report_bucket: str | None, image_digest: str | None) -> None:
    """Record the verdict where promotion looks for it, in this order: upload the report (the evidence), tag the
    version (verdict, report location, image digest), and on PASS only move the candidate alias, so the alias
    never points at a version whose evidence is missing. A step that fails adds an INCONCLUSIVE check (never a
    silent PASS); the report is then finished again and re-uploaded. Otherwise the report is not touched after
    the upload, so the uploaded copy and the one the caller writes are the same bytes."""
    from botocore.exceptions import BotoCoreError, ClientError

    report.finish()
    location = str(Path(report_path).resolve()) if report_path is not None else None
    uploaded: tuple[str, str] | None = None
    if report_bucket is not None:
        key = evidence_key(registry.model, version, KIND)
        try:
            location = upload_report(report_bucket, key, report.to_json())
            uploaded = (report_bucket, key)
        except (BotoCoreError, ClientError) as exc:
            report.add(inconclusive("report-upload", f"could not upload the report to s3://{report_bucket}/{key}: "
                                    f"{_short(exc)}"))
    checks_before = len(report.checks)
    tags = {verdict_tag(KIND): report.verdict.value}
    if location is not None:
        tags[report_tag(KIND)] = location
    if image_digest is not None:
        tags[digest_tag(KIND)] = image_digest
    try:
        for key, value in tags.items():
            registry.tag(version, key, value)
    except (TrackingUnavailable, _NotFound) as exc:
        report.add(inconclusive("registry-update", f"could not tag version {version} with the verdict: {exc}"))
    if report.verdict is Verdict.PASS:
        try:
            registry.set_alias(cfg.candidate_alias, version)
        except (TrackingUnavailable, _NotFound) as exc:
            report.add(inconclusive("registry-update", f"could not set alias @{cfg.candidate_alias} on version "
                                    f"{version}: {exc}"))
            with contextlib.suppress(TrackingUnavailable, _NotFound):  # already reported: the registry is failing
                registry.tag(version, verdict_tag(KIND), report.verdict.value)
    if len(report.checks) == checks_before:
        return
    report.finish()
    if uploaded is not None:
        try:
            upload_report(*uploaded, report.to_json())
        except (BotoCoreError, ClientError) as exc:
            report.add(inconclusive("report-upload", f"could not refresh s3://{uploaded[0]}/{uploaded[1]}: "
                                    f"{_short(exc)}"))
            report.finish()


# The gate -------------------------------------------------------------------------------------------------------
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
    if image_digest is not None and not _DIGEST.match(image_digest):
        raise UsageError(f"--image-digest {image_digest!r}: expected sha256:<64 lowercase hex>")
    if report_bucket is not None and not _BUCKET.match(report_bucket):
        raise UsageError(f"--report-bucket {report_bucket!r}: expected an S3 bucket name (no s3:// or key)")
    if not model.strip():
        raise UsageError("--model: empty registered model name")
    report = Report(KIND, subject={"model": model, "version": cand_ref.version})
    if image_digest is not None:
        report.subject["image_digest"] = image_digest
    report.details["tracking_uri"] = redact(uri)
    report.details["candidate_ref"] = cand_ref.text
    frame = None
    evaluation_problem = None
    if cfg.evaluation is not None:  # bad paths and columns are usage errors: find them before any registry call
        try:
            frame = read_evaluation(cfg.evaluation, base_dir)
        except EvaluationUnavailable as exc:
            evaluation_problem = str(exc)
        else:
            check_columns(frame, cfg)
            if cfg.fairness is not None and len(frame):
                positive_label(frame, cfg.evaluation.target_column, cfg.fairness.positive_label)
    from mlflow import MlflowClient

    with bounded_http(cfg):
        registry = Registry(MlflowClient(tracking_uri=uri, registry_uri=uri), uri, model)
        try:
            cand, champ = registry.resolve(cand_ref, champ_ref, cfg)
        except TrackingUnavailable as exc:
            report.add(inconclusive("tracking", str(exc)))
            return report.finish()
        report.subject["version"] = cand.version
        report.subject["champion"] = champ.version if champ else None
        report.details["candidate"] = {"version": cand.version, "metrics_from": cand.source, "metrics": cand.metrics}
        report.details["champion"] = ({"version": champ.version, "metrics_from": champ.source,
                                       "metrics": champ.metrics} if champ else None)
        try:
            if cand.status != "READY":
                report.add(inconclusive("model-version", f"{cand.label} is {cand.status}, not READY"))
            metric_checks(report, model, cand, champ, cfg)
            if evaluation_problem is not None:
                for name in prediction_check_names(cfg):
                    report.add(inconclusive(name, f"not evaluated: {evaluation_problem}"))
            elif frame is not None:
                prediction_checks(report, registry, cand.version, frame, cfg, champion=champ.version if champ else None)
        except TrackingUnavailable as exc:
            report.add(inconclusive("tracking", str(exc)))
        record_verdict(report, registry, cand.version, cfg, report_path=report_path, report_bucket=report_bucket,
                       image_digest=image_digest)
    return report
