"""Write the example's data: scikit-learn's bundled breast-cancer set (569 rows, 30 numeric features), with a
`clinic` column (where the sample was taken, drawn independently of everything else: the sensitive column of the
fairness checks) and the label `benign` (1 benign, 0 malignant), split 60/40 into training and evaluation data.

    python -m training.prepare_data [DIR]     # default: data/
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261122
TARGET = "benign"
SENSITIVE = "clinic"


def example_frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = bunch.frame.rename(columns={"target": TARGET})  # type: ignore[attr-defined]
    rng = np.random.default_rng(SEED)
    frame.insert(0, SENSITIVE, rng.choice(np.array(["north", "south"]), size=len(frame)))
    return frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True)


def main(directory: Path) -> None:
    frame = example_frame()
    cut = int(len(frame) * 0.6)
    directory.mkdir(parents=True, exist_ok=True)
    frame.iloc[:cut].to_parquet(directory / "train.parquet", index=False)
    frame.iloc[cut:].to_parquet(directory / "evaluation.parquet", index=False)
    print(f"{directory}/train.parquet: {cut} rows; {directory}/evaluation.parquet: {len(frame) - cut} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data"))
