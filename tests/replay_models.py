"""Real MLflow models for the replay and shadow tests: a churn-like classifier with a segment feature.

`train` fits a scikit-learn pipeline (one-hot region, logistic regression) on a bootstrap resample of one data
set: two seeds give a champion and a retrained champion that agree on nearly every row. The pyfunc wrappers
change one thing each: `FlipSegment` inverts the decision on one region, `Slow` sleeps before answering. They are
pickled by reference, so the serving process imports this module (tests put the repository on PYTHONPATH).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

FEATURES = ["tenure_months", "monthly_charges", "region"]
REGIONS = ["north", "south", "east"]
PIP = ["scikit-learn", "pandas"]


def data(rows: int = 3000, seed: int = 7) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"tenure_months": rng.integers(1, 72, rows).astype(np.int64),
                          "monthly_charges": np.round(rng.uniform(20, 120, rows), 2),
                          "region": rng.choice(REGIONS, rows)})
    logit = 2.5 - 0.08 * frame["tenure_months"] + 0.02 * frame["monthly_charges"] + (frame["region"] == "east") * 0.5
    target = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return frame, target


def train(seed: int) -> Any:
    """The pipeline fitted on a bootstrap resample (seed) of the same data."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, target = data()
    pick = np.random.default_rng(seed).integers(0, len(frame), len(frame))
    prep = ColumnTransformer([("num", StandardScaler(), ["tenure_months", "monthly_charges"]),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=500))]).fit(
        frame.iloc[pick], target.iloc[pick])


def _signature(model: Any) -> Any:
    """Declared, not inferred (inference turns a warning about the string column into a schema of `any`)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    del model
    return ModelSignature(inputs=Schema([ColSpec("long", "tenure_months"), ColSpec("double", "monthly_charges"),
                                         ColSpec("string", "region")]), outputs=Schema([ColSpec("long")]))


def save_sklearn(model: Any, path: Path) -> Path:
    import mlflow.sklearn

    mlflow.sklearn.save_model(model, str(path), signature=_signature(model), pip_requirements=PIP)
    return path


class FlipSegment(mlflow.pyfunc.PythonModel):
    """The wrapped classifier, with its decision inverted wherever `region` is `segment` (and `delay_s` later)."""

    def __init__(self, model: Any, segment: str, delay_s: float = 0.0) -> None:
        self.model = model
        self.segment = segment
        self.delay_s = delay_s

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        time.sleep(self.delay_s)
        predictions = self.model.predict(model_input)
        flip = (model_input["region"] == self.segment).to_numpy()
        return [int(1 - p) if f else int(p) for p, f in zip(predictions, flip, strict=True)]


class Slow(mlflow.pyfunc.PythonModel):
    """The wrapped classifier, answering `delay_s` later."""

    def __init__(self, model: Any, delay_s: float) -> None:
        self.model = model
        self.delay_s = delay_s

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        time.sleep(self.delay_s)
        return [int(p) for p in self.model.predict(model_input)]


def save_pyfunc(wrapper: Any, model: Any, path: Path) -> Path:
    frame, _ = data(5)
    mlflow.pyfunc.save_model(str(path), python_model=wrapper, signature=_signature(model), pip_requirements=PIP,
                             input_example=frame.iloc[:2])
    return path
