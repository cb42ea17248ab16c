"""`mlcicd gate replay` end to end: real MLflow models served by the serving command, captured traffic written as
Firehose's Parquet partitions, the CLI's exit code and report.

Candidates against one champion: the champion retrained on the same data (PASS), a model whose decisions flip on
one region (FAIL naming the segment), a slower model (FAIL on latency), and too little traffic (INCONCLUSIVE,
naming how much is needed), the last through the pipeline's path (champion from the registry alias, both models
served by the gate itself).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.local.processes import ManagedProcess, free_port
from runtime.serving import command
from runtime.tracking import global_tracking_uri
from tests.capture_files import traffic, write_partitions
from tests.harness import ROOT
from tests.replay_models import PIP, FlipSegment, Slow, save_pyfunc, save_sklearn, train
from tests.servers import closed_port

pytestmark = pytest.mark.slow

MODEL = "churn"
SCHEMA = [{"name": "tenure_months", "type": "long"}, {"name": "monthly_charges", "type": "double"},
          {"name": "region", "type": "string"}]


@dataclass(frozen=True)
class Served:
    champion: str
    retrained: str
    flipped: str
    slow: str


def project(root: Path, **replay: Any) -> Path:
    """A project whose stack `replay` captures the model's three features and replays with `replay`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: replay-test\nruntime: python\n")
    config = {"ml-cicd:environment": "development", "ml-cicd:region": "eu-west-1",
              "ml-cicd:model": {"name": MODEL}, "ml-cicd:network": {"mode": "create"},
              "ml-cicd:tracking": {"selfHosted": {"image": "r/mlflow:3@sha256:" + "a" * 64, "certificateArn":
                                   "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a",
                                   "hostname": "mlflow.ml.example.com"}},
              "ml-cicd:monitoring": {"capture": {"enabled": True, "inputSchema": SCHEMA, "predictionType": "long"}},
              "ml-cicd:gates": {"replay": {"segmentColumn": "region", "concurrency": 2, **replay}}}
    (root / "Pulumi.replay.yaml").write_text(yaml.safe_dump({"config": config}))
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("replay-models")
    champion, retrained = train(seed=1), train(seed=2)
    return {"champion": save_sklearn(champion, root / "champion"),
            "retrained": save_sklearn(retrained, root / "retrained"),
            "flipped": save_pyfunc(FlipSegment(champion, "south"), champion, root / "flipped"),
            "slow": save_pyfunc(Slow(champion, 0.15), champion, root / "slow")}


