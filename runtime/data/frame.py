"""Reading a data frame (Parquet or CSV, local or s3://) and reducing it to per-column summaries.

The hot path stays in Arrow and numpy: columns are read with pyarrow (string columns dictionary-encoded), numeric
columns become one sorted float64 array each (numpy's sort runs on two threads: it releases the GIL), categorical
columns become counts taken from the dictionary indices with `np.bincount`. Nothing is converted to pandas.
"""

from __future__ import annotations

import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from runtime.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

#: Threads used to sort columns (numpy releases the GIL while sorting). The target machine has two cores.
SORT_THREADS = max(1, min(4, os.cpu_count() or 1))

PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"

T = TypeVar("T")
R = TypeVar("R")


class DataInputError(UsageError):
    """A data file or profile that cannot be used (missing, unreadable, corrupt, wrong format): exit 2.
    The message names the path and says what to fix."""


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------

def is_s3(path: str | Path) -> bool:
    return str(path).startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise DataInputError(f"{uri}: not an S3 object URI; use s3://BUCKET/KEY")
    return bucket, key


def read_bytes(path: str | Path) -> bytes:
    """The whole file, from the local disk or S3 (boto3; `AWS_ENDPOINT_URL` and the usual credential chain)."""
    text = str(path)
    if is_s3(text):
        bucket, key = split_s3(text)
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise DataInputError(f"{text}: cannot read from S3 ({code}); check the bucket, key and the role's "
                                 "s3:GetObject permission") from exc
        except BotoCoreError as exc:
            raise DataInputError(f"{text}: cannot read from S3 ({exc})") from exc
    try:
        return Path(text).read_bytes()
    except FileNotFoundError as exc:
        raise DataInputError(f"{text}: no such file") from exc
    except IsADirectoryError as exc:
        raise DataInputError(f"{text}: is a directory; pass a Parquet or CSV file") from exc
    except OSError as exc:
        raise DataInputError(f"{text}: cannot read ({exc.strerror or exc})") from exc


def write_bytes(path: str | Path, data: bytes) -> None:
    text = str(path)
    if is_s3(text):
        bucket, key = split_s3(text)
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise DataInputError(f"{text}: cannot write to S3 ({exc})") from exc
        return
    target = Path(text)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        raise DataInputError(f"{text}: cannot write ({exc.strerror or exc})") from exc


def kind_of(head: bytes) -> str:
    """"parquet", "profile" (a zip archive: the npz profile) or "csv", from a file's first bytes."""
    if head[:4] == PARQUET_MAGIC:
        return "parquet"
    if head[:4] == ZIP_MAGIC:
        return "profile"
    return "csv"


@dataclass(frozen=True)
class Input:
    """A data or profile file: its path, its kind by content, and its bytes when it came from S3."""

    path: str
    kind: str
    data: bytes | None = None


def locate(path: str | Path) -> Input:
    """Find out what a path holds. S3 objects are downloaded once here (the kind comes from their content, so a
    profile's key may end in anything); local files are only opened to read their first bytes."""
    text = str(path)
    if is_s3(text):
        data = read_bytes(text)
        return Input(text, kind_of(data[:4]), data)
    try:
        with open(text, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError as exc:
        raise DataInputError(f"{text}: no such file") from exc
    except IsADirectoryError as exc:
        raise DataInputError(f"{text}: is a directory; pass a Parquet or CSV file") from exc
    except OSError as exc:
        raise DataInputError(f"{text}: cannot read ({exc.strerror or exc})") from exc
    return Input(text, kind_of(head))


class FrameSource(ABC):
    """Columns of one data frame, read on demand: a Parquet file column by column (so the whole table is never
    held in memory and two threads decode and sort different columns), or an Arrow table (CSV, tests)."""

    def __init__(self, source: str, schema: pa.Schema, rows: int) -> None:
        self.source = source
        self.schema = schema
        self.rows = rows

    @property
    def names(self) -> list[str]:
        return list(self.schema.names)

    @abstractmethod
    def column(self, name: str) -> pa.ChunkedArray:
        """One column, decoded."""


class TableSource(FrameSource):
    def __init__(self, table: pa.Table, source: str) -> None:
        super().__init__(source, table.schema, table.num_rows)
        self.table = table

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)


