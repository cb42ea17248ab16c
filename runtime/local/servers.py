"""The local stand-ins' processes: the moto server (S3, CloudWatch, Firehose) and the scoring server of a model
version. `start_scoring_server` starts THE serving command (`runtime/serving/command.py`: MLflow's scoring app
under uvicorn behind the inference capture layer), as the serving image, the ECS task and the EKS pod run it, for
the champion and the candidate alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from runtime.local.processes import ManagedProcess, ProcessGroup, free_port
from runtime.local.state import ONE_THREAD

SERVER_READY_S = 180.0
MOTO_READY_S = 60.0


def start_scoring_server(group: ProcessGroup, *, role: str, variant: str, model: str, version: str,
                         image_digest: str | None, tracking_uri: str, scratch: Path, log: Path,
                         env: dict[str, str] | None = None) -> ManagedProcess:
    """The serving command for `models:/<model>/<version>` on a free loopback port, one worker; ready on `/ping`.
    `env`: capture settings and faults. HOME and TMPDIR point at `scratch` (the task's writable volume)."""
    from runtime.serving import command as serving

    port = free_port()
    argv = serving.serve_argv(f"models:/{model}/{version}", port=port, host="127.0.0.1", workers=1,
                              python=sys.executable)
    extra = {**{k: os.environ.get(k, v) for k, v in ONE_THREAD.items()}, "MLFLOW_TRACKING_URI": tracking_uri,
             "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    environment = serving.serving_environment(model_name=model, model_version=version, image_digest=image_digest,
                                              variant=variant, extra=extra)
    scratch.mkdir(parents=True, exist_ok=True)
    environment.update(HOME=str(scratch), TMPDIR=str(scratch))
    return group.start(ManagedProcess(f"{role} scoring server (models:/{model}/{version})", argv, port, log,
                                      environment))


def start_moto(group: ProcessGroup, log: Path) -> ManagedProcess:
    """moto's server on a free loopback port: the rehearsal's S3, CloudWatch and Firehose (dummy credentials)."""
    port = free_port()
    return group.start(ManagedProcess("moto server", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                                      str(port)], port, log))
