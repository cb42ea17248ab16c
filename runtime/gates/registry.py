"""The model gate's view of the MLflow registry: which versions `--candidate` and `--champion` name, the metrics
of the runs behind them, their artifacts, and the tags and alias the verdict writes.

Every call goes through an explicit client within the gate's retry budget (`gates.trackingRetries` x
`gates.trackingTimeoutSeconds`). What the user typed that does not exist is a `UsageError` (exit 2); a registry
that cannot be asked raises `TrackingUnavailable`, which the gate turns into INCONCLUSIVE, never a PASS.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runtime.config.gates import ModelGateConfig
from runtime.errors import TrackingUnavailable, UsageError
from runtime.gates.reasons import one_line, redact
from runtime.tracking import bounded_mlflow_http, require_registry

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.pyfunc import PyFuncModel

_REF = re.compile(r"^(?:(?P<version>[1-9][0-9]*)|@(?P<alias>[A-Za-z0-9_][A-Za-z0-9_.-]*))$")
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST",)
#: The part of a connection failure worth reading (requests/urllib3 bury it in pool and retry wrappers).
_NETWORK_CAUSE = re.compile(r"\[Errno -?\d+\][^\"')]*|Read timed out\.?(?: \(read timeout=[\d.]+\))?"
                            r"|Connection aborted[^\"')]*|Remote end closed connection[^\"')]*")
T = TypeVar("T")


class _NotFound(UsageError):
    pass


#: What a registry write (`Registry.tag`, `Registry.set_alias`) raises when it does not go through.
WRITE_ERRORS: tuple[type[Exception], ...] = (TrackingUnavailable, _NotFound)


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
    return found.group(0).strip() if found else one_line(exc)


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
        except Exception as exc:
            if isinstance(exc, MlflowException) and exc.error_code in _NOT_FOUND:
                raise _NotFound(one_line(exc)) from exc
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
