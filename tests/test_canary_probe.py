"""The canary probe: traffic to two real HTTP scoring servers (tests/servers.py, each in its own process),
published into a real moto server, then judged from what moto returns. Healthy vs healthy must PASS, healthy vs
a canary that fails every fifth request must FAIL, a broken baseline must publish nothing, and bad input must
stop before a single request is sent (exit 2)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from typer.testing import CliRunner

from runtime.canary.probe import ProbeRequest, check_url, probe_canary, read_sample, sample_from_payloads
from runtime.canary.probe_judge import judge_with_probe
from runtime.canary.run import run_canary_judge
from runtime.cli.main import app
from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
from runtime.errors import UsageError
from runtime.report import Verdict
from tests import probe_support as support
from tests.probe_support import REGION, clients
from tests.servers import COLUMNS, FLAKY_EVERY, Running, serve_process

NAMESPACE = "Test/Probe"
FAST = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10)
#: One-second periods and six of them: a short window that still gives the judge its minimum number of points.
JUDGE = CanaryJudgeConfig.model_validate({
    "windowMinutes": 1, "periodSeconds": 1, "minPoints": 5, "minRequests": 100,
    # Both servers share this 2-core machine with the client and other test runs: latency is not what these
    # tests are about, so its effect is wide and the p99 (which needs thousands of requests to rule +20 % out)
    # is left out; errors (critical) and the data path are. 150 requests a side can only rule out an error rate
    # of 5 %, not 0.1 %: the documented effect of this short window.
    "latencyTolerance": 1.0, "errorRateTolerance": 0.05,
    "weights": {"errors": 0.4, "latency": 0.15, "tail": 0, "predictions": 0.2, "quality": 0.1}})
PROBE = CanaryProbeConfig.model_validate({"rps": 25, "requestTimeoutSeconds": 5, "visibilityTimeoutSeconds": 10})
SECONDS = 6


pytestmark = pytest.mark.usefixtures("fake_aws_eu")
TESTS = support.ProbeTests(NAMESPACE, SECONDS, PROBE, JUDGE)
probe_request, judge_request = TESTS.probe_request, TESTS.judge_request


def metric_statuses(report: dict[str, Any]) -> dict[str, str]:
    return {metric["name"]: metric["status"] for metric in report["details"]["metrics"]}


# Probe, publish, judge ---------------------------------------------------------------------------------------
def test_healthy_versus_healthy_publishes_and_passes(moto_url: str, healthy: Running, twin: Running,
                                                     sample_file: Path) -> None:
    factory = clients(moto_url)
    result = probe_canary(probe_request(healthy.url, twin.url, "probe-healthy", sample_file), factory)
    assert result.report.verdict is Verdict.PASS, result.report.to_dict()
    assert result.end - result.start == timedelta(seconds=SECONDS)
    # Paired: every row went to both sides, so each side has ~rps x duration requests in the window.
    assert abs(result.published["baseline"] - result.published["canary"]) <= 3
    assert result.published["baseline"] >= 0.9 * PROBE.rps * SECONDS
    assert result.bins == ("[0.5,0.6)",)
    # The standalone judge reads the published window back from moto (bins discovered with ListMetrics).
    report = run_canary_judge(judge_request("probe-healthy", end=result.end), factory).to_dict()
    assert report["verdict"] == "PASS", report
    statuses = metric_statuses(report)
    assert statuses.pop("tail") in {"PASS", "INCONCLUSIVE"}  # weight 0
    assert statuses == {"errors": "PASS", "latency": "PASS", "predictions": "PASS", "quality": "PASS"}


def test_healthy_versus_faulty_canary_fails_on_errors(moto_url: str, healthy: Running, flaky: Running,
                                                      sample_file: Path) -> None:
    factory = clients(moto_url)
    report = judge_with_probe(judge_request("probe-faulty"),
                              probe_request(healthy.url, flaky.url, "probe-faulty", sample_file), factory)
    out = report.to_dict()
    assert out["verdict"] == "FAIL", out
    assert metric_statuses(out)["errors"] == "FAIL"
    assert any(c["name"] == "errors (critical)" and c["verdict"] == "FAIL" for c in out["checks"])
    probe = out["details"]["probe"]
    assert probe["sides"]["baseline"]["errors"] == {}
    canary = probe["sides"]["canary"]
    assert canary["errors"] == {"HTTP 500": pytest.approx(canary["sent"] / FLAKY_EVERY, abs=2)}
    # The judge read exactly the probed window with the bins just published, and saw every published request.
    assert out["details"]["window"] == probe["window"]
    assert out["details"]["source"]["bins"] == ["[0.5,0.6)"]
    assert "metrics visible" not in {c["name"] for c in out["checks"]}
    # Decided at the first look: the bake (one minute of 6 s windows) stops there.
    assert out["details"]["looks"] == 1
    assert [w["verdict"] for w in probe["windows"]] == ["FAIL"]


def test_broken_baseline_publishes_nothing(moto_url: str, sample_file: Path, healthy: Running) -> None:
    factory = clients(moto_url)
    with serve_process("error-5xx") as broken:
        request = probe_request(broken.url, healthy.url, "probe-broken", sample_file)
        result = probe_canary(ProbeRequest(**{**request.__dict__, "duration_seconds": 1}), factory)
    assert result.report.verdict is Verdict.INCONCLUSIVE
    (check,) = [c for c in result.report.checks if c.name == "baseline"]
    assert "nothing was published" in check.reason
    assert "HTTP 500" in check.reason
    assert result.published == {"baseline": 0, "canary": 0}
    listed = factory("cloudwatch").list_metrics(Namespace=NAMESPACE, Dimensions=[
        {"Name": "ModelName", "Value": "probe-broken"}])["Metrics"]
    assert listed == []


# CLI ---------------------------------------------------------------------------------------------------------
def test_cli_probe_publishes_and_exits_0(moto_url: str, healthy: Running, twin: Running, sample_file: Path,
                                         tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    result = CliRunner().invoke(app, [
        "canary", "probe", "--baseline-url", healthy.url, "--canary-url", twin.url, "--sample-data",
        str(sample_file), "--target-column", "label", "--rps", "20", "--duration", "2", "--period-seconds", "1",
        "--model", "probe-cli", "--namespace", NAMESPACE, "--region", REGION, "--endpoint-url", moto_url,
        "--report", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["kind"] == "canary-probe"
    assert [c["name"] for c in report["checks"]] == ["baseline", "canary", "publish"]
    assert report["details"]["published"]["quality_metric"] == "PredictionQuality"
    assert report["details"]["targets"]["canary"] == {"url": twin.url, "variant": "canary"}
    cw = clients(moto_url)("cloudwatch")
    names = {m["MetricName"] for m in cw.list_metrics(Namespace=NAMESPACE, Dimensions=[
        {"Name": "ModelName", "Value": "probe-cli"}])["Metrics"]}
    assert {"RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "PredictionQuality",
            "PredictionCount", "PredictionMean"} <= names


def test_cli_probe_with_unreachable_baseline_exits_3(moto_url: str, healthy: Running, tmp_path: Path) -> None:
    from tests.servers import closed_port

    result = CliRunner().invoke(app, [
        "canary", "probe", "--baseline-url", f"http://127.0.0.1:{closed_port()}", "--canary-url", healthy.url,
        "--sample-data", str(_csv(tmp_path)), "--rps", "10", "--duration", "1", "--period-seconds", "1",
        "--model", "probe-unreachable", "--namespace", NAMESPACE, "--region", REGION, "--endpoint-url", moto_url])
    assert result.exit_code == 3, result.output
    assert "ConnectError" in result.output


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    pd.DataFrame({c: [1.0, 2.0] for c in COLUMNS}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--baseline-url", "http://example.com", "--canary-url", "http://127.0.0.1:1"],
     "host example.com is neither loopback nor matched by serving.canary.probe.allowedHosts"),
    (["--baseline-url", "ftp://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2"], "not an http(s) URL"),
    (["--baseline-url", "http://user:pw@127.0.0.1:1", "--canary-url", "http://127.0.0.1:2"], "no credentials"),
    (["--baseline-url", "http://127.0.0.1:1/", "--canary-url", "http://127.0.0.1:1"], "are the same"),
    (["--baseline-url", "http://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2", "--canary-variant",
      "baseline"], "both 'baseline'"),
    (["--baseline-url", "http://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2", "--rps", "500"],
     "--rps 500: Input should be less than or equal to 200"),
    (["--baseline-url", "http://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2", "--rps", "200",
      "--duration", "600"], "more than serving.canary.probe.maxRequests (20000)"),
    (["--baseline-url", "http://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2", "--duration", "0"],
     "--duration 0: must be at least one period"),
    (["--baseline-url", "http://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2", "--period-seconds", "7"],
     "--period-seconds 7:"),
])
def test_cli_probe_bad_input_exits_2_before_sending(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["canary", "probe", *args, "--sample-data", str(_csv(tmp_path)),
                                      "--model", "m", "--region", REGION])
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(("extra", "message"), [
    ([], "no probe payloads: pass --sample-data FILE"),
    (["--target-column", "y"], "--target-column names the label column of --sample-data"),
    (["--sample-data", "/nonexistent/rows.parquet"], "--sample-data /nonexistent/rows.parquet: no such file"),
])
def test_cli_probe_without_usable_payloads_exits_2(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["canary", "probe", "--baseline-url", "http://127.0.0.1:1", "--canary-url",
                                      "http://127.0.0.1:2", "--model", "m", "--region", REGION, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_probe_requires_both_urls() -> None:
    result = CliRunner().invoke(app, ["canary", "probe", "--baseline-url", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--canary-url" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--probe-baseline-url", "http://127.0.0.1:1"], "needs both --probe-baseline-url and --probe-canary-url"),
    (["--rps", "5"], "give them with --probe-baseline-url and --probe-canary-url"),
    (["--probe-baseline-url", "http://127.0.0.1:1", "--probe-canary-url", "http://127.0.0.1:2", "--end-time",
      "2026-01-01T00:00:00Z"], "drop --end-time"),
    (["--probe-baseline-url", "http://127.0.0.1:1", "--probe-canary-url", "http://127.0.0.1:2", "--until-decided",
      "--start-time", "2026-01-01T00:00:00Z"], "starts its bake with the first window it probes: drop --start-time"),
    (["--probe-baseline-url", "http://127.0.0.1:1", "--probe-canary-url", "http://127.0.0.1:2", "--until-decided",
      "--end-time", "2026-01-01T00:00:00Z"], "--until-decided looks until a decision from now on: drop --end-time"),
    (["--probe-baseline-url", "http://10.0.0.1", "--probe-canary-url", "http://127.0.0.1:2", "--sample-data",
      "SAMPLE"], "--probe-baseline-url 'http://10.0.0.1': host 10.0.0.1 is neither loopback nor matched"),
    (["--probe-baseline-url", "http://127.0.0.1:1", "--probe-canary-url", "http://127.0.0.1:2"],
     "no probe payloads"),
])
def test_cli_judge_probe_mode_bad_input_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    args = [str(_csv(tmp_path)) if a == "SAMPLE" else a for a in args]
    result = CliRunner().invoke(app, ["canary", "judge", "--model", "m", "--region", REGION, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


# Pure parts ----------------------------------------------------------------------------------------------------
def test_allowed_hosts_patterns() -> None:
    allowed = ["*.svc.cluster.local"]
    assert check_url("--u", "http://churn.serving.svc.cluster.local/", allowed) == \
        "http://churn.serving.svc.cluster.local"
    for url in ("http://localhost:8080", "http://127.0.0.2:1", "http://[::1]:1"):
        assert check_url("--u", url, []) == url
    for url in ("http://churn.serving.svc.cluster.local.evil.example", "http://169.254.169.254/latest"):
        with pytest.raises(UsageError, match="neither loopback"):
            check_url("--u", url, allowed)


def test_sample_payloads_split_into_single_rows() -> None:
    sample = sample_from_payloads([{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]],
                                                        "index": [0, 1]}},
                                   {"instances": [[1, 2]]}])
    assert [r.body for r in sample.rows] == [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[3, 4]]}},
        {"instances": [[1, 2]]}]
    assert [r.rows for r in sample.rows] == [1, 1, 1]
    assert not sample.labelled


def test_a_regression_probe_refuses_exact_match_quality(sample_file: Path) -> None:
    """Exact-match accuracy of a regression's predictions is always about 0: the probe refuses labels for it."""
    from runtime.canary.judge_run import ProbeOptions, Target, build_probe_request
    from runtime.config import load_stack

    cfg = load_stack("staging").config
    cfg = cfg.model_copy(update={"gates": cfg.gates.model_copy(update={"task": "regression"})})
    options = ProbeOptions("http://127.0.0.1:1", "http://127.0.0.1:2", sample_data=sample_file, target_column="label")
    with pytest.raises(UsageError, match=r"gates\.task is regression"):
        build_probe_request(Target(stack="staging"), options, cfg)


