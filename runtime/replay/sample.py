"""The replay sample: which captured requests are replayed, and the scoring requests rebuilt from their records.

The sampling unit is the request (an inference id with all its rows). Only requests the server answered with 200
are candidates: a failed request's record carries no features. Strata are (day, variant) as configured; each gets
its proportional share of the sample by largest remainder, at least one request, so the sample covers every day of
the window and every variant. Within a stratum the draw is uniform without replacement from a seeded generator over
the ids in sorted order: the same captures and seed give the same sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime.errors import ConfigurationError
from runtime.serving.records import CAPTURE_FIELDS, PREDICTION, column_name

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

#: Capture columns that are not model inputs.
NOT_FEATURES = frozenset([name for name, _ in CAPTURE_FIELDS] + [PREDICTION, "model", "dt"])


@dataclass(frozen=True)
class Request:
    """One replayed request: the captured id, its rows as the model takes them, and per row what was captured."""

    inference_id: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    segments: tuple[Any, ...] = ()
    labels: tuple[Any, ...] = ()

    def body(self) -> bytes:
        import json

        return json.dumps({"dataframe_split": {"columns": list(self.columns), "data": [list(r) for r in self.rows]}},
                          allow_nan=False).encode()


@dataclass
class Sample:
    """What was drawn from what (the rows themselves travel beside it)."""

    available: int
    """Answered requests in the window (the population)."""
    strata: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Stratum ("2024-05-01/baseline") -> (available, drawn)."""


def allocate(sizes: Mapping[str, int], total: int) -> dict[str, int]:
    """Proportional allocation of `total` over strata by largest remainder, at least one per non-empty stratum
    (when `total` allows), never more than a stratum holds."""
    population = sum(sizes.values())
    if total >= population:
        return dict(sizes)
    keys = sorted(k for k, v in sizes.items() if v > 0)
    base = {k: 1 if total >= len(keys) else 0 for k in keys}
    rest = total - sum(base.values())
    shares = {k: rest * (sizes[k] - base[k]) / max(population - sum(base.values()), 1) for k in keys}
    out = {k: base[k] + math.floor(shares[k]) for k in keys}
    left = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(shares[k] - math.floor(shares[k])), k)):
        if left <= 0:
            break
        if out[k] < sizes[k]:
            out[k] += 1
            left -= 1
    return out


def _strata_keys(requests: Any, stratify_by: Sequence[str]) -> Any:
    parts = []
    if "day" in stratify_by:
        day = requests["timestamp"].map(lambda ms: datetime.fromtimestamp(ms / 1000, UTC).date().isoformat())
        parts.append(day.astype(str))
    if "variant" in stratify_by:
        parts.append(requests["variant"].astype(str))
    if not parts:
        return requests["inference_id"].map(lambda _: "all")
    key = parts[0]
    for part in parts[1:]:
        key = key + "/" + part
    return key


def draw(table: pa.Table, size: int, stratify_by: Sequence[str], seed: int) -> tuple[pd.DataFrame, Sample]:
    """The sampled requests' records (all their rows, sorted by id and row) and the sample's accounting."""
    import numpy as np

    frame = table.to_pandas()
    if frame.empty or "inference_id" not in frame:
        return frame, Sample(0)
    answered = frame[frame["status"] == 200] if "status" in frame else frame
    firsts = answered.sort_values(["inference_id", "variant", "row"]).drop_duplicates("inference_id")
    keys = _strata_keys(firsts, stratify_by)
    sizes = keys.value_counts().to_dict()
    quota = allocate({str(k): int(v) for k, v in sizes.items()}, size)
    rng = np.random.default_rng(seed)
    chosen: list[str] = []
    strata: dict[str, tuple[int, int]] = {}
    for stratum in sorted(quota):
        ids = np.sort(firsts.loc[keys == stratum, "inference_id"].to_numpy(dtype=str))
        take = quota[stratum]
        chosen += list(rng.choice(ids, size=take, replace=False)) if take < len(ids) else list(ids)
        strata[stratum] = (len(ids), take)
    picked = firsts[["inference_id", "variant"]][firsts["inference_id"].isin(chosen)]
    rows = answered.merge(picked, on=["inference_id", "variant"]).sort_values(["inference_id", "row"])
    return rows.reset_index(drop=True), Sample(len(firsts), strata)


