"""The serving image: MLflow's generated Dockerfile, finished so that its ENTRYPOINT is THE serving command.

The Package stage runs `mlflow models generate-dockerfile` (model at /opt/ml/model, its requirements installed,
MLflow installed) and then `mlcicd serve dockerfile --context build/image`, which
- copies `runtime/__init__.py`, `runtime/metrics.py` (metric names) and `runtime/serving/*.py` into the build
  context (`mlcicd/`), nothing else of the runtime (the model image does not depend on the runtime's release);
- appends to the Dockerfile: that package under /opt/mlcicd, boto3 (capture puts to Firehose), the base
  environment, `USER 10001:10001` and `ENTRYPOINT` = `command.serve_argv()`. Docker uses the last ENTRYPOINT, so
  MLflow's (which starts nginx) is replaced.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from runtime.serving import command

#: Directory in the build context holding the copied package.
CONTEXT_DIR = "mlcicd"
#: What the image installs besides MLflow's own requirements (capture's Firehose and CloudWatch client).
EXTRA_REQUIREMENTS = ("boto3>=1.35,<2",)
MARKER = "# --- ml-cicd serving command (runtime/serving/image.py) ---"


def package_files() -> list[tuple[Path, str]]:
    """(source file, path relative to the package root in the image) of everything the server imports."""
    serving = Path(__file__).resolve().parent
    runtime = serving.parent
    files = [(runtime / "__init__.py", "runtime/__init__.py"), (runtime / "metrics.py", "runtime/metrics.py")]
    files += [(p, f"runtime/serving/{p.name}") for p in sorted(serving.glob("*.py"))]
    return files


def copy_package(destination: Path) -> Path:
    """Copy the serving package under `destination` (which becomes PYTHONPATH); returns `destination`."""
    for source, relative in package_files():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return destination


def dockerfile_suffix(port: int = command.DEFAULT_PORT) -> str:
    env = {**command.BASE_ENVIRONMENT, "PYTHONPATH": command.PACKAGE_ROOT}
    requirements = " ".join(json.dumps(r) for r in EXTRA_REQUIREMENTS)
    lines = [
        MARKER,
        f"COPY {CONTEXT_DIR} {command.PACKAGE_ROOT}",
        f"RUN python -m pip install --no-cache-dir {requirements}",
        "ENV " + " ".join(f"{k}={v}" for k, v in sorted(env.items())),
        f"USER {command.user()}",
        f"EXPOSE {port}",
        "ENTRYPOINT " + json.dumps(command.serve_argv(port=port)),
        "CMD []",
    ]
    return "\n".join(lines) + "\n"


def finish_dockerfile(context: Path, port: int = command.DEFAULT_PORT) -> Path:
    """Add the package to `context` and the serving command to its Dockerfile (idempotent). Returns the
    Dockerfile. Raises FileNotFoundError when `context` has no Dockerfile (run generate-dockerfile first)."""
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        raise FileNotFoundError(f"{dockerfile} does not exist: run `mlflow models generate-dockerfile "
                                f"--output-directory {context}` first")
    text = dockerfile.read_text(encoding="utf-8")
    if MARKER in text:
        text = text[: text.index(MARKER)]
    copy_package(context / CONTEXT_DIR)
    dockerfile.write_text(text.rstrip("\n") + "\n\n" + dockerfile_suffix(port), encoding="utf-8")
    return dockerfile
