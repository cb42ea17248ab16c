"""The model: preprocessing and a logistic regression in one scikit-learn pipeline, and the metrics the model
gate reads. Pure functions of data frames, so the unit tests run them without MLflow."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: Metrics logged on the training run; `gates.metrics` in the stack files sets bounds on them.
METRICS = ("accuracy", "f1_score", "log_loss", "roc_auc")


def features(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Every column but the label: what the model is served with."""
    return frame.drop(columns=[target])


def build_model(frame: pd.DataFrame, target: str) -> Any:
    """Text columns one-hot encoded, numeric ones scaled, then a logistic regression (fixed seed: the same data
    gives the same model, so a retrained champion compares equal)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x = features(frame, target)
    text = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    numeric = [c for c in x.columns if c not in text]
    pre = ColumnTransformer([("text", OneHotEncoder(handle_unknown="ignore"), text),
                             ("numeric", StandardScaler(), numeric)])
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=2000, random_state=0))])


def fit(frame: pd.DataFrame, target: str) -> Any:
    model = build_model(frame, target)
    model.fit(features(frame, target), frame[target])
    return model


def evaluate(model: Any, frame: pd.DataFrame, target: str) -> dict[str, float]:
    """Accuracy, F1, log loss and ROC AUC on held-out data (binary labels 0/1)."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    y = frame[target]
    proba = model.predict_proba(features(frame, target))[:, 1]
    predicted = (proba >= 0.5).astype(int)
    return {"accuracy": float(accuracy_score(y, predicted)), "f1_score": float(f1_score(y, predicted)),
            "log_loss": float(log_loss(y, proba, labels=[0, 1])), "roc_auc": float(roc_auc_score(y, proba))}
