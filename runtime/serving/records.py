"""The capture record: its columns, and how a served request becomes records (pure, standard library only).

One record per input row of a sampled request (a request of N rows gives N records with the same inference id and
`row` 0..N-1). Columns, in this order:

| column | Glue type | what |
|---|---|---|
| inference_id | string | the request's id, returned in the `X-Inference-Id` response header |
| row | int | index of the row in the request |
| timestamp | timestamp | when the request arrived (JSON: epoch milliseconds, UTC) |
| model_name, model_version, image_digest, variant | string | what served it (`baseline`, `canary`, `shadow`) |
| status | int | HTTP status of the response |
| latency_ms | double | request arrival to the last response byte, in the server |
| one per feature | from the model signature | the input value (hashed features: string; dropped: absent) |
| prediction | from the signature's output | the row's prediction (JSON text when it is not a scalar) |

Feature columns are named by `column_name` (Glue lowercases and Athena/Hive accept only `[a-z0-9_]`); readers map
them back to the model's names with `original_names`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: MLflow signature types -> Glue (Hive) column types. binary and datetime travel as text in JSON.
GLUE_TYPES: dict[str, str] = {"boolean": "boolean", "integer": "int", "long": "bigint", "float": "float",
                              "double": "double", "string": "string", "binary": "string", "datetime": "string"}
PREDICTION_TYPES = ("boolean", "long", "double", "string")
#: The capture fields every record carries besides features and prediction, with their Glue types.
CAPTURE_FIELDS: tuple[tuple[str, str], ...] = (
    ("inference_id", "string"), ("row", "int"), ("timestamp", "timestamp"), ("model_name", "string"),
    ("model_version", "string"), ("image_digest", "string"), ("variant", "string"), ("status", "int"),
    ("latency_ms", "double"))
PREDICTION = "prediction"
RESERVED = frozenset([name for name, _ in CAPTURE_FIELDS] + [PREDICTION])
VARIANTS = ("baseline", "canary", "shadow")


def column_name(feature: str) -> str:
    """The Glue/Parquet column of a feature: lowercase, runs of other characters as `_`, never a leading digit."""
    name = re.sub(r"[^a-z0-9_]+", "_", feature.lower()).strip("_")
    return name if name and not name[0].isdigit() else f"f_{name}"


def original_names(features: Iterable[str]) -> dict[str, str]:
    """Column name -> the model's feature name (to read captures under the names the model and profile use)."""
    return {column_name(f): f for f in features}


def schema_problems(features: Sequence[tuple[str, str]], drop: Iterable[str], hashed: Iterable[str]) -> list[str]:
    """What makes a capture schema unusable, in words naming the feature and the fix (empty when fine)."""
    problems: list[str] = []
    names = [name for name, _ in features]
    seen: dict[str, str] = {}
    for name, kind in features:
        column = column_name(name)
        if kind not in GLUE_TYPES:
            problems.append(f"feature {name!r} has type {kind!r}; use one of {', '.join(GLUE_TYPES)}")
        if column in RESERVED:
            problems.append(f"feature {name!r} becomes column {column!r}, a capture field; rename it in the model "
                            "or drop it (`dropFields`)")
        if column in seen:
            problems.append(f"features {seen[column]!r} and {name!r} both become column {column!r}; rename one")
        seen.setdefault(column, name)
    for key, listed in (("dropFields", list(drop)), ("hashFields", list(hashed))):
        problems += [f"{key} lists {n!r}, which is not an input feature ({', '.join(names)})"
                     for n in listed if n not in names]
    problems += [f"{n!r} is both dropped and hashed; keep it in one list" for n in set(drop) & set(hashed)]
    return problems


@dataclass(frozen=True)
class CaptureSchema:
    """Which features a record carries and how: declared features (name, MLflow type), dropped, hashed."""

    features: tuple[tuple[str, str], ...]
    prediction_type: str = "double"
    drop: frozenset[str] = frozenset()
    hashed: frozenset[str] = frozenset()
    salt: str = ""
    kept: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kept", tuple(n for n, _ in self.features if n not in self.drop))

    def glue_columns(self) -> list[tuple[str, str]]:
        """The Glue table: capture fields, kept features (hashed ones as string), prediction."""
        types = dict(self.features)
        feature_columns = [(column_name(n), "string" if n in self.hashed else GLUE_TYPES[types[n]])
                           for n in self.kept]
        return [*CAPTURE_FIELDS, *feature_columns, (PREDICTION, GLUE_TYPES[self.prediction_type])]

    def value(self, name: str, raw: Any) -> Any:
        """The captured value: hashed, or the raw value when it fits the column's type, else null (a request
        MLflow rejected may carry anything; Firehose would send a whole record it cannot convert to the error
        prefix, losing its valid fields with it)."""
        if raw is None:
            return None
        if name in self.hashed:
            return hashlib.sha256(f"{self.salt}\0{raw}".encode()).hexdigest()
        return conform(self._types.get(name), raw)

    @property
    def _types(self) -> dict[str, str]:
        return dict(self.features)


