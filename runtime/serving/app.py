"""The ASGI app the serving command runs: MLflow's scoring app, loaded once per worker process.

`create_app` is a uvicorn factory (`uvicorn.run("runtime.serving.app:create_app", factory=True)`), so every
worker loads the model itself, as `mlflow models serve` does with `mlflow.pyfunc.scoring_server.app:app`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

#: The model the workers load (set by `python -m runtime.serving` from `--model`).
ENV_MODEL_URI = "MLCICD_SERVING_MODEL"

log = logging.getLogger("mlcicd.serving")


def scoring_app(model_uri: str) -> Any:
    """MLflow's own scoring app (`/ping`, `/health`, `/version`, `/invocations`) for the model at `model_uri`."""
    from mlflow.pyfunc import scoring_server

    model = scoring_server.load_model_with_mlflow_config(model_uri)
    return scoring_server.init(model)


def create_app() -> Any:
    model_uri = os.environ.get(ENV_MODEL_URI)
    if not model_uri:
        raise RuntimeError(f"{ENV_MODEL_URI} is not set: start the server with `python -m runtime.serving --model "
                           "<dir or models:/name/version>`")
    log.info("loading model %s", model_uri)
    return scoring_app(model_uri)
