"""Train, log and register one model version: the training contract (docs/training-contract.md) in one file.

    python -m training.train

The pipeline's Train action (and `mlcicd local run`) sets the environment: `MLFLOW_TRACKING_URI` and
`MLFLOW_EXPERIMENT_NAME` (read by MLflow itself), `MLCICD_MODEL_NAME`, `MLCICD_TRAINING_DATA`,
`MLCICD_EVALUATION_DATA`, `MLCICD_TARGET_COLUMN` and `MLCICD_WORK_DIR`. In return this command logs its metrics
and registers exactly one new version of the model, with a signature and an input example, or exits non-zero.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from training.model import evaluate, features, fit

#: Pinned requirements of the logged model: MLflow would otherwise spend seconds inferring them.
PIP_REQUIREMENTS = ["scikit-learn", "pandas", "numpy"]


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"error: {name} is not set; the pipeline sets it (docs/training-contract.md). To run this by "
                 f"hand, export it, e.g. {name}=... python -m training.train")
    return value


def read(path: str) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        sys.exit(f"error: no data at {path}")
    return pd.read_csv(file) if file.suffix == ".csv" else pd.read_parquet(file)


def main() -> None:
    import mlflow
    from mlflow.models import infer_signature

    model_name = required("MLCICD_MODEL_NAME")
    target = required("MLCICD_TARGET_COLUMN")
    train = read(required("MLCICD_TRAINING_DATA"))
    evaluation = read(required("MLCICD_EVALUATION_DATA"))
    for name, frame in (("training", train), ("evaluation", evaluation)):
        if target not in frame.columns:
            sys.exit(f"error: the {name} data has no label column {target!r} (MLCICD_TARGET_COLUMN)")

    model = fit(train, target)
    metrics = evaluate(model, evaluation, target)
    x = features(evaluation, target)
    signature = infer_signature(x, model.predict(x))
    with mlflow.start_run(run_name=f"train-{model_name}"):
        mlflow.log_params({"model": "logistic-regression", "training_rows": len(train)})
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=x.head(5),
                                        pip_requirements=PIP_REQUIREMENTS, registered_model_name=model_name,
                                        serialization_format="cloudpickle")
    shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
    print(f"registered {model_name} version {info.registered_model_version}: {shown}", file=sys.stderr)


if __name__ == "__main__":
    main()
