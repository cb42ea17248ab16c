"""Unit tests of the example model (the pipeline's UnitTests action runs them): on the committed data it learns,
its metrics are what the model gate reads, and it scores exactly the serving columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.model import METRICS, evaluate, features, fit
from training.prepare_data import SENSITIVE, TARGET

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(DATA / "train.parquet"), pd.read_parquet(DATA / "evaluation.parquet")


def test_the_model_learns_the_committed_data(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, evaluation = frames
    metrics = evaluate(fit(train, TARGET), evaluation, TARGET)
    assert set(metrics) == set(METRICS)
    assert metrics["accuracy"] > 0.9
    assert metrics["roc_auc"] > 0.95


def test_training_is_deterministic(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, evaluation = frames
    assert evaluate(fit(train, TARGET), evaluation, TARGET) == evaluate(fit(train, TARGET), evaluation, TARGET)


def test_it_scores_every_column_but_the_label(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, evaluation = frames
    x = features(evaluation, TARGET)
    assert TARGET not in x.columns
    assert SENSITIVE in x.columns
    assert set(fit(train, TARGET).predict(x.head(3))) <= {0, 1}
