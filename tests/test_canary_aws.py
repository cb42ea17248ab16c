"""The canary judge against AWS APIs: a real moto server where moto implements the call (CloudWatch
put/get with Sum, SampleCount, Average; ECS describe/update), botocore's Stubber where it does not (percentile
statistics, pagination of GetMetricData, ECS service deployments, CodeDeploy stop/continue)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

from runtime import metrics as m
from runtime.canary import act as acting
from runtime.canary import bins
from runtime.canary.metrics_source import AlbTargets, MetricSource, read_canary_data, window
from runtime.canary.publish import (
    Observation,
    observations_metric_data,
    period_metric_data,
    put_metric_data,
)
from runtime.canary.run import (
    ActSettings,
    JudgeRequest,
    bake_state,
    carry_out,
    judge_until_decided,
    judge_window,
    run_canary_judge,
)
from runtime.cli.main import app
from runtime.config.checks import CanaryJudgeConfig
from runtime.report import Report, Verdict, failed, inconclusive, passed
from tests.harness import use_fake_aws

REGION = "eu-west-1"
NAMESPACE = "Test/Canary"
END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FAST = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10)




@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch, REGION)


def client(service: str, url: str | None = None) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url, config=FAST)  # type: ignore[call-overload]


def traffic(seed: int, *, requests_per_minute: int, latency: float = 0.100, error_every: int = 0,
            positive_share: float = 0.3, minutes: int = 10) -> list[Observation]:
    """Per-request observations spread over the ten minutes before END. The response time's level moves minute by
    minute the same way on both sides (the load), as the judge's per-period tests assume."""
    rng = np.random.default_rng(seed)
    out = []
    for minute in range(minutes):
        base = END - timedelta(minutes=minutes - minute)
        minute_latency = latency * (1 + 0.05 * np.sin(minute))
        for i in range(requests_per_minute):
            n = minute * requests_per_minute + i
            status = 500 if error_every and n % error_every == 0 else 200
            label = int(rng.random() < positive_share)
            out.append(Observation(base + timedelta(seconds=i * 59 / requests_per_minute),
                                   max(0.001, minute_latency + rng.normal(0, 0.01)), status,
                                   (label,) if status == 200 else ()))
    return out


def publish(url: str, model: str, baseline: list[Observation], canary: list[Observation]) -> None:
    cw = client("cloudwatch", url)
    for variant, observations in (("baseline", baseline), ("canary", canary)):
        put_metric_data(cw, NAMESPACE, observations_metric_data(observations, model_name=model, variant=variant))


# Publishing and reading back (moto) -----------------------------------------------------------------------------
def test_what_is_published_is_what_the_judge_reads(moto_url: str) -> None:
    baseline = traffic(1, requests_per_minute=90)
    canary = traffic(2, requests_per_minute=30, error_every=100)
    publish(moto_url, "readback", baseline, canary)
    start, end = window(END, 10, 60)
    data = read_canary_data(client("cloudwatch", moto_url), MetricSource(model_name="readback",
                            model_namespace=NAMESPACE, percentiles=False), start=start, end=end, period=60)
    assert data.baseline.requests == 900
    assert data.canary.requests == 300
    assert data.canary.errors == 3
    assert data.baseline.errors == 0
    assert len(data.baseline.latency) == len(data.canary.latency) == 10
    first_minute = [o.latency_s for o in baseline[:90]]
    assert data.baseline.latency[0] == pytest.approx(np.mean(np.round(first_minute, 4)), rel=1e-6)
    assert set(data.canary.prediction_counts) == {"0", "1"}
    assert sum(data.canary.prediction_counts.values()) == 297  # one prediction per successful request
    assert data.canary.latency_p99 == ()
    published = {bins.latency_bin(round(o.latency_s, 4)) for o in baseline + canary}
    assert data.source["queries"] == 2 * (5 + 2 + len(published))
    assert len(data.periods) == 10
    assert sum(data.canary.errors_by_period) == 3
    assert sum(sum(v) for v in data.baseline.latency_histogram.values()) == 900
    served = [sum(v) for v in zip(*data.canary.prediction_histogram.values(), strict=True)]
    assert served == [sum(1 for o in canary if minute <= o.timestamp < minute + timedelta(minutes=1)
                          and o.status == 200) for minute in data.periods]


