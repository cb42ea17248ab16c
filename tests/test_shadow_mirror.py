"""The shadow mirror (runtime/serving/mirror.py): unit behaviour against stand-in servers, then end to end with
real serving processes: a baseline capturing and mirroring to a shadow that captures too, both into one moto
Firehose stream; the records become Firehose's Parquet partitions and `mlcicd gate shadow` judges the pairs."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.local.processes import ManagedProcess, free_port
from runtime.serving import command
from runtime.serving.mirror import Mirror, MirrorSettings
from runtime.serving.settings import CaptureSettings
from tests.capture_aws import aws_env, create_stream, delivered
from tests.capture_files import write_partitions
from tests.harness import ROOT
from tests.replay_models import FlipSegment, data, save_pyfunc, save_sklearn, train
from tests.servers import closed_port, serve


def settings(url: str, **kw: Any) -> MirrorSettings:
    return MirrorSettings(url=url, **kw)


def test_copies_reach_the_shadow_and_are_counted() -> None:
    with serve("correct") as server:
        mirror = Mirror(settings(server.url, concurrency=2), publish=lambda sent, lost: None).start()
        body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}}).encode()
        for i in range(20):
            mirror.submit(f"id-{i}", "application/json", body)
        counters = mirror.close()
        assert (counters.sent, counters.failed, counters.dropped) == (20, 0, 0)
        assert server.invocations == 20


def test_a_shadow_that_does_not_answer_is_counted_never_raised() -> None:
    mirror = Mirror(settings(f"http://127.0.0.1:{closed_port()}", timeout_seconds=0.5),
                    publish=lambda sent, lost: None).start()
    for i in range(5):
        mirror.submit(f"id-{i}", "application/json", b"{}")
    time.sleep(0.5)
    counters = mirror.close()
    assert (counters.sent, counters.failed + counters.dropped) == (0, 5)


def test_a_full_buffer_drops_without_waiting() -> None:
    with serve("hang") as server:
        mirror = Mirror(settings(server.url, buffer_requests=10, concurrency=1, timeout_seconds=5,
                                 shutdown_seconds=0.2), publish=lambda sent, lost: None).start()
        t0 = time.perf_counter()
        for i in range(200):
            mirror.submit(f"id-{i}", "application/json", b"{}")
        spent = time.perf_counter() - t0
        counters = mirror.close()
    assert spent < 0.05  # 200 submits against a hung shadow: no waiting on the request path
    assert counters.dropped >= 189
    assert counters.sent + counters.failed + counters.dropped <= 200


def test_mirror_settings_travel_in_one_variable_and_bad_ones_name_the_fix() -> None:
    given = settings("http://shadow.local:8080", sample_percent=20, metrics_namespace="NS")
    assert MirrorSettings.from_env(given.to_env()) == given
    assert MirrorSettings.from_env({}) is None
    with pytest.raises(ValueError, match=r"serving\.shadow"):
        MirrorSettings.from_env({"MLCICD_MIRROR": '{"url": 3}'})
    with pytest.raises(ValueError, match="not an http"):
        settings("shadow:8080")


# End to end -----------------------------------------------------------------------------------------------------
MODEL = "churn"
NAMESPACE = "Test/Shadow"
FEATURES = (("tenure_months", "long"), ("monthly_charges", "double"), ("region", "string"))


def _server(name: str, model: Path, work: Path, env: dict[str, str]) -> ManagedProcess:
    port = free_port()
    return ManagedProcess(name, command.serve_argv(str(model), port=port, host="127.0.0.1", python=sys.executable,
                                                   workers=1),
                          port, work / f"{name}.log", env={**env, "PYTHONPATH": str(ROOT), "HOME": str(work),
                                                            "TMPDIR": str(work)}).start()


@pytest.fixture
def pair(moto_url: str, tmp_path: Path) -> Iterator[tuple[ManagedProcess, ManagedProcess, str]]:
    """A baseline (champion) mirroring to a shadow (decisions flipped on `south`), one stream."""
    champion = train(seed=1)
    baseline_dir = save_sklearn(champion, tmp_path / "baseline")
    shadow_dir = save_pyfunc(FlipSegment(champion, "south"), champion, tmp_path / "shadow")
    stream = f"shadow-{int(time.time() * 1000) % 10**8}"
    create_stream(moto_url, stream)
    capture = CaptureSettings(stream=stream, region="eu-west-1", features=FEATURES, prediction_type="long",
                              metrics_namespace=NAMESPACE, flush_seconds=0.2)

    def env(variant: str, version: str, extra: dict[str, str]) -> dict[str, str]:
        return {**command.serving_environment(model_name=MODEL, model_version=version, image_digest=None,
                                              variant=variant, extra={**capture.to_env(), **extra}),
                **aws_env(moto_url)}

    shadow = _server("shadow", shadow_dir, tmp_path, env("shadow", "7", {}))
    try:
        shadow.wait_ready("/ping", 180)
        mirror = MirrorSettings(url=shadow.url, metrics_namespace=NAMESPACE, concurrency=4, shutdown_seconds=10)
        baseline = _server("baseline", baseline_dir, tmp_path, env("baseline", "6", mirror.to_env()))
        try:
            baseline.wait_ready("/ping", 180)
            yield baseline, shadow, stream
        finally:
            baseline.stop()
    finally:
        shadow.stop()


@pytest.mark.slow
def test_the_shadow_answers_copies_under_the_same_ids_and_the_gate_judges_the_pairs(
        pair: tuple[ManagedProcess, ManagedProcess, str], moto_url: str, tmp_path: Path) -> None:
    baseline, shadow, stream = pair
    frame, _ = data(300, seed=5)
    started = datetime.now(UTC) - timedelta(seconds=5)

    def call(i: int) -> tuple[str, float]:
        row = frame.iloc[i]
        body = {"dataframe_split": {"columns": list(frame.columns),
                                    "data": [[int(row["tenure_months"]), float(row["monthly_charges"]),
                                              str(row["region"])]]}}
        t0 = time.perf_counter()
        answer = httpx.post(baseline.url + "/invocations", json=body, timeout=10)
        assert answer.status_code == 200
        return answer.headers["x-inference-id"], time.perf_counter() - t0

    with ThreadPoolExecutor(4) as pool:
        answered = list(pool.map(call, range(300)))
    time.sleep(1.0)
    baseline.stop()  # drains the mirror, then the capture
    shadow.stop()
    records = delivered(moto_url, stream)
    ids = {i for i, _ in answered}
    shadow_ids = {r["inference_id"] for r in records if r["variant"] == "shadow"}
    assert {r["inference_id"] for r in records if r["variant"] == "baseline"} == ids
    assert shadow_ids == ids  # every copy answered, under the caller's id
    assert "mirror: stopped: 300 copies answered by the shadow, 0 failed, 0 dropped" in baseline.log_path.read_text()

    root = tmp_path / "captures"
    write_partitions(records, root)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: shadow-test\n")
    config = {"ml-cicd:environment": "development", "ml-cicd:region": "eu-west-1", "ml-cicd:model": {"name": MODEL},
              "ml-cicd:network": {"mode": "create"},
              "ml-cicd:tracking": {"selfHosted": {"image": "r/mlflow:3@sha256:" + "a" * 64, "certificateArn":
                                   "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a",
                                   "hostname": "mlflow.ml.example.com"}},
              "ml-cicd:gates": {"replay": {"segmentColumn": "region"}}}
    (project / "Pulumi.shadow.yaml").write_text(yaml.safe_dump({"config": config}))
    out = tmp_path / "shadow.json"
    result = CliRunner().invoke(app, ["gate", "shadow", "--stack", "shadow", "--project-dir", str(project),
                                      "--captures", str(root), "--candidate-version", "7", "--since",
                                      started.isoformat(), "--report", str(out), "--html", str(tmp_path / "s.html")])
    report = json.loads(out.read_text())
    assert result.exit_code == 1, result.output
    assert report["kind"] == "shadow-gate"
    assert report["details"]["paired_requests"] == 300
    found = {c["name"]: c for c in report["checks"]}
    assert (found["segments by region"]["verdict"], found["segments by region"]["observed"]) == ("FAIL", "south")
    assert found["prediction disagreement"]["verdict"] == "FAIL"


@pytest.mark.slow
def test_a_hung_shadow_never_delays_a_caller(moto_url: str, tmp_path: Path) -> None:
    """The shadow accepts connections and never answers: every copy times out or is dropped, and no caller waits
    for that (each answer comes well within the mirror's timeout)."""
    stream = f"hung-{int(time.time() * 1000) % 10**8}"
    create_stream(moto_url, stream)
    capture = CaptureSettings(stream=stream, region="eu-west-1", features=FEATURES, prediction_type="long",
                              flush_seconds=0.2)
    model = save_sklearn(train(seed=1), tmp_path / "baseline")
    frame, _ = data(60, seed=3)
    rows = [[int(r.tenure_months), float(r.monthly_charges), str(r.region)] for r in frame.itertuples()]
    with serve("hang") as hung:
        mirror = MirrorSettings(url=hung.url, timeout_seconds=3.0, concurrency=2, buffer_requests=20,
                                shutdown_seconds=0.5)
        env = {**command.serving_environment(model_name=MODEL, model_version="6", image_digest=None,
                                             variant="baseline", extra={**capture.to_env(), **mirror.to_env()}),
               **aws_env(moto_url)}
        baseline = _server("baseline", model, tmp_path, env)
        try:
            baseline.wait_ready("/ping", 180)
            spent = []
            for row in rows:
                t0 = time.perf_counter()
                answer = httpx.post(baseline.url + "/invocations", timeout=10,
                                    json={"dataframe_split": {"columns": list(frame.columns), "data": [row]}})
                spent.append(time.perf_counter() - t0)
                assert answer.status_code == 200
        finally:
            baseline.stop()
    assert max(spent) < mirror.timeout_seconds  # no caller waited for a copy
    log = baseline.log_path.read_text()
    assert "mirror: stopped: 0 copies answered by the shadow" in log
    assert len({r["inference_id"] for r in delivered(moto_url, stream)}) == 60  # capture unaffected
