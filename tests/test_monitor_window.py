"""Monitoring on captured traffic: a window of Parquet captures (written the way Firehose writes them, since moto
does not convert), drift per model version against the reference, live quality from late labels."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from runtime import metrics
from runtime.cli.main import app
from runtime.config.gates import DataValidationConfig
from runtime.monitor.drift import drift_window
from runtime.monitor.drift import publish as publish_drift
from runtime.monitor.quality import publish as publish_quality
from runtime.monitor.quality import quality_window, read_labels, score
from runtime.monitor.window import bounds, read_window
from runtime.report import Verdict
from runtime.serving.records import CaptureSchema, Exchange, build_records
from tests.capture_aws import aws_env, client, write_like_firehose
from tests.harness import ROOT

MODEL = "churn"
FEATURES = (("tenure", "double"), ("calls", "long"), ("Plan Type", "string"))
SCHEMA = CaptureSchema(FEATURES, prediction_type="long")
END = datetime(2026, 5, 2, 6, 0, tzinfo=UTC)  # the window [END - 24 h, END) spans two dt= partitions


def _rows(n: int, shift: float, rng: random.Random) -> list[list[Any]]:
    return [[rng.gauss(10 + shift, 2), rng.randint(0, 5), rng.choice(["basic", "plus", "pro"])] for _ in range(n)]


def _captures(version: str, rows: list[list[Any]], start: datetime, span: timedelta, variant: str = "baseline",
              status: int = 200) -> list[dict[str, Any]]:
    records = []
    for i, row in enumerate(rows):
        at = start + span * i / max(1, len(rows))
        body = json.dumps({"dataframe_split": {"columns": ["tenure", "calls", "Plan Type"], "data": [row]}}).encode()
        exchange = Exchange(f"v{version}-{variant}-{i}", int(at.timestamp() * 1000), 3.0, status,
                            "application/json", body, b'{"predictions": [%d]}' % (i % 2))
        records += build_records(exchange, {"model_name": MODEL, "model_version": version, "variant": variant,
                                            "image_digest": "sha256:" + "d" * 64}, SCHEMA)
    return records


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(capture root, reference file): v1 like the reference, v2 shifted, v3 too few rows, plus rows outside the
    window and a 400 that must not count."""
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("captures") / "inference"
    start = END - timedelta(hours=24)
    records = (_captures("1", _rows(600, 0, rng), start, timedelta(hours=23))
               + _captures("2", _rows(600, 3, rng), start, timedelta(hours=23), variant="canary")
               + _captures("3", _rows(20, 0, rng), start, timedelta(hours=2))
               + _captures("1", _rows(300, 9, rng), start - timedelta(days=2), timedelta(hours=30))  # before
               + _captures("1", _rows(5, 0, rng), start, timedelta(hours=1), status=400))
    write_like_firehose(records, SCHEMA.glue_columns(), root, MODEL)
    reference = root.parent / "reference.parquet"
    ref = _rows(2000, 0, rng)
    pq.write_table(pa.table({"tenure": [r[0] for r in ref], "calls": [r[1] for r in ref],
                             "Plan Type": [r[2] for r in ref]}), reference)
    return root, reference


def _window(root: Path | str) -> Any:
    start, end = bounds(24, END)
    return read_window(str(root), MODEL, start, end, [n for n, _ in FEATURES])


def test_the_window_reads_only_its_partitions_and_times(captured: tuple[Path, Path]) -> None:
    window = _window(captured[0])
    assert window.files == 6  # two dt= partitions of three objects; the older partitions are never listed
    assert window.table.num_rows == 600 + 600 + 20 + 5
    assert window.served.num_rows == 1220
    assert "Plan Type" in window.table.column_names  # the model's name back from the Glue column plan_type
    stamps = window.table["timestamp"].to_pylist()
    assert min(stamps) >= (END - timedelta(hours=24)).replace(tzinfo=None)
    assert max(stamps) < END.replace(tzinfo=None)


