"""The rehearsal's scenarios: faults injected into the team's own project, so each works on any project.

| scenario        | the fault                                                            | caught by (action)        |
|-----------------|----------------------------------------------------------------------|---------------------------|
| `good`          | none                                                                 | none: promoted            |
| `drifted`       | five numeric columns of the training data shifted and rescaled       | DataValidate (drift)      |
| `broken-schema` | the training data lost a column and another became text             | DataValidate (schema)     |
| `degraded`      | the labels shuffled before training                                  | ModelGate (metric bounds) |
| `unfair`        | half of one group's positive labels erased before training           | ModelGate (fairness)      |
| `slow`          | the registered model wrapped to sleep 60 ms per prediction           | ModelGate (latency)       |
| `error-spike`   | the candidate's scoring server fails 5 % of its predictions         | Deploy (the canary)       |

Data faults change the snapshot's copy of `pipeline.trainingDataPath` (never the project's file); label faults
change the Train action's checkout just before the team's command runs; model faults rewrap the version the team's
command registered, in the local MLflow store. The column roles come from the stack config (the label is
`gates.evaluation.targetColumn`, the group `gates.fairness.sensitiveColumn`); a scenario whose role is not
configured is a usage error naming the key.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

from runtime.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

Scenario = Literal["good", "drifted", "broken-schema", "degraded", "unfair", "slow", "error-spike"]
SCENARIOS: tuple[Scenario, ...] = ("good", "drifted", "broken-schema", "degraded", "unfair", "slow", "error-spike")
#: The action of the step list that must stop each scenario.
EXPECTED_STOP: dict[Scenario, str | None] = {
    "good": None, "drifted": "DataValidate", "broken-schema": "DataValidate", "degraded": "ModelGate",
    "unfair": "ModelGate", "slow": "ModelGate", "error-spike": "Deploy",
}
SEED = 20261122
DRIFTED_COLUMNS = 5
SLOW_SECONDS = 0.06
ERROR_RATE = 0.05
UNFAIR_ERASE_SHARE = 0.5


@dataclass(frozen=True)
class Faults:
    scenario: Scenario
    training_data: str
    """`pipeline.trainingDataPath`, relative to the project."""
    target: str | None
    sensitive: str | None = None
    positive_label: Any = 1
    untested: tuple[str, ...] = ()
    """Columns left out of drift tests (`data.schema.excludeFromDrift`): never the ones drifted."""

    def check(self) -> None:
        """Usage error when the scenario needs a column role the config does not name."""
        if self.scenario in ("degraded", "unfair") and not self.target:
            raise UsageError(f"--scenario {self.scenario} changes the labels, whose column is "
                             "gates.evaluation.targetColumn; the stack sets no gates.evaluation")
        if self.scenario == "unfair" and not self.sensitive:
            raise UsageError("--scenario unfair changes one group's labels, whose column is "
                             "gates.fairness.sensitiveColumn; the stack sets no gates.fairness")

    # -- where each fault goes
    def on_source(self, snapshot: Path) -> str | None:
        if self.scenario == "drifted":
            return self._edit(snapshot, self._drift)
        if self.scenario == "broken-schema":
            return self._edit(snapshot, self._break_schema)
        return None

    def before_training(self, checkout: Path) -> str | None:
        if self.scenario == "degraded":
            return self._edit(checkout, self._shuffle_labels)
        if self.scenario == "unfair":
            return self._edit(checkout, self._erase_positives)
        return None

    def after_training(self, tracking_uri: str, model: str, version: str) -> str | None:
        if self.scenario not in ("slow", "error-spike"):
            return None
        delay = SLOW_SECONDS if self.scenario == "slow" else 0.0
        wrap_version(tracking_uri, model, version, delay)
        if self.scenario == "slow":
            return f"version {version} wrapped to sleep {SLOW_SECONDS * 1000:.0f} ms per prediction"
        return f"version {version} wrapped to fail {ERROR_RATE:.0%} of predictions in its scoring server"

    def serving_env(self, role: str) -> dict[str, str]:
        from runtime.local.fault_model import FAULT_ENV

        return {FAULT_ENV: str(ERROR_RATE)} if self.scenario == "error-spike" and role == "candidate" else {}

    # -- the faults themselves
    def _edit(self, root: Path, change: Any) -> str:
        path = root / self.training_data
        frame = read_frame(path)
        frame, what = change(frame)
        write_frame(frame, path)
        return f"{self.training_data}: {what}"

    def _features(self, frame: pd.DataFrame) -> list[str]:
        import pandas as pd

        roles = {self.target, self.sensitive, *self.untested}
        return [c for c in frame.columns if c not in roles and pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])]

    def _drift(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        columns = self._features(frame)[:DRIFTED_COLUMNS]
        if not columns:
            raise UsageError(f"--scenario drifted shifts numeric feature columns; {self.training_data} has none")
        frame = frame.copy()
        for column in columns:
            values = frame[column].to_numpy(dtype=float)
            frame[column] = values * 1.3 + 0.8 * float(values.std(ddof=1))
        return frame, f"{', '.join(columns)} shifted by 0.8 sd and scaled by 1.3"

    def _break_schema(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        columns = self._features(frame)
        if len(columns) < 2:
            raise UsageError(f"--scenario broken-schema needs two numeric feature columns in {self.training_data}")
        dropped, texted = columns[-1], columns[0]
        frame = frame.drop(columns=[dropped])
        frame[texted] = frame[texted].map(lambda v: f"{v:.2f}")
        return frame, f"column {dropped!r} dropped, column {texted!r} turned into text"

    def _shuffle_labels(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        import numpy as np

        assert self.target is not None
        self._require(frame, self.target, "gates.evaluation.targetColumn")
        frame = frame.copy()
        frame[self.target] = np.random.default_rng(SEED).permutation(frame[self.target].to_numpy())
        return frame, f"labels ({self.target}) shuffled"

    def _erase_positives(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        import numpy as np
        import pandas as pd

        assert self.target is not None
        assert self.sensitive is not None
        self._require(frame, self.target, "gates.evaluation.targetColumn")
        self._require(frame, self.sensitive, "gates.fairness.sensitiveColumn")
        labels = pd.Series(frame[self.target])
        positive = next((v for v in labels.unique() if str(v) == str(self.positive_label)), None)
        others = labels.loc[labels != positive].value_counts()
        if positive is None or others.empty:
            raise UsageError(f"--scenario unfair: {self.target} has no positive ({self.positive_label!r}) and "
                             "negative labels to swap")
        group = sorted(frame[self.sensitive].dropna().unique(), key=str)[-1]
        rng = np.random.default_rng(SEED)
        erase = ((frame[self.sensitive] == group) & (labels == positive)
                 & (rng.random(len(frame)) < UNFAIR_ERASE_SHARE))
        frame = frame.copy()
        frame.loc[erase, self.target] = others.index[0]
        return frame, (f"{int(erase.sum())} positive labels of {self.sensitive} = {group!r} turned into "
                       f"{others.index[0]!r}")

    def _require(self, frame: pd.DataFrame, column: str, key: str) -> None:
        if column not in frame.columns:
            raise UsageError(f"{self.training_data} has no column {column!r} ({key})")


def read_frame(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise UsageError(f"no training data at {path}: pipeline.trainingDataPath must name a file in the project")
    return pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def wrap_version(tracking_uri: str, model: str, version: str, delay_s: float) -> None:
    """Replace the artifacts of a locally stored model version with `FaultWrapper` around them (signature and
    input example kept), so the gate and the scoring server load the wrapped model."""
    import mlflow.pyfunc
    from mlflow import MlflowClient
    from mlflow.models import Model

    from runtime.local.fault_model import FaultWrapper

    uri = MlflowClient(tracking_uri, tracking_uri).get_model_version_download_uri(model, version)
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise UsageError(f"{model} version {version} is stored at {uri}; the rehearsal can wrap only models in its "
                         "own store (log the model in the run the local run starts)")
    directory = Path(unquote(parsed.path))
    meta = Model.load(str(directory))
    example = meta.load_input_example(str(directory))
    if meta.signature is None or example is None:
        raise UsageError(f"{model} version {version} has no signature or input example (training contract)")
    requirements = directory / "requirements.txt"
    pins = [line.strip() for line in requirements.read_text().splitlines()
            if line.strip() and not line.startswith("#")] if requirements.is_file() else ["mlflow"]
    inner = directory.with_name(directory.name + "-inner")
    shutil.rmtree(inner, ignore_errors=True)
    shutil.move(directory, inner)
    mlflow.pyfunc.save_model(path=str(directory), python_model=FaultWrapper(delay_s), artifacts={"inner": str(inner)},
                             signature=meta.signature, input_example=example, pip_requirements=pins)
    shutil.rmtree(inner)
