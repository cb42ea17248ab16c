"""The local engine: summaries of files read on this machine (runtime.data.scan), and both sides in one pipeline
when the reference is small enough, so that the current data is decoded and sorted while the reference is still
being summarised.

`reference_profile` then `scan` finishes the whole reference (first pass, grids, counts on them) before the
current side starts, and each step ends with a core idle while the other finishes the last chunk. When the
reference is one chunk per column (a column-addressable frame of one part of at most `BATCH_ROWS` rows: a
validation set of up to a million rows in one Parquet row group), each reference column is finished, grid and
counts, by the task that sorted it, straight from the sorted values (no copy kept for a second step), and the
current side's task for a column waits only for that column's grid, after it has decoded and sorted its own
chunk. Both sides' tasks share one pool, the reference's queued first: a current task can only wait for a
reference task that a worker has already taken, so the pool cannot deadlock, and no barrier separates the sides.
The result equals `reference_profile` then `scan` (tests/test_data_stats.py); other references take that path.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from runtime.data.profile import Grid, ReferenceProfile, column_plan, grid_for
from runtime.data.scan import THREADS, reference_profile, scan
from runtime.data.sources import BATCH_ROWS, ColumnFrame, CsvFrame, Frame, open_frame
from runtime.data.summary import (
    SAMPLE_SIZE,
    VALUES_MAX,
    ColumnPlan,
    ColumnSummary,
    FrameSummary,
    kind_of_type,
    logical_type,
    sorted_chunk,
    summarize_chunk,
    summarize_sorted,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from runtime.config.gates import DataValidationConfig

#: The current side's plan of a column, given the reference's grid of it (None: not numeric in the reference).
PlanOf = Callable[[str, Grid | None], ColumnPlan | None]


def single_chunk(frame: Frame) -> TypeGuard[ColumnFrame]:
    """Every column of `frame` is one chunk, small enough to be its own complete sample."""
    return (not isinstance(frame, CsvFrame) and frame.parts == 1
            and 0 < frame.rows <= min(BATCH_ROWS, SAMPLE_SIZE))


@dataclass
class BothSides:
    reference: ReferenceProfile
    current: FrameSummary | None
    """None when the reference could not be summarised together with the current data."""
    reference_s: float
    """Seconds from the start until the last reference column was finished."""
    current_s: float
    """Seconds from then until the current side was finished."""


def _whole_column(frame: ColumnFrame, name: str) -> pa.Array:
    arrays = list(frame.chunks(0, name))
    if len(arrays) == 1:
        return arrays[0]
    import pyarrow as pa

    return pa.concat_arrays(arrays)


def reference_column(frame: ColumnFrame, name: str, dtype: str, bins: int) -> tuple[ColumnSummary, Grid | None]:
    """One finished reference column (what `finish_reference` stores) and, when numeric, its grid."""
    array = _whole_column(frame, name)
    if kind_of_type(dtype) != "numeric":
        return summarize_chunk(array, dtype, None), None
    v, rows = sorted_chunk(array)
    grid = grid_for(v, True, bins, (float(v[0]), float(v[-1])) if v.size else (math.inf, -math.inf))
    return summarize_sorted(v, rows, dtype, ColumnPlan(probes=grid.probes, capacity=VALUES_MAX)), grid


class _GridPlans:
    """The current side's plans, each made as soon as its column's reference grid is ready."""

    def __init__(self, jobs: dict[str, Future[tuple[ColumnSummary, Grid | None]]], plan_of: PlanOf) -> None:
        self.jobs, self.plan_of = jobs, plan_of

    def get(self, name: str, /) -> ColumnPlan | None:
        job = self.jobs.get(name)
        return self.plan_of(name, job.result()[1] if job is not None else None)


def summarize_both(reference: ColumnFrame, current: Frame, bins: int, plan_of: PlanOf, *,
                   threads: int = THREADS) -> BothSides:
    """The reference's profile (`single_chunk(reference)` must hold) and the current side's summary, at once."""
    started = time.perf_counter()
    names = list(reference.schema.names)
    dtypes = {f.name: logical_type(f.type) for f in reference.schema}
    finished: list[float] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        jobs: dict[str, Future[tuple[ColumnSummary, Grid | None]]] = {}
        for name in sorted(names, key=lambda n: kind_of_type(dtypes[n]) != "numeric"):  # grids first
            jobs[name] = pool.submit(reference_column, reference, name, dtypes[name], bins)
            jobs[name].add_done_callback(lambda _: finished.append(time.perf_counter()))
        cur = scan(current, _GridPlans(jobs, plan_of), hashes=True, threads=threads, pool=pool)
        done = {name: jobs[name].result() for name in names}
    ended = time.perf_counter()
    summary = FrameSummary(source=reference.path, rows=reference.rows, columns={n: done[n][0] for n in names},
                           arrow_types={f.name: str(f.type) for f in reference.schema})
    grids = {n: grid for n in names if (grid := done[n][1]) is not None}
    reference_done = max(finished, default=started)
    return BothSides(reference=ReferenceProfile(summary=summary, grids=grids, bins=bins), current=cur,
                     reference_s=reference_done - started, current_s=ended - reference_done)


class LocalEngine:
    """`runtime.data.validate.Engine` on this machine: files streamed on `THREADS` threads."""

    def reference(self, path: str, bins: int) -> ReferenceProfile:
        return reference_profile(open_frame(path), bins)

    def current(self, path: str, plans: dict[str, ColumnPlan]) -> FrameSummary:
        return scan(open_frame(path), plans, hashes=True)

    def summarize(self, reference: str, current: Callable[[], str], bins: int,
                  config: Callable[[], DataValidationConfig]) -> BothSides:
        """The reference's profile, and the current data's summary at once when the reference is one chunk per
        column (`current()` gives the current data's path, `config()` the config, which the current side waits
        for only for its plans)."""
        frame = open_frame(reference)
        if not single_chunk(frame):
            started = time.perf_counter()
            profile = reference_profile(frame, bins)
            return BothSides(reference=profile, current=None, reference_s=time.perf_counter() - started,
                             current_s=0.0)
        return summarize_both(frame, open_frame(current()), bins, lambda name, grid: column_plan(name, grid, config()))
