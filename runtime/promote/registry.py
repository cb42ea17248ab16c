"""The MLflow model registry as promotion sees it: does the version exist, and what do its tags say.

Through the runtime's one bounded MLflow client (`runtime.tracking`): an unreachable registry makes promotion
INCONCLUSIVE within seconds instead of MLflow's default minutes of backoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runtime.errors import InvalidValue, TrackingUnavailable
from runtime.promote.errors import PromotionError
from runtime.tracking import ask_registry, check_tracking_uri, mlflow_client, redact

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

#: The registry could not be asked (unreachable, error): not evidence either way (exit 3). The runtime's one class
#: for an MLflow outage, under the name promotion has always used.
RegistryUnavailable = TrackingUnavailable


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None


def _check_uri(uri: str) -> None:
    """A URI that cannot name a registry (no or unknown scheme, a sqlite file that does not exist: MLflow would
    create an empty registry there) is bad input, before anything is asked."""
    try:
        check_tracking_uri(uri)
    except InvalidValue as exc:
        raise PromotionError(str(exc)) from None


def fetch_version(tracking_uri: str, name: str, version: str) -> RegisteredVersion:
    """The registered model version with its tags. PromotionError when the registry answers that it does not
    exist (or is not READY); RegistryUnavailable when the registry cannot be asked."""
    _check_uri(tracking_uri)
    from mlflow.exceptions import MlflowException

    with mlflow_client(tracking_uri) as client:
        try:
            mv = ask_registry(tracking_uri, f"read {name} version {version}",
                              lambda: client.get_model_version(name, version))
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise RegistryUnavailable(f"registry at {redact(tracking_uri)}: {exc.message}") from exc
            raise PromotionError(f"unknown model version: {name} version {version} is not in the registry at "
                                 f"{redact(tracking_uri)}{_known_versions(client, name)}") from exc
        except TrackingUnavailable:
            raise
        except Exception as exc:  # anything else the registry does (a broken store) is no evidence either way
            raise RegistryUnavailable(f"registry at {redact(tracking_uri)}: {type(exc).__name__}: {exc}") from exc
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
