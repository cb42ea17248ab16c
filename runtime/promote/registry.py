"""The MLflow model registry as promotion sees it: does the version exist, and what do its tags say.

HTTP calls are bounded (one retry, 10 s timeout) unless the caller set MLflow's own variables: an unreachable
registry makes promotion INCONCLUSIVE within seconds instead of MLflow's default minutes of backoff.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runtime.promote.errors import PromotionError
from runtime.tracking import bounded_mlflow_http, missing_sqlite_registry

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient



class RegistryUnavailable(Exception):
    """The registry could not be asked (unreachable, error): not evidence either way."""


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None


def _bounded_http() -> AbstractContextManager[None]:
    return bounded_mlflow_http(retries=1, timeout_s=10)


def _check_sqlite(uri: str) -> None:
    """MLflow creates a missing sqlite database silently; a wrong path must not look like an empty registry."""
    path = missing_sqlite_registry(uri)
    if path is not None:
        raise PromotionError(f"--tracking-uri {uri}: no MLflow database at {path}; pass the registry's URI")


def fetch_version(tracking_uri: str, name: str, version: str) -> RegisteredVersion:
    """The registered model version with its tags. PromotionError when the registry answers that it does not
    exist (or is not READY); RegistryUnavailable when the registry cannot be asked."""
    _check_sqlite(tracking_uri)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    with _bounded_http():
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        try:
            mv = client.get_model_version(name, version)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise RegistryUnavailable(f"registry at {tracking_uri}: {exc.message}") from exc
            raise PromotionError(f"unknown model version: {name} version {version} is not in the registry at "
                                 f"{tracking_uri}{_known_versions(client, name)}") from exc
        except Exception as exc:  # connection errors surface as requests/urllib3 exceptions
            raise RegistryUnavailable(f"registry at {tracking_uri}: {type(exc).__name__}: {exc}") from exc
    status = str(mv.status)
    if status != "READY":
        raise PromotionError(f"{name} version {version} has registry status {status}; only a READY version can "
                             "be promoted")
    return RegisteredVersion(name=mv.name, version=str(mv.version), status=status, tags=dict(mv.tags or {}),
                             run_id=mv.run_id)


def _known_versions(client: MlflowClient, name: str) -> str:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return f" (no registered model named {name!r})"
    versions = sorted((int(v.version) for v in found), reverse=True)
    if not versions:
        return f" (registered model {name!r} has no versions)"
    shown = ", ".join(str(v) for v in versions[:10])
    return f" (known versions: {shown}{', ...' if len(versions) > 10 else ''})"
