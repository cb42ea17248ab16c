"""Reading a time window of inference captures: Parquet under `<prefix>model=<name>/dt=<yyyy-MM-dd>/`, the layout
Firehose writes (runtime/serving/records.py has the record schema), from a local directory or `s3://`.

A streaming writer leaves many small objects, so the unit is the window, not "the newest object": every object of
every day partition the window touches is read, then records are kept by their own timestamp. Columns may differ
between objects written before and after a schema change; tables are unified (missing columns become null).

This reader is the replay and shadow gates' own; the capture work may add a shared one (the lead reconciles).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from runtime.aws import ClientFactory

#: Columns every capture record has (runtime.serving.records.CAPTURE_FIELDS and the prediction).
TIMESTAMP = "timestamp"
PARTITION_COLUMNS = ("model", "dt")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def last_hours(cls, hours: float, end: datetime | None = None) -> Window:
        end = end or datetime.now(UTC)
        return cls(end - timedelta(hours=hours), end)

    def days(self) -> list[date]:
        first, last = self.start.astimezone(UTC).date(), self.end.astimezone(UTC).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def describe(self) -> str:
        return f"{self.start.isoformat(timespec='seconds')} .. {self.end.isoformat(timespec='seconds')}"


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    if not bucket:
        raise UsageError(f"{uri!r} is not an S3 prefix; use s3://BUCKET/PREFIX/")
    return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _local_objects(root: Path, model: str, days: list[date]) -> Iterator[tuple[str, bytes]]:
    if not root.is_dir():
        raise UsageError(f"captures directory {root} does not exist; give the prefix holding model=<name>/dt=.../")
    for day in days:
        partition = root / f"model={model}" / f"dt={day.isoformat()}"
        if partition.is_dir():
            for path in sorted(p for p in partition.rglob("*") if p.is_file() and not p.name.startswith(".")):
                yield str(path), path.read_bytes()


def _s3_objects(uri: str, model: str, days: list[date], clients: ClientFactory) -> Iterator[tuple[str, bytes]]:
    bucket, prefix = split_s3(uri)
    s3 = clients("s3")
    for day in days:
        partition = f"{prefix}model={model}/dt={day.isoformat()}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition):
            for item in page.get("Contents", []):
                key = item["Key"]
                yield f"s3://{bucket}/{key}", s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def objects(uri: str, model: str, window: Window, clients: ClientFactory | None) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every object in the day partitions the window touches."""
    if uri.startswith("s3://"):
        if clients is None:
            from runtime.aws import boto3_clients

            clients = boto3_clients(None)
        return _s3_objects(uri, model, window.days(), clients)
    return _local_objects(Path(uri), model, window.days())


def _compute() -> Any:
    """pyarrow.compute, untyped (its functions are generated at import: the stubs do not list them)."""
    import pyarrow.compute

    return pyarrow.compute


def _epoch_ms(column: Any) -> Any:
    """A timestamp column (Parquet timestamp of any unit, as Firehose's conversion writes, or epoch ms) as int64
    epoch milliseconds."""
    import pyarrow as pa

    pc = _compute()

    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        return pc.cast(pc.cast(column, pa.timestamp("ms", tz="UTC")), pa.int64())
    if pa.types.is_integer(column.type):
        return pc.cast(column, pa.int64())
    raise UsageError(f"capture column `timestamp` has type {column.type}; expected a timestamp or epoch "
                     "milliseconds")


def _parse(name: str, data: bytes) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise UsageError(f"{name} is not a Parquet capture object ({exc}); the capture prefix holds only Firehose's "
                         "Parquet output") from exc
    if TIMESTAMP not in table.column_names:
        raise UsageError(f"{name} has no `timestamp` column: not a capture record ({', '.join(table.column_names)})")
    ms = _epoch_ms(table.column(TIMESTAMP))
    return table.set_column(table.column_names.index(TIMESTAMP), TIMESTAMP, ms)


def read_window(uri: str, model: str, window: Window, *, variants: tuple[str, ...] | None = None,
                clients: ClientFactory | None = None) -> tuple[pa.Table, int]:
    """Records of `model` captured within the window (and of the given variants), as one table with `timestamp` in
    epoch milliseconds; and how many objects were read."""
    import pyarrow as pa

    pc = _compute()
    tables = []
    count = 0
    for name, data in objects(uri, model, window, clients):
        count += 1
        table = _parse(name, data)
        mask = pc.and_(pc.greater_equal(table.column(TIMESTAMP), window.start_ms),
                       pc.less(table.column(TIMESTAMP), window.end_ms))
        if variants is not None and "variant" in table.column_names:
            mask = pc.and_(mask, pc.is_in(table.column("variant"), pa.array(list(variants))))
        tables.append(table.filter(mask))
    if not tables:
        return pa.table({TIMESTAMP: pa.array([], pa.int64())}), 0
    return pa.concat_tables(tables, promote_options="permissive"), count


def _all_objects(uri: str, clients: ClientFactory | None) -> Iterator[tuple[str, bytes]]:
    """Every object under a prefix (local directory or s3://), in key order."""
    if uri.startswith("s3://"):
        if clients is None:
            from runtime.aws import boto3_clients

            clients = boto3_clients(None)
        bucket, prefix = split_s3(uri)
        s3 = clients("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield f"s3://{bucket}/{item['Key']}", s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return
    root = Path(uri)
    if not root.is_dir():
        raise UsageError(f"labels directory {root} does not exist")
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        yield str(path), path.read_bytes()


def read_labels(uri: str, clients: ClientFactory | None = None) -> pd.DataFrame:
    """Ground truth under a prefix: CSV or Parquet files with `inference_id` and `label` (and optionally `row`),
    arriving late and in any number of files. A later file's label for the same id (and row) wins."""
    import pandas as pd

    frames = []
    for name, data in _all_objects(uri, clients):
        if name.endswith(".csv"):
            frame = pd.read_csv(io.BytesIO(data), dtype={"inference_id": str})
        elif name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(io.BytesIO(data))
        else:
            continue
        if not {"inference_id", "label"} <= set(frame.columns):
            raise UsageError(f"{name}: a labels file needs the columns inference_id and label (found "
                             f"{', '.join(map(str, frame.columns))})")
        frames.append(frame[[c for c in ("inference_id", "row", "label") if c in frame.columns]])
    if not frames:
        return pd.DataFrame({"inference_id": [], "label": []})
    labels = pd.concat(frames, ignore_index=True)
    labels["inference_id"] = labels["inference_id"].astype(str)
    keys = ["inference_id", "row"] if "row" in labels.columns else ["inference_id"]
    return labels.drop_duplicates(keys, keep="last")
