"""The reference profile: the reference's summaries on a grid, what every later comparison needs, in one file.

Per numeric column the *grid* is the set of points at which both sides are counted (values below and at or below
each point; sums merge them exactly across chunks, row groups and Spark partitions):
- every distinct value when there are at most `GRID_POINTS` of them: the reference's CDF is then known exactly
  and every statistic is exact (tied integer data at any size, any reference of up to 65,536 rows);
- else `GRID_POINTS` reference quantiles plus the minimum and maximum: each gap between grid points holds about
  1/65,536 of the reference, which bounds the KS statistic within about 1.5e-5 (see `runtime.data.ks`).
The PSI deciles and the display histogram's edges are grid points too, so their counts come from the same sums.

File format (version 2): a numpy `.npz` archive (deflate, read with `allow_pickle=False`) with `meta.json` (JSON
as uint8: `{"format": "mlcicd-data-profile", "version": 2, "source", "rows", "created_at", "bins",
"grid_points", "columns": [{"name", "kind", "dtype", "arrow_type", "rows", "missing", "min", "max", "exact",
"categories"}]}`, and `"model": {"name", "version"}` when the profile is of a registered model version's training
data) and per numeric column `c<i>.probes`, `c<i>.below`, `c<i>.at_or_below`, `c<i>.psi_edges`,
`c<i>.hist_edges` and, for at most `VALUES_MAX` values, `c<i>.values`; per categorical column `c<i>.counts`.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.data.sources import DataInputError, first_line, read_bytes, write_bytes
from runtime.data.summary import (
    VALUES_MAX,
    CategoricalSummary,
    ColumnPlan,
    ColumnSummary,
    FrameSummary,
    NumericSummary,
    OtherSummary,
)

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig

PROFILE_FORMAT = "mlcicd-data-profile"
PROFILE_VERSION = 2
#: Grid points per numeric column (the bound on KS is about 1/GRID_POINTS).
GRID_POINTS = 65_536
HIST_BINS = 24
_HINT = "write one with `mlcicd data profile --reference DATA --out PROFILE` (or `data validate --write-profile`)"


@dataclass(frozen=True)
class Grid:
    """Where one numeric column is counted, and what the grid knows of the reference there."""

    probes: np.ndarray
    exact: bool
    """Every distinct reference value is a probe: the reference's CDF is known everywhere."""
    psi_edges: np.ndarray
    hist_edges: np.ndarray


@dataclass
class ReferenceProfile:
    summary: FrameSummary
    grids: dict[str, Grid]
    bins: int
    from_file: bool = False

    @property
    def exact(self) -> bool:
        return all(g.exact for g in self.grids.values())


# --------------------------------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------------------------------

