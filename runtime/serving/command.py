"""THE serving command: one definition of how a model server starts, shared by every place that starts one.

Consumers (each takes its argv, environment, user and writable paths from here, nothing else):
- the serving image's ENTRYPOINT (`runtime/serving/image.py` appends it to MLflow's generated Dockerfile);
- the ECS task definition (`components/serving/ecs_task.py`: `entryPoint`, `user`, volumes and mount points);
- the EKS pod spec (`components/serving/eks_specs.py`: `command`, `runAsUser`, emptyDir volumes and mounts);
- `mlcicd local run` (`runtime/local/servers.py`) and the tests that start a real scoring server.

What it runs: MLflow's own scoring app (`mlflow.pyfunc.scoring_server.init`, the FastAPI app `mlflow models serve`
runs) under uvicorn, directly, behind the inference capture layer (`runtime/serving/app.py`). No nginx: MLflow's
container entrypoint starts nginx, which writes under /var/log/nginx and /var/lib and cannot start with a read-only
root filesystem as a non-root user. The server writes only under `WRITABLE_PATHS` (HOME and TMPDIR point there).

Pure and standard-library only: the serving image carries `runtime/serving/` without the rest of the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The entry module: `python -m runtime.serving ...`.
ENTRY_MODULE = "runtime.serving"
#: Where `mlflow models generate-dockerfile` puts the model in the image (its `COPY ... /opt/ml/model`).
MODEL_DIR = "/opt/ml/model"
#: Where the image keeps `runtime/serving/` (on PYTHONPATH).
PACKAGE_ROOT = "/opt/mlcicd"
#: The non-root user (uid = gid) every serving container runs as.
RUN_AS_UID = 10001
#: Container port of the scoring server.
DEFAULT_PORT = 8080
#: Seconds uvicorn waits for in-flight requests on SIGTERM before it closes connections (ECS stopTimeout is 30).
GRACEFUL_SHUTDOWN_S = 20
#: CPU units per uvicorn worker (1024 = one vCPU): one worker process per vCPU.
CPU_UNITS_PER_WORKER = 1024


@dataclass(frozen=True)
class WritablePath:
    """A writable mount in an otherwise read-only root filesystem: an ephemeral task volume (ECS) or a
    size-limited emptyDir (EKS); the bubblewrap test mounts a tmpfs there."""

    volume: str
    path: str


#: The ONLY paths the scoring server may write to.
WRITABLE_PATHS: tuple[WritablePath, ...] = (WritablePath("scratch", "/tmp"),)  # noqa: S108 - a mount point
SCRATCH = WRITABLE_PATHS[0].path

#: Environment of the server process: home and temporary files in the scratch volume, no bytecode writes.
BASE_ENVIRONMENT: dict[str, str] = {
    "HOME": SCRATCH,
    "TMPDIR": SCRATCH,
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "MPLCONFIGDIR": f"{SCRATCH}/matplotlib",
}

# Environment variables the server reads (set by the task definition / pod spec / local run) ------------------
ENV_MODEL_NAME = "MLCICD_MODEL_NAME"
ENV_MODEL_VERSION = "MLCICD_MODEL_VERSION"
ENV_IMAGE_DIGEST = "MLCICD_IMAGE_DIGEST"
ENV_VARIANT = "MLCICD_VARIANT"
#: EKS: a downward-API file of the pod's labels; Argo Rollouts relabels canary pods stable on promotion.
ENV_VARIANT_FILE = "MLCICD_VARIANT_FILE"
ENV_METRICS_NAMESPACE = "MLCICD_METRICS_NAMESPACE"
ENV_WORKERS = "MLCICD_SERVING_WORKERS"


def user() -> str:
    """`uid:gid` for ECS `user` and the image's `USER`."""
    return f"{RUN_AS_UID}:{RUN_AS_UID}"


def workers_for(cpu_units: int) -> int:
    """One uvicorn worker per vCPU, at least one."""
    return max(1, cpu_units // CPU_UNITS_PER_WORKER)


def serve_argv(model: str = MODEL_DIR, *, port: int = DEFAULT_PORT, host: str = "0.0.0.0",  # noqa: S104
               workers: int | None = None, python: str = "python") -> list[str]:
    """The command line of the scoring server. `model` is a local directory or any MLflow model URI
    (`models:/name/version` with MLFLOW_TRACKING_URI set). Without `workers` the server reads
    MLCICD_SERVING_WORKERS (default 1)."""
    argv = [python, "-m", ENTRY_MODULE, "--model", model, "--host", host, "--port", str(port)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return argv


def serving_environment(*, model_name: str, model_version: str | None, image_digest: str | None,
                        variant: str, metrics_namespace: str | None = None,
                        extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: BASE_ENVIRONMENT, the model's identity (what each capture record carries) and
    `extra` (capture settings, `serving.environment`). Identity and base keys win over `extra`."""
    env = dict(extra or {})
    env.update(BASE_ENVIRONMENT)
    env[ENV_MODEL_NAME] = model_name
    env[ENV_MODEL_VERSION] = model_version or ""
    env[ENV_IMAGE_DIGEST] = image_digest or ""
    env[ENV_VARIANT] = variant
    if metrics_namespace:
        env[ENV_METRICS_NAMESPACE] = metrics_namespace
    return env
