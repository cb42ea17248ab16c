"""Real MLflow models for the serving and capture tests (scikit-learn on iris, saved in seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
IRIS_PREDICTIONS = [0, 2, 1]


def save_iris_model(path: Path) -> Path:
    """A logistic regression on iris with its signature (four double columns in, a long class out)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    frame: Any = load_iris(as_frame=True).frame  # type: ignore[union-attr]
    features, target = frame.drop(columns="target"), frame["target"]
    model = LogisticRegression(max_iter=500).fit(features, target)
    mlflow.sklearn.save_model(model, str(path), signature=infer_signature(features, model.predict(features)),
                              pip_requirements=["scikit-learn"])
    return path


def iris_request(rows: list[list[float]] | None = None) -> dict[str, Any]:
    return {"dataframe_split": {"columns": IRIS_COLUMNS, "data": rows or IRIS_ROWS[:1]}}