class ParquetSource(FrameSource):
    def __init__(self, path: str, data: bytes | None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path, self.data = path, data
        self._local = threading.local()
        meta = pq.ParquetFile(self._raw()).metadata
        schema = meta.schema.to_arrow_schema()
        self.strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        # Dictionary-encoded as read (what read_dictionary gives), so the schema says what column() returns.
        for name in self.strings:
            i = schema.get_field_index(name)
            schema = schema.set(i, schema.field(i).with_type(pa.dictionary(pa.int32(), schema.field(i).type)))
        super().__init__(path, schema, meta.num_rows)

    def _raw(self) -> Any:
        import pyarrow as pa

        return pa.BufferReader(self.data) if self.data is not None else self.path

    def _file(self) -> Any:
        handle = getattr(self._local, "file", None)
        if handle is None:
            import pyarrow.parquet as pq

            handle = self._local.file = pq.ParquetFile(self._raw(), read_dictionary=self.strings or None)
        return handle

    def column(self, name: str) -> pa.ChunkedArray:
        import pyarrow as pa

        try:
            return self._file().read(columns=[name], use_threads=False).column(0)
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
            raise DataInputError(f"{self.path}: not a readable Parquet file (column {name!r}: "
                                 f"{first_line(exc)})") from exc


def open_frame(source: str | Path | Input) -> FrameSource:
    """Open a Parquet or CSV file (local or s3://). Errors name the path."""
    import pyarrow as pa

    inp = source if isinstance(source, Input) else locate(source)
    text, data = inp.path, inp.data
    try:
        if inp.kind == "parquet":
            return ParquetSource(text, data)
        if inp.kind == "csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(pa.BufferReader(data) if data is not None else text,
                                   convert_options=pacsv.ConvertOptions(
                                       auto_dict_encode=True, auto_dict_max_cardinality=1_000_000,
                                       strings_can_be_null=True))
            return TableSource(table, text)
    except DataInputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
        what = "Parquet" if inp.kind == "parquet" else "CSV"
        raise DataInputError(f"{text}: not a readable {what} file ({first_line(exc)})") from exc
    raise DataInputError(f"{text}: is a reference profile, not a data frame; pass Parquet or CSV data")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------------------------------------------------
# Column summaries
# --------------------------------------------------------------------------------------------------------------