def invoke(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(app, list(args))
    report = None
    if "--report" in args:
        path = Path(args[args.index("--report") + 1])
        report = json.loads(path.read_text()) if path.exists() else None
    return result.exit_code, report, result.output


def cli_judge(url: str, model: str, out: Path, *extra: str) -> tuple[int, dict[str, Any] | None, str]:
    return invoke("canary", "judge", "--namespace", NAMESPACE, "--model", model, "--endpoint-url", url,
                  "--region", REGION, "--end-time", END.isoformat(), "--no-percentiles", "--report", str(out), *extra)


def test_cli_passes_a_good_canary_and_fails_a_slow_one(moto_url: str, tmp_path: Path) -> None:
    # 27000 vs 9000 requests: enough for every metric to rule its documented effect out (a clean canary proves
    # its 5xx rate below 0.1 % after about 3500 requests).
    publish(moto_url, "good", traffic(3, requests_per_minute=2700), traffic(4, requests_per_minute=900))
    code, report, output = cli_judge(moto_url, "good", tmp_path / "good.json")
    assert code == 0, output
    assert report is not None
    assert report["verdict"] == "PASS"
    assert report["details"]["source"]["traffic"]["namespace"] == NAMESPACE

    publish(moto_url, "slow", traffic(3, requests_per_minute=270), traffic(4, requests_per_minute=90, latency=0.140))
    code, report, output = cli_judge(moto_url, "slow", tmp_path / "slow.json")
    assert code == 1, output
    assert report is not None
    latency = next(x for x in report["details"]["metrics"] if x["name"] == "latency")
    assert latency["status"] == "FAIL"
    assert report["details"]["label"] == "MARGINAL"


def test_cli_with_no_traffic_in_the_window_is_inconclusive(moto_url: str, tmp_path: Path) -> None:
    code, report, _ = cli_judge(moto_url, "nobody", tmp_path / "none.json")
    assert code == 3
    assert report is not None
    samples = next(c for c in report["checks"] if c["name"] == "samples")
    assert "no request counts" in samples["reason"]


def test_cli_unreachable_endpoint_is_inconclusive_not_a_crash(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, report, output = cli_judge(f"http://127.0.0.1:{port}", "m", tmp_path / "down.json")
    # The preflight finds the outage before the window is read: exit 3 (INCONCLUSIVE), one message, no report.
    assert code == 3
    assert report is None
    assert f"canary judge: AWS did not answer STS GetCallerIdentity (Could not connect to the endpoint URL: " \
           f'"http://127.0.0.1:{port}/")' in output
    assert "Traceback" not in output


@pytest.mark.parametrize(("args", "message"), [
    (["--namespace", "X", "--load-balancer", "app/a/1", "--baseline-target-group", "targetgroup/b/2",
      "--canary-target-group", "targetgroup/c/3"], "choose one source"),
    (["--load-balancer", "app/a/1", "--baseline-target-group", "targetgroup/b/2"], "needs --canary-target-group"),
    (["--namespace", "X", "--end-time", "yesterday"], "--end-time 'yesterday' is not an ISO 8601 time"),
    (["--namespace", "X", "--window-minutes", "0"], "--window-minutes"),
    (["--namespace", "X", "--on-inconclusive", "ignore"], "--on-inconclusive 'ignore'"),
    (["--namespace", "X", "--start-time", "soon"], "--start-time 'soon' is not an ISO 8601 time"),
    (["--namespace", "X", "--start-time", "2026-03-02T12:00:00Z", "--end-time", "2026-03-02T11:00:00Z"],
     "is not before --end-time"),
    (["--namespace", "X", "--until-decided", "--end-time", "2026-03-02T11:00:00Z"], "drop --end-time"),
    (["--namespace", "X", "--start-time", "2026-03-02T11:00:00Z", "--probe-baseline-url", "http://127.0.0.1:1",
      "--probe-canary-url", "http://127.0.0.1:2"], "--probe-* starts its bake with the first window it probes: "
                                                   "drop --start-time"),
])
def test_cli_usage_errors_exit_2_naming_the_option(args: list[str], message: str, tmp_path: Path) -> None:
    code, _, output = invoke("canary", "judge", "--model", "m", "--region", REGION, *args)
    assert code == 2, output
    assert message in output


# GetMetricData in AWS's shape: load balancer dimensions, p99, pagination (Stubber) ----------------------------------
def test_alb_source_reads_p99_and_follows_pagination() -> None:
    cw = client("cloudwatch")
    source = MetricSource(model_name="churn", albs=AlbTargets("app/lb/1", "targetgroup/blue/2", "targetgroup/green/3"))
    start, end = window(END, 10, 60)
    stamps = [start + timedelta(minutes=i) for i in range(10)]
    with Stubber(cw) as stub:
        stub.add_response("list_metrics", {"Metrics": [
            {"Namespace": "MLCICD/Model", "MetricName": m.PREDICTION_COUNT, "Dimensions": [
                {"Name": "ModelName", "Value": "churn"}, {"Name": "Variant", "Value": "canary"},
                {"Name": "Bin", "Value": "1"}]}], "NextToken": "more"},
            {"Namespace": "MLCICD/Model", "MetricName": m.PREDICTION_COUNT,
             "Dimensions": [{"Name": "ModelName", "Value": "churn"}]})
        stub.add_response("list_metrics", {"Metrics": [
            {"Namespace": "MLCICD/Model", "MetricName": m.PREDICTION_COUNT, "Dimensions": [
                {"Name": "ModelName", "Value": "churn"}, {"Name": "Variant", "Value": "baseline"},
                {"Name": "Bin", "Value": "1"}]}]},
            {"Namespace": "MLCICD/Model", "MetricName": m.PREDICTION_COUNT,
             "Dimensions": [{"Name": "ModelName", "Value": "churn"}], "NextToken": "more"})

        def result(qid: str, values: list[float], status: str = "Complete") -> dict[str, Any]:
            return {"Id": qid, "Label": qid, "Timestamps": stamps[:len(values)], "Values": values,
                    "StatusCode": status}

        stub.add_response("get_metric_data", {"MetricDataResults": [
            result("b_requests", [1000.0] * 5, "PartialData"), result("c_requests", [100.0] * 5, "PartialData"),
            result("b_p99", [0.2] * 5, "PartialData"), result("c_p99", [0.3] * 5, "PartialData")],
            "NextToken": "page2"}, None)
        stub.add_response("get_metric_data", {"MetricDataResults": [
            {"Id": "b_requests", "Timestamps": stamps[5:], "Values": [1000.0] * 5, "StatusCode": "Complete"},
            {"Id": "c_requests", "Timestamps": stamps[5:], "Values": [100.0] * 5, "StatusCode": "Complete"},
            {"Id": "b_p99", "Timestamps": stamps[5:], "Values": [0.2] * 5, "StatusCode": "Complete"},
            {"Id": "c_p99", "Timestamps": stamps[5:], "Values": [0.3] * 5, "StatusCode": "Complete"},
            {"Id": "b_bin0", "Timestamps": stamps[:1], "Values": [700.0], "StatusCode": "Complete"},
            {"Id": "c_bin0", "Timestamps": stamps[:1], "Values": [70.0], "StatusCode": "Complete"}],
            "Messages": [{"Code": "MaxDatapoints", "Value": "none"}]}, None)
        data = read_canary_data(cw, source, start=start, end=end, period=60)
        stub.assert_no_pending_responses()
    assert data.baseline.requests == 10000
    assert data.canary.requests == 1000
    assert data.baseline.errors is None  # the ALB publishes no 5xx datapoints while there are none
    assert data.canary.latency_p99 == (0.3,) * 10
    assert data.baseline.prediction_counts == {"1": 700.0}
    assert data.source["messages"] == ["MaxDatapoints none"]


def test_alb_queries_use_load_balancer_dimensions_and_model_metrics_keep_variants() -> None:
    from runtime.canary.metrics_source import build_queries

    source = MetricSource(model_name="churn", albs=AlbTargets("app/lb/1", "targetgroup/blue/2", "targetgroup/green/3"))
    queries = {q.id: q for q in build_queries(source, {"canary": ["a", "b"]})}
    assert queries["c_requests"].namespace == m.ALB_NAMESPACE
    assert dict(queries["c_requests"].dimensions) == {"LoadBalancer": "app/lb/1", "TargetGroup": "targetgroup/green/3"}
    assert queries["b_p99"].stat == "p99"
    assert dict(queries["c_quality"].dimensions) == {"ModelName": "churn", "Variant": "canary"}
    assert queries["c_bin1"].bin == "b"
    assert "b_bin0" not in queries
    # The response-time histogram of a target group: CloudWatch's trimmed count per bin of the fixed grid.
    assert queries["c_lat0"].stat == "TC(:0.001)"
    assert queries["c_lat5"].metric == m.ALB_RESPONSE_TIME
    assert queries["c_lat5"].stat == bins.latency_tc_stat(5)
    assert sum(q.key == "latency_bin" for q in queries.values()) == 2 * len(bins.LATENCY_LABELS)
    without = build_queries(MetricSource(model_name="churn", albs=source.albs, percentiles=False), {})
    assert not any(q.key == "latency_bin" for q in without)


def test_internal_error_from_cloudwatch_makes_the_judge_inconclusive() -> None:
    cw = client("cloudwatch")
    with Stubber(cw) as stub:
        stub.add_response("list_metrics", {"Metrics": []}, None)  # prediction bins
        stub.add_response("list_metrics", {"Metrics": []}, None)  # response-time bins
        stub.add_response("get_metric_data", {"MetricDataResults": [
            {"Id": "b_requests", "StatusCode": "InternalError", "Messages": [{"Code": "X", "Value": "boom"}]}]}, None)
        report = run_canary_judge(JudgeRequest(MetricSource(model_name="m"), end=END), lambda _: cw)
    assert report.verdict == Verdict.INCONCLUSIVE
    assert "InternalError for b_requests: boom" in report.checks[0].reason


# Acting: moto where it can (CloudWatch, ECS update), Stubber for service deployments and CodeDeploy ---------------
def verdict_values(url: str, model: str) -> list[float]:
    got = client("cloudwatch", url).get_metric_data(
        MetricDataQueries=[{"Id": "v", "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": m.CANARY_VERDICT,
                                                                "Dimensions": [{"Name": "ModelName", "Value": model}]},
                                                     "Period": 60, "Stat": "Minimum"}}],
        StartTime=datetime.now(UTC) - timedelta(hours=1), EndTime=datetime.now(UTC) + timedelta(minutes=5))
    return got["MetricDataResults"][0]["Values"]