def test_objects_of_a_newer_schema_are_read_together(tmp_path: Path) -> None:
    """A version that added a feature writes a wider table: both read as one, the older rows null there."""
    start = END - timedelta(hours=3)
    old = _captures("1", [[1.0, 1, "basic"]] * 3, start, timedelta(hours=1))
    write_like_firehose(old, SCHEMA.glue_columns(), tmp_path, MODEL, files_per_day=1)
    wider = CaptureSchema((*FEATURES, ("region", "string")), prediction_type="long")
    new = [dict(r, region="eu", inference_id="new-" + r["inference_id"]) for r in old]
    (tmp_path / f"model={MODEL}").rename(tmp_path / "old")
    write_like_firehose(new, wider.glue_columns(), tmp_path, MODEL, files_per_day=1)
    day = next((tmp_path / f"model={MODEL}").iterdir())
    shutil.copy(next((tmp_path / "old").rglob("*.parquet")), day / "old.parquet")
    table = _window(tmp_path).table
    assert table.num_rows == 6
    regions = table["region"].to_pylist()
    assert (regions.count("eu"), regions.count(None)) == (3, 3)


def test_drift_per_version_with_inconclusive_small_versions(captured: tuple[Path, Path], moto_url: str) -> None:
    root, reference = captured
    outcome = drift_window(_window(root), reference, DataValidationConfig(), model=MODEL, min_rows=200,
                           alarm_threshold=0.2)
    checks = {c.name: c for c in outcome.report.checks}
    assert checks["drift v1"].verdict is Verdict.PASS
    assert checks["drift v2"].verdict is Verdict.FAIL  # tenure shifted by 1.5 sd in the canary
    assert checks["drift v3"].verdict is Verdict.INCONCLUSIVE
    assert "180 more needed" in checks["drift v3"].reason
    assert outcome.inconclusive
    assert outcome.shares["1"] < 0.2 <= outcome.shares["2"]
    data = publish_drift(outcome, client(moto_url, "cloudwatch"), namespace="Test/Drift", model=MODEL)
    published = {(d["MetricName"], tuple(x["Value"] for x in d["Dimensions"])): d["Value"] for d in data}
    assert published[(metrics.DRIFT_SCORE, (MODEL, "2"))] == outcome.shares["2"]
    assert published[(metrics.DRIFT_SCORE, (MODEL,))] == max(outcome.shares.values())
    assert published[(metrics.DRIFT_INCONCLUSIVE, (MODEL,))] == 1.0
    assert (metrics.DRIFT_SCORE, (MODEL, "3")) not in published  # undecided: nothing published as a score


def test_an_empty_window_is_inconclusive_never_pass(captured: tuple[Path, Path]) -> None:
    start, end = bounds(24, END + timedelta(days=30))
    window = read_window(str(captured[0]), MODEL, start, end)
    outcome = drift_window(window, captured[1], DataValidationConfig(), model=MODEL, min_rows=200,
                           alarm_threshold=0.2)
    assert outcome.report.verdict is Verdict.INCONCLUSIVE
    assert outcome.inconclusive
    assert outcome.shares == {}