def feature_columns(frame: pd.DataFrame, features: Sequence[str], label_column: str | None,
                    unusable: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(capture column, model feature name) of the inputs to send. With the model's features known (the stack's
    `monitoring.capture.inputSchema`), every one must be captured in the clear."""
    if unusable:
        raise ConfigurationError(f"replay sends each request's inputs again, but captures hold no usable value of "
                                 f"{', '.join(unusable)} (monitoring.capture.dropFields/hashFields); replay a model "
                                 "whose captures keep every input, or drop these features from the model")
    if features:
        missing = [f for f in features if column_name(f) not in frame.columns]
        if missing:
            raise ConfigurationError(f"captures have no column for feature(s) {', '.join(missing)} (columns: "
                                     f"{', '.join(map(str, frame.columns))}); check monitoring.capture.inputSchema")
        return [(column_name(f), f) for f in features]
    skip = NOT_FEATURES | ({label_column} if label_column else set())
    return [(c, c) for c in frame.columns if c not in skip]


def plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python, NaN and NaT as null."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


def build_requests(rows: pd.DataFrame, columns: Sequence[tuple[str, str]], *, segment: str | None = None,
                   labels: Mapping[tuple[str, int], Any] | None = None) -> list[Request]:
    """One scoring request per sampled inference id, rows in their captured order."""
    if segment is not None and segment not in rows.columns:
        raise ConfigurationError(f"gates.replay.segmentColumn {segment!r} is not a capture column (columns: "
                                 f"{', '.join(map(str, rows.columns))}); name a captured feature")
    out = []
    names = tuple(name for _, name in columns)
    for ident, group in rows.groupby("inference_id", sort=True):
        values = group[[c for c, _ in columns]].to_numpy(dtype=object)
        out.append(Request(
            inference_id=str(ident), columns=names,
            rows=tuple(tuple(plain(v) for v in row) for row in values),
            segments=tuple(plain(v) for v in group[segment]) if segment else (),
            labels=tuple(labels.get((str(ident), int(r))) for r in group["row"]) if labels is not None else ()))
    return out


def label_map(frame: pd.DataFrame | None, rows: pd.DataFrame, label_column: str | None) -> dict[tuple[str, int], Any]:
    """(inference id, row) -> label, from label files (`inference_id`, `label`, optional `row`) or a capture
    column. Labels without a `row` apply to every row of their request."""
    if label_column is not None:
        if label_column not in rows.columns:
            raise ConfigurationError(f"gates.replay.labelColumn {label_column!r} is not a capture column")
        return {(str(i), int(r)): plain(v) for i, r, v in zip(rows["inference_id"], rows["row"],
                                                               rows[label_column], strict=True)
                if plain(v) is not None}
    if frame is None:
        return {}
    out: dict[tuple[str, int], Any] = {}
    by_id: dict[str, Any] = {}
    if "row" in frame.columns:
        out = {(str(i), int(r)): plain(v) for i, r, v in zip(frame["inference_id"], frame["row"], frame["label"],
                                                              strict=True)}
    else:
        by_id = {str(i): plain(v) for i, v in zip(frame["inference_id"], frame["label"], strict=True)}
        out = {(str(i), int(r)): by_id[str(i)] for i, r in zip(rows["inference_id"], rows["row"], strict=True)
               if str(i) in by_id}
    return {k: v for k, v in out.items() if v is not None}


def as_array(values: Sequence[Any]) -> np.ndarray:
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