def ecs_service(url: str, name: str) -> tuple[str, str]:
    ecs = client("ecs", url)
    ecs.create_cluster(clusterName=name)
    tds = [ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "model", "image": f"repo@sha256:{digit * 64}", "cpu": 256, "memory": 512}]
    )["taskDefinition"]["taskDefinitionArn"] for digit in "ab"]
    ecs.create_service(cluster=name, serviceName=name, taskDefinition=tds[1], desiredCount=2)
    return tds[0], tds[1]


def report_with(verdict: Verdict) -> Report:
    report = Report(kind="canary-judge", subject={})
    if verdict == Verdict.PASS:
        report.add(passed("score", 100, ">= 90", "ok"))
    elif verdict == Verdict.FAIL:
        report.add(failed("score", 50, ">= 90", "bad"))
    return report


def test_fail_rolls_the_ecs_service_back_and_publishes_0(moto_url: str) -> None:
    """moto lacks ListServiceDeployments: the rollback falls back to UpdateService with the previous task
    definition, which moto does implement."""
    previous, current = ecs_service(moto_url, "svc-fail")
    report = report_with(Verdict.FAIL)
    settings = ActSettings(verdict_namespace=NAMESPACE, model_name="svc-fail", cluster="svc-fail", service="svc-fail",
                           previous_task_definition=previous)
    carry_out(report, settings, lambda service: client(service, moto_url))
    actions = report.details["actions"]
    assert [a["name"] for a in actions] == ["publish-verdict", "rollback"]
    assert all(a["ok"] for a in actions)
    assert actions[1]["call"] == "ecs:UpdateService"
    assert "service deployments unavailable" in actions[1]["detail"]
    svc = client("ecs", moto_url).describe_services(cluster="svc-fail", services=["svc-fail"])["services"][0]
    assert svc["taskDefinition"] == previous != current
    assert verdict_values(moto_url, "svc-fail") == [0.0]
    assert report.verdict == Verdict.FAIL


