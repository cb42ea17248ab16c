"""Every MLflow access of the runtime goes through here: the tracking URI is validated before anything is asked
(a typo is a usage error naming the value, not a traceback), every HTTP call has one bounded budget (an unreachable
server answers within seconds, not MLflow's default four minutes of backoff), and a failure to ask is a
`TrackingUnavailable` (exit 3) whichever command asked.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from runtime.errors import (
    InvalidValue,
    MlcicdError,
    ServiceUnavailable,
    TrackingUnavailable,
    UsageError,
    chain,
    classify,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")

#: The HTTP budget of every MLflow call: retries after 0, 2, 4 s of backoff, each attempt at most this long. The
#: same values are the defaults of `gates.trackingRetries` and `gates.trackingTimeoutSeconds` (the model gate
#: reads its own from the stack config).
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT_S = 10
#: Schemes MLflow keeps a model registry under (`postgresql+psycopg2://` counts as postgresql).
REGISTRY_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks",
                    "databricks-uc")
_EXAMPLES = "http(s)://HOST:PORT (an MLflow server) or sqlite:///PATH/mlflow.db"


def missing_sqlite_registry(uri: str) -> Path | None:
    """The database path of a `sqlite:///` URI when that file does not exist (MLflow would create an empty
    registry there and every lookup would look like "no such model"); None otherwise."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.is_file():
            return path
    return None


def check_tracking_uri(uri: str, option: str = "--tracking-uri") -> str:
    """The URI, or InvalidValue (exit 2) naming it and the fix: no scheme, an unknown scheme (`htp://`), an
    http(s) URI without a host, a sqlite file that does not exist. Asks nothing over the network."""
    text = uri.strip()
    if text in ("databricks", "databricks-uc"):  # Databricks' own names for its workspace registries
        return text
    if "://" not in text:
        guess = f"http://{text}" if text and not text.startswith(("/", ".")) else f"sqlite:///{text or 'PATH'}"
        raise InvalidValue(f"{option} {uri!r}: no scheme; use {_EXAMPLES}, e.g. {guess}")
    scheme = urlsplit(text).scheme.lower()
    if scheme.split("+", 1)[0] not in REGISTRY_SCHEMES:
        close = difflib.get_close_matches(scheme, REGISTRY_SCHEMES, n=1)
        fix = f"did you mean {close[0]}{text[len(scheme):]}? " if close else ""
        raise InvalidValue(f"{option} {uri!r}: unknown scheme {scheme!r}; {fix}use {_EXAMPLES}")
    if scheme in ("http", "https") and not urlsplit(text).hostname:
        raise InvalidValue(f"{option} {uri!r}: no host; use {scheme}://HOST:PORT")
    path = missing_sqlite_registry(text)
    if path is not None:
        raise InvalidValue(f"{option} {uri}: no MLflow database at {path}; pass the registry's URI")
    return text


def resolve_tracking_uri(flag: str | None, option: str = "--tracking-uri") -> str:
    """`--tracking-uri`, else $MLFLOW_TRACKING_URI, checked; UsageError when neither is set."""
    uri = flag or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError(f"no tracking server: pass {option} URI ({_EXAMPLES}) or set MLFLOW_TRACKING_URI")
    return check_tracking_uri(uri, option)


def require_registry(uri: str, option: str = "--tracking-uri") -> None:
    """Raise InvalidValue (exit 2) for a URI that cannot name a registry (see `check_tracking_uri`)."""
    check_tracking_uri(uri, option)


@contextmanager
def bounded_mlflow_http(retries: int = DEFAULT_RETRIES, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    """MLflow's HTTP retry budget for the calls in the block: `retries` retries (backoff 0, 2, 4 s, no jitter) of
    at most `timeout_s` each, so an unreachable server answers within seconds instead of MLflow's default minutes.
    Variables the caller already set win; the environment is restored afterwards."""
    wanted = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout_s),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    added = {k: v for k, v in wanted.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


@contextmanager
def mlflow_client(uri: str, *, retries: int = DEFAULT_RETRIES,
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[MlflowClient]:
    """A client of the registry at `uri` (checked first) whose calls in the block run under the bounded budget."""
    check_tracking_uri(uri)
    with bounded_mlflow_http(retries, timeout_s):
        from mlflow import MlflowClient

        yield MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def global_tracking_uri(uri: str | None) -> Iterator[None]:
    """For MLflow functions that read the process-wide tracking URI (`mlflow.models.get_model_info`): `uri`
    (checked) and the bounded budget inside the block, the previous setting restored afterwards."""
    if uri is None:
        with bounded_mlflow_http():
            yield
        return
    check_tracking_uri(uri)
    import mlflow
    from mlflow.tracking._tracking_service import utils

    previous, previous_env = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        with bounded_mlflow_http():
            yield
    finally:
        mlflow.set_tracking_uri(previous)
        if previous_env is not None:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env


def ask_registry(uri: str, what: str, call: Callable[[], T]) -> T:
    """`call()` against the registry at `uri`; a failure that is an outage (refused, timed out, 5xx) becomes
    TrackingUnavailable naming the server and what was asked. Other errors propagate unchanged."""
    try:
        return call()
    except MlcicdError:
        raise
    except Exception as exc:
        if isinstance(classify(exc), ServiceUnavailable):
            raise TrackingUnavailable(f"tracking server {redact(uri)} could not {what}: {_reason(exc)}") from exc
        raise


def _reason(exc: BaseException) -> str:
    """The innermost message of a failed call: `[Errno 111] Connection refused` rather than three wrappers."""
    innermost = list(chain(exc))[-1]
    text = " ".join(str(innermost).split()) or type(innermost).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def redact(uri: str) -> str:
    """A tracking URI fit for messages and reports: user and password removed."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()
