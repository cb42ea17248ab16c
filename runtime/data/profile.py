"""The reference profile: what the data gate needs from the reference data, in one compact file, so monitoring
jobs compare against training data without rereading it.

Format (version 1): a numpy `.npz` archive (a zip of `.npy` arrays, deflate-compressed, read with
`allow_pickle=False`):

- `meta.json` (JSON text as a uint8 array): `{"format": "mlcicd-data-profile", "version": 1, "source", "rows",
  "created_at", "bins", "sketch_size", "duplicates", "columns": [{"name", "kind", "dtype", "arrow_type", "rows",
  "missing", "n", "exact", "categories"}]}`; the order of `columns` is the reference's column order.
- per numeric column `c<i>.values` (float64, sorted; strictly increasing in a sketch), `c<i>.counts` and
  `c<i>.ranks` (int64, only for a sketch: the number of values <= each stored value, and the lowest 0-based rank
  at which it occurs among the sampled ranks),
  `c<i>.psi_edges` / `c<i>.psi_counts` (reference-quantile bins and the reference's exact counts in them),
  `c<i>.hist_edges` / `c<i>.hist_counts` (display histogram); per categorical column `c<i>.counts` (int64, one per
  category of `categories`).

Numeric columns with at most `sketch_size` non-missing values are stored whole: KS is then exact, as with the raw
reference. Larger columns keep `sketch_size` order statistics (ranks spread evenly from the minimum to the
maximum) and the exact number of reference values at or below each: F_ref is exact at those points and bounded
between them, so the KS statistic is known within about 1/sketch_size (reported as bounds; a column whose verdict
differs between the bounds is INCONCLUSIVE). PSI bins, category counts, missing counts and the schema are exact.
Measured sizes and accuracy: docs/performance.md, section "Data validation".
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from runtime.data import stats
from runtime.data.frame import (
    CategoricalSummary,
    ColumnSummary,
    DataInputError,
    FrameSummary,
    Input,
    NumericSummary,
    OtherSummary,
    first_line,
    read_bytes,
    write_bytes,
)

PROFILE_FORMAT = "mlcicd-data-profile"
PROFILE_VERSION = 1


@dataclass(frozen=True)
class Binning:
    """The reference's bins of one numeric column: PSI on reference-quantile bins, and the display histogram."""

    psi_edges: np.ndarray
    psi_counts: np.ndarray
    hist_edges: np.ndarray
    hist_counts: np.ndarray


def binning(column: NumericSummary, bins: int) -> Binning:
    if not column.exact:
        raise ValueError("bins come from the whole column")
    edges = stats.quantile_edges(column.values, bins)
    hist_edges = stats.display_edges(column.values)
    return Binning(edges, stats.bin_counts(column.values, edges), hist_edges,
                   stats.histogram_sorted(column.values, hist_edges))


@dataclass
class ReferenceProfile:
    """A reference frame's summary plus its bins: what the gate compares the current frame with."""

    summary: FrameSummary
    bins: int
    binnings: dict[str, Binning]
    sketch_size: int | None = None
    """None for an in-memory reference read from data (whole columns); set for a profile written to a file."""
    from_file: bool = False

    @property
    def exact(self) -> bool:
        return all(c.exact for c in self.summary.columns.values() if isinstance(c, NumericSummary))


def reference_from_summary(summary: FrameSummary, bins: int) -> ReferenceProfile:
    binnings = {name: binning(col, bins) for name, col in summary.columns.items() if isinstance(col, NumericSummary)}
    return ReferenceProfile(summary=summary, bins=bins, binnings=binnings)


def sketch(column: NumericSummary, size: int) -> NumericSummary:
    """Keep `size` order statistics of a whole sorted column (minimum and maximum included) with exact counts.

    Equal order statistics (a value repeated over many ranks) are kept once, with the lowest of their ranks: the
    stored values are strictly increasing, and a tie-heavy column costs a few entries instead of `size`."""
    if not column.exact or column.n <= size:
        return column
    ranks = np.unique(np.round(np.linspace(0, column.n - 1, size)).astype(np.int64))
    values = column.values[ranks]
    first = np.concatenate(([True], values[1:] != values[:-1]))
    values, ranks = values[first], ranks[first]
    counts = np.searchsorted(column.values, values, side="right").astype(np.int64)
    return replace(column, values=values.copy(), counts=counts, ranks=ranks)


def compact(reference: ReferenceProfile, sketch_size: int) -> ReferenceProfile:
    """The profile as written to a file: numeric columns longer than `sketch_size` become sketches."""
    columns = {name: sketch(col, sketch_size) if isinstance(col, NumericSummary) else col
               for name, col in reference.summary.columns.items()}
    summary = replace(reference.summary, columns=columns)
    return ReferenceProfile(summary=summary, bins=reference.bins, binnings=reference.binnings,
                            sketch_size=sketch_size, from_file=True)