def test_pass_publishes_1_and_leaves_the_service(moto_url: str) -> None:
    _, current = ecs_service(moto_url, "svc-pass")
    report = report_with(Verdict.PASS)
    settings = ActSettings(verdict_namespace=NAMESPACE, model_name="svc-pass", cluster="svc-pass", service="svc-pass")
    carry_out(report, settings, lambda service: client(service, moto_url))
    assert report.verdict == Verdict.PASS
    assert verdict_values(moto_url, "svc-pass") == [1.0]
    svc = client("ecs", moto_url).describe_services(cluster="svc-pass", services=["svc-pass"])["services"][0]
    assert svc["taskDefinition"] == current


def test_fail_without_a_previous_task_definition_is_an_action_failure(moto_url: str) -> None:
    ecs_service(moto_url, "svc-alone")
    report = report_with(Verdict.FAIL)
    carry_out(report, ActSettings(verdict_namespace=NAMESPACE, model_name="svc-alone", cluster="svc-alone",
                                  service="svc-alone"), lambda service: client(service, moto_url))
    act_check = next(c for c in report.checks if c.name == "act")
    assert act_check.verdict == Verdict.FAIL
    assert "no previous deployment" in act_check.reason


DEPLOYMENT = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/s/abc"


def stub_deployments(stub: Stubber, hook: dict[str, Any] | None) -> None:
    stub.add_response("list_service_deployments", {"serviceDeployments": [
        {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS"}]},
        {"cluster": "c", "service": "s", "status": ["PENDING", "IN_PROGRESS"]})
    deployment: dict[str, Any] = {"serviceDeploymentArn": DEPLOYMENT, "status": "IN_PROGRESS"}
    if hook:
        deployment["lifecycleHookDetails"] = [hook]
    stub.add_response("describe_service_deployments", {"serviceDeployments": [deployment]},
                      {"serviceDeploymentArns": [DEPLOYMENT]})


def test_fail_stops_the_in_progress_service_deployment_with_rollback() -> None:
    ecs = client("ecs")
    with Stubber(ecs) as stub:
        stub_deployments(stub, None)
        stub.add_response("stop_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                          {"serviceDeploymentArn": DEPLOYMENT, "stopType": "ROLLBACK"})
        actions = acting.act_ecs(ecs, cluster="c", service="s", passed=False)
        stub.assert_no_pending_responses()
    assert actions == [acting.Action("rollback", True, f"stopped {DEPLOYMENT} with ROLLBACK: ECS returns to the "
                                     "previous service revision", "ecs:StopServiceDeployment")]


@pytest.mark.parametrize(("passed_", "action"), [(True, "CONTINUE"), (False, "ROLLBACK")])
def test_deployment_paused_at_a_hook_is_continued_or_rolled_back(passed_: bool, action: str) -> None:
    ecs = client("ecs")
    with Stubber(ecs) as stub:
        stub_deployments(stub, {"hookId": "h-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"})
        stub.add_response("continue_service_deployment", {"serviceDeploymentArn": DEPLOYMENT},
                          {"serviceDeploymentArn": DEPLOYMENT, "hookId": "h-1", "action": action})
        actions = acting.act_ecs(ecs, cluster="c", service="s", passed=passed_)
        stub.assert_no_pending_responses()
    assert actions[0].ok
    assert actions[0].call == "ecs:ContinueServiceDeployment"


def test_pass_without_a_paused_hook_needs_no_call() -> None:
    ecs = client("ecs")
    with Stubber(ecs) as stub:
        stub_deployments(stub, None)
        actions = acting.act_ecs(ecs, cluster="c", service="s", passed=True)
    assert actions == [acting.Action("continue", True, "no call needed: ECS shifts the remaining traffic after "
                                     "the bake")]


def test_codedeploy_pass_continues_a_ready_deployment_and_fail_stops_with_rollback() -> None:
    cd = client("codedeploy")
    with Stubber(cd) as stub:
        stub.add_response("list_deployments", {"deployments": ["d-1"]},
                          {"applicationName": "app", "deploymentGroupName": "grp",
                           "includeOnlyStatuses": acting.ACTIVE_STATUSES})
        stub.add_response("get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": "Ready"}},
                          {"deploymentId": "d-1"})
        stub.add_response("continue_deployment", {}, {"deploymentId": "d-1", "deploymentWaitType": "READY_WAIT"})
        ok = acting.act_codedeploy(cd, passed=True, application="app", group="grp")
        stub.add_response("get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": "InProgress"}},
                          {"deploymentId": "d-1"})
        stub.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"},
                          {"deploymentId": "d-1", "autoRollbackEnabled": True})
        stopped = acting.act_codedeploy(cd, passed=False, deployment_id="d-1")
        stub.add_response("get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": "Succeeded"}},
                          {"deploymentId": "d-1"})
        too_late = acting.act_codedeploy(cd, passed=False, deployment_id="d-1")
        stub.assert_no_pending_responses()
    assert ok[0].call == "codedeploy:ContinueDeployment"
    assert ok[0].ok
    assert stopped[0].call == "codedeploy:StopDeployment"
    assert stopped[0].ok
    assert not too_late[0].ok
    assert "Succeeded: nothing to stop" in too_late[0].detail


