"""What the canary probe sends: a `Sample` of `/invocations` request bodies, from a data file (optionally
labelled, so the probe can publish per-period quality), from `smoke.samplePayloads`, or from local mode's
evaluation rows. Bad input is a `UsageError` before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

#: Rows read from a sample file at most (the first rows without missing values are used).
MAX_SAMPLE_ROWS = 10_000


@dataclass(frozen=True)
class ScoringRow:
    """One `/invocations` request of the sample."""

    body: dict[str, Any]
    label: Any = None
    """Expected prediction (class label) of a single-row request; None when the sample has no labels."""
    rows: int | None = 1
    """Predictions the answer must hold; None when the request format does not say."""


@dataclass(frozen=True)
class Sample:
    rows: tuple[ScoringRow, ...]
    source: str

    @property
    def labelled(self) -> bool:
        return any(r.label is not None for r in self.rows)


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: timestamps as ISO 8601, everything else as pandas' `tolist()` gives it."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def sample_from_frame(frame: pd.DataFrame, features: Sequence[str], target: str | None, source: str) -> Sample:
    """One single-row `dataframe_split` request per row of `frame` (its `features`, in order), labelled with the
    row's `target` when given."""
    columns = list(features)
    values = zip(*(frame[c].tolist() for c in columns), strict=True)
    labels = frame[target].tolist() if target is not None else [None] * len(frame)
    rows = tuple(ScoringRow({"dataframe_split": {"columns": columns, "data": [[_plain(v) for v in row]]}},
                            _plain(label))
                 for row, label in zip(values, labels, strict=True))
    return Sample(rows, source)


def read_sample(path: Path, target_column: str | None = None) -> Sample:
    """The first rows without missing values of a Parquet or CSV file; `target_column` holds the labels and is
    not sent."""
    import pandas as pd

    if not path.is_file():
        raise UsageError(f"--sample-data {path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".txt"):
        raise UsageError(f"--sample-data {path}: unsupported file type {suffix!r}; give a .parquet or .csv file")
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(path).iter_batches(batch_size=MAX_SAMPLE_ROWS), None)
            frame = batch.to_pandas() if batch is not None else pd.DataFrame()
        else:
            frame = pd.read_csv(path, nrows=MAX_SAMPLE_ROWS)
    except Exception as exc:  # pyarrow and pandas raise many types for a bad file; all mean "not readable"
        raise UsageError(f"--sample-data {path}: cannot read it ({type(exc).__name__}: {exc})") from exc
    if target_column is not None and target_column not in frame.columns:
        raise UsageError(f"--target-column {target_column!r}: not a column of {path} (columns: "
                         f"{', '.join(map(str, frame.columns))})")
    features = [str(c) for c in frame.columns if c != target_column]
    if not features:
        raise UsageError(f"--sample-data {path}: no feature columns besides the target")
    complete = frame.dropna()
    if complete.empty:
        raise UsageError(f"--sample-data {path}: no row without missing values among the first "
                         f"{MAX_SAMPLE_ROWS}; give a file with complete rows")
    return sample_from_frame(complete, features, target_column, f"sample-data:{path}")


def sample_from_payloads(payloads: Sequence[Mapping[str, Any]],
                         source: str = "config (smoke.samplePayloads)") -> Sample:
    """Request bodies as written (`smoke.samplePayloads`), a multi-row `dataframe_split` split into single rows
    (more distinct requests, one prediction each). No labels."""
    from runtime.smoke.payloads import count_rows, finite_json

    rows: list[ScoringRow] = []
    for i, body in enumerate(payloads):
        if not finite_json(dict(body)):
            raise UsageError(f"{source}[{i}] holds NaN or infinity, which JSON cannot carry; use null")
        split = body.get("dataframe_split")
        data = split.get("data") if isinstance(split, dict) else None
        if isinstance(split, dict) and isinstance(data, list) and len(data) > 1:
            kept = {k: v for k, v in split.items() if k not in ("data", "index")}
            rows += [ScoringRow({**body, "dataframe_split": {**kept, "data": [values]}}) for values in data]
        else:
            rows.append(ScoringRow(dict(body), None, count_rows(dict(body))))
    if not rows:
        raise UsageError(f"{source}: no request bodies")
    return Sample(tuple(rows), source)
