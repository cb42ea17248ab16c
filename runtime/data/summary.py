"""Mergeable per-column summaries: what the gate keeps of a column, computed chunk by chunk and added up.

The same functions run in the local engine (threads over Parquet row groups) and inside Spark tasks
(`mapInArrow` over partitions): a chunk is a pyarrow array, a summary is a small object, and `merge` is
associative and commutative, so any split of the rows gives the same counts.

- Numeric: rows, missing (null or NaN), min, max; counts of values below and at-or-below each *probe* point
  (the reference profile's grid: a sum merges them exactly); the sorted values themselves while there are at most
  `capacity` of them (exact small-sample statistics), or, for the reference's first pass, a uniform random sample
  of `capacity` values (bottom-k of random keys, mergeable) from which the grid is drawn.
- Categorical (strings, dictionaries, booleans): exact counts per category.
- Other (datetime, nested): rows and missing only.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from runtime.data.arrow import dictionary_codes, float_values
from runtime.data.ks import counts_at

if TYPE_CHECKING:
    import pyarrow as pa

#: Non-missing values kept whole per numeric column of the current data (and stored whole in a profile).
VALUES_MAX = 65_536
#: Values sampled per numeric column in the reference's first pass (the grid's quantiles come from them).
SAMPLE_SIZE = 1 << 20
#: Margin of the per-chunk sampling threshold over SAMPLE_SIZE / rows (the global bottom-k needs about 1.0;
#: falling short would only make the sample smaller, never biased).
SAMPLE_MARGIN = 1.1


def logical_type(arrow_type: pa.DataType) -> str:
    """The schema vocabulary of the stack config: float, int, bool, string, datetime (or other:<arrow type>)."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return f"other:{t}"


def kind_of_type(dtype: str) -> str:
    return "numeric" if dtype in ("float", "int") else "categorical" if dtype in ("string", "bool") else "other"


@dataclass(frozen=True)
class ColumnPlan:
    """What to keep of one numeric column: counts at `probes`; values up to `capacity` (a random sample beyond
    when `sample`, else none)."""

    probes: np.ndarray | None = None
    capacity: int = VALUES_MAX
    sample: bool = False
    keep_below: float = 1.0
    """Sampling: keep only values whose random key is below this (about capacity / total rows, with a margin), so
    that partial samples stay small before the bottom-`capacity` cut (Spark partitions sent to the driver)."""


@dataclass
class NumericSummary:
    dtype: str
    rows: int = 0
    missing: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    values: np.ndarray | None = None
    """Every non-missing value, sorted, or (when `sampled`) a uniform sample of them in no particular order (sorted
    once, when the grid is drawn from it); None when not kept."""
    keys: np.ndarray | None = None
    """Random keys of a sample (aligned with values); the `capacity` smallest keys survive a merge."""
    sampled: bool = False
    below: np.ndarray | None = None
    """Values < each probe (the plan's probes)."""
    at_or_below: np.ndarray | None = None
    tie_free: bool = False
    """One chunk, no missing value and no value twice: every row of the frame is distinct."""
    plan: ColumnPlan = field(default_factory=ColumnPlan)
    kind: str = "numeric"

    @property
    def n(self) -> int:
        return self.rows - self.missing

    @property
    def complete(self) -> bool:
        """`values` holds every non-missing value."""
        return self.values is not None and not self.sampled


@dataclass
class CategoricalSummary:
    dtype: str
    rows: int = 0
    missing: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    kind: str = "categorical"

    @property
    def n(self) -> int:
        return self.rows - self.missing

    def arrays(self) -> tuple[list[str], np.ndarray]:
        names = sorted(self.counts)
        return names, np.array([self.counts[c] for c in names], dtype=np.int64)


@dataclass
class OtherSummary:
    dtype: str
    rows: int = 0
    missing: int = 0
    kind: str = "other"

    @property
    def n(self) -> int:
        return self.rows - self.missing


ColumnSummary = NumericSummary | CategoricalSummary | OtherSummary


@dataclass
class FrameSummary:
    source: str
    rows: int
    columns: dict[str, ColumnSummary]
    arrow_types: dict[str, str]
    duplicates: tuple[int, int, int] | None = None
    """(estimate, lower, upper) rows equal to an earlier row; None when not computed."""


# --------------------------------------------------------------------------------------------------------------
# One chunk
# --------------------------------------------------------------------------------------------------------------

_scratch = threading.local()


def _scratch_for(rows: int) -> np.ndarray:
    """A per-thread float64 buffer reused chunk after chunk: fresh memory for every chunk costs page faults
    (the kernel zeroing each page) that took a third of the time of a million-row column on this machine."""
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None or buffer.size < rows:
        buffer = _scratch.buffer = np.empty(max(rows, 1 << 16), dtype=np.float64)
    return buffer


def kept(values: np.ndarray) -> np.ndarray:
    """A copy of values to keep, from Arrow's memory pool (which recycles the pages the decoder freed)."""
    import pyarrow as pa

    out = np.frombuffer(pa.allocate_buffer(max(values.size, 1) * 8), dtype=np.float64)[:values.size]
    out[:] = values
    return out


