"""The local stand-ins' processes: the moto server (S3 and CloudWatch) and MLflow's scoring server for a model
version. `start_scoring_server` is the one place a scoring process is started (the champion and the candidate
alike), so it can be swapped for the runtime's serving command in one spot."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from runtime.local.processes import ManagedProcess, ProcessGroup, free_port
from runtime.local.state import ONE_THREAD

SERVER_READY_S = 180.0
MOTO_READY_S = 60.0


def _bin(name: str) -> str:
    """A console script of this environment (next to the running interpreter)."""
    return str(Path(sys.executable).parent / name)


def start_scoring_server(group: ProcessGroup, role: str, model_uri: str, *, tracking_uri: str, log: Path,
                         env: dict[str, str] | None = None) -> ManagedProcess:
    """MLflow's scoring server for `model_uri` on a free loopback port, one worker; ready on `/ping`."""
    port = free_port()
    argv = [_bin("mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local", "--host", "127.0.0.1",
            "-p", str(port), "--workers", "1"]
    base = {**{k: os.environ.get(k, v) for k, v in ONE_THREAD.items()}, "MLFLOW_TRACKING_URI": tracking_uri,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return group.start(ManagedProcess(f"{role} scoring server ({model_uri})", argv, port, log,
                                      {**base, **(env or {})}))


def start_moto(group: ProcessGroup, log: Path) -> ManagedProcess:
    """moto's server on a free loopback port: the rehearsal's S3 and CloudWatch (dummy credentials only)."""
    port = free_port()
    return group.start(ManagedProcess("moto server", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                                      str(port)], port, log))
