"""A real `mlflow server` for the tests that talk to MLflow over HTTP (champion sync, model gate)."""

from __future__ import annotations

import sys
from pathlib import Path

from runtime.local.processes import ManagedProcess, free_port


def mlflow_server_process(root: Path) -> ManagedProcess:
    """`mlflow server` (sqlite backend and artifacts under `root`, proxied artifacts, one worker, no job runner) on a
    free loopback port; the caller starts and stops it."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
               f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return ManagedProcess("mlflow server", command, port, root / "server.log", cwd=root,
                          env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, unset_env=("MLFLOW_TRACKING_URI",))
