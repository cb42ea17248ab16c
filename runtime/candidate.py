"""Which registered-model version a training run just created (the pipeline's Train action exports it).

The training entry point is the team's own code: it logs to MLflow and registers a version, and tells the pipeline
nothing. The pipeline notes the time before training and asks the registry afterwards for the versions of the model
created since then. Exactly one is the candidate; none (training registered nothing) or several (someone else
registered concurrently) is an error, never a guess.
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
    """`candidate_version` against the registry at `tracking_uri` (else $MLFLOW_TRACKING_URI), through the
    runtime's bounded MLflow client: TrackingUnavailable (exit 3) when it does not answer."""
    from runtime.tracking import ask_registry, mlflow_client, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    with mlflow_client(uri) as client:
        return ask_registry(uri, f"list the versions of {model!r}", lambda: candidate_version(client, model, since_ms))


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
