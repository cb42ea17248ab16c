"""The capture record (runtime/serving/records.py, settings.py): columns, request formats, PII, sampling."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from runtime.serving.records import (
    CAPTURE_FIELDS,
    CaptureSchema,
    Exchange,
    build_records,
    column_name,
    conform,
    original_names,
    sampled,
    schema_problems,
)
from runtime.serving.settings import ENV_CAPTURE, CaptureSettings

FEATURES = (("Tenure Months", "long"), ("monthly_charges", "double"), ("contract", "string"), ("email", "string"))
SCHEMA = CaptureSchema(FEATURES, prediction_type="long", drop=frozenset({"contract"}), hashed=frozenset({"email"}),
                       salt="churn")
IDENTITY = {"model_name": "churn", "model_version": "7", "image_digest": "sha256:" + "a" * 64, "variant": "canary"}


def exchange(body: object, response: object = None, *, content_type: str = "application/json",
             status: int = 200) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    out = json.dumps(response if response is not None else {"predictions": [1, 0]}).encode()
    return Exchange("id-1", 1_700_000_000_123, 4.25, status, content_type, raw, out)


def test_one_record_per_row_with_exactly_the_table_columns() -> None:
    split = {"dataframe_split": {"columns": [n for n, _ in FEATURES],
                                 "data": [[3, 70.5, "monthly", "a@x.io"], [40, 20.0, "yearly", "b@x.io"]]}}
    records = build_records(exchange(split), IDENTITY, SCHEMA)
    assert [list(r) for r in records] == [[name for name, _ in SCHEMA.glue_columns()]] * 2
    first = records[0]
    assert (first["inference_id"], first["row"], first["timestamp"], first["status"], first["latency_ms"]) == (
        "id-1", 0, 1_700_000_000_123, 200, 4.25)
    assert {k: first[k] for k in IDENTITY} == IDENTITY
    assert (first["tenure_months"], first["monthly_charges"], first["prediction"]) == (3, 70.5, 1)
    assert records[1]["row"] == 1
    assert records[1]["prediction"] == 0


def test_glue_types_follow_the_signature_and_pii_rules() -> None:
    types = dict(SCHEMA.glue_columns())
    assert types["tenure_months"] == "bigint"
    assert types["monthly_charges"] == "double"
    assert types["email"] == "string"  # hashed
    assert "contract" not in types  # dropped: never in a record, never in the table
    assert types["prediction"] == "bigint"
    assert [types[n] for n, _ in CAPTURE_FIELDS] == [t for _, t in CAPTURE_FIELDS]
    assert types["timestamp"] == "timestamp"


def test_dropped_fields_never_leave_and_hashed_ones_are_sha256() -> None:
    rows = {"dataframe_records": [{"Tenure Months": 1, "monthly_charges": 2.0, "contract": "x", "email": "a@x.io"}]}
    (record,) = build_records(exchange(rows, {"predictions": [1]}), IDENTITY, SCHEMA)
    assert "contract" not in record
    assert "x" not in json.dumps(record)
    assert record["email"] == hashlib.sha256(b"churn\0a@x.io").hexdigest()
    assert "a@x.io" not in json.dumps(record)


@pytest.mark.parametrize(("body", "content_type"), [
    ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, "u"], [2, "v"]]}}, "application/json"),
    ({"dataframe_records": [{"a": 1, "b": "u"}, {"a": 2, "b": "v"}]}, "application/json"),
    ({"instances": [{"a": 1, "b": "u"}, {"a": 2, "b": "v"}]}, "application/json"),
    ({"inputs": {"a": [1, 2], "b": ["u", "v"]}}, "application/json"),
    ({"instances": [[1, "u"], [2, "v"]]}, "application/json"),
    (b"a,b\n1,u\n2,v\n", "text/csv"),
])
def test_every_mlflow_request_format_gives_the_same_rows(body: object, content_type: str) -> None:
    schema = CaptureSchema((("a", "long"), ("b", "string")))
    records = build_records(exchange(body, content_type=content_type), IDENTITY, schema)
    assert [(str(r["a"]), r["b"]) for r in records] == [("1", "u"), ("2", "v")]


def test_an_unreadable_request_still_leaves_one_record_with_its_status() -> None:
    (record,) = build_records(exchange(b"not json", {"error_code": "BAD_REQUEST"}, status=400), IDENTITY, SCHEMA)
    assert (record["status"], record["prediction"], record["tenure_months"]) == (400, None, None)


def test_non_scalar_predictions_are_json_text() -> None:
    body = {"dataframe_split": {"columns": ["a"], "data": [[1]]}}
    (record,) = build_records(exchange(body, {"predictions": [{"p0": 0.2, "p1": 0.8}]}),
                              IDENTITY, CaptureSchema((("a", "long"),), prediction_type="string"))
    assert json.loads(record["prediction"]) == {"p0": 0.2, "p1": 0.8}


def test_column_names_are_glue_safe_and_map_back() -> None:
    assert column_name("sepal length (cm)") == "sepal_length_cm"
    assert column_name("2nd-Score") == "f_2nd_score"
    names = ["sepal length (cm)", "Tenure Months"]
    assert original_names(names) == {"sepal_length_cm": "sepal length (cm)", "tenure_months": "Tenure Months"}


def test_schema_problems_name_the_feature_and_the_fix() -> None:
    problems = schema_problems([("Status", "long"), ("a b", "double"), ("a_b", "double"), ("x", "tensor")],
                               drop=["nope", "x"], hashed=["x"])
    text = "\n".join(problems)
    assert "'Status' becomes column 'status', a capture field" in text
    assert "'a b' and 'a_b' both become column 'a_b'" in text
    assert "type 'tensor'" in text
    assert "dropFields lists 'nope', which is not an input feature" in text
    assert "'x' is both dropped and hashed" in text
    assert schema_problems(FEATURES, ["contract"], ["email"]) == []


def test_sampling_is_a_deterministic_hash_of_the_inference_id() -> None:
    ids = [str(uuid.UUID(int=i * 7919 + 13)) for i in range(20_000)]
    share = sum(sampled(i, 10) for i in ids) / len(ids)
    assert 0.094 < share < 0.106  # binomial sd 0.21 %: ~3 sd
    assert [sampled(i, 10) for i in ids[:500]] == [sampled(i, 10) for i in ids[:500]]
    assert all(sampled(i, 100) for i in ids[:100])
    assert not any(sampled(i, 0) for i in ids[:100])
    # Nested: a request sampled at 5 % is sampled at 10 % too (raising the share keeps what was captured).
    assert all(sampled(i, 10) for i in ids if sampled(i, 5))


def test_settings_travel_in_one_environment_variable() -> None:
    settings = CaptureSettings(stream="s", region="eu-west-1", sample_percent=12.5, features=FEATURES,
                               prediction_type="long", drop_fields=("contract",), hash_fields=("email",))
    assert CaptureSettings.from_env(settings.to_env()) == settings
    assert CaptureSettings.from_env({}) is None
    with pytest.raises(ValueError, match=f"{ENV_CAPTURE} is not valid"):
        CaptureSettings.from_env({ENV_CAPTURE: "{not json"})
    with pytest.raises(ValueError, match="samplePercent 150"):
        CaptureSettings(stream="s", sample_percent=150)


def test_values_that_do_not_fit_their_column_are_null_not_a_failed_record() -> None:
    """A rejected request (400) may carry anything; Firehose would divert the whole record to the error prefix."""
    body = {"dataframe_split": {"columns": ["Tenure Months", "monthly_charges", "email"],
                                "data": [["not-a-number", "12.5", None]]}}
    (record,) = build_records(exchange(body, {"error_code": "BAD_REQUEST"}, status=400), IDENTITY, SCHEMA)
    assert (record["tenure_months"], record["monthly_charges"], record["email"]) == (None, 12.5, None)
    assert conform("long", 2**60 + 1) == 2**60 + 1
    assert conform("long", "7") == 7
    assert conform("long", 7.5) is None
    assert conform("double", True) is None
    assert conform("boolean", "true") is True
    assert conform("string", 5) == "5"
    (ok,) = build_records(exchange({"dataframe_records": [{"Tenure Months": 3}]}, {"predictions": ["x"]}),
                          IDENTITY, SCHEMA)
    assert ok["prediction"] is None  # a long column cannot hold "x"