def conform(kind: str | None, value: Any) -> Any:
    """`value` if a Glue column of MLflow type `kind` can hold it (numbers from CSV text included), else None."""
    if kind is None or value is None:
        return value
    if kind in ("integer", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        number = _number(value)
        return int(number) if number is not None and number.is_integer() else None
    if kind in ("float", "double"):
        return _number(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else {"true": True, "false": False}.get(str(value).lower())
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict | list) else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value if isinstance(value, int | float) else str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Exchange:
    """One sampled request as the capture layer saw it (raw bytes: parsing happens off the request path)."""

    inference_id: str
    timestamp_ms: int
    latency_ms: float
    status: int
    content_type: str
    request: bytes
    response: bytes


def request_rows(body: bytes, content_type: str, columns: Sequence[str] = ()) -> list[Mapping[str, Any]]:
    """Input rows of an MLflow scoring request (dataframe_split, dataframe_records, instances, inputs, CSV); []
    when the body is not one (the request then failed with 4xx and its record carries no features)."""
    try:
        if "csv" in content_type:
            return list(csv.DictReader(io.StringIO(body.decode())))
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(data, dict):
        return []
    if isinstance(split := data.get("dataframe_split"), dict):
        names = split.get("columns") or list(columns)
        return [dict(zip(names, row, strict=False)) for row in split.get("data") or [] if isinstance(row, list)]
    for key in ("dataframe_records", "instances", "inputs"):
        rows = data.get(key)
        if isinstance(rows, dict):  # columnar: {"col": [values...]}
            values = [v for v in rows.values() if isinstance(v, list)]
            return [dict(zip(rows, vs, strict=False)) for vs in zip(*values, strict=False)] if values else []
        if isinstance(rows, list):
            return [r if isinstance(r, dict) else dict(zip(columns, r, strict=False)) if isinstance(r, list) else {}
                    for r in rows]
    return []


def predictions(body: bytes, rows: int) -> list[Any]:
    """One prediction per row from a scoring response (`{"predictions": [...]}`); scalars as they are, anything
    else as JSON text; None where the response has none (an error)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    found = data.get("predictions") if isinstance(data, dict) else None
    if not isinstance(found, list):
        return [None] * rows if found is None else [json.dumps(found, sort_keys=True)] * rows
    out = [p if p is None or isinstance(p, str | int | float | bool) else json.dumps(p, sort_keys=True)
           for p in found]
    return (out + [None] * rows)[:rows]


def build_records(exchange: Exchange, identity: Mapping[str, str], schema: CaptureSchema) -> list[dict[str, Any]]:
    """The records of one exchange: one per input row (one with empty features when no row could be read)."""
    rows = request_rows(exchange.request, exchange.content_type, [n for n, _ in schema.features]) or [{}]
    preds = predictions(exchange.response, len(rows))
    names = schema.kept if schema.features else None
    records = []
    for index, (row, prediction) in enumerate(zip(rows, preds, strict=True)):
        record: dict[str, Any] = {
            "inference_id": exchange.inference_id, "row": index, "timestamp": exchange.timestamp_ms,
            "model_name": identity.get("model_name", ""), "model_version": identity.get("model_version", ""),
            "image_digest": identity.get("image_digest", ""), "variant": identity.get("variant", ""),
            "status": exchange.status, "latency_ms": round(exchange.latency_ms, 3)}
        for name in names if names is not None else [n for n in row if n not in schema.drop]:
            record[column_name(name)] = schema.value(name, row.get(name))
        record[PREDICTION] = conform(schema.prediction_type, prediction) if schema.features else prediction
        records.append(record)
    return records


def sampled(inference_id: str, percent: float) -> bool:
    """Whether a request is captured: a hash of its inference id below the sampled share, so the same id (the same
    request on every variant, or replayed) gets the same answer everywhere."""
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    draw = int.from_bytes(hashlib.blake2b(inference_id.encode(), digest_size=8).digest(), "big")
    return draw < percent / 100 * 2**64
