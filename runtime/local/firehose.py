"""Local stand-in for what Amazon Data Firehose does with capture records (moto's Firehose does neither):
convert JSON records to Parquet against the Glue columns and expand the prefix `model=<model>/dt=<yyyy-MM-dd>/`.

Like Firehose's Parquet SerDe: fields the table lacks are dropped, missing ones are null, timestamps are Hive
INT96, and a day's records land in several objects (a streaming writer leaves many small ones).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Glue (Hive) column types -> Arrow type aliases.
ARROW_TYPES = {"string": "string", "int": "int32", "bigint": "int64", "double": "float64", "float": "float32",
               "boolean": "bool"}


def json_records(objects: Iterable[bytes]) -> list[dict[str, Any]]:
    """Records from the objects moto's Firehose wrote: each object one batch, one JSON record a line."""
    return [json.loads(line) for body in objects for line in body.decode().splitlines() if line]


def write_like_firehose(records: list[dict[str, Any]], columns: list[tuple[str, str]], root: str | Path,
                        model: str, files_per_day: int = 3) -> list[Path]:
    """Write `records` under `root` as Firehose would; returns the files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.timestamp("ms") if kind == "timestamp" else pa.type_for_alias(ARROW_TYPES[kind]))
                        for name, kind in columns])
    by_day: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        day = datetime.fromtimestamp(record["timestamp"] / 1000, UTC).strftime("%Y-%m-%d")
        by_day.setdefault(day, []).append(record)
    written = []
    for day, rows in sorted(by_day.items()):
        folder = Path(root) / f"model={model}" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        for part in range(files_per_day):
            chunk = rows[part::files_per_day]
            if not chunk:
                continue
            values: dict[str, list[Any]] = {name: [r.get(name) for r in chunk] for name, _ in columns}
            values["timestamp"] = [datetime.fromtimestamp(r["timestamp"] / 1000, UTC).replace(tzinfo=None)
                                   for r in chunk]
            path = folder / f"{model}-{day}-{part}.parquet"
            pq.write_table(pa.table(values, schema=schema), path, use_deprecated_int96_timestamps=True)
            written.append(path)
    return written