def test_inconclusive_holds_or_rolls_back_as_configured() -> None:
    cw = client("cloudwatch")
    with Stubber(cw) as stub:
        held = report_with(Verdict.INCONCLUSIVE)
        carry_out(held, ActSettings(verdict_namespace="N", model_name="m", on_inconclusive="hold"), lambda _: cw)
        stub.add_response("put_metric_data", {}, {"Namespace": "N", "MetricData": [
            {"MetricName": m.CANARY_VERDICT, "Dimensions": [{"Name": "ModelName", "Value": "m"}], "Timestamp": ANY,
             "Value": 0.0, "Unit": "None"}]})
        rolled = report_with(Verdict.INCONCLUSIVE)
        carry_out(rolled, ActSettings(verdict_namespace="N", model_name="m", backend="eks"), lambda _: cw)
        stub.assert_no_pending_responses()
    assert [a["name"] for a in held.details["actions"]] == ["hold"]
    assert [a["name"] for a in rolled.details["actions"]] == ["publish-verdict", "rollout"]


def test_inconclusive_within_the_bake_extends_it_without_publishing_or_rolling_back() -> None:
    cw = client("cloudwatch")
    with Stubber(cw) as stub:  # no call expected
        report = report_with(Verdict.INCONCLUSIVE)
        report.add(inconclusive("score", "undecided"))
        report.details["bake"] = {"extend": True}
        carry_out(report, ActSettings(verdict_namespace="N", model_name="m", cluster="c", service="s"),
                  lambda _: cw)
        stub.assert_no_pending_responses()
    assert [a["name"] for a in report.details["actions"]] == ["extend"]
    assert report.verdict == Verdict.INCONCLUSIVE


