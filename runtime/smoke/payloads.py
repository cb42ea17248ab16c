"""Scoring requests for `/invocations`: where they come from, how many rows they hold, and their garbage twins.

Precedence of the valid payloads (first that applies wins; the source is recorded in the report):
1. `--sample-data FILE` (Parquet or CSV): the first rows without missing values, as `dataframe_split`; when
   `--model-uri` is also given, the signature's input columns are selected (in its order) and a column the
   signature requires but the file lacks is a usage error.
2. `smoke.samplePayloads` from the stack config, as written.
3. `--model-uri`: the serving input example logged with the model (`serving_input_example.json`).
4. `--model-uri`: rows synthesised from the model's column signature.
Each source yields a batch and a single-row request (rows in = predictions out is checked for both).

Schema-violating twins are derived from the first valid payload: unknown column names, wrong value types (numbers
replaced by strings; only when the payload has numbers), and a body outside MLflow's scoring protocol.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from runtime.config.checks import SCORING_INPUT_KEYS
from runtime.errors import InvalidValue

#: Rows taken from `--sample-data` or synthesised from a signature for the batch request.
DEFAULT_SAMPLE_ROWS = 5
#: Rows read from a sample-data file at most (the first rows without missing values are used).
_READ_ROWS = 1000


class PayloadError(InvalidValue):
    """A payload source is unusable (bad file, unknown model, column mismatch): a usage error (exit 2)."""


@dataclass(frozen=True)
class ScoringRequest:
    name: str
    body: dict[str, Any]
    rows: int | None
    """Rows the request scores (predictions expected); None when the format does not say."""

    @cached_property
    def content(self) -> bytes:
        """The body as sent (strict JSON, encoded once)."""
        return json.dumps(self.body, allow_nan=False).encode()


@dataclass(frozen=True)
class Payloads:
    valid: list[ScoringRequest]
    source: str
    """Where the valid payloads came from (`sample-data:<file>`, `config`, `model-example:<uri>`, ...)."""
    invalid: list[ScoringRequest] = field(default_factory=list)
    """Requests a correct server must reject with 4xx."""
    notes: list[str] = field(default_factory=list)


def count_rows(body: dict[str, Any]) -> int | None:
    """Rows in an MLflow scoring request, or None when the shape does not determine it."""
    key = next((k for k in SCORING_INPUT_KEYS if k in body), None)
    if key is None:
        return None
    value = body[key]
    if key == "dataframe_split":
        data = value.get("data") if isinstance(value, dict) else None
        return len(data) if isinstance(data, list) else None
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):  # columnar tensors: {"name": [rows...], ...}
        lengths = {len(v) for v in value.values() if isinstance(v, list)}
        return lengths.pop() if len(lengths) == 1 else None
    return None


def _request(name: str, body: dict[str, Any]) -> ScoringRequest:
    return ScoringRequest(name, body, count_rows(body))


def _with_single_row(name: str, body: dict[str, Any]) -> list[ScoringRequest]:
    """The batch request and, when it has more than one row, its first row alone."""
    out = [_request(name, body)]
    split = body.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list) and len(split["data"]) > 1:
        one = {**body, "dataframe_split": {**split, "data": split["data"][:1]}}
        one["dataframe_split"].pop("index", None)
        out.append(_request(f"{name}-single-row", one))
    return out


# Garbage twins ---------------------------------------------------------------------------------------------------

def _rename_columns(body: dict[str, Any]) -> dict[str, Any] | None:
    body = copy.deepcopy(body)
    split = body.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("columns"), list):
        split["columns"] = [f"not_a_feature_{i}" for i in range(len(split["columns"]))]
        return body
    for key in ("dataframe_records", "instances", "inputs"):
        value = body.get(key)
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            names = {k: f"not_a_feature_{i}" for i, k in enumerate(value[0])}
            body[key] = [{names.get(k, k): v for k, v in r.items()} for r in value]
            return body
        if isinstance(value, dict) and value:
            body[key] = {f"not_a_feature_{i}": v for i, v in enumerate(value.values())}
            return body
    return None


def _stringify_numbers(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int | float):
        return "not-a-number", True
    if isinstance(value, list):
        items = [_stringify_numbers(v) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        pairs = {k: _stringify_numbers(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False


def _wrong_types(body: dict[str, Any]) -> dict[str, Any] | None:
    key = next(k for k in SCORING_INPUT_KEYS if k in body)
    value = body[key]
    if key == "dataframe_split" and isinstance(value, dict):
        data, changed = _stringify_numbers(value.get("data"))
        return {**body, key: {**value, "data": data}} if changed else None
    new, changed = _stringify_numbers(value)
    return {**body, key: new} if changed else None


def schema_violations(valid: ScoringRequest) -> tuple[list[ScoringRequest], list[str]]:
    """Requests derived from `valid` that a server enforcing the model's schema must reject with 4xx."""
    out: list[ScoringRequest] = []
    notes: list[str] = []
    renamed = _rename_columns(valid.body)
    if renamed is not None:
        out.append(_request("unknown-columns", renamed))
    else:
        notes.append("no unknown-columns request: the first payload has no column names")
    typed = _wrong_types(valid.body)
    if typed is not None:
        out.append(_request("wrong-types", typed))
    else:
        notes.append("no wrong-types request: the first payload has no numeric values to replace")
    out.append(ScoringRequest("not-a-scoring-request", {"not_a_scoring_field": [[1, 2, 3]]}, None))
    return out, notes


