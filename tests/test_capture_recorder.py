"""The capture layer in-process: MLflow's real scoring app behind CaptureMiddleware, the recorder putting to a
moto Firehose stream. Every sampled request ends sent or counted as dropped; the request path never waits."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime import metrics
from runtime.capture.schema import from_model
from runtime.serving.app import identity, scoring_app
from runtime.serving.capture import CaptureMiddleware
from runtime.serving.recorder import Counters, Recorder
from runtime.serving.records import Exchange
from runtime.serving.settings import CaptureSettings
from tests.capture_aws import aws_env, create_stream, delivered, metric_sum
from tests.models import IRIS_COLUMNS, IRIS_PREDICTIONS, IRIS_ROWS, iris_request, save_iris_model

NAMESPACE = "Test/Capture"


@pytest.fixture(autouse=True)
def _aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in aws_env(moto_url).items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_iris_model(tmp_path_factory.mktemp("capture") / "model")


def _stream(moto_url: str) -> str:
    name = f"s-{uuid.uuid4().hex[:10]}"
    create_stream(moto_url, name)
    return name


def _settings(stream: str, **overrides: Any) -> CaptureSettings:
    values: dict[str, Any] = {"stream": stream, "region": "eu-west-1", "metrics_namespace": NAMESPACE,
                              "flush_seconds": 0.05, "shutdown_seconds": 5.0, **overrides}
    return CaptureSettings(**values)


def _exchange(i: int) -> Exchange:
    body = f'{{"dataframe_split": {{"columns": ["a"], "data": [[{i}]]}}}}'.encode()
    return Exchange(f"ex-{i}", 1_700_000_000_000 + i, 1.0, 200, "application/json", body, b'{"predictions": [1]}')


def _record(stream: str, model: str, exchanges: int, **settings: Any) -> Counters:
    """A recorder for `model` putting to `stream`: submit `exchanges` requests, close it, return its counts."""
    recorder = Recorder(_settings(stream, **settings), {"model_name": model}).start()
    for i in range(exchanges):
        recorder.submit(_exchange(i))
    return recorder.close()


def test_every_sampled_request_is_delivered_and_counted(moto_url: str) -> None:
    stream = _stream(moto_url)
    model = f"m-{stream}"
    counters = _record(stream, model, 30)
    assert (counters.sent, counters.dropped) == (30, 0)
    assert sorted(r["inference_id"] for r in delivered(moto_url, stream)) == sorted(f"ex-{i}" for i in range(30))
    assert metric_sum(moto_url, NAMESPACE, metrics.CAPTURE_SENT, model) == 30
    assert metric_sum(moto_url, NAMESPACE, metrics.CAPTURE_DROPPED, model) == 0


def test_a_full_buffer_drops_and_counts_without_waiting(moto_url: str) -> None:
    stream = _stream(moto_url)
    model = f"m-{stream}"
    recorder = Recorder(_settings(stream, buffer_records=5, flush_seconds=30), {"model_name": model}).start()
    t0 = time.perf_counter()
    for i in range(8):
        recorder.submit(_exchange(i))
    assert time.perf_counter() - t0 < 0.01  # the request path only appends or counts
    counters = recorder.close()
    assert (counters.sent, counters.dropped_buffer, counters.dropped) == (5, 3, 3)
    assert len(delivered(moto_url, stream)) == 5
    assert metric_sum(moto_url, NAMESPACE, metrics.CAPTURE_DROPPED, model) == 3


def test_an_undeliverable_stream_counts_every_request_as_dropped(moto_url: str) -> None:
    stream = f"s-{uuid.uuid4().hex[:10]}"
    create_stream(moto_url, stream, bucket="no-such-bucket")  # moto fails every put: the bucket is missing
    model = f"m-{stream}"
    counters = _record(stream, model, 4)
    assert (counters.sent, counters.dropped_delivery) == (0, 4)
    assert metric_sum(moto_url, NAMESPACE, metrics.CAPTURE_DROPPED, model) == 4


def test_buffered_requests_at_shutdown_are_counted_when_not_delivered(moto_url: str) -> None:
    stream = _stream(moto_url)
    counters = _record(stream, "m", 6, flush_seconds=30, shutdown_seconds=0)
    assert (counters.sent, counters.dropped_shutdown) == (0, 6)
    assert delivered(moto_url, stream) == []


# Behind MLflow's own scoring app -----------------------------------------------------------------------------
async def _call(app: Any, requests: list[tuple[str, dict[str, str], Any]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://model") as client:
        out = []
        for path, headers, body in requests:
            if body is None:
                out.append(await client.get(path, headers=headers))
            else:
                out.append(await client.post(path, headers=headers, json=body))
        return out


def test_the_scoring_app_behind_the_capture_layer(moto_url: str, model_dir: Path) -> None:
    stream = _stream(moto_url)
    schema = from_model(str(model_dir))  # the Glue table comes from the model's signature
    settings = _settings(stream, features=schema.features, prediction_type=schema.prediction_type)
    who = identity({"MLCICD_MODEL_NAME": "iris", "MLCICD_MODEL_VERSION": "3", "MLCICD_VARIANT": "canary",
                    "MLCICD_IMAGE_DIGEST": "sha256:" + "b" * 64})
    recorder = Recorder(settings, who).start()
    app = CaptureMiddleware(scoring_app(str(model_dir)), recorder, settings.sample_percent)
    answers = asyncio.run(_call(app, [
        ("/invocations", {}, iris_request(IRIS_ROWS)),
        ("/invocations", {"X-Inference-Id": "caller-42"}, iris_request()),
        ("/invocations", {"X-Inference-Id": "bad id with spaces"}, iris_request()),
        ("/invocations", {}, {"dataframe_split": {"columns": ["nope"], "data": [[1]]}}),
        ("/ping", {}, None),
    ]))
    recorder.close()
    batch, given, replaced, bad, ping = answers
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 200]
    assert batch.json() == {"predictions": IRIS_PREDICTIONS}
    assert given.headers["x-inference-id"] == "caller-42"  # a replayed or mirrored request keeps its id
    assert replaced.headers["x-inference-id"] != "bad id with spaces"
    assert "x-inference-id" not in ping.headers
    records = delivered(moto_url, stream)
    ids = {a.headers["x-inference-id"] for a in (batch, given, replaced, bad)}
    assert {r["inference_id"] for r in records} == ids
    # The record's columns are exactly the Glue table's, derived from the model signature.
    table = [name for name, _ in settings.schema(salt="iris").glue_columns()]
    assert all(list(r) == table for r in records)
    rows = sorted((r for r in records if r["inference_id"] == batch.headers["x-inference-id"]), key=lambda r: r["row"])
    assert [r["prediction"] for r in rows] == IRIS_PREDICTIONS
    assert [r["sepal_length_cm"] for r in rows] == [row[0] for row in IRIS_ROWS]
    assert {(r["model_name"], r["model_version"], r["variant"]) for r in records} == {("iris", "3", "canary")}
    assert [r["status"] for r in records if r["inference_id"] == bad.headers["x-inference-id"]] == [400]
    assert IRIS_COLUMNS[0] == "sepal length (cm)"


def test_capture_schema_cli_prints_the_keys_and_checks_a_stack(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    import yaml
    from typer.testing import CliRunner

    from runtime.cli.main import app
    from tests.harness import ROOT

    runner = CliRunner()
    printed = runner.invoke(app, ["capture", "schema", "--model-uri", str(model_dir)])
    assert printed.exit_code == 0, printed.output
    keys = yaml.safe_load(printed.stdout)["ml-cicd:monitoring"]["capture"]
    assert keys["predictionType"] == "long"
    assert [f["name"] for f in keys["inputSchema"]] == IRIS_COLUMNS
    shutil.copyfile(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    stack = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    stack["config"]["ml-cicd:monitoring"]["capture"].update(keys)
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(stack))
    check = ["capture", "schema", "--model-uri", str(model_dir), "--stack", "staging", "--project-dir", str(tmp_path)]
    assert runner.invoke(app, check).exit_code == 0
    stack["config"]["ml-cicd:monitoring"]["capture"]["inputSchema"] = keys["inputSchema"][:3]
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(stack))
    failed = runner.invoke(app, check)
    assert failed.exit_code == 1
    assert "feature 'petal width (cm)' (double) is missing from inputSchema" in failed.output
    missing = runner.invoke(app, ["capture", "schema", "--model-uri", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