def test_bake_state_follows_the_start_time_and_the_maximum() -> None:
    cfg = CanaryJudgeConfig(window_minutes=10, period_seconds=60)
    source = MetricSource(model_name="m")
    single = bake_state(JudgeRequest(source, cfg), END)
    assert single["extend"] is False
    assert "--start-time" in single["note"]
    early = bake_state(JudgeRequest(source, cfg, start=END - timedelta(minutes=12), max_bake_minutes=30), END)
    assert early["extend"] is True
    assert early["elapsed_minutes"] == 12
    late = bake_state(JudgeRequest(source, cfg, start=END - timedelta(minutes=31), max_bake_minutes=30), END)
    assert late["extend"] is False
    start, end = judge_window(JudgeRequest(source, cfg, start=END - timedelta(minutes=31, seconds=20), end=END))
    assert (start, end) == (END - timedelta(minutes=32), END)


def test_until_decided_looks_every_period_on_growing_data_then_acts_once(moto_url: str) -> None:
    """Traffic arrives minute by minute; each look judges everything since the start. The clean canary is
    INCONCLUSIVE while it has served too few requests, and PASSes once the data decide; only then is the
    verdict published."""
    publish(moto_url, "growing", traffic(5, requests_per_minute=3600, minutes=6),
            traffic(6, requests_per_minute=1200, minutes=6))
    start = END - timedelta(minutes=6)
    settle = timedelta(seconds=120)  # each look judges the periods ended at least two minutes before it
    clock = iter([start + settle + timedelta(minutes=k) for k in range(1, 7)])
    slept: list[float] = []
    cfg = CanaryJudgeConfig(window_minutes=1, period_seconds=60)
    request = JudgeRequest(MetricSource(model_name="growing", model_namespace=NAMESPACE, percentiles=False), cfg,
                           start=start, max_bake_minutes=6,
                           act=ActSettings(verdict_namespace=NAMESPACE, model_name="growing", backend="eks"))
    report = judge_until_decided(request, lambda service: client(service, moto_url), sleep=slept.append,
                                 now=lambda: next(clock))
    assert report.verdict == Verdict.PASS
    assert 1 < report.details["looks"] <= 6
    assert slept == [60] * (report.details["looks"] - 1)
    assert [a["name"] for a in report.details["actions"]] == ["publish-verdict", "rollout"]


