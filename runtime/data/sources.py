"""Where data comes from: local files or S3 objects, Parquet or CSV, read as a stream of column chunks.

Nothing here holds a whole file in memory. Parquet is read one (row group, column) at a time, in batches of at
most `BATCH_ROWS` rows; S3 objects are opened through pyarrow's S3 filesystem (ranged reads: a Parquet footer,
then the column chunks asked for), never downloaded whole. CSV is parsed block by block. Only reference profiles
(a few MB) are read whole.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runtime.errors import AwsUnavailable, CredentialsError, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per decoded chunk: bounds the memory of one column in flight (8 MB as float64).
BATCH_ROWS = 1 << 20
#: CSV block size in bytes (each block becomes one batch of all its columns).
CSV_BLOCK_BYTES = 64 << 20

PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"


class DataInputError(UsageError):
    """A data file or profile that cannot be used (missing, unreadable, corrupt, wrong format): exit 2.
    The message names the path and says what to fix."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_s3(path: str | Path) -> bool:
    return str(path).startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise DataInputError(f"{uri}: not an S3 object URI; use s3://BUCKET/KEY")
    return bucket, key


def _has_credentials() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


def _check_credentials(uri: str) -> None:
    """pyarrow's S3 client goes on without credentials and fails later as if S3 were down: ask botocore's chain (the
    one every other AWS call of the runtime uses) first, so a missing credential is exit 2, not an outage."""
    if not _has_credentials():
        raise CredentialsError(f"{uri}: no AWS credentials found to read or write it")


def s3_filesystem(uri: str) -> Any:
    """pyarrow's S3 filesystem for `uri` with the usual credential chain; `AWS_ENDPOINT_URL` (moto, MinIO) is
    honoured."""
    from pyarrow import fs

    _check_credentials(uri)

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    kwargs: dict[str, Any] = {"region": region} if region else {}
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return fs.S3FileSystem(**kwargs)


#: What pyarrow's S3 client (the AWS C++ SDK over curl) says when S3 did not answer, as opposed to refusing.
_S3_OUTAGE = ("NETWORK_CONNECTION", "curlCode", "REQUEST_TIMEOUT", "SERVICE_UNAVAILABLE", "SLOW_DOWN")


def _os_error(text: str, exc: OSError) -> DataInputError | AwsUnavailable:
    """The error for a failed read or write: an outage when S3 did not answer (exit 3, runtime/errors.py), else a
    bad input naming the path (exit 2)."""
    if is_s3(text) and any(marker in str(exc) for marker in _S3_OUTAGE):
        return AwsUnavailable(f"S3 could not be reached for {text} ({first_line(exc)})")
    if isinstance(exc, FileNotFoundError):
        if is_s3(text):
            return DataInputError(f"{text}: no such S3 object; check the bucket and key")
        return DataInputError(f"{text}: no such file")
    if isinstance(exc, IsADirectoryError):
        return DataInputError(f"{text}: is a directory; pass a Parquet or CSV file")
    if is_s3(text):
        return DataInputError(f"{text}: cannot read from S3 ({first_line(exc)}); check the bucket, key and the "
                              "role's s3:GetObject permission")
    return DataInputError(f"{text}: cannot read ({exc.strerror or first_line(exc)})")


def open_input(path: str) -> Any:
    """A seekable pyarrow input file: local, or S3 by ranged reads."""
    import pyarrow as pa

    try:
        if is_s3(path):
            bucket, key = split_s3(path)
            fs = s3_filesystem(path)
            info = fs.get_file_info(f"{bucket}/{key}")
            if info.type.name == "NotFound":
                raise FileNotFoundError(path)
            return fs.open_input_file(f"{bucket}/{key}")
        if Path(path).is_dir():
            raise IsADirectoryError(path)
        return pa.OSFile(path, "rb")
    except OSError as exc:
        raise _os_error(path, exc) from exc


def read_bytes(path: str | Path) -> bytes:
    """A whole (small) file: used for reference profiles only."""
    handle = open_input(str(path))
    try:
        return handle.read()
    except OSError as exc:
        raise _os_error(str(path), exc) from exc
    finally:
        handle.close()


def write_bytes(path: str | Path, data: bytes) -> None:
    text = str(path)
    if is_s3(text):
        bucket, key = split_s3(text)
        try:
            with s3_filesystem(text).open_output_stream(f"{bucket}/{key}") as out:
                out.write(data)
        except OSError as exc:
            error = _os_error(text, exc)
            raise (error if isinstance(error, AwsUnavailable) else
                   DataInputError(f"{text}: cannot write to S3 ({first_line(exc)})")) from exc
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


