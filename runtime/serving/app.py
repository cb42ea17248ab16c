"""The ASGI app the serving command runs: MLflow's scoring app, behind the capture layer when capture is on.

`create_app` is a uvicorn factory (`uvicorn.run("runtime.serving.app:create_app", factory=True)`), so every
worker loads the model and starts its own capture recorder, as `mlflow models serve` loads the model per worker
with `mlflow.pyfunc.scoring_server.app:app`.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Mapping
from typing import Any

from runtime.serving import command
from runtime.serving.settings import CaptureSettings

#: The model the workers load (set by `python -m runtime.serving` from `--model`).
ENV_MODEL_URI = "MLCICD_SERVING_MODEL"

log = logging.getLogger("mlcicd.serving")


def scoring_app(model_uri: str) -> Any:
    """MLflow's own scoring app (`/ping`, `/health`, `/version`, `/invocations`) for the model at `model_uri`."""
    from mlflow.pyfunc import scoring_server

    model = scoring_server.load_model_with_mlflow_config(model_uri)
    return scoring_server.init(model)


def identity(environ: Mapping[str, str]) -> dict[str, str]:
    """What served a request, as each capture record states it."""
    return {"model_name": environ.get(command.ENV_MODEL_NAME, ""),
            "model_version": environ.get(command.ENV_MODEL_VERSION, ""),
            "image_digest": environ.get(command.ENV_IMAGE_DIGEST, ""),
            "variant": environ.get(command.ENV_VARIANT, "")}


def with_capture(app: Any, environ: Mapping[str, str]) -> Any:
    """`app` behind the capture layer when MLCICD_CAPTURE is set; `app` itself otherwise."""
    settings = CaptureSettings.from_env(environ)
    if settings is None:
        log.info("inference capture off (%s not set)", "MLCICD_CAPTURE")
        return app
    from runtime.serving.capture import CaptureMiddleware
    from runtime.serving.mirror import Mirror, MirrorSettings
    from runtime.serving.recorder import Recorder

    recorder = Recorder(settings, identity(environ)).start()
    atexit.register(recorder.close)  # lifespan shutdown closes it first; this covers an exit without one
    log.info("inference capture on: %.4g %% of requests to Firehose stream %s", settings.sample_percent,
             settings.stream)
    mirror = None
    if (mirroring := MirrorSettings.from_env(environ)) is not None:
        mirror = Mirror(mirroring, model_name=identity(environ)["model_name"]).start()
        atexit.register(mirror.close)
        log.info("shadow mirror on: %.4g %% of requests copied to %s", mirroring.sample_percent, mirroring.url)
    return CaptureMiddleware(app, recorder, settings.sample_percent, mirror)


def create_app() -> Any:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    model_uri = os.environ.get(ENV_MODEL_URI)
    if not model_uri:
        raise RuntimeError(f"{ENV_MODEL_URI} is not set: start the server with `python -m runtime.serving --model "
                           "<dir or models:/name/version>`")
    log.info("loading model %s", model_uri)
    return with_capture(scoring_app(model_uri), os.environ)
