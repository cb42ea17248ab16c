"""Datasets and scenarios of the local pipeline.

The data is scikit-learn's bundled breast-cancer dataset (569 rows, 30 numeric features, binary target; no
download). Each bad scenario derives its fault honestly from that data, so the stage that must catch it sees a real
fault, not a flag:

| scenario        | what is wrong                                                   | stage that must stop it |
|-----------------|-----------------------------------------------------------------|-------------------------|
| `good`          | nothing                                                          | none: promoted          |
| `drifted`       | current data shifted and rescaled in five features              | data validation         |
| `broken-schema` | current data lost a column and one became text                  | data validation         |
| `degraded`      | candidate trained on 45 % flipped labels                        | model gate (metrics)    |
| `unfair`        | candidate trained with 50 % of group B's positives erased       | model gate (fairness)   |
| `slow`          | candidate wraps the model in a 60 ms sleep per call             | model gate (latency)    |
| `error-spike`   | candidate's serving process fails 5 % of its requests           | smoke test (errors)     |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

Scenario = Literal["good", "degraded", "unfair", "drifted", "slow", "broken-schema", "error-spike"]
SCENARIOS: tuple[Scenario, ...] = ("good", "degraded", "unfair", "drifted", "slow", "broken-schema", "error-spike")

#: Where each bad scenario must stop (stage name as in `runtime.local.pipeline.STAGES`).
EXPECTED_STOP: dict[Scenario, str | None] = {
    "good": None,
    "drifted": "data-validation",
    "broken-schema": "data-validation",
    "degraded": "model-gate",
    "unfair": "model-gate",
    "slow": "model-gate",
    "error-spike": "smoke",
}

TARGET = "target"
GROUP = "group"
SEED = 20261122
DRIFTED_FEATURES = ("mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness")
SLOW_SECONDS = 0.06
ERROR_RATE = 0.05
LABEL_NOISE = 0.45
#: Strong enough that 228 evaluation rows prove the unfairness (at 0.2 the parity ratio is 0.62: INCONCLUSIVE).
UNFAIR_ERASE_SHARE = 0.5


@dataclass(frozen=True)
class Datasets:
    train: pd.DataFrame
    evaluation: pd.DataFrame
    reference: pd.DataFrame
    current: pd.DataFrame

    @property
    def features(self) -> list[str]:
        return [c for c in self.train.columns if c not in (TARGET, GROUP)]


def _base() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = bunch.frame  # type: ignore[attr-defined]
    rng = np.random.default_rng(SEED)
    # A group label independent of every feature and of the target: the sensitive column for fairness checks.
    frame.insert(0, GROUP, rng.choice(np.array(["A", "B"]), size=len(frame)))
    return frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True)


def prepare(scenario: Scenario) -> Datasets:
    """Split into train / evaluation and reference / current, then apply the scenario's data faults."""
    frame = _base()
    n = len(frame)
    train = frame.iloc[: int(n * 0.6)].reset_index(drop=True)
    evaluation = frame.iloc[int(n * 0.6):].reset_index(drop=True)
    # Reference = the training inputs; current = what production sends next (the held-out rows).
    reference = train.drop(columns=[TARGET])
    current = evaluation.drop(columns=[TARGET])
    rng = np.random.default_rng(SEED + 1)
    if scenario == "drifted":
        current = current.copy()
        for column in DRIFTED_FEATURES:
            std = float(reference[column].std())
            current[column] = current[column] * 1.3 + 0.8 * std
    elif scenario == "broken-schema":
        current = current.drop(columns=["worst symmetry"]).copy()
        current["mean radius"] = current["mean radius"].map(lambda v: f"{v:.2f}")
    if scenario == "degraded":
        train = train.copy()
        flip = rng.random(len(train)) < LABEL_NOISE
        train.loc[flip, TARGET] = 1 - train.loc[flip, TARGET]
    elif scenario == "unfair":
        train = train.copy()
        erase = (train[GROUP] == "B") & (train[TARGET] == 1) & (rng.random(len(train)) < UNFAIR_ERASE_SHARE)
        train.loc[erase, TARGET] = 0
    return Datasets(train=train, evaluation=evaluation, reference=reference, current=current)


def write(datasets: Datasets, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.parquet" for name in ("train", "evaluation", "reference", "current")}
    for name, path in paths.items():
        getattr(datasets, name).to_parquet(path, index=False)
    return paths
