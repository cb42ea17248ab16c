"""The drift metric publisher against a real moto server, and its fail-closed refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from runtime import metrics as m
from runtime.cli.main import app
from runtime.publish import NoDriftScore, drift_score, publish_drift_score, report_time
from tests.harness import ROOT, use_fake_aws

REGION = "eu-west-1"




@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    use_fake_aws(monkeypatch, REGION, moto_url)
    return moto_url


def cloudwatch(url: str) -> Any:
    return boto3.client("cloudwatch", region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def report(share: Any, verdict: str = "FAIL", kind: str = "data-validation", started: datetime | None = None,
           drop_check: bool = False) -> dict[str, Any]:
    checks = [{"name": "schema", "verdict": "PASS", "observed": None, "threshold": None, "reason": ""}]
    if not drop_check:
        checks.append({"name": "drift.share", "verdict": verdict, "observed": share, "threshold": "<= 0.0",
                       "reason": "2 of 8 tested columns drifted"})
    return {"kind": kind, "verdict": verdict, "subject": {}, "checks": checks,
            "started_at": (started or datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds"),
            "duration_s": 1.0}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "data-validation.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def datapoints(url: str, namespace: str, model: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return cloudwatch(url).get_metric_statistics(
        Namespace=namespace, MetricName=m.DRIFT_SCORE, Dimensions=[{"Name": m.DIMENSION_MODEL, "Value": model}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1), Period=60,
        Statistics=["Maximum", "SampleCount"])["Datapoints"]


# Pure -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("share", "verdict"), [(0.25, "FAIL"), (0.0, "PASS"), (1, "FAIL")])
def test_score_is_the_decided_drift_share(share: float, verdict: str) -> None:
    assert drift_score(report(share, verdict)) == float(share)


@pytest.mark.parametrize(("doc", "why"), [
    (report(None, "INCONCLUSIVE"), "INCONCLUSIVE"),
    (report(0.3, "INCONCLUSIVE"), "INCONCLUSIVE"),
    (report(None, drop_check=True), "drift was not tested"),
    (report(None, "FAIL"), "not a number"),
    (report("0.3", "FAIL"), "not a number"),
    (report(True, "FAIL"), "not a number"),
])
def test_no_decided_share_publishes_nothing(doc: dict[str, Any], why: str) -> None:
    with pytest.raises(NoDriftScore, match=why):
        drift_score(doc)


@pytest.mark.parametrize(("doc", "why"), [(report(0.2, kind="model-gate"), "'model-gate' report"),
                                          (report(1.5), "outside 0..1")])
def test_not_a_drift_report_is_a_usage_error(doc: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        drift_score(doc)


def test_timestamp_is_when_the_report_was_taken_unless_cloudwatch_would_refuse_it() -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert report_time({"started_at": "2026-11-22T11:00:00+00:00"}, now) == now - timedelta(hours=1)
    assert report_time({"started_at": "2026-10-01T11:00:00+00:00"}, now) == now
    assert report_time({"started_at": "not a date"}, now) == now
    assert report_time({}, now) == now


# Against moto ---------------------------------------------------------------------------------------------------
def test_publishes_drift_score_with_model_dimension(moto_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, report(0.25))
    published = publish_drift_score(path, "Test/Drift", "churn-a", cloudwatch(moto_url))
    assert (published.value, published.metric, published.namespace) == (0.25, m.DRIFT_SCORE, "Test/Drift")
    points = datapoints(moto_url, "Test/Drift", "churn-a")
    assert [(p["Maximum"], p["SampleCount"]) for p in points] == [(0.25, 1.0)]


def test_refused_report_leaves_no_datapoint(moto_url: str, tmp_path: Path) -> None:
    with pytest.raises(NoDriftScore):
        publish_drift_score(write(tmp_path, report(None, "INCONCLUSIVE")), "Test/Drift", "churn-b",
                            cloudwatch(moto_url))
    assert datapoints(moto_url, "Test/Drift", "churn-b") == []


def test_cli_takes_model_and_namespace_from_the_stack(aws_env: str, tmp_path: Path) -> None:
    path = write(tmp_path, report(0.5))
    result = CliRunner().invoke(app, ["monitor", "publish-drift", "--report", str(path), "--stack", "production",
                                      "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "published MLCICD/Model/DriftScore = 0.5 (ModelName=churn-classifier" in result.output
    assert [p["Maximum"] for p in datapoints(aws_env, "MLCICD/Model", "churn-classifier")] == [0.5]


@pytest.mark.parametrize(("doc", "code", "message"), [
    (report(None, "INCONCLUSIVE"), 3, "nothing published"),
    (report(0.2, kind="smoke"), 2, "'smoke' report"),
])
def test_cli_exit_codes(aws_env: str, tmp_path: Path, doc: dict[str, Any], code: int, message: str) -> None:
    result = CliRunner().invoke(app, ["monitor", "publish-drift", "--report", str(write(tmp_path, doc)),
                                      "--model", "churn-c"])
    assert result.exit_code == code, result.output
    assert message in result.output


def test_cli_needs_a_model_name_without_stack(aws_env: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["monitor", "publish-drift", "--report", str(write(tmp_path, report(0.1)))])
    assert result.exit_code == 2
    assert "--model is required without --stack" in result.output
