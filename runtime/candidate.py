"""Which registered-model version a training run just created (the pipeline's Train action exports it), and
whether the training command kept the training contract (docs/training-contract.md).

The training entry point is the team's own code: it logs to MLflow and registers a version, and tells the pipeline
nothing. The pipeline notes the time before training and asks the registry afterwards for the versions of the model
created since then. Exactly one is the candidate; none (training registered nothing) or several (someone else
registered concurrently) is an error, never a guess. The candidate must then carry what the later steps need:
the run it was logged in, with metrics (the model gate reads them), a signature (serving rejects malformed
requests with it) and an input example (the smoke and load tests send it). Each missing piece is a
`CandidateError` naming it and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.errors import UsageError


class CandidateError(UsageError):
    """No unambiguous candidate: the message says what was found and what to fix (exit 2)."""


@dataclass(frozen=True)
class Candidate:
    version: str
    run_id: str | None
    created_ms: int


def versions_since(client: Any, model: str, since_ms: int) -> list[Candidate]:
    """Versions of `model` created at or after `since_ms` (epoch milliseconds), newest first."""
    found = client.search_model_versions(f"name='{model}'")
    out = [Candidate(version=str(v.version), run_id=v.run_id, created_ms=int(v.creation_timestamp))
           for v in found if int(v.creation_timestamp) >= since_ms]
    return sorted(out, key=lambda c: (c.created_ms, int(c.version)), reverse=True)


def registered_candidate(tracking_uri: str | None, model: str, since_ms: int) -> Candidate:
    """`candidate_version` against the registry at `tracking_uri` (else $MLFLOW_TRACKING_URI), then
    `check_training` on it, through the runtime's bounded MLflow client: TrackingUnavailable (exit 3) when it does
    not answer."""
    from runtime.tracking import ask_registry, mlflow_client, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    with mlflow_client(uri) as client:
        found = ask_registry(uri, f"list the versions of {model!r}", lambda: candidate_version(client, model, since_ms))
        ask_registry(uri, f"read {model!r} version {found.version}",
                     lambda: check_training(client, model, found, uri))
        return found


def candidate_version(client: Any, model: str, since_ms: int) -> Candidate:
    """The one version registered since `since_ms`, or CandidateError."""
    found = versions_since(client, model, since_ms)
    if not found:
        raise CandidateError(f"no version of registered model {model!r} was created since {since_ms} (epoch ms): "
                             "the training command must register one (mlflow.register_model or "
                             "log_model(..., registered_model_name=...))")
    if len(found) > 1:
        listed = ", ".join(f"{c.version} (run {c.run_id})" for c in found)
        raise CandidateError(f"{len(found)} versions of {model!r} were created since {since_ms}: {listed}; the "
                             "candidate is ambiguous (did another training run register concurrently?); pass the "
                             "version explicitly")
    return found[0]


def check_training(client: Any, model: str, candidate: Candidate, tracking_uri: str | None) -> None:
    """The training contract's checks on the version training registered; CandidateError naming every problem."""
    label = f"{model!r} version {candidate.version}"
    problems: list[str] = []
    if candidate.run_id is None:
        problems.append("it was registered without a run: log the model inside `mlflow.start_run()` (or with "
                        "`log_model`), so its metrics and the model live in one run")
    elif not client.get_run(candidate.run_id).data.metrics:
        problems.append(f"its run {candidate.run_id} logged no metrics: log the metrics `gates.metrics` names "
                        "(e.g. `mlflow.log_metrics({'accuracy': ...})`) in the run that logs the model")
    meta = _model_metadata(client, model, candidate.version, tracking_uri)
    if meta is None:
        problems.append("its artifacts have no MLmodel file: register a model logged with an MLflow flavor "
                        "(`mlflow.sklearn.log_model`, `mlflow.pyfunc.log_model`, ...)")
    else:
        if not meta.get("signature"):
            problems.append("it has no signature: pass `signature=mlflow.models.infer_signature(X, predictions)` "
                            "to `log_model`")
        if not meta.get("saved_input_example_info"):
            problems.append("it has no input example: pass `input_example=X.head(5)` to `log_model` (the smoke "
                            "and load tests send it)")
    if problems:
        raise CandidateError(f"the training command registered {label}, which breaks the training contract "
                             f"(docs/training-contract.md): " + "; ".join(problems))


def _model_metadata(client: Any, model: str, version: str, tracking_uri: str | None) -> dict[str, Any] | None:
    """The version's MLmodel file as a mapping, or None when it has none."""
    import yaml
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    root = client.get_model_version_download_uri(model, version).rstrip("/")
    try:
        local = download_artifacts(artifact_uri=f"{root}/MLmodel", tracking_uri=tracking_uri)
    except (MlflowException, OSError):
        return None
    with open(local, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    return doc if isinstance(doc, dict) else None
