"""The Spark engine: the same per-column summaries as the local engine, computed by `mapInArrow` tasks over the
partitions of a Spark DataFrame and merged on the driver; `runtime.data.validate.compare` then decides with the
same code, so the report and the verdicts are the local engine's.

Each task folds its Arrow record batches with `runtime.data.summary` (the very functions the local engine runs
on Parquet row groups) into one partial per partition: column summaries, the partition's row hashes, its row
count, sent back as one pickled binary value. The driver merges the partials (sums of counts, merged samples),
which is exact whatever the partitioning; only the reference's first-pass sample (from which a large reference's
grid is drawn) depends on it, and the statistics then stay within the grid's stated bound.

Runs wherever a SparkSession can be had: `SparkSession.builder.getOrCreate()` returns the session of a
`spark-submit` job (EMR Serverless: runtime.data.emr), or starts a local one.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from runtime.data.duplicates import RowHashes, row_codes
from runtime.data.profile import ReferenceProfile
from runtime.data.scan import grids_from, reference_from_passes
from runtime.data.sources import DataInputError, first_line, is_s3
from runtime.data.summary import (
    SAMPLE_MARGIN,
    SAMPLE_SIZE,
    ColumnPlan,
    ColumnSummary,
    FrameSummary,
    logical_type,
    merge,
    summarize_chunk,
)

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per Arrow batch handed to a task (Spark's default of 10,000 makes per-batch overhead dominate).
ARROW_BATCH_ROWS = 1 << 18


def partial_summaries(batches: Iterator[pa.RecordBatch], plans: dict[str, ColumnPlan], names: list[str],
                      hashes: bool, partition: int) -> dict[str, Any]:
    """One partition's summaries: what every task returns (the same functions as the local engine)."""
    summaries: dict[str, ColumnSummary] = {}
    row_hashes = RowHashes()
    rows = 0
    for b, batch in enumerate(batches):
        rows += batch.num_rows
        total = None
        for i, name in enumerate(names):
            array = batch.column(name)
            dtype = logical_type(array.type)
            piece = summarize_chunk(array, dtype, plans.get(name), seed=(partition * 1_000_003 + i) * 1_009 + b)
            summaries[name] = piece if name not in summaries else merge(summaries[name], piece)
            if hashes:
                codes = row_codes(array, dtype, i)
                total = codes if total is None else total + codes
        if total is not None:
            row_hashes.add(total)
    return {"rows": rows, "columns": summaries, "hashes": row_hashes}


def _task(plans: dict[str, ColumnPlan], names: list[str], hashes: bool) -> Callable[[Iterator], Iterator]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        from pyspark import TaskContext

        context = TaskContext.get()
        partition = context.partitionId() if context is not None else 0
        part = partial_summaries(batches, plans, names, hashes, partition)
        yield pa.RecordBatch.from_pydict({"part": [pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)]})

    return run


class SparkEngine:
    """`Engine` on Spark (see runtime.data.validate.Engine)."""

    def __init__(self, session: Any | None = None) -> None:
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise DataInputError("the spark engine needs pyspark: pip install 'ml-cicd[spark]' (and a Java 17 "
                                     "runtime), or use --engine local") from exc
            self._session = SparkSession.builder.appName("mlcicd-data-validate").getOrCreate()
        self._session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
        return self._session

    def _frame(self, path: str) -> Any:
        from pathlib import Path

        from runtime.data.sources import locate

        # A prefix or a directory is a Parquet dataset (Spark reads every file under it).
        kind = "parquet" if path.endswith("/") or Path(path).is_dir() else locate(path)[1]
        uri = path if is_s3(path) or "://" in path else f"file://{_absolute(path)}"
        reader = self.session.read
        try:
            if kind == "parquet":
                return reader.parquet(uri)
            if kind == "csv":
                return reader.option("header", True).option("inferSchema", True).csv(uri)
        except Exception as exc:  # Spark raises its own AnalysisException family
            raise DataInputError(f"{path}: Spark cannot read it ({first_line(exc)})") from exc
        raise DataInputError(f"{path}: is a reference profile, not a data frame; pass Parquet or CSV data")

    def _summaries(self, df: Any, plans: dict[str, ColumnPlan], hashes: bool, source: str,
                   only: list[str] | None = None) -> FrameSummary:
        import pyarrow as pa
        from pyspark.sql.pandas.types import to_arrow_schema

        names = list(only or df.columns)
        frame = df.select(*names)
        schema = to_arrow_schema(frame.schema)
        rows = frame.mapInArrow(_task(plans, names, hashes), "part binary").collect()
        columns: dict[str, ColumnSummary] = {}
        row_hashes, total = RowHashes(), 0
        for row in rows:
            part = pickle.loads(row["part"])  # noqa: S301 - our own tasks' output
            total += part["rows"]
            if hashes:
                row_hashes.merge(part["hashes"])
            for name, col in part["columns"].items():
                columns[name] = col if name not in columns else merge(columns[name], col)
        for field in schema:  # an empty input has no batches: empty summaries of the right kind
            if field.name not in columns:
                columns[field.name] = summarize_chunk(pa.array([], type=field.type), logical_type(field.type),
                                                      plans.get(field.name))
        duplicates = (row_hashes.duplicates() if row_hashes.rows else (0, 0, 0)) if hashes else None
        return FrameSummary(source=source, rows=total, columns={n: columns[n] for n in names},
                            arrow_types={f.name: str(f.type) for f in schema}, duplicates=duplicates)

    def reference(self, path: str, bins: int) -> ReferenceProfile:
        df = self._frame(path)
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = to_arrow_schema(df.schema)
        # Each partition keeps only values whose key is below ~SAMPLE_SIZE / rows: the partials the driver
        # collects hold about SAMPLE_SIZE values per column in all, not SAMPLE_SIZE per partition.
        rows = df.count()
        below = min(1.0, SAMPLE_MARGIN * SAMPLE_SIZE / max(rows, 1))
        sample = {f.name: ColumnPlan(capacity=SAMPLE_SIZE, sample=True, keep_below=below) for f in schema
                  if logical_type(f.type) in ("float", "int")}
        first = self._summaries(df, sample, False, path)
        grids = grids_from(first, bins)
        return reference_from_passes(first, grids, lambda plans: self._summaries(df, plans, False, path,
                                                                                  list(plans)), bins)

    def current(self, path: str, plans: dict[str, ColumnPlan]) -> FrameSummary:
        return self._summaries(self._frame(path), plans, True, path)


def _absolute(path: str) -> str:
    from pathlib import Path

    return str(Path(path).resolve())