def test_a_pass_whose_verdict_cannot_be_published_is_a_fail() -> None:
    cw = client("cloudwatch")
    with Stubber(cw) as stub:
        stub.add_client_error("put_metric_data", "AccessDenied", "not allowed")
        report = report_with(Verdict.PASS)
        carry_out(report, ActSettings(verdict_namespace="N", model_name="m", backend="eks"), lambda _: cw)
    assert report.verdict == Verdict.FAIL
    assert "cloudwatch:PutMetricData failed" in next(c for c in report.checks if c.name == "act").reason


def test_default_window_is_aligned_to_the_period() -> None:
    start, end = window(datetime(2026, 3, 2, 12, 0, 42, tzinfo=UTC), 10, 60)
    assert end == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert start == datetime(2026, 3, 2, 11, 50, tzinfo=UTC)
    assert CanaryJudgeConfig().period_seconds == 60


# Which target group is the canary: the listener's weights (moto ELBv2 with weighted forward actions) -----------
def weighted_listener(url: str, name: str, weights: tuple[int, int]) -> tuple[str, str, str, Any]:
    ec2, elbv2 = client("ec2", url), client("elbv2", url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]
               ["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, Scheme="internal")["LoadBalancers"][0]
    tgs = [elbv2.create_target_group(Name=f"{name}-{color}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                     TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
           for color in ("blue", "green")]
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tgs[0], "Weight": weights[0]}, {"TargetGroupArn": tgs[1], "Weight": weights[1]}]}}])
    suffix = lb["LoadBalancerArn"].split(":loadbalancer/")[1]
    blue, green = (t.split(":", 5)[-1] for t in tgs)
    return suffix, blue, green, listener["Listeners"][0]["ListenerArn"]


