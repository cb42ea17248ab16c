"""The serving-side fault of the `slow` and `error-spike` rehearsals: a pyfunc model around the team's registered
model (any flavor) that sleeps before each prediction and fails a share of them when its process has
`MLCICD_FAULT_ERROR_RATE` set (only the candidate's scoring server gets it). Kept in its own module: the scoring
server and the model gate import it to load the wrapped model, and nothing else of the runtime."""

from __future__ import annotations

import os
import random
import time
from typing import Any

import mlflow.pyfunc

FAULT_ENV = "MLCICD_FAULT_ERROR_RATE"


class FaultWrapper(mlflow.pyfunc.PythonModel):
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.inner: Any = None

    def load_context(self, context: Any) -> None:
        self.inner = mlflow.pyfunc.load_model(context.artifacts["inner"])

    # No type hints on purpose: MLflow would derive (and warn about) an input schema from them; the wrapped model's
    # signature is the schema.
    def predict(self, context, model_input, params=None):  # type: ignore[override]
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        rate = float(os.environ.get(FAULT_ENV, "0") or 0)
        if rate > 0 and random.random() < rate:  # noqa: S311 - fault injection, not cryptography
            raise RuntimeError("injected serving fault (mlcicd local run --scenario error-spike)")
        return self.inner.predict(model_input)
