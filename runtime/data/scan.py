"""One streaming pass over a frame into mergeable summaries, on a few threads (the local engine's work:
runtime.data.local).

Work is cut into chunks: a column of a part of a `ColumnFrame` (a Parquet row group's column, in batches of at
most `BATCH_ROWS` rows), or a column of a CSV block. Two threads (numpy's sort and pyarrow's decoding release the
GIL) take chunks in turn, and the main thread merges each result as it arrives, so memory holds a few chunks and
the summaries, whatever the row count. Row hashes for the duplicate count are summed per part across its columns
(an order-free combination, so columns may finish in any order) and folded into a bounded set of distinct hashes
when the part completes.

`reference_profile` makes the reference's grid: a first pass keeps every value up to `SAMPLE_SIZE` per column
(one pass suffices then) or a uniform sample of that many (each chunk keeping only the values whose random key
falls below about `SAMPLE_SIZE` / rows), and a second pass counts the reference at the grid drawn from the
sample.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from runtime.data.duplicates import RowHashes, row_codes
from runtime.data.profile import Grid, ReferenceProfile, finish_reference, grid_for
from runtime.data.sources import ColumnFrame, CsvFrame, Frame
from runtime.data.summary import (
    SAMPLE_MARGIN,
    SAMPLE_SIZE,
    ColumnPlan,
    ColumnSummary,
    FrameSummary,
    NumericSummary,
    kind_of_type,
    logical_type,
    merge,
    sorted_chunk,
    summarize_chunk,
    summarize_sorted,
)

if TYPE_CHECKING:
    import pyarrow as pa

#: Worker threads (the target machine has two cores).
THREADS = max(1, min(4, os.cpu_count() or 1))


class Plans(Protocol):
    """Where each numeric column is counted: a dict, or plans still being made while the scan runs (the fused
    local engine, runtime.data.overlap): a worker asks for a column's plan only after it has decoded and sorted its
    chunk, so `get` may wait."""

    def get(self, name: str, /) -> ColumnPlan | None: ...


def _seed(part: int, column: int, batch: int) -> int:
    return (part * 1_000_003 + column) * 1_009 + batch


class _PartHashes:
    """Row hashes of one part, summed over its columns; folded into `RowHashes` when every column is in."""

    def __init__(self, columns: int, into: RowHashes, lock: threading.Lock) -> None:
        self.remaining, self.into, self.lock = columns, into, lock
        self.total: np.ndarray | None = None
        self.own = threading.Lock()

    def add(self, codes: np.ndarray | None) -> None:
        with self.own:
            if codes is not None:
                self.total = codes.copy() if self.total is None else self.total + codes
            self.remaining -= 1
            done = self.remaining == 0
        if done and self.total is not None:
            with self.lock:
                self.into.add(self.total)


def _summarize(array: pa.Array, dtype: str, plan: Callable[[], ColumnPlan | None], seed: int) -> ColumnSummary:
    if kind_of_type(dtype) == "numeric":
        v, rows = sorted_chunk(array)
        return summarize_sorted(v, rows, dtype, plan() or ColumnPlan(), seed)  # the plan asked for after the sort
    return summarize_chunk(array, dtype, None)


def _column_work(chunks: Iterator, dtype: str, plan: Callable[[], ColumnPlan | None], salt: int, part: int, *,
                 hashing: bool, summarizing: bool = True) -> tuple[ColumnSummary | None, np.ndarray | None]:
    summary: ColumnSummary | None = None
    codes: list[np.ndarray] = []
    for batch, array in enumerate(chunks):
        if summarizing:
            piece = _summarize(array, dtype, plan, _seed(part, salt, batch))
            summary = piece if summary is None else merge(summary, piece)
        if hashing:
            codes.append(row_codes(array, dtype, salt))
    joined = (codes[0] if len(codes) == 1 else np.concatenate(codes)) if codes else None
    return summary, joined


@contextmanager
def _workers(pool: Executor | None, threads: int) -> Iterator[Executor]:
    """`pool` when given (shared with other work), else a pool of `threads` threads for this scan."""
    if pool is not None:
        yield pool
        return
    with ThreadPoolExecutor(max_workers=threads) as own:
        yield own


def scan(frame: Frame, plans: Plans, *, hashes: bool, threads: int = THREADS, only: list[str] | None = None,
         pool: Executor | None = None) -> FrameSummary:
    """Summaries of every column of `frame` (or of `only` these; numeric columns planned by `plans`), and its
    duplicate rows when `hashes`; on `threads` threads, or on `pool` when given."""
    names = list(frame.schema.names) if only is None else only
    dtypes = {f.name: logical_type(f.type) for f in frame.schema}
    results: dict[str, ColumnSummary] = {}
    row_hashes = RowHashes()
    lock = threading.Lock()

    def fold(name: str, summary: ColumnSummary | None) -> None:
        if summary is not None:
            results[name] = summary if name not in results else merge(results[name], summary)

    if isinstance(frame, CsvFrame):
        rows = _scan_csv(frame, plans, dtypes, fold=fold, row_hashes=row_hashes if hashes else None, threads=threads,
                         pool=pool)
    else:
        rows = frame.rows
        # One part: hash only if no column proves every row distinct (checked after the summaries).
        inline = hashes and frame.parts > 1
        _scan_parts(frame, names, plans, dtypes, fold=fold, row_hashes=row_hashes if inline else None, lock=lock,
                    threads=threads, pool=pool)
        proven = any(isinstance(s, NumericSummary) and s.tie_free for s in results.values())
        if hashes and not inline and frame.parts == 1 and not proven:
            _scan_parts(frame, names, plans, dtypes, fold=None, row_hashes=row_hashes, lock=lock, threads=threads,
                        pool=pool)
    for name in names:  # an empty frame has no chunks: empty summaries of the right kind
        if name not in results:
            results[name] = summarize_empty(frame, name, dtypes[name], plans.get(name))
    duplicates = row_hashes.duplicates() if hashes and row_hashes.rows else (0, 0, 0) if hashes else None
    return FrameSummary(source=frame.path, rows=rows, columns={n: results[n] for n in names},
                        arrow_types={f.name: str(f.type) for f in frame.schema}, duplicates=duplicates)


def summarize_empty(frame: Frame, name: str, dtype: str, plan: ColumnPlan | None) -> ColumnSummary:
    import pyarrow as pa

    return summarize_chunk(pa.nulls(0, frame.schema.field(name).type), dtype, plan)


def _scan_parts(frame: ColumnFrame, names: list[str], plans: Plans, dtypes: dict[str, str], *,
                fold: Callable[[str, ColumnSummary | None], None] | None, row_hashes: RowHashes | None,
                lock: threading.Lock, threads: int, pool: Executor | None) -> None:
    numeric_first = sorted(range(len(names)), key=lambda i: dtypes[names[i]] not in ("float", "int"))
    window = 2 * threads  # chunks in flight: results are merged as they come, so memory holds a few chunks
    with _workers(pool, threads) as workers:
        pending: deque[tuple[str, Future]] = deque()
        for part in range(frame.parts):
            sink = _PartHashes(len(names), row_hashes, lock) if row_hashes is not None else None
            for i in numeric_first:
                name = names[i]

                def work(part: int = part, i: int = i, name: str = name, sink: _PartHashes | None = sink):
                    summary, codes = _column_work(frame.chunks(part, name), dtypes[name], lambda: plans.get(name),
                                                  i, part, hashing=sink is not None, summarizing=fold is not None)
                    if sink is not None:
                        sink.add(codes)
                    return summary

                pending.append((name, workers.submit(work)))
                while len(pending) > window:
                    _fold_next(pending, fold)
        while pending:
            _fold_next(pending, fold)


def _fold_next(pending: deque[tuple[str, Future]], fold: Callable[[str, ColumnSummary | None], None] | None) -> None:
    name, future = pending.popleft()
    summary = future.result()
    if fold is not None:
        fold(name, summary)


def _scan_csv(frame: CsvFrame, plans: Plans, dtypes: dict[str, str], *,
              fold: Callable[[str, ColumnSummary | None], None], row_hashes: RowHashes | None,
              threads: int, pool: Executor | None) -> int:
    rows = 0
    names = list(frame.schema.names)
    with _workers(pool, threads) as workers:
        for part, batch in enumerate(frame.blocks()):
            rows += batch.num_rows
            jobs = [workers.submit(_column_work, iter([batch.column(i)]), dtypes[name],
                                   lambda name=name: plans.get(name), i, part, hashing=row_hashes is not None)
                    for i, name in enumerate(names)]
            total: np.ndarray | None = None
            for name, job in zip(names, jobs, strict=True):
                summary, codes = job.result()
                fold(name, summary)
                if codes is not None:
                    total = codes if total is None else total + codes
            if row_hashes is not None and total is not None:
                row_hashes.add(total)
    return rows


# --------------------------------------------------------------------------------------------------------------
# The reference
# --------------------------------------------------------------------------------------------------------------

def sample_plans(frame: Frame) -> dict[str, ColumnPlan]:
    """The first pass's plans: every value up to `SAMPLE_SIZE`, else a bottom-k sample. When the row count is
    known, each chunk keeps only values whose key is below about SAMPLE_SIZE / rows, so the samples merged hold
    about SAMPLE_SIZE values in all instead of a chunk's every value (CSV: every chunk's, cut at each merge)."""
    rows = None if isinstance(frame, CsvFrame) else frame.rows
    below = 1.0 if rows is None else min(1.0, SAMPLE_MARGIN * SAMPLE_SIZE / max(rows, 1))
    return {f.name: ColumnPlan(capacity=SAMPLE_SIZE, sample=True, keep_below=below) for f in frame.schema
            if logical_type(f.type) in ("float", "int")}


def grids_from(first: FrameSummary, bins: int, threads: int = THREADS) -> dict[str, Grid]:
    def one(col: NumericSummary) -> Grid:
        assert col.values is not None
        values = col.values if col.complete else np.sort(col.values)  # complete values are kept sorted
        return grid_for(values, col.complete, bins, (col.minimum, col.maximum))

    numeric = {n: c for n, c in first.columns.items() if isinstance(c, NumericSummary) and c.values is not None}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(zip(numeric, pool.map(one, numeric.values()), strict=True))


def reference_from_passes(first: FrameSummary, grids: dict[str, Grid],
                          second: Callable[[dict[str, ColumnPlan]], FrameSummary], bins: int) -> ReferenceProfile:
    """Finish the reference from its first pass; `second(plans)` runs the counting pass when a sample was not
    the whole column (engine-independent: the local and the Spark engine pass their own scan)."""
    columns = dict(first.columns)
    need = {name: ColumnPlan(probes=g.probes) for name, g in grids.items()
            if not columns[name].complete}  # type: ignore[union-attr]
    if need:
        counted = second(need)
        for name in need:
            counted_col = counted.columns[name]
            assert isinstance(counted_col, NumericSummary)
            columns[name] = replace(counted_col, values=None)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        done = pool.map(lambda item: finish_reference(columns[item[0]], item[1]), grids.items())  # type: ignore[arg-type]
        columns.update(zip(grids, done, strict=True))
    summary = replace(first, columns=columns)
    return ReferenceProfile(summary=summary, grids=grids, bins=bins)


def reference_profile(frame: Frame, bins: int, threads: int = THREADS) -> ReferenceProfile:
    first = scan(frame, sample_plans(frame), hashes=False, threads=threads)
    grids = grids_from(first, bins, threads)

    def second(plans: dict[str, ColumnPlan]) -> FrameSummary:
        return scan(frame, plans, hashes=False, threads=threads, only=list(plans))

    return reference_from_passes(first, grids, second, bins)