def test_labelled_sample_keeps_the_label_out_of_the_request(sample_file: Path) -> None:
    sample = read_sample(sample_file, "label")
    first = sample.rows[0]
    assert first.body == {"dataframe_split": {"columns": COLUMNS, "data": [[0.0, 1.0, 2.0]]}}
    assert first.label == 0.5
    assert sample.labelled
    assert len(sample.rows) == 40
    with pytest.raises(UsageError, match="--target-column 'y': not a column"):
        read_sample(sample_file, "y")


def test_judge_waits_for_published_data_and_fails_closed_when_it_never_shows(
        healthy: Running, twin: Running, sample_file: Path) -> None:
    """CloudWatch may return just-published data late; data that never shows within the visibility timeout makes
    the verdict INCONCLUSIVE (Stubber: moto shows every datum at once)."""
    from botocore.stub import Stubber

    cloudwatch = boto3.client("cloudwatch", region_name=REGION, config=FAST)
    stubber = Stubber(cloudwatch)
    stubber.add_response("put_metric_data", {}, None)
    stubber.add_response("put_metric_data", {}, None)
    stubber.add_response("get_metric_data", {"MetricDataResults": [], "Messages": []}, None)
    probe = probe_request(healthy.url, twin.url, "probe-late", sample_file)
    probe = ProbeRequest(**{**probe.__dict__, "duration_seconds": 1,
                            "config": PROBE.model_copy(update={"visibility_timeout_seconds": 0.0})})
    with stubber:
        # A bake of one window: its look is the last, so it judges what CloudWatch returned.
        report = judge_with_probe(judge_request("probe-late", max_bake_minutes=1 / 60), probe,
                                  lambda _service: cloudwatch)
    stubber.assert_no_pending_responses()
    assert report.verdict is Verdict.INCONCLUSIVE
    (late,) = [c for c in report.checks if c.name == "metrics visible"]
    assert "CloudWatch still lacks" in late.reason
    assert report.details["probe"]["reads"] == 1