def locate(path: str | Path) -> tuple[str, str]:
    """(path, kind) of a data or profile file, from its first four bytes (a profile's name may end in anything)."""
    text = str(path)
    handle = open_input(text)
    try:
        head = handle.read(4)
    except OSError as exc:
        raise _os_error(text, exc) from exc
    finally:
        handle.close()
    return text, kind_of(head)


# --------------------------------------------------------------------------------------------------------------
# Frames: two ways of reading, two types
# --------------------------------------------------------------------------------------------------------------

class ColumnFrame(Protocol):
    """A frame whose every (part, column) chunk can be read on its own, in any order and from several threads:
    Parquet row groups (local files, or S3 by ranged reads) and an Arrow table's batches. `rows` and `parts` are
    known before any data is read."""

    @property
    def path(self) -> str: ...

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def rows(self) -> int: ...

    @property
    def parts(self) -> int: ...

    def chunks(self, part: int, name: str) -> Iterator[pa.Array]:
        """Column `name` of part `part`, in arrays of at most `BATCH_ROWS` rows."""
        ...


class ParquetFrame:
    """A `ColumnFrame` over a Parquet file: row groups are the parts; each thread keeps its own reader (pyarrow
    readers are not thread-safe)."""

    def __init__(self, path: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._local = threading.local()
        try:
            meta = pq.ParquetFile(open_input(path)).metadata
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, DataInputError):
                raise
            raise DataInputError(f"{path}: not a readable Parquet file ({first_line(exc)})") from exc
        schema = meta.schema.to_arrow_schema()
        self.strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        self.path, self.schema, self.rows, self.parts = path, schema, meta.num_rows, meta.num_row_groups

    def _file(self) -> Any:
        handle = getattr(self._local, "file", None)
        if handle is None:
            import pyarrow.parquet as pq

            handle = self._local.file = pq.ParquetFile(open_input(self.path), read_dictionary=self.strings or None)
        return handle

    def chunks(self, part: int, name: str) -> Iterator[pa.Array]:
        import pyarrow as pa

        try:
            for batch in self._file().iter_batches(batch_size=BATCH_ROWS, row_groups=[part], columns=[name],
                                                   use_threads=False):
                yield batch.column(0)
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
            raise DataInputError(f"{self.path}: not a readable Parquet file (column {name!r}: "
                                 f"{first_line(exc)})") from exc


class TableFrame:
    """A `ColumnFrame` over an Arrow table already in memory (tests, benchmarks), its batches as parts."""

    def __init__(self, table: pa.Table, source: str = "<table>", batch_rows: int = BATCH_ROWS) -> None:
        self.batches = table.to_batches(max_chunksize=batch_rows)
        self.path, self.schema, self.rows, self.parts = source, table.schema, table.num_rows, len(self.batches)

    def chunks(self, part: int, name: str) -> Iterator[pa.Array]:
        yield self.batches[part].column(name)


class CsvFrame:
    """CSV, which can only be read front to back: `blocks()` parses it block by block (all columns of
    `CSV_BLOCK_BYTES` of text at a time), from the start on every call. The row count is known once read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._reader: Any = self._open(path)  # kept for the first `blocks()`: it has parsed the first block
        self.schema: pa.Schema = self._reader.schema

    @staticmethod
    def _open(path: str) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            return pacsv.open_csv(open_input(path), read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                                  convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, DataInputError):
                raise
            raise DataInputError(f"{path}: not a readable CSV file ({first_line(exc)})") from exc

    def blocks(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        reader, self._reader = self._reader or self._open(self.path), None
        try:
            yield from reader
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataInputError(f"{self.path}: not a readable CSV file ({first_line(exc)}); a column changes "
                                 "type part-way through, or the file is damaged") from exc


#: What the local engine reads: a column-addressable frame, or CSV read front to back.
Frame = ColumnFrame | CsvFrame


def open_frame(path: str | Path, kind: str | None = None) -> ParquetFrame | CsvFrame:
    """Open a Parquet or CSV file (local or s3://) without reading its data. Errors name the path."""
    text = str(path)
    kind = kind or locate(text)[1]
    if kind == "parquet":
        return ParquetFrame(text)
    if kind == "csv":
        return CsvFrame(text)
    raise DataInputError(f"{text}: is a reference profile, not a data frame; pass Parquet or CSV data")