@pytest.fixture(scope="module")
def served(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("replay-servers")
    processes = {}
    for name, path in models.items():
        port = free_port()
        env = {**command.serving_environment(model_name=MODEL, model_version=None, image_digest=None,
                                             variant="baseline"),
               "PYTHONPATH": str(ROOT), "HOME": str(work), "TMPDIR": str(work)}
        processes[name] = ManagedProcess(name, command.serve_argv(str(path), port=port, host="127.0.0.1",
                                                                  python=sys.executable, workers=1),
                                         port, work / f"{name}.log", env=env).start()
    try:
        for process in processes.values():
            process.wait_ready("/ping", 180)
        yield Served(**{name: p.url for name, p in processes.items()})
    finally:
        for process in processes.values():
            process.stop()


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("captures")
    write_partitions(traffic(1300, model=MODEL), root)
    return root


def run(tmp_path: Path, proj: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "replay.json"
    result = CliRunner().invoke(app, ["gate", "replay", "--stack", "replay", "--project-dir", str(proj),
                                      "--report", str(out), *args])
    assert out.exists(), result.output
    return result.exit_code, json.loads(out.read_text())


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def test_champion_retrained_on_the_same_data_passes(served: Served, captures: Path, tmp_path: Path) -> None:
    html = tmp_path / "replay.html"
    # This machine is shared: its latency tail is other processes' scheduling, a bimodal tail that leaves the p99
    # undecidable at the default bound about half the time (docs/replay.md), and a burst of load on one server
    # process can move its median. Wider latency bounds here; the slower model's test keeps the defaults.
    code, report = run(tmp_path, project(tmp_path / "p", sampleSize=1100, maxLatencyRatioP50=1.5,
                                         maxLatencyRatioP99=2.0), "--captures", str(captures),
                       "--champion-url", served.champion, "--candidate-url", served.retrained, "--html", str(html))
    assert (code, report["verdict"]) == (0, "PASS"), [c for c in report["checks"] if c["verdict"] != "PASS"]
    found = checks(report)
    assert set(found) == {"error rate", "prediction disagreement", "latency p50 ratio", "latency p99 ratio",
                          "segments by region"}
    assert 0 < found["prediction disagreement"]["observed"] < 0.05  # retrained: a few rows differ, not none
    assert report["details"]["requests_replayed"] == 1100
    assert set(report["details"]["segments"]["rows"][0]) >= {"segment", "rate", "lower", "upper"}
    page = html.read_text()
    assert "By segment: region" in page
    assert "Latency" in page
    assert "<script" not in page


def test_decisions_flipped_on_one_segment_fail_naming_it(served: Served, captures: Path, tmp_path: Path) -> None:
    code, report = run(tmp_path, project(tmp_path / "p", sampleSize=300), "--captures", str(captures),
                       "--champion-url", served.champion, "--candidate-url", served.flipped)
    assert (code, report["verdict"]) == (1, "FAIL")
    segments = checks(report)["segments by region"]
    assert segments["verdict"] == "FAIL"
    assert segments["observed"] == "south"
    assert "south" in segments["reason"]
    assert "north" not in segments["reason"].split("worst")[1].split(";")[0]
    failing = {r["segment"] for r in report["details"]["segments"]["rows"] if r["verdict"] == "FAIL"}
    assert failing == {"south"}


def test_slower_model_fails_on_latency(served: Served, captures: Path, tmp_path: Path) -> None:
    code, report = run(tmp_path, project(tmp_path / "p", sampleSize=150), "--captures", str(captures),
                       "--champion-url", served.champion, "--candidate-url", served.slow)
    found = checks(report)
    assert (code, report["verdict"]) == (1, "FAIL")
    assert found["latency p50 ratio"]["verdict"] == "FAIL"
    assert found["latency p50 ratio"]["observed"] > 1.25
    assert found["prediction disagreement"]["verdict"] == "PASS"  # same decisions, only slower


def test_no_capture_in_the_window_is_inconclusive_before_any_request(tmp_path: Path) -> None:
    empty = tmp_path / "captures"
    write_partitions(traffic(20, model="another-model"), empty)
    port = f"http://127.0.0.1:{closed_port()}"
    code, report = run(tmp_path, project(tmp_path / "p"), "--captures", str(empty), "--champion-url", port,
                       "--candidate-url", port)
    assert (code, report["verdict"]) == (3, "INCONCLUSIVE")
    assert "no request answered with 200 was captured for churn" in report["checks"][0]["reason"]


# The pipeline's path: the registry names the champion; the gate serves both models itself ---------------------
@pytest.fixture(scope="module")
def registry(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sqlite registry with the champion as version 1 (alias @champion) and the retrained model as version 2."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("replay", artifact_location=str(root / "artifacts"))
    with global_tracking_uri(uri):
        for name in ("champion", "retrained"):
            info = mlflow.models.get_model_info(str(models[name]))
            with mlflow.start_run(experiment_id=experiment):
                mlflow.sklearn.log_model(mlflow.sklearn.load_model(str(models[name])), name="model",
                                         registered_model_name=MODEL, pip_requirements=PIP,
                                         signature=info.signature)
    client.set_registered_model_alias(MODEL, "champion", "1")
    return uri


def test_too_little_traffic_is_inconclusive_naming_what_is_needed(registry: str, tmp_path: Path) -> None:
    few = tmp_path / "captures"
    write_partitions(traffic(25, model=MODEL, multi_row_every=0), few)
    code, report = run(tmp_path, project(tmp_path / "p"), "--captures", str(few), "--candidate-model-uri",
                       f"models:/{MODEL}/2", "--candidate-version", "2", "--tracking-uri", registry)
    assert (code, report["verdict"]) == (3, "INCONCLUSIVE"), report["checks"]
    assert report["subject"]["champion"] == f"models:/{MODEL}/1"  # the version @champion points at
    found = checks(report)
    assert found["prediction disagreement"]["verdict"] == "INCONCLUSIVE"
    assert "needs about" in found["prediction disagreement"]["reason"]
    assert "needs at least 1000" in found["latency p99 ratio"]["reason"]
    assert report["details"]["samples_needed"] > 25
    assert not any(c["verdict"] == "FAIL" for c in report["checks"])


def test_first_model_without_a_champion_passes_without_replaying(registry: str, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=registry, registry_uri=registry).create_registered_model("newcomer")
    code, report = run(tmp_path, project(tmp_path / "p"), "--model", "newcomer", "--captures", str(tmp_path),
                       "--candidate-model-uri", "models:/newcomer/1", "--tracking-uri", registry)
    assert (code, report["verdict"]) == (0, "PASS")
    assert "no @champion yet" in report["checks"][0]["reason"]


def test_features_the_captures_do_not_hold_are_a_config_error(captures: Path, tmp_path: Path) -> None:
    proj = project(tmp_path / "p")
    stack = proj / "Pulumi.replay.yaml"
    text = yaml.safe_load(stack.read_text())
    text["config"]["ml-cicd:monitoring"]["capture"]["hashFields"] = ["region"]
    stack.write_text(yaml.safe_dump(text))
    port = f"http://127.0.0.1:{closed_port()}"
    result = CliRunner().invoke(app, ["gate", "replay", "--stack", "replay", "--project-dir", str(proj),
                                      "--captures", str(captures), "--champion-url", port, "--candidate-url", port,
                                      "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 2
    assert "region" in result.output
    assert "hashFields" in result.output