def test_the_window_reads_the_same_from_s3(captured: tuple[Path, Path], moto_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in aws_env(moto_url).items():
        monkeypatch.setenv(key, value)
    s3 = client(moto_url, "s3")
    s3.create_bucket(Bucket="window-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    root = captured[0]
    for path in root.rglob("*.parquet"):
        s3.upload_file(str(path), "window-data", f"inference/{path.relative_to(root).as_posix()}")
    from_s3 = _window("s3://window-data/inference/")
    assert from_s3.files == 6
    assert from_s3.table.sort_by("inference_id").equals(_window(root).table.sort_by("inference_id"))


# Live quality -------------------------------------------------------------------------------------------------
def _labels(folder: Path, rows: list[tuple[str, int]], name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("inference_id,label\n" + "".join(f"{i},{y}\n" for i, y in rows), encoding="utf-8")


def test_quality_joins_late_labels_and_counts_the_unmatched(captured: tuple[Path, Path], tmp_path: Path,
                                                            moto_url: str) -> None:
    # Predictions alternate 0, 1 by index; v1's labels agree on 3 of 4, the canary's on all.
    labels = [(f"v1-baseline-{i}", (i % 2) if i % 4 else 1 - (i % 2)) for i in range(400)]
    _labels(tmp_path / "labels", labels[:250], "batch-1.csv")
    _labels(tmp_path / "labels" / "late", labels[250:] + [(f"v2-canary-{i}", i % 2) for i in range(150)]
            + [("never-captured", 1)], "batch-2.csv")
    outcome = quality_window(_window(captured[0]), read_labels(str(tmp_path / "labels")), model=MODEL,
                             metric="accuracy", min_labels=100)
    assert outcome.by_version["1"] == pytest.approx(0.75)
    assert outcome.by_variant["canary"] == 1.0
    assert outcome.unmatched_labels == 1
    assert outcome.unlabeled_captures == 1220 - 550
    assert {c.name: c.verdict for c in outcome.report.checks}["accuracy v2"] is Verdict.PASS
    data = publish_quality(outcome, client(moto_url, "cloudwatch"), namespace="Test/Quality", model=MODEL,
                           metric_name="PredictionQuality")
    published = {(d["MetricName"], tuple(x["Value"] for x in d["Dimensions"])): d["Value"] for d in data}
    assert published[("PredictionQuality", (MODEL, "canary"))] == 1.0
    assert published[(metrics.QUALITY_UNMATCHED_LABELS, (MODEL,))] == 1


def test_quality_without_labels_is_inconclusive(captured: tuple[Path, Path], tmp_path: Path) -> None:
    outcome = quality_window(_window(captured[0]), read_labels(str(tmp_path / "none")), model=MODEL,
                             metric="accuracy", min_labels=10)
    assert outcome.report.verdict is Verdict.INCONCLUSIVE
    assert outcome.unlabeled_captures == 1220


def test_quality_metrics() -> None:
    pairs = [(1, "1"), (0, "1"), (1, "0"), (1, 1.0)]
    assert score(pairs, "accuracy") == 0.5
    assert score(pairs, "f1") == pytest.approx(2 * 2 / (3 + 3))
    assert score([(1.0, "3"), (2.0, "2")], "mae") == 1.0
    assert score([(1.0, "3"), (2.0, "2")], "rmse") == pytest.approx(2 ** 0.5)


# The CLI, with a stack file -------------------------------------------------------------------------------------
def test_cli_drift_and_quality_read_the_stack(captured: tuple[Path, Path], tmp_path: Path) -> None:
    shutil.copyfile(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    stack = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    config = stack["config"]
    config["ml-cicd:model"]["name"] = MODEL
    config["ml-cicd:monitoring"]["capture"]["inputSchema"] = [{"name": n, "type": t} for n, t in FEATURES]
    config["ml-cicd:monitoring"]["drift"]["minWindowRows"] = 200
    config["ml-cicd:monitoring"]["quality"] = {"minLabels": 10}
    config["ml-cicd:data"] = {"schema": {"allowExtraColumns": False}, "quality": {"minRows": 100}}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(stack))
    common = ["--stack", "staging", "--project-dir", str(tmp_path), "--captures", str(captured[0]),
              "--end", END.isoformat(), "--no-publish"]
    runner = CliRunner()
    drift = runner.invoke(app, ["monitor", "drift", *common, "--reference", str(captured[1]),
                                "--report", str(tmp_path / "drift.json")])
    assert drift.exit_code == 1, drift.output  # v2 drifted
    _labels(tmp_path / "labels", [(f"v1-baseline-{i}", i % 2) for i in range(20)], "l.csv")
    quality = runner.invoke(app, ["monitor", "quality", *common, "--labels", str(tmp_path / "labels"),
                                  "--report", str(tmp_path / "quality.json")])
    assert quality.exit_code == 0, quality.output
    empty = runner.invoke(app, ["monitor", "drift", *common[:-3], "--end", (END + timedelta(days=9)).isoformat(),
                                "--no-publish", "--reference", str(captured[1]), "--report", str(tmp_path / "e.json")])
    assert empty.exit_code == 3, empty.output