def logical_type(arrow_type: pa.DataType) -> str:
    """The schema vocabulary of the stack config: float, int, bool, string, datetime (or other:<arrow type>)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
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


@dataclass
class NumericSummary:
    """A numeric column: its non-missing values sorted (all of them, or order statistics with exact counts)."""

    dtype: str
    rows: int
    missing: int
    """Nulls and NaN."""
    values: np.ndarray
    counts: np.ndarray | None = None
    """None: `values` is the whole sorted column. Else counts[j] = number of values <= values[j] (a sketch)."""
    ranks: np.ndarray | None = None
    """For a sketch: the 0-based rank of each stored value in the whole sorted column."""
    n: int = 0
    """Non-missing values."""
    kind: str = "numeric"

    @property
    def exact(self) -> bool:
        return self.counts is None

    @property
    def minimum(self) -> float:
        return float(self.values[0]) if self.n else math.nan

    @property
    def maximum(self) -> float:
        return float(self.values[-1]) if self.n else math.nan

    def count_below(self, bound: float) -> int:
        """Values < bound (exact for a whole column; for a sketch, exact at stored points only)."""
        if self.counts is None:
            return int(np.searchsorted(self.values, bound, side="left"))
        j = int(np.searchsorted(self.values, bound, side="left"))
        return 0 if j == 0 else int(self.counts[j - 1])

    def count_above(self, bound: float) -> int:
        if self.counts is None:
            return int(self.n - np.searchsorted(self.values, bound, side="right"))
        j = int(np.searchsorted(self.values, bound, side="right"))
        return self.n - (int(self.counts[j - 1]) if j else 0)

    @property
    def is_constant(self) -> bool:
        return self.n >= 2 and self.values[0] == self.values[-1]


@dataclass
class CategoricalSummary:
    """A string, dictionary or boolean column as counts per category."""

    dtype: str
    rows: int
    missing: int
    categories: list[str]
    counts: np.ndarray
    kind: str = "categorical"

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def is_constant(self) -> bool:
        return self.n >= 2 and int(np.count_nonzero(self.counts)) == 1


@dataclass
class OtherSummary:
    """A column checked for schema and missing values only (datetime and nested types)."""

    dtype: str
    rows: int
    missing: int
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
    arrow_types: dict[str, str] = field(default_factory=dict)
    duplicates: int | None = None
    """Duplicate rows (rows equal to an earlier row); None when not computed."""
    timings: dict[str, float] = field(default_factory=dict)


def parallel_map(fn: Callable[[T], R], items: Iterable[T], threads: int = SORT_THREADS) -> list[R]:
    work = list(items)
    if threads <= 1 or len(work) <= 1:
        return [fn(x) for x in work]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, work))


def _fill_numeric(column: pa.ChunkedArray, out: np.ndarray) -> None:
    """Copy the column into `out` (float64, nulls as NaN), chunk by chunk."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    offset = 0
    for chunk in column.chunks:
        size = len(chunk)
        np.copyto(out[offset:offset + size], chunk.to_numpy(zero_copy_only=False), casting="unsafe")
        offset += size


def _numeric_values(column: pa.ChunkedArray) -> np.ndarray:
    """A new float64 array with the column's values, nulls as NaN."""
    out = np.empty(len(column), dtype=np.float64)
    _fill_numeric(column, out)
    return out


def summarize_numeric(column: pa.ChunkedArray, dtype: str, out: np.ndarray | None = None) -> NumericSummary:
    """Sort the column's values into `out` (a row of the frame's block, see `summarize`) or a new array."""
    values = out if out is not None else np.empty(len(column), dtype=np.float64)
    _fill_numeric(column, values)
    values.sort()
    n = int(np.searchsorted(values, np.nan, side="left"))  # NaN sorts last
    return NumericSummary(dtype=dtype, rows=len(values), missing=len(values) - n, values=values[:n], n=n)


