"""What every runtime command that talks to MLflow shares: a bounded HTTP budget and a guard against MLflow's
silent creation of an empty sqlite registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.errors import UsageError


def missing_sqlite_registry(uri: str) -> Path | None:
    """The database path of a `sqlite:///` URI when that file does not exist (MLflow would create an empty
    registry there and every lookup would look like "no such model"); None otherwise."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.is_file():
            return path
    return None


def require_registry(uri: str, option: str = "--tracking-uri") -> None:
    """Raise UsageError (exit 2) for a sqlite registry file that does not exist."""
    path = missing_sqlite_registry(uri)
    if path is not None:
        raise UsageError(f"{option} {uri}: no MLflow database at {path}; pass the registry's URI")


@contextmanager
def bounded_mlflow_http(retries: int, timeout_s: float) -> Iterator[None]:
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