def profile_bytes(profile: ReferenceProfile) -> bytes:
    summary = profile.summary
    arrays: dict[str, np.ndarray] = {}
    columns: list[dict[str, Any]] = []
    for i, (name, col) in enumerate(summary.columns.items()):
        entry: dict[str, Any] = {"name": name, "kind": col.kind, "dtype": col.dtype,
                                 "arrow_type": summary.arrow_types.get(name, ""), "rows": col.rows,
                                 "missing": col.missing}
        if isinstance(col, NumericSummary):
            entry.update(n=col.n, exact=col.exact)
            arrays[f"c{i}.values"] = col.values
            if col.counts is not None and col.ranks is not None:
                arrays[f"c{i}.counts"] = col.counts
                arrays[f"c{i}.ranks"] = col.ranks
            b = profile.binnings[name]
            arrays.update({f"c{i}.psi_edges": b.psi_edges, f"c{i}.psi_counts": b.psi_counts,
                           f"c{i}.hist_edges": b.hist_edges, f"c{i}.hist_counts": b.hist_counts})
        elif isinstance(col, CategoricalSummary):
            entry["categories"] = col.categories
            arrays[f"c{i}.counts"] = col.counts
        columns.append(entry)
    meta = {"format": PROFILE_FORMAT, "version": PROFILE_VERSION, "source": summary.source, "rows": summary.rows,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "bins": profile.bins,
            "sketch_size": profile.sketch_size, "duplicates": summary.duplicates, "columns": columns}
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for key, array in arrays.items():
            # Sorted float64 values hardly compress (and deflating 10 MB takes seconds): stored as they are;
            # counts, ranks and the small arrays deflate well, at the fastest level.
            name: zipfile.ZipInfo | str = f"{key}.npy"
            if key.endswith(".values"):
                name = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                name.compress_type = zipfile.ZIP_STORED
            with archive.open(name, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save_profile(profile: ReferenceProfile, path: str | Path) -> int:
    """Write the profile (local path or s3://); returns its size in bytes."""
    data = profile_bytes(profile)
    write_bytes(path, data)
    return len(data)


def load_profile(source: str | Path | Input) -> ReferenceProfile:
    text = source.path if isinstance(source, Input) else str(source)
    data = source.data if isinstance(source, Input) and source.data is not None else read_bytes(text)
    hint = "write one with `mlcicd data profile --reference DATA --out PROFILE` (or `data validate --write-profile`)"
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataInputError(f"{text}: not a readable data profile ({first_line(exc)}); {hint}") from exc
    with archive:
        if "meta.json" not in archive.files:
            raise DataInputError(f"{text}: a zip/npz file but not a data profile (no meta.json); {hint}")
        try:
            meta = json.loads(bytes(archive["meta.json"]).decode("utf-8"))
            if meta.get("format") != PROFILE_FORMAT:
                raise DataInputError(f"{text}: not a data profile (format {meta.get('format')!r}); {hint}")
            if meta.get("version") != PROFILE_VERSION:
                raise DataInputError(f"{text}: data profile version {meta.get('version')!r} is not supported "
                                     f"(this mlcicd reads version {PROFILE_VERSION}); {hint}")
            columns: dict[str, ColumnSummary] = {}
            binnings: dict[str, Binning] = {}
            arrow_types: dict[str, str] = {}
            for i, entry in enumerate(meta["columns"]):
                name = entry["name"]
                arrow_types[name] = entry.get("arrow_type", "")
                if entry["kind"] == "numeric":
                    sketched = not entry["exact"]
                    columns[name] = NumericSummary(
                        dtype=entry["dtype"], rows=entry["rows"], missing=entry["missing"],
                        values=archive[f"c{i}.values"], n=entry["n"],
                        counts=archive[f"c{i}.counts"] if sketched else None,
                        ranks=archive[f"c{i}.ranks"] if sketched else None)
                    binnings[name] = Binning(archive[f"c{i}.psi_edges"], archive[f"c{i}.psi_counts"],
                                             archive[f"c{i}.hist_edges"], archive[f"c{i}.hist_counts"])
                elif entry["kind"] == "categorical":
                    columns[name] = CategoricalSummary(dtype=entry["dtype"], rows=entry["rows"],
                                                       missing=entry["missing"], categories=list(entry["categories"]),
                                                       counts=archive[f"c{i}.counts"])
                else:
                    columns[name] = OtherSummary(dtype=entry["dtype"], rows=entry["rows"], missing=entry["missing"])
        except DataInputError:
            raise
        except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise DataInputError(f"{text}: damaged data profile ({first_line(exc)}); {hint}") from exc
    summary = FrameSummary(source=str(meta.get("source", text)), rows=int(meta["rows"]), columns=columns,
                           arrow_types=arrow_types, duplicates=meta.get("duplicates"))
    return ReferenceProfile(summary=summary, bins=int(meta["bins"]), binnings=binnings,
                            sketch_size=meta.get("sketch_size"), from_file=True)
