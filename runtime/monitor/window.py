"""A time window of inference captures, read as one Arrow table (pyarrow datasets, S3 or a local directory).

Firehose writes `<prefix>model=<model>/dt=<yyyy-MM-dd>/<objects>` (Parquet against the capture table; see
docs/serving.md). A streaming writer leaves many small objects, so the unit is a time window, never "the newest
object": only the `dt=` partitions that overlap the window are listed, every object in them is read as one
dataset (schemas unified, so a column added by a newer model version is null in older objects), and rows are kept
by their `timestamp`. Feature columns get the model's names back (`records.original_names`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from runtime.errors import UsageError
from runtime.serving.records import original_names


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    table: pa.Table
    """Every captured row in [start, end), all statuses; feature columns under the model's names."""
    files: int

    @property
    def served(self) -> pa.Table:
        """The rows answered with 200 (the ones with a prediction and valid features)."""
        import pyarrow.dataset as ds

        if self.table.num_rows == 0:
            return self.table
        return self.table.filter(ds.field("status") == 200)

    def describe(self) -> str:
        return f"[{self.start.isoformat(timespec='minutes')}, {self.end.isoformat(timespec='minutes')})"


def bounds(hours: float, end: datetime | None = None) -> tuple[datetime, datetime]:
    end = (end or datetime.now(UTC)).astimezone(UTC)
    return end - timedelta(hours=hours), end


def filesystem(location: str) -> tuple[Any, str]:
    """(pyarrow filesystem, root path ending in /) of `s3://bucket/prefix/` or a local directory. The S3 endpoint
    follows AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL like the SDKs (local stand-ins)."""
    from pyarrow import fs

    root = location if location.endswith("/") else location + "/"
    if not root.startswith("s3://"):
        return fs.LocalFileSystem(), os.path.abspath(root) + "/"
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    options: dict[str, Any] = {"region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")}
    if endpoint:
        parts = urlsplit(endpoint)
        options.update(endpoint_override=parts.netloc or parts.path, scheme=parts.scheme or "https")
    return fs.S3FileSystem(**{k: v for k, v in options.items() if v}), root.removeprefix("s3://")


def capture_files(location: str, model: str, start: datetime, end: datetime) -> tuple[Any, list[str]]:
    """The objects of the `dt=` partitions overlapping [start, end)."""
    from pyarrow import fs as pafs

    filesystem_, root = filesystem(location)
    files: list[str] = []
    day = start.date()
    while day <= end.date():
        selector = pafs.FileSelector(f"{root}model={model}/dt={day:%Y-%m-%d}", recursive=True,
                                     allow_not_found=True)
        try:
            infos = filesystem_.get_file_info(selector)
        except OSError as exc:
            raise UsageError(f"cannot list captures under {location}model={model}/dt={day:%Y-%m-%d}/: {exc}; "
                             "check the bucket, the prefix and the credentials") from None
        files += sorted(i.path for i in infos if i.type == pafs.FileType.File
                        and not os.path.basename(i.path).startswith((".", "_")))
        day += timedelta(days=1)
    return filesystem_, files


def read_window(location: str, model: str, start: datetime, end: datetime,
                features: Sequence[str] = ()) -> Window:
    """The captures of `model` in [start, end) under `location` (`s3://bucket/<inference prefix>` or a
    directory). `features`: the model's input names, to restore names the Glue table had to change."""
    import pyarrow.dataset as ds

    filesystem_, files = capture_files(location, model, start, end)
    if not files:
        return Window(start, end, pa.table({}), 0)
    try:
        factory = ds.FileSystemDatasetFactory(filesystem_, files, ds.ParquetFileFormat(),
                                              ds.FileSystemFactoryOptions())
        dataset = factory.finish(factory.inspect(promote_options="permissive", fragments=None))
        kind = dataset.schema.field("timestamp").type
        zone = getattr(kind, "tz", None)
        low, high = (t if zone else t.replace(tzinfo=None) for t in (start, end))
        stamp = ds.field("timestamp")
        table = dataset.to_table(filter=(stamp >= pa.scalar(low, type=kind)) & (stamp < pa.scalar(high, type=kind)))
    except (pa.ArrowInvalid, OSError, KeyError) as exc:
        raise UsageError(f"captures under {location}model={model}/ are not readable capture Parquet "
                         f"({str(exc).splitlines()[0]})") from None
    names = original_names(features)
    return Window(start, end, table.rename_columns([names.get(n, n) for n in table.column_names]), len(files))
