"""The serving command with capture on, as a real process: a real MLflow model served by `python -m
runtime.serving`, its captures put to a moto Firehose stream (tests/capture_aws.py), its counters to moto
CloudWatch. Stopped mid-load with SIGTERM (what ECS and Kubernetes send): every request answered before the stop
is either captured or counted as dropped, never unaccounted for."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime import metrics
from runtime.capture.schema import from_model
from runtime.local.processes import ManagedProcess, free_port
from runtime.serving import command
from runtime.serving.records import sampled
from runtime.serving.settings import CaptureSettings
from tests.capture_aws import aws_env, create_stream, delivered, metric_sum
from tests.models import IRIS_ROWS, iris_request, save_iris_model

NAMESPACE = "Test/CaptureServer"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_iris_model(tmp_path_factory.mktemp("served") / "model")


@contextmanager
def capturing_server(model_dir: Path, moto_url: str, workdir: Path, **settings: Any) -> Iterator[
        tuple[ManagedProcess, CaptureSettings]]:
    stream = f"srv-{uuid.uuid4().hex[:10]}"
    create_stream(moto_url, stream)
    schema = from_model(str(model_dir))
    capture = CaptureSettings(stream=stream, region="eu-west-1", features=schema.features,
                              prediction_type=schema.prediction_type, metrics_namespace=NAMESPACE, **settings)
    port = free_port()
    env = {**command.serving_environment(model_name=stream, model_version="5", image_digest="sha256:" + "c" * 64,
                                         variant="baseline", extra=capture.to_env()),
           **aws_env(moto_url), "HOME": str(workdir), "TMPDIR": str(workdir)}
    server = ManagedProcess("capturing server", command.serve_argv(str(model_dir), port=port, host="127.0.0.1",
                                                                   python=sys.executable),
                            port, workdir / f"{stream}.log", env=env).start()
    try:
        server.wait_ready("/ping", 120)
        yield server, capture
    finally:
        server.stop()


def test_served_requests_are_captured_under_the_returned_ids(model_dir: Path, moto_url: str,
                                                             tmp_path: Path) -> None:
    with capturing_server(model_dir, moto_url, tmp_path, flush_seconds=0.2) as (server, capture):
        answers = [httpx.post(server.url + "/invocations", json=iris_request([row]), timeout=10)
                   for row in IRIS_ROWS * 5]
    assert {a.status_code for a in answers} == {200}
    ids = [a.headers["x-inference-id"] for a in answers]
    records = delivered(moto_url, capture.stream)
    assert sorted(r["inference_id"] for r in records) == sorted(ids)
    table = [name for name, _ in capture.schema(salt=capture.stream).glue_columns()]
    assert all(list(r) == table for r in records)
    assert metric_sum(moto_url, NAMESPACE, metrics.CAPTURE_SENT, capture.stream) == len(ids)
    assert "capture: stopped: 15 sampled requests sent, 0 dropped" in server.log_path.read_text()


def _load(url: str, stop: threading.Event, answered: list[str]) -> None:
    """~50 requests/s from 4 clients until the server stops answering; the ids of the 200 answers."""
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                answer = client.post(url + "/invocations", json=iris_request())
            except httpx.HTTPError:
                if stop.is_set():
                    return
                time.sleep(0.02)
                continue
            if answer.status_code == 200:
                answered.append(answer.headers["x-inference-id"])
            time.sleep(max(0.0, 0.08 - (time.perf_counter() - t0)))


@pytest.mark.parametrize("shutdown_seconds", [5.0, 0.0], ids=["drained-at-stop", "no-time-to-drain"])
def test_a_stop_mid_load_leaves_no_answered_request_unaccounted(model_dir: Path, moto_url: str, tmp_path: Path,
                                                                shutdown_seconds: float) -> None:
    # 50 % sampled; with no time to drain and a slow flush, what is buffered at the stop must be counted dropped.
    flush = 0.2 if shutdown_seconds else 30.0
    answered: list[str] = []
    stop = threading.Event()
    with capturing_server(model_dir, moto_url, tmp_path, sample_percent=50, flush_seconds=flush,
                          shutdown_seconds=shutdown_seconds) as (server, capture), ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(_load, server.url, stop, answered) for _ in range(4)]
        time.sleep(2.0)
        server.stop()  # SIGTERM to the process group, as an orchestrator stops a task
        stop.set()
        for future in futures:
            future.result()
    sampled_ids = {i for i in answered if sampled(i, 50)}
    captured = {r["inference_id"] for r in delivered(moto_url, capture.stream)}
    dropped = metric_sum(moto_url, NAMESPACE, metrics.CAPTURE_DROPPED, capture.stream)
    assert len(answered) >= 40, answered
    assert sampled_ids
    assert captured <= {i for i in captured if sampled(i, 50)}  # only sampled requests were captured
    missing = sampled_ids - captured
    assert len(missing) <= dropped, (len(sampled_ids), len(captured), dropped)
    if shutdown_seconds:
        assert missing == set()
    else:
        assert captured == set()
        assert dropped >= len(sampled_ids)


def test_served_requests_reach_the_drift_and_quality_jobs(model_dir: Path, moto_url: str, tmp_path: Path) -> None:
    """The production loop end to end: requests served by the real server, their records through the (moto)
    stream, stored as Firehose stores them, read back by the drift job and joined to labels by the quality job."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.datasets import load_iris

    from runtime.config.gates import DataValidationConfig
    from runtime.monitor.drift import drift_window
    from runtime.monitor.quality import quality_window, read_labels
    from runtime.monitor.window import bounds, read_window
    from runtime.report import Verdict
    from tests.capture_aws import write_like_firehose
    from tests.models import IRIS_COLUMNS

    frame: Any = load_iris(as_frame=True).frame  # type: ignore[union-attr]
    rows = frame.sample(200, replace=True, random_state=3)
    truth: dict[str, int] = {}
    with capturing_server(model_dir, moto_url, tmp_path, flush_seconds=0.2) as (server, capture), \
            httpx.Client(base_url=server.url, timeout=10) as client:
        for values, target in zip(rows[IRIS_COLUMNS].values.tolist(), rows["target"], strict=True):
            answer = client.post("/invocations", json=iris_request([values]))
            assert answer.status_code == 200
            truth[answer.headers["x-inference-id"]] = int(target)
    model = capture.stream  # the server's MLCICD_MODEL_NAME in capturing_server
    root = tmp_path / "inference"
    write_like_firehose(delivered(moto_url, capture.stream), capture.schema(salt=model).glue_columns(), root, model)
    window = read_window(str(root), model, *bounds(1), features=IRIS_COLUMNS)
    assert window.served.num_rows == 200
    reference = tmp_path / "reference.parquet"
    pq.write_table(pa.Table.from_pandas(frame[IRIS_COLUMNS], preserve_index=False), reference)
    # 150 reference and 200 captured rows have the configured power for a KS distance of about 0.25, not 0.2.
    cfg = DataValidationConfig.model_validate({"drift": {"detectableEffect": 0.3}})
    drift = drift_window(window, reference, cfg, model=model, min_rows=100, alarm_threshold=0.2)
    assert [(c.name, c.verdict) for c in drift.report.checks] == [("drift v5", Verdict.PASS)]
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "late.csv").write_text("inference_id,label\n" + "".join(f"{i},{y}\n" for i, y in truth.items()))
    quality = quality_window(window, read_labels(str(labels)), model=model, metric="accuracy", min_labels=100)
    assert (quality.unmatched_labels, quality.unlabeled_captures) == (0, 0)
    assert quality.by_version["5"] > 0.9  # logistic regression on iris, scored on what it served