def quantile_edges(sorted_values: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges of `bins` equal-frequency bins (the k/bins empirical quantiles), ties merged; bin i holds
    values in (edge[i-1], edge[i]]."""
    n = sorted_values.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float64)
    ranks = np.ceil(np.arange(1, bins) * n / bins).astype(np.int64) - 1
    edges = np.unique(sorted_values[np.clip(ranks, 0, n - 1)])
    return edges[edges < sorted_values[-1]]


def display_edges(sorted_values: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """Equal-width histogram edges over the 0.5%-99.5% range (outliers fall in the end bins)."""
    n = sorted_values.shape[0]
    if n == 0:
        return np.array([0.0, 1.0])
    lo, hi = float(sorted_values[int(0.005 * (n - 1))]), float(sorted_values[math.ceil(0.995 * (n - 1))])
    if hi <= lo:
        lo, hi = float(sorted_values[0]), float(sorted_values[-1])
    if hi <= lo:
        return np.array([lo - 0.5, lo + 0.5])
    return np.linspace(lo, hi, bins + 1)


def grid_for(sample: np.ndarray, complete: bool, bins: int, extremes: tuple[float, float]) -> Grid:
    """The grid of a column from its sorted sample (all values when `complete`) and its minimum and maximum."""
    new_value = np.empty(sample.size, dtype=bool)
    new_value[:1] = True
    np.not_equal(sample[1:], sample[:-1], out=new_value[1:])
    psi_edges, hist_edges = quantile_edges(sample, bins), display_edges(sample)
    exact = complete and int(np.count_nonzero(new_value)) <= GRID_POINTS
    if exact:
        probes = sample[new_value]
    else:
        probes = sample[np.round(np.linspace(0, sample.size - 1, GRID_POINTS)).astype(np.int64)]
    ends = np.asarray([x for x in extremes if np.isfinite(x)], dtype=np.float64)
    probes = np.union1d(probes, np.concatenate([psi_edges, hist_edges, ends]))
    return Grid(probes=probes, exact=exact, psi_edges=psi_edges, hist_edges=hist_edges)


def plan_for(grid: Grid, extra: list[float] | None = None) -> ColumnPlan:
    """The current side's plan: counts at the reference's grid (plus declared bounds), values up to VALUES_MAX."""
    probes = grid.probes if not extra else np.union1d(grid.probes, np.asarray(extra, dtype=np.float64))
    return ColumnPlan(probes=probes, capacity=VALUES_MAX)


def column_plan(name: str, grid: Grid | None, config: DataValidationConfig) -> ColumnPlan | None:
    """Where the current side counts column `name`: the reference's grid of it, plus the column's declared bounds
    (None: neither)."""
    decl = config.schema_.columns.get(name)
    extra = [b for b in (decl.min, decl.max) if b is not None] if decl is not None else []
    if grid is not None:
        return plan_for(grid, extra)
    if extra:
        return ColumnPlan(probes=np.unique(np.asarray(extra, dtype=np.float64)))
    return None


def finish_reference(summary: NumericSummary, grid: Grid) -> NumericSummary:
    """The stored form: counts at the grid (from the complete sample when it holds every value), values kept
    only up to VALUES_MAX."""
    if summary.complete and summary.values is not None and summary.below is None:
        v = summary.values
        summary = replace(summary, below=np.searchsorted(v, grid.probes, "left").astype(np.int64),
                          at_or_below=np.searchsorted(v, grid.probes, "right").astype(np.int64))
    keep = summary.values if summary.complete and summary.n <= VALUES_MAX else None
    return replace(summary, values=keep, keys=None, sampled=False,
                   plan=ColumnPlan(probes=grid.probes, capacity=VALUES_MAX))


# --------------------------------------------------------------------------------------------------------------
# File
# --------------------------------------------------------------------------------------------------------------

def profile_bytes(profile: ReferenceProfile, model: tuple[str, str] | None = None) -> bytes:
    """The profile file's bytes; `model` (registered model name, version) records whose training data it is."""
    summary = profile.summary
    arrays: dict[str, np.ndarray] = {}
    columns: list[dict[str, Any]] = []
    for i, (name, col) in enumerate(summary.columns.items()):
        entry: dict[str, Any] = {"name": name, "kind": col.kind, "dtype": col.dtype,
                                 "arrow_type": summary.arrow_types.get(name, ""), "rows": col.rows,
                                 "missing": col.missing}
        if isinstance(col, NumericSummary):
            grid = profile.grids[name]
            entry.update(min=col.minimum if col.n else None, max=col.maximum if col.n else None, exact=grid.exact)
            assert col.below is not None
            assert col.at_or_below is not None
            arrays.update({f"c{i}.probes": grid.probes, f"c{i}.below": col.below,
                           f"c{i}.at_or_below": col.at_or_below, f"c{i}.psi_edges": grid.psi_edges,
                           f"c{i}.hist_edges": grid.hist_edges})
            if col.values is not None:
                arrays[f"c{i}.values"] = col.values
        elif isinstance(col, CategoricalSummary):
            names, counts = col.arrays()
            entry["categories"] = names
            arrays[f"c{i}.counts"] = counts
        columns.append(entry)
    meta = {"format": PROFILE_FORMAT, "version": PROFILE_VERSION, "source": summary.source, "rows": summary.rows,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "bins": profile.bins,
            "grid_points": GRID_POINTS, "columns": columns}
    if model is not None:
        meta["model"] = {"name": model[0], "version": model[1]}
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save_profile(profile: ReferenceProfile, path: str | Path, model: tuple[str, str] | None = None) -> int:
    """Write the profile (local path or s3://), labelled with `model` when given; returns its size in bytes."""
    data = profile_bytes(profile, model)
    write_bytes(path, data)
    return len(data)


def _column(entry: dict[str, Any], i: int, archive: Any) -> tuple[ColumnSummary, Grid | None]:
    base = {"dtype": entry["dtype"], "rows": entry["rows"], "missing": entry["missing"]}
    if entry["kind"] == "numeric":
        grid = Grid(probes=archive[f"c{i}.probes"], exact=bool(entry["exact"]),
                    psi_edges=archive[f"c{i}.psi_edges"], hist_edges=archive[f"c{i}.hist_edges"])
        values = archive[f"c{i}.values"] if f"c{i}.values" in archive.files else None
        col = NumericSummary(**base, minimum=math.inf if entry["min"] is None else entry["min"],
                             maximum=-math.inf if entry["max"] is None else entry["max"], values=values,
                             below=archive[f"c{i}.below"], at_or_below=archive[f"c{i}.at_or_below"],
                             plan=ColumnPlan(probes=grid.probes))
        return col, grid
    if entry["kind"] == "categorical":
        counts = archive[f"c{i}.counts"].tolist()
        return CategoricalSummary(**base, counts=dict(zip(entry["categories"], counts, strict=True))), None
    return OtherSummary(**base), None


def _open_archive(data: bytes, text: str) -> Any:
    """The npz archive of a profile's bytes; DataInputError naming `text` when it is not one."""
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataInputError(f"{text}: not a readable data profile ({first_line(exc)}); {_HINT}") from exc


def _checked_meta(archive: Any, text: str) -> dict[str, Any]:
    """`meta.json` of an open profile archive, refused unless it is a profile of the version this runtime reads."""
    if "meta.json" not in archive.files:
        raise DataInputError(f"{text}: a zip/npz file but not a data profile (no meta.json); {_HINT}")
    meta = json.loads(bytes(archive["meta.json"]).decode("utf-8"))
    if meta.get("format") != PROFILE_FORMAT:
        raise DataInputError(f"{text}: not a data profile (format {meta.get('format')!r}); {_HINT}")
    if meta.get("version") != PROFILE_VERSION:
        raise DataInputError(f"{text}: data profile version {meta.get('version')!r} is not supported "
                             f"(this mlcicd reads version {PROFILE_VERSION}); {_HINT}")
    return meta


@contextmanager
def _reading(text: str) -> Iterator[None]:
    """While an open profile is read: anything but a DataInputError means the file is damaged (named as such)."""
    try:
        yield
    except DataInputError:
        raise
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataInputError(f"{text}: damaged data profile ({first_line(exc)}); {_HINT}") from exc


def profile_meta(data: bytes, text: str) -> dict[str, Any]:
    """The checked `meta.json` of a profile's bytes (source, rows, columns, `model` when labelled), without
    reading its arrays; DataInputError naming `text` for anything but a readable profile."""
    with _open_archive(data, text) as archive, _reading(text):
        return _checked_meta(archive, text)


def load_profile(path: str | Path) -> ReferenceProfile:
    text = str(path)
    with _open_archive(read_bytes(text), text) as archive, _reading(text):
        meta = _checked_meta(archive, text)
        columns: dict[str, ColumnSummary] = {}
        grids: dict[str, Grid] = {}
        for i, entry in enumerate(meta["columns"]):
            columns[entry["name"]], grid = _column(entry, i, archive)
            if grid is not None:
                grids[entry["name"]] = grid
        types = {e["name"]: e.get("arrow_type", "") for e in meta["columns"]}
    summary = FrameSummary(source=str(meta.get("source", text)), rows=int(meta["rows"]), columns=columns,
                           arrow_types=types)
    return ReferenceProfile(summary=summary, grids=grids, bins=int(meta["bins"]), from_file=True)