def sorted_chunk(array: pa.Array) -> tuple[np.ndarray, int]:
    """(the chunk's non-missing values sorted, its row count). The values live in this thread's scratch buffer:
    use them before the thread takes its next chunk."""
    x = float_values(array, _scratch_for(len(array)))
    x.sort()  # NaN sorts last
    n = int(np.searchsorted(x, np.nan, side="left"))
    return x[:n], len(x)


def summarize_sorted(v: np.ndarray, rows: int, dtype: str, plan: ColumnPlan, seed: int = 0) -> NumericSummary:
    """The summary of a numeric chunk of `rows` rows whose non-missing values, sorted, are `v`."""
    n = v.size
    out = NumericSummary(dtype=dtype, rows=rows, missing=rows - n, plan=plan)
    if n:
        out.minimum, out.maximum = float(v[0]), float(v[-1])
    if plan.probes is not None:
        out.below, out.at_or_below = counts_at(v, plan.probes)
    out.tie_free = n == rows and n > 1 and not bool(np.any(v[1:] == v[:-1]))
    if n <= plan.capacity and plan.keep_below >= 1.0:
        out.values = kept(v)
    elif plan.sample:
        keys = np.random.default_rng(seed).random(n)
        keep = np.flatnonzero(keys < plan.keep_below)
        if keep.size > plan.capacity:
            keep = np.sort(keep[np.argpartition(keys[keep], plan.capacity)[:plan.capacity]])
        out.values, out.keys, out.sampled = v[keep], keys[keep], True  # ascending positions: values stay sorted
    return out


def summarize_numeric(array: pa.Array, dtype: str, plan: ColumnPlan, seed: int = 0) -> NumericSummary:
    v, rows = sorted_chunk(array)
    return summarize_sorted(v, rows, dtype, plan, seed)


#: Codes counted at a time: `np.bincount` copies its input to intp, and a block's copy is recycled memory, not
#: a fresh 8 MB (page faults) per column.
COUNT_BLOCK = 1 << 16


def summarize_categorical(array: pa.Array, dtype: str) -> CategoricalSummary:
    dictionary, codes, valid = dictionary_codes(array)
    binned = np.zeros(len(dictionary), dtype=np.int64)
    for start in range(0, codes.size, COUNT_BLOCK):
        block = codes[start:start + COUNT_BLOCK]
        binned += np.bincount(block if valid is None else block[valid[start:start + COUNT_BLOCK]],
                              minlength=len(dictionary))
    counts: dict[str, int] = {}
    for value, count in zip(dictionary, binned.tolist(), strict=True):
        if count:
            key = "" if value is None else str(value)
            counts[key] = counts.get(key, 0) + count
    return CategoricalSummary(dtype=dtype, rows=len(array), missing=array.null_count, counts=counts)


def summarize_chunk(array: pa.Array, dtype: str, plan: ColumnPlan | None, seed: int = 0) -> ColumnSummary:
    kind = kind_of_type(dtype)
    if kind == "numeric":
        return summarize_numeric(array, dtype, plan or ColumnPlan(), seed)
    if kind == "categorical":
        return summarize_categorical(array, dtype)
    return OtherSummary(dtype=dtype, rows=len(array), missing=array.null_count)


# --------------------------------------------------------------------------------------------------------------
# Merging
# --------------------------------------------------------------------------------------------------------------

def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return None if a is None or b is None else a + b


def _merge_values(a: NumericSummary, b: NumericSummary,
                  plan: ColumnPlan) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """(values, keys, sampled) of the union: exact while it fits, else a bottom-k sample or nothing."""
    if a.values is None or b.values is None:
        return None, None, False
    values = np.concatenate([a.values, b.values])
    if not (a.sampled or b.sampled) and values.size <= plan.capacity:
        values.sort()
        return values, None, False
    if not plan.sample:
        return None, None, False
    rng = np.random.default_rng([a.rows, b.rows, values.size])
    keys = np.concatenate([a.keys if a.keys is not None else rng.random(a.values.size),
                           b.keys if b.keys is not None else rng.random(b.values.size)])
    if values.size > plan.capacity:
        keep = np.argpartition(keys, plan.capacity)[:plan.capacity]
        values, keys = values[keep], keys[keep]
    return values, keys, True


def merge(a: ColumnSummary, b: ColumnSummary) -> ColumnSummary:
    """The summary of the union of two disjoint sets of rows of one column."""
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        values, keys, sampled = _merge_values(a, b, a.plan)
        return NumericSummary(dtype=a.dtype, rows=a.rows + b.rows, missing=a.missing + b.missing,
                              minimum=min(a.minimum, b.minimum), maximum=max(a.maximum, b.maximum),
                              values=values, keys=keys, sampled=sampled,
                              below=_add(a.below, b.below), at_or_below=_add(a.at_or_below, b.at_or_below),
                              tie_free=False, plan=a.plan)
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        counts = dict(a.counts)
        for key, count in b.counts.items():
            counts[key] = counts.get(key, 0) + count
        return CategoricalSummary(dtype=a.dtype, rows=a.rows + b.rows, missing=a.missing + b.missing,
                                  counts=counts)
    if isinstance(a, OtherSummary) and isinstance(b, OtherSummary):
        return OtherSummary(dtype=a.dtype, rows=a.rows + b.rows, missing=a.missing + b.missing)
    raise ValueError(f"cannot merge a {a.kind} summary with a {b.kind} one")
