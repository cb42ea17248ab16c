"""Training for the local pipeline: a scikit-learn pipeline logged to MLflow and registered.

The model is a standard preprocessing + logistic regression pipeline (one-hot for the group column, scaling for the
numeric features). Metrics are computed on the evaluation split and logged on the run, where the model gate reads
them. Two scenarios wrap the fitted model in a small pyfunc: `slow` sleeps per call, `error-spike` fails a share of
requests when its serving process is started with `MLCICD_FAULT_ERROR_RATE` set (the local runner sets it for the
candidate's scoring server only).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Any

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd

from runtime.local.scenarios import GROUP, SLOW_SECONDS, TARGET, Datasets, Scenario
from runtime.progress import progress

FAULT_ENV = "MLCICD_FAULT_ERROR_RATE"
PIP_REQUIREMENTS = ["scikit-learn", "pandas", "numpy"]


class SlowModel(mlflow.pyfunc.PythonModel):
    """Wraps a fitted sklearn model and sleeps before each prediction (the `slow` scenario)."""

    def __init__(self, model: Any, delay_s: float) -> None:
        self.model = model
        self.delay_s = delay_s

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        time.sleep(self.delay_s)
        return self.model.predict(model_input)


class FlakyServingModel(mlflow.pyfunc.PythonModel):
    """Fails a share of predictions when its process has MLCICD_FAULT_ERROR_RATE set (the `error-spike`
    scenario: a serving fault the offline gate cannot see)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        rate = float(os.environ.get(FAULT_ENV, "0") or 0)
        if rate > 0 and random.random() < rate:  # noqa: S311 - fault injection, not cryptography
            raise RuntimeError("injected serving fault")
        return self.model.predict(model_input)


@dataclass(frozen=True)
class TrainedVersion:
    version: str
    run_id: str
    metrics: dict[str, float]


def _fit(datasets: Datasets) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = datasets.features
    pre = ColumnTransformer([("group", OneHotEncoder(handle_unknown="ignore"), [GROUP]),
                             ("numeric", StandardScaler(), features)])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=2000))])
    model.fit(datasets.train[[GROUP, *features]], datasets.train[TARGET])
    return model


def _metrics(model: Any, datasets: Datasets) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    x = datasets.evaluation[[GROUP, *datasets.features]]
    y = datasets.evaluation[TARGET]
    proba = model.predict_proba(x)[:, 1]
    predicted = (proba >= 0.5).astype(int)
    return {"accuracy": float(accuracy_score(y, predicted)), "f1_score": float(f1_score(y, predicted)),
            "log_loss": float(log_loss(y, proba)), "roc_auc": float(roc_auc_score(y, proba))}


def train_and_register(datasets: Datasets, scenario: Scenario, model_name: str, tracking_uri: str,
                       experiment: str = "mlcicd-local") -> TrainedVersion:
    """Fit, log metrics and the model to MLflow, register a new version of `model_name` (a spinner on a terminal)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with progress(f"training {model_name} ({scenario})"):
        return _log_and_register(datasets, scenario, model_name)


def _log_and_register(datasets: Datasets, scenario: Scenario, model_name: str) -> TrainedVersion:
    from mlflow.models import infer_signature

    model = _fit(datasets)
    metrics = _metrics(model, datasets)
    x = datasets.evaluation[[GROUP, *datasets.features]]
    signature = infer_signature(x, model.predict(x))
    with mlflow.start_run(run_name=f"local-{scenario}") as run:
        mlflow.log_params({"scenario": scenario, "model": "logistic-regression", "rows": len(datasets.train)})
        mlflow.log_metrics(metrics)
        if scenario == "slow":
            info = mlflow.pyfunc.log_model(name="model", python_model=SlowModel(model, SLOW_SECONDS),
                                           signature=signature, pip_requirements=PIP_REQUIREMENTS,
                                           registered_model_name=model_name)
        elif scenario == "error-spike":
            info = mlflow.pyfunc.log_model(name="model", python_model=FlakyServingModel(model),
                                           signature=signature, pip_requirements=PIP_REQUIREMENTS,
                                           registered_model_name=model_name)
        else:
            info = mlflow.sklearn.log_model(model, name="model", signature=signature,
                                            pip_requirements=PIP_REQUIREMENTS, registered_model_name=model_name,
                                            serialization_format="cloudpickle")
    version = str(info.registered_model_version)
    return TrainedVersion(version=version, run_id=run.info.run_id, metrics=metrics)
