"""Benchmark data shaped like production tables: 20 numeric columns of mixed shapes, with ties and missing values,
and 5 dictionary-encoded categoricals (one of 500 levels). Seeded; written as Parquet with 1,048,576-row row
groups (pyarrow's default), generated in slices so that 20,000,000 rows never sit in memory at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC = 20
CATEGORICAL = 5
LEVELS = (3, 8, 25, 60, 500)
SLICE = 1 << 20
#: Columns changed in the drifted current data.
DRIFTED = ("num_00", "num_01", "num_02", "num_05", "cat_0", "cat_4")


def _numeric(rng: np.random.Generator, i: int, n: int, drift: bool) -> np.ndarray:
    kind = i % 10
    if kind == 0:
        x = rng.normal(50 + (1.0 if drift and i == 0 else 0.0), 10, n)  # drift: mean + 0.1 sd
    elif kind == 1:
        x = rng.lognormal(3, 0.72 if drift and i == 1 else 0.6, n)  # drift: wider
    elif kind == 2:
        x = rng.normal(0, np.sqrt(1 / 3), n) if drift and i == 2 else rng.uniform(-1, 1, n)  # drift: other shape
    elif kind == 3:
        x = rng.poisson(4, n).astype(np.float64)  # few distinct values: tie-heavy
    elif kind == 4:
        x = np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(1, 1, n))  # bimodal
    elif kind == 5:
        x = np.round(rng.gamma(2, 30, n), 2)  # amounts in cents: many ties
    elif kind == 6:
        x = rng.exponential(1, n)
    elif kind == 7:
        x = rng.integers(18, 90, n).astype(np.float64)  # ages
    elif kind == 8:
        x = np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(1, 1, n))  # a point mass at zero
    else:
        x = rng.standard_t(3, n)  # heavy tails
    missing = (0.0, 0.01, 0.0, 0.02, 0.0, 0.05, 0.0, 0.001, 0.0, 0.1)[kind]
    if drift and i == 5:
        missing = 0.08  # drift: more missing values
    if missing:
        x[rng.random(n) < missing] = np.nan
    return x


def _categorical(rng: np.random.Generator, j: int, n: int, drift: bool) -> pa.DictionaryArray:
    k = LEVELS[j]
    names = pa.array([f"c{j}_{v:03d}" for v in range(k + 1)])
    p = 1.0 / np.arange(1, k + 1) ** (1.1 if k > 100 else 0.3)  # Zipf-like: sparse tail at 500 levels
    if drift and j == 4:
        p[:5] = p[:5][::-1]  # drift: the top shares trade places
    p /= p.sum()
    codes = rng.choice(k, size=n, p=p)
    if drift and j == 0:
        codes = np.where(rng.random(n) < 0.02, k, codes)  # a category the reference never had
    mask = rng.random(n) < 0.01
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=mask), names)


def table(rows: int, seed: int, drift: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array | np.ndarray] = {f"num_{i:02d}": _numeric(rng, i, rows, drift) for i in range(NUMERIC)}
    cols.update({f"cat_{j}": _categorical(rng, j, rows, drift) for j in range(CATEGORICAL)})
    return pa.table(cols)


def write(path: Path, rows: int, seed: int, drift: bool) -> None:
    first = table(min(rows, SLICE), seed, drift)
    with pq.ParquetWriter(path, first.schema) as writer:
        writer.write_table(first, row_group_size=SLICE)
        done, part = first.num_rows, 1
        while done < rows:
            piece = table(min(SLICE, rows - done), seed * 100_003 + part, drift)
            writer.write_table(piece.cast(first.schema), row_group_size=SLICE)
            done, part = done + piece.num_rows, part + 1