def category_counts(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray, int]:
    """(categories, counts, missing) from the dictionary indices; chunks may carry different dictionaries."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.string()).dictionary_encode()
    elif not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    totals: dict[str, int] = {}
    missing = 0
    for chunk in column.chunks:
        dictionary = chunk.dictionary.to_pylist()
        indices = chunk.indices
        size = len(dictionary)
        if indices.null_count:
            codes = pc.fill_null(indices, size).to_numpy(zero_copy_only=False)
        else:
            codes = indices.to_numpy(zero_copy_only=False)
        binned = np.bincount(codes, minlength=size + 1)
        missing += int(binned[size:].sum())
        for value, count in zip(dictionary, binned[:size].tolist(), strict=True):
            if count:
                key = "" if value is None else str(value)
                totals[key] = totals.get(key, 0) + count
    categories = sorted(totals)
    return categories, np.array([totals[c] for c in categories], dtype=np.int64), missing


def summarize_categorical(column: pa.ChunkedArray, dtype: str) -> CategoricalSummary:
    categories, counts, missing = category_counts(column)
    return CategoricalSummary(dtype=dtype, rows=len(column), missing=missing, categories=categories, counts=counts)


def summarize_column(column: pa.ChunkedArray, out: np.ndarray | None = None) -> ColumnSummary:
    dtype = logical_type(column.type)
    if dtype in ("float", "int"):
        return summarize_numeric(column, dtype, out)
    if dtype in ("string", "bool"):
        return summarize_categorical(column, dtype)
    return OtherSummary(dtype=dtype, rows=len(column), missing=column.null_count)


def _block(columns: int, rows: int) -> np.ndarray:
    """One writable float64 block of columns x rows from Arrow's memory pool.

    In a fresh process most of the cost of sorting a million-row frame is first-touch page faults on the memory
    the sorted copies go to (measured on this 2-core VM: 0.17-0.37 s of system time for 160 MB from `np.empty`,
    which asks for transparent huge pages and may wait for compaction, against 0.02-0.05 s for the same block
    from Arrow's allocator, which also recycles the pages the Parquet decoder freed).
    """
    import pyarrow as pa

    buffer = pa.allocate_buffer(columns * rows * 8)
    return np.frombuffer(buffer, dtype=np.float64).reshape(columns, rows)


def summarize(frame: FrameSource) -> FrameSummary:
    """Summaries of every column, spread over the threads (numeric columns, the expensive sorts, first).

    The sorted numeric columns share one preallocated block (one row per column), see `_block`.
    """
    names = frame.names
    types = {f.name: f.type for f in frame.schema}
    numeric = [n for n in names if logical_type(types[n]) in ("float", "int")]
    block = _block(len(numeric), frame.rows) if numeric else None
    rows = {name: i for i, name in enumerate(numeric)}
    order = numeric + [n for n in names if n not in rows]

    def work(name: str) -> ColumnSummary:
        out = block[rows[name]] if block is not None and name in rows else None
        return summarize_column(frame.column(name), out)

    results = dict(zip(order, parallel_map(work, order), strict=True))
    return FrameSummary(source=frame.source, rows=frame.rows, columns={n: results[n] for n in names},
                        arrow_types={n: str(types[n]) for n in names})


# --------------------------------------------------------------------------------------------------------------
# Duplicate rows
# --------------------------------------------------------------------------------------------------------------

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    return x


def _row_codes(column: pa.ChunkedArray) -> np.ndarray:
    """A uint64 code per row such that equal values (nulls included) get equal codes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = logical_type(column.type)
    if dtype in ("float", "int"):
        values = _numeric_values(column)
        values += 0.0  # -0.0 == 0.0
        values[np.isnan(values)] = np.nan  # one NaN bit pattern (nulls are NaN here too)
        return values.view(np.uint64)
    if pa.types.is_dictionary(column.type):
        column = column.unify_dictionaries()
        indices = pa.chunked_array([c.indices for c in column.chunks], type=column.type.index_type)
    else:
        indices = column.dictionary_encode().unify_dictionaries()
        indices = pa.chunked_array([c.indices for c in indices.chunks], type=pa.int32())
    filled = pc.fill_null(pc.cast(indices, pa.int64()), -1)
    return filled.to_numpy().astype(np.int64).view(np.uint64)


def duplicate_rows(frame: FrameSource, summary: FrameSummary) -> int:
    """Rows equal to an earlier row, by a 64-bit hash of each row (a false match has probability about
    rows^2 / 2^65: 3e-8 at a million rows).

    Shortcut: a numeric column without missing values and without ties proves every row distinct; on continuous
    data the check then costs one comparison pass over a sorted column.
    """
    if frame.rows < 2:
        return 0
    for col in summary.columns.values():
        if isinstance(col, NumericSummary) and col.exact and col.missing == 0 and col.n >= 2 \
                and not bool(np.any(col.values[1:] == col.values[:-1])):
            return 0
    hashed = np.zeros(frame.rows, dtype=np.uint64)
    for name in frame.names:
        hashed *= _GOLDEN
        hashed += _splitmix(_row_codes(frame.column(name)))
    return int(frame.rows - np.unique(hashed).shape[0])


def timed(timings: dict[str, float], key: str) -> _Timer:
    return _Timer(timings, key)


class _Timer:
    def __init__(self, timings: dict[str, float], key: str) -> None:
        self.timings, self.key = timings, key

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.key] = round(self.timings.get(self.key, 0.0) + time.perf_counter() - self.t0, 4)