def test_canary_target_group_is_the_lightly_weighted_one(moto_url: str) -> None:
    from runtime.canary.metrics_source import MetricsUnavailable, resolve_canary_target_groups

    _, blue, green, listener = weighted_listener(moto_url, "weights", (90, 10))
    elbv2 = client("elbv2", moto_url)
    assert resolve_canary_target_groups(elbv2, [blue, green]) == (blue, green)
    rule = elbv2.describe_rules(ListenerArn=listener)["Rules"][0]
    elbv2.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": t["TargetGroupArn"], "Weight": w} for t, w in
                         zip(rule["Actions"][0]["ForwardConfig"]["TargetGroups"], (100, 0), strict=True)]}}])
    with pytest.raises(MetricsUnavailable, match="no canary in progress"):
        resolve_canary_target_groups(elbv2, [blue, green])


def test_cli_judges_alb_metrics_with_everything_from_the_stack_and_its_outputs(moto_url: str,
                                                                              tmp_path: Path) -> None:
    """`--stack staging --stack-outputs FILE`: thresholds from Pulumi.staging.yaml, load balancer and target groups
    from the outputs, the canary found by the listener weights, ALB metrics read from AWS/ApplicationELB."""
    from tests.harness import ROOT

    lb, blue, green, _ = weighted_listener(moto_url, "judge-alb", (80, 20))
    cw = client("cloudwatch", moto_url)
    rng = np.random.default_rng(9)
    data = []
    for minute in range(5):
        ts = END - timedelta(minutes=5 - minute)
        for tg, requests in ((blue, 800.0), (green, 200.0)):
            dims = [{"Name": "LoadBalancer", "Value": lb}, {"Name": "TargetGroup", "Value": tg}]
            data += [{"MetricName": m.ALB_REQUESTS, "Dimensions": dims, "Timestamp": ts, "Value": requests},
                     {"MetricName": m.ALB_RESPONSE_TIME, "Dimensions": dims, "Timestamp": ts,
                      "Value": 0.05 + float(rng.normal(0, 0.002))}]
    put_metric_data(cw, m.ALB_NAMESPACE, data)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"servingLoadBalancerArnSuffix": lb,
                                   "servingTargetGroupArnSuffixes": {"primary": blue, "alternate": green}}))
    out = tmp_path / "alb.json"
    code, report, output = invoke("canary", "judge", "--stack", "production", "--project-dir", str(ROOT),
                                  "--stack-outputs", str(outputs), "--endpoint-url", moto_url, "--no-percentiles",
                                  "--end-time", END.isoformat(), "--report", str(out))
    assert report is not None, output
    assert report["subject"]["canary"] == green
    assert report["details"]["source"]["traffic"]["canary_target_group"] == green
    errors = next(x for x in report["details"]["metrics"] if x["name"] == "errors")
    assert errors["stats"]["canary_requests"] == 1000
    # 1000 clean canary requests cannot yet prove a 5xx rate below 0.1 %: keep baking, and say for how long.
    assert errors["status"] == "INCONCLUSIVE"
    assert errors["decision"]["canary_requests_remaining"] > 2000
    latency = next(x for x in report["details"]["metrics"] if x["name"] == "latency")
    assert latency["status"] == "NODATA"  # --no-percentiles: no TC statistics, so no response-time histogram
    assert code == 3
    assert report["verdict"] == "INCONCLUSIVE"


def test_quality_is_published_under_the_stacks_metric_name() -> None:
    """`alarms.modelQuality.metricName` names the metric the alarm and the judge read; the default only when
    none is given."""
    stamp = END - timedelta(minutes=1)
    named = period_metric_data([], model_name="m", variant=m.VARIANT_CANARY, timestamp=stamp, quality=0.9,
                               quality_metric="Accuracy")
    default = period_metric_data([], model_name="m", variant=m.VARIANT_CANARY, timestamp=stamp, quality=0.9)
    assert [d["MetricName"] for d in named if d.get("Value") == 0.9] == ["Accuracy"]
    assert [d["MetricName"] for d in default if d.get("Value") == 0.9] == ["PredictionQuality"]
