"""Champion and candidate served side by side on this machine, by THE serving command (runtime/serving/command.py),
for the pipeline's Replay action: both models run under identical conditions (same host, same command, one worker
each, no capture), so the latency ratio compares the models, not two deployments. Stopped when the block exits.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from runtime.errors import EndpointUnavailable, UsageError
from runtime.local.processes import ManagedProcess, ProcessFailed, ProcessGroup, free_port
from runtime.serving import command

#: Seconds a model server may take to load its model and answer /ping.
READY_TIMEOUT_S = 300.0


def _start(group: ProcessGroup, role: str, model_uri: str, model_name: str, workdir: Path) -> ManagedProcess:
    port = free_port()
    env = command.serving_environment(model_name=model_name, model_version=None, image_digest=None,
                                      variant=role)
    env.update(HOME=str(workdir), TMPDIR=str(workdir), MPLCONFIGDIR=str(workdir / "matplotlib"))
    process = ManagedProcess(f"{role} server ({model_uri})",
                             command.serve_argv(model_uri, port=port, host="127.0.0.1", python=sys.executable,
                                                workers=1),
                             port, workdir / f"{role}.log", env=env, unset_env=(command.ENV_WORKERS, "MLCICD_CAPTURE"))
    return group.start(process)


@contextmanager
def serve_models(models: dict[str, str], model_name: str) -> Iterator[dict[str, str]]:
    """Role ("champion", "candidate") -> model URI in; role -> base URL out, once every server answers /ping.
    EndpointUnavailable (exit 3) with the server's log tail when one does not start."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlcicd-replay-")))
        group = stack.enter_context(ProcessGroup())
        started = {role: _start(group, role, uri, model_name, workdir) for role, uri in models.items()}
        for role, process in started.items():
            try:
                process.wait_ready("/ping", READY_TIMEOUT_S)
            except ProcessFailed as exc:
                raise EndpointUnavailable(f"the {role} model server did not start: {exc}",
                                          hint=f"check that {models[role]} exists and its requirements are installed "
                                               "here (exit 3, INCONCLUSIVE)") from exc
        yield {role: process.url for role, process in started.items()}


def champion_version(tracking_uri: str, model: str, alias: str) -> str | None:
    """The version the champion alias points at, or None when the model has no such alias yet (a first
    deployment: nothing to compare against). UsageError when the registered model does not exist,
    TrackingUnavailable (exit 3) when the registry does not answer."""
    from runtime.tracking import ask_registry, mlflow_client

    def missing(exc: BaseException) -> bool:
        return str(getattr(exc, "error_code", "")) == "RESOURCE_DOES_NOT_EXIST"

    with mlflow_client(tracking_uri) as client:
        def lookup() -> str | None:
            try:
                client.get_registered_model(model)
            except Exception as exc:
                if missing(exc):
                    raise UsageError(f"registered model {model!r} does not exist in the registry; check --model "
                                     "or model.name") from exc
                raise
            try:
                return str(client.get_model_version_by_alias(model, alias).version)
            except Exception as exc:
                if missing(exc) or str(getattr(exc, "error_code", "")) == "INVALID_PARAMETER_VALUE":
                    return None
                raise

        return ask_registry(tracking_uri, f"read the alias @{alias} of {model}", lookup)
