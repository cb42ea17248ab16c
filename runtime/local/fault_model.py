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
import pandas as pd

FAULT_ENV = "MLCICD_FAULT_ERROR_RATE"
#: Seed of which predictions fail: the same requests fail on every run (a reproducible rehearsal).
FAULT_SEED = 20261204


class FaultWrapper(mlflow.pyfunc.PythonModel):
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.inner: Any = None
        self.rng = random.Random(FAULT_SEED)  # noqa: S311 - fault injection, not cryptography

    def load_context(self, context: Any) -> None:
        self.inner = mlflow.pyfunc.load_model(context.artifacts["inner"])
        self.rng = random.Random(FAULT_SEED)  # noqa: S311 - one sequence per serving process

    # A data frame in, as MLflow's scoring server and the gate hand it (other hints make MLflow warn).
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> Any:
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        rate = float(os.environ.get(FAULT_ENV, "0") or 0)
        if rate > 0 and self.rng.random() < rate:
            raise RuntimeError("injected serving fault (mlcicd local run --scenario error-spike)")
        return self.inner.predict(model_input)