# Sources ---------------------------------------------------------------------------------------------------------

def _finish(source: str, valid: list[ScoringRequest], notes: list[str] | None = None) -> Payloads:
    for request in valid:
        if not finite_json(request.body):
            raise PayloadError(f"{source}: payload {request.name} holds NaN or infinity, which JSON cannot carry; "
                               "use null for a missing value")
    invalid, more = schema_violations(valid[0])
    return Payloads(valid=valid, source=source, invalid=invalid, notes=[*(notes or []), *more])


def from_config(samples: list[dict[str, Any]]) -> Payloads:
    valid = [_request(f"config[{i}]", body) for i, body in enumerate(samples)]
    return _finish("config (smoke.samplePayloads)", valid)


def _read_table(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        raise PayloadError(f"--sample-data {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(path).iter_batches(batch_size=_READ_ROWS)
            first = next(batches, None)
            return first.to_pandas() if first is not None else pd.DataFrame()
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, nrows=_READ_ROWS)
    except Exception as exc:
        raise PayloadError(f"--sample-data {path}: cannot read it ({type(exc).__name__}: {exc})") from exc
    raise PayloadError(f"--sample-data {path}: unsupported file type {suffix!r}; give a .parquet or .csv file")


def _frame_payloads(frame: Any, rows: int, source: str) -> Payloads:
    complete = frame.dropna()
    if complete.empty:
        raise PayloadError(f"{source}: no row without missing values among the first {_READ_ROWS}; "
                           "give a file with complete rows")
    split = json.loads(complete.head(rows).to_json(orient="split", index=False, date_format="iso"))
    body = {"dataframe_split": {"columns": split["columns"], "data": split["data"]}}
    return _finish(source, _with_single_row("sample-data", body))


def _signature_columns(model_uri: str) -> list[tuple[str, str, bool]] | None:
    """(name, type, required) of the model's column-based input signature; None for tensors or no signature."""
    info = _model_info(model_uri)
    signature = info.signature
    if signature is None or signature.inputs is None or not signature.inputs.has_input_names():
        return None
    if signature.inputs.is_tensor_spec():
        return None
    return [(spec.name, str(getattr(spec.type, "name", spec.type)), bool(getattr(spec, "required", True)))
            for spec in signature.inputs.inputs]


def _model_info(model_uri: str) -> Any:
    """The model's MLflow metadata; TrackingUnavailable (exit 3) when its registry does not answer, PayloadError
    (exit 2) when it answers that there is no such model."""
    import mlflow
    from mlflow.models import get_model_info

    from runtime.errors import TrackingUnavailable
    from runtime.tracking import ask_registry

    try:
        return ask_registry(mlflow.get_tracking_uri(), f"read the model {model_uri}",
                            lambda: get_model_info(model_uri))
    except TrackingUnavailable:
        raise
    except Exception as exc:
        raise PayloadError(f"--model-uri {model_uri}: cannot read the model ({type(exc).__name__}: {exc}); check "
                           "the URI and MLFLOW_TRACKING_URI / --tracking-uri") from exc


def from_sample_data(path: Path, rows: int = DEFAULT_SAMPLE_ROWS, model_uri: str | None = None) -> Payloads:
    frame = _read_table(path)
    source = f"sample-data:{path}"
    if model_uri is not None:
        columns = _signature_columns(model_uri)
        if columns is not None:
            missing = [n for n, _, required in columns if required and n not in frame.columns]
            if missing:
                raise PayloadError(f"--sample-data {path} lacks columns the model's signature requires: "
                                   f"{', '.join(missing)}")
            frame = frame[[n for n, _, _ in columns if n in frame.columns]]
            source += f" (columns from the signature of {model_uri})"
    return _frame_payloads(frame, rows, source)


_SYNTHETIC: dict[str, list[Any]] = {
    "double": [0.5, 1.5, 2.5], "float": [0.5, 1.5, 2.5], "long": [0, 1, 2], "integer": [0, 1, 2],
    "boolean": [True, False, True], "string": ["a", "b", "c"], "binary": ["", "", ""],
    "datetime": ["2024-01-01T00:00:00", "2024-01-02T00:00:00", "2024-01-03T00:00:00"],
}


def from_model(model_uri: str, rows: int = DEFAULT_SAMPLE_ROWS) -> Payloads:
    """The model's logged serving input example, else rows synthesised from its column signature."""
    from mlflow.models.utils import load_serving_example

    info = _model_info(model_uri)
    example: Any = None
    if info.saved_input_example_info:
        try:
            example = json.loads(load_serving_example(model_uri))
        except Exception:  # a missing or unreadable example falls back to the signature
            example = None
    if isinstance(example, dict) and sum(k in example for k in SCORING_INPUT_KEYS) == 1:
        return _finish(f"model-example:{model_uri}", _with_single_row("model-example", example))
    columns = _signature_columns(model_uri)
    if columns is None:
        raise PayloadError(f"--model-uri {model_uri}: the model has neither a serving input example nor a "
                           "column signature; give --sample-data FILE or smoke.samplePayloads")
    unknown = sorted({t for _, t, _ in columns if t not in _SYNTHETIC})
    if unknown:
        raise PayloadError(f"--model-uri {model_uri}: cannot synthesise values of type {', '.join(unknown)}; "
                           "give --sample-data FILE or smoke.samplePayloads")
    data = [[_SYNTHETIC[t][r % 3] for _, t, _ in columns] for r in range(rows)]
    body = {"dataframe_split": {"columns": [n for n, _, _ in columns], "data": data}}
    return _finish(f"model-signature:{model_uri}", _with_single_row("model-signature", body),
                   ["payload values are synthetic (from the signature's types), not real rows"])


def resolve_payloads(*, samples: list[dict[str, Any]], sample_data: Path | None = None,
                     model_uri: str | None = None, rows: int = DEFAULT_SAMPLE_ROWS) -> Payloads | None:
    """Apply the precedence in this module's docstring; None when no source is available."""
    if rows < 1:
        raise PayloadError(f"--sample-rows {rows}: must be at least 1")
    if sample_data is not None:
        return from_sample_data(sample_data, rows, model_uri)
    if samples:
        return from_config(samples)
    if model_uri is not None:
        return from_model(model_uri, rows)
    return None


def finite_json(value: Any) -> bool:
    """True when a payload can be sent as strict JSON (no NaN or infinity)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite_json(v) for v in value)
    if isinstance(value, dict):
        return all(finite_json(v) for v in value.values())
    return True
