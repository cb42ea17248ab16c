"""Captured traffic as Firehose leaves it: Parquet objects under `<prefix>model=<name>/dt=<yyyy-MM-dd>/`.

moto's Firehose writes the raw JSON records it is sent (no Parquet conversion, no prefix expressions), so the tests
write the converted form themselves, the way the delivery stream's conversion does: columns in the Glue table's
order (capture fields, features, prediction), `timestamp` as a Parquet INT96 timestamp (what the Hive Parquet
SerDe writes), one object per buffer flush named `<stream>-1-<yyyy-MM-dd-HH-mm-ss>-<uuid>.parquet`, many objects per
day partition.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime.serving.records import CAPTURE_FIELDS, column_name

#: Records per object (a Firehose buffer flush).
PER_OBJECT = 400


def traffic(requests: int, *, model: str, end: datetime | None = None, days: int = 3, seed: int = 0,
            variants: Sequence[str] = ("baseline", "canary"), multi_row_every: int = 10) -> list[dict[str, Any]]:
    """Capture records of `requests` requests spread over the last `days` days (every 10th with three rows), as
    the capture layer sends them (JSON form: timestamp in epoch milliseconds), features from the test data."""
    import numpy as np

    from tests.replay_models import data

    rng = np.random.default_rng(seed)
    frame, _ = data(requests * 3 + 10, seed=seed + 100)
    end = end or datetime.now(UTC)
    span_ms = days * 86_400_000 - 60_000
    records: list[dict[str, Any]] = []
    cursor = 0
    for i in range(requests):
        ident = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i))
        stamp = int(end.timestamp() * 1000) - 30_000 - int(rng.integers(0, span_ms))
        variant = variants[0] if rng.random() < 0.85 or len(variants) == 1 else variants[1]
        rows = 3 if multi_row_every and i % multi_row_every == 0 else 1
        for r in range(rows):
            features = frame.iloc[cursor]
            cursor += 1
            records.append({"inference_id": ident, "row": r, "timestamp": stamp, "model_name": model,
                            "model_version": "5", "image_digest": "sha256:" + "c" * 64, "variant": variant,
                            "status": 200, "latency_ms": float(rng.uniform(2, 6)),
                            **{column_name(k): v.item() if hasattr(v, "item") else v for k, v in features.items()},
                            "prediction": int(rng.integers(0, 2))})
    return records


def _table(records: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    columns: dict[str, list[Any]] = defaultdict(list)
    names = [n for n, _ in CAPTURE_FIELDS] + [k for k in records[0] if k not in dict(CAPTURE_FIELDS)]
    for record in records:
        for name in names:
            columns[name].append(record.get(name))
    arrays = {}
    for name in names:
        values = columns[name]
        if name == "timestamp":
            arrays[name] = pa.array([datetime.fromtimestamp(v / 1000, UTC) for v in values], pa.timestamp("ms", "UTC"))
        elif name in ("row", "status"):
            arrays[name] = pa.array(values, pa.int32())
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def write_partitions(records: Iterable[dict[str, Any]], root: Path, *, stream: str = "capture",
                     per_object: int = PER_OBJECT) -> list[Path]:
    """Write records (JSON form) as Firehose's Parquet conversion would, under `root`; the objects written."""
    import pyarrow.parquet as pq

    by_partition: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        day = datetime.fromtimestamp(record["timestamp"] / 1000, UTC).date().isoformat()
        by_partition[(record["model_name"], day)].append(record)
    written = []
    for (model, day), items in sorted(by_partition.items()):
        items.sort(key=lambda r: r["timestamp"])
        folder = root / f"model={model}" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(items), per_object):
            chunk = items[start:start + per_object]
            flushed = datetime.fromtimestamp(chunk[-1]["timestamp"] / 1000, UTC) + timedelta(seconds=60)
            path = folder / f"{stream}-1-{flushed:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}.parquet"
            pq.write_table(_table(chunk), path, use_deprecated_int96_timestamps=True, compression="snappy")
            written.append(path)
    return written
