"""`mlcicd verify rollout` against a real moto server (ECS cluster, task definitions, service, CloudWatch alarms)
and, for what moto cannot produce, botocore's Stubber: moto never rolls a deployment back and its UpdateService
changes the service's task definition without creating a new deployment, so a rolled-back service (a FAILED
deployment next to the restored PRIMARY, circuit-breaker events) is given to the verifier through Stubber."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config import load_stack
from runtime.report import Verdict
from runtime.verify.ecs import verify_ecs_rollout
from runtime.verify.eks import verify_argo_rollout
from runtime.verify.pins import Expected
from tests.harness import ROOT, use_fake_aws

REGION = "eu-west-1"
FAST = Config(retries={"max_attempts": 1, "mode": "standard"})
STAGING = load_stack("staging", ROOT).config
PINNED = STAGING.model.image_digest or ""
OTHER = "sha256:" + "0" * 64
EXPECTED = Expected(stack="staging", model_name=STAGING.model.name, version=STAGING.model.version,
                    image_digest=PINNED)




@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch, REGION)


def client(service: str, url: str | None = None) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url, config=FAST)  # type: ignore[call-overload]


def deploy(url: str, name: str, *, digest: str = PINNED, version: str | None = None, running: bool = True,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """A cluster and service whose PRIMARY deployment runs the serving container (moto reports COMPLETED when
    MOTO_ECS_SERVICE_RUNNING covers the desired count, IN_PROGRESS otherwise)."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2" if running else "0")
    ecs = client("ecs", url)
    ecs.create_cluster(clusterName=name)
    env = [{"name": "MLCICD_MODEL_NAME", "value": STAGING.model.name},
           {"name": "MLCICD_MODEL_VERSION", "value": version or STAGING.model.version or ""}]
    td = ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "model", "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving@{digest}", "cpu": 256,
         "memory": 512, "environment": env}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=name, serviceName=name, taskDefinition=td, desiredCount=2)
    return td


def verify(url: str, name: str, **kwargs: Any):
    return verify_ecs_rollout(client("ecs", url), client("cloudwatch", url), cluster=name, service=name,
                              expected=EXPECTED, **kwargs)


def check(report, name: str):
    return next(c for c in report.checks if c.name == name)


def test_live_deployment_matching_the_stack_passes(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    td = deploy(moto_url, "match", monkeypatch=monkeypatch)
    report = verify(moto_url, "match")
    assert report.verdict == Verdict.PASS, report.summary_lines()
    assert report.details["live_task_definition"] == td
    assert check(report, "image-digest").observed == PINNED


def test_other_image_digest_fails_with_guidance(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(moto_url, "stale-image", digest=OTHER, monkeypatch=monkeypatch)
    digest = check(verify(moto_url, "stale-image"), "image-digest")
    assert digest.verdict == Verdict.FAIL
    assert f"the live service runs {OTHER}, the stack pins {PINNED}" in digest.reason
    assert "`pulumi refresh --stack staging`" in digest.reason
    assert "`pulumi up --stack staging`" in digest.reason


def test_other_model_version_fails(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(moto_url, "stale-version", version="7", monkeypatch=monkeypatch)
    version = check(verify(moto_url, "stale-version"), "model-version")
    assert version.verdict == Verdict.FAIL
    assert version.observed == "7"


def test_model_version_from_task_definition_tags(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    ecs = client("ecs", moto_url)
    ecs.create_cluster(clusterName="tagged")
    td = ecs.register_task_definition(family="tagged", containerDefinitions=[
        {"name": "model", "image": f"repo@{PINNED}", "cpu": 256, "memory": 512}],
        tags=[{"key": "model-version", "value": STAGING.model.version or ""}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="tagged", serviceName="tagged", taskDefinition=td, desiredCount=2)
    assert check(verify(moto_url, "tagged"), "model-version").verdict == Verdict.PASS
    ecs.untag_resource(resourceArn=td, tagKeys=["model-version"])
    missing = check(verify(moto_url, "tagged"), "model-version")
    assert missing.verdict == Verdict.INCONCLUSIVE
    assert "declares no model version" in missing.reason


def test_rollout_still_in_progress_is_inconclusive(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy(moto_url, "rolling", running=False, monkeypatch=monkeypatch)
    report = verify(moto_url, "rolling")
    assert report.verdict == Verdict.INCONCLUSIVE
    assert "still rolling out" in check(report, "rollout").reason


def test_alarm_in_alarm_state_fails_and_names_the_alarm(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto never evaluates alarms: set_alarm_state puts them in ALARM, as CloudWatch would on a 5xx spike."""
    deploy(moto_url, "alarmed", monkeypatch=monkeypatch)
    cw = client("cloudwatch", moto_url)
    cw.put_metric_alarm(AlarmName="staging-model-quality", Namespace="MLCICD/Model", MetricName="PredictionQuality",
                        Dimensions=[{"Name": "ModelName", "Value": STAGING.model.name},
                                    {"Name": "Variant", "Value": "canary"}],
                        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=0.8,
                        ComparisonOperator="LessThanThreshold")
    cw.put_metric_alarm(AlarmName="someone-elses-alarm", Namespace="Other", MetricName="X", Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    for name in ("staging-model-quality", "someone-elses-alarm"):
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="Threshold Crossed: 0.62 < 0.8")
    try:
        alarms = check(verify(moto_url, "alarmed"), "alarms")
        assert alarms.verdict == Verdict.FAIL
        assert alarms.observed == ["staging-model-quality"]
        assert "Threshold Crossed: 0.62 < 0.8" in alarms.reason
        assert "`pulumi refresh --stack staging`" in alarms.reason
        by_name = check(verify(moto_url, "alarmed", alarm_names=["someone-elses-alarm"]), "alarms")
        assert set(by_name.observed) == {"staging-model-quality", "someone-elses-alarm"}
    finally:
        cw.delete_alarms(AlarmNames=["staging-model-quality", "someone-elses-alarm"])


def test_missing_service_fails_with_guidance(moto_url: str) -> None:
    client("ecs", moto_url).create_cluster(clusterName="empty")
    report = verify_ecs_rollout(client("ecs", moto_url), client("cloudwatch", moto_url), cluster="empty",
                                service="nothing", expected=EXPECTED)
    assert report.verdict == Verdict.FAIL
    assert "not found in cluster empty" in check(report, "service").reason


def rolled_back_service(new_td: str, old_td: str) -> dict[str, Any]:
    """What DescribeServices shows after the deployment circuit breaker rolled a deployment back."""
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    return {"services": [{
        "serviceName": "svc", "status": "ACTIVE", "taskDefinition": old_td,
        "deployments": [
            {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": old_td, "rolloutState": "COMPLETED",
             "rolloutStateReason": "ECS deployment ecs-svc/2 completed.", "createdAt": now},
            {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": new_td, "rolloutState": "FAILED",
             "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.", "createdAt": now}],
        "events": [
            {"id": "e2", "createdAt": now, "message": "(service svc) rolling back to deployment ecs-svc/2."},
            {"id": "e1", "createdAt": now, "message": "(service svc) deployment ecs-svc/1 deployment failed: tasks "
                                                      "failed to start."},
            {"id": "e0", "createdAt": now, "message": "(service svc) has reached a steady state."}],
        "deploymentConfiguration": {"alarms": {"alarmNames": ["staging-5xx"], "enable": True, "rollback": True}},
        "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/"
                                             "blue/0123456789abcdef", "containerName": "model", "containerPort": 8080}],
    }], "failures": []}


def test_rolled_back_deployment_fails_with_refresh_guidance() -> None:
    old_td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/svc:11"
    new_td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/svc:12"
    ecs, cw = client("ecs"), client("cloudwatch")
    with Stubber(ecs) as ecs_stub, Stubber(cw) as cw_stub:
        ecs_stub.add_response("describe_services", rolled_back_service(new_td, old_td),
                              {"cluster": "c", "services": ["svc"]})
        cw_stub.add_response("describe_alarms", {"MetricAlarms": [
            {"AlarmName": "staging-5xx", "StateValue": "ALARM", "StateReason": "Threshold Crossed: 3 datapoints",
             "StateUpdatedTimestamp": datetime(2026, 3, 2, 11, 58, tzinfo=UTC)}], "CompositeAlarms": []},
            {"StateValue": "ALARM", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})
        ecs_stub.add_response("describe_task_definition", {"taskDefinition": {
            "taskDefinitionArn": old_td, "containerDefinitions": [
                {"name": "model", "image": f"repo@{OTHER}",
                 "environment": [{"name": "MLCICD_MODEL_VERSION", "value": "12"}]}]}, "tags": []},
            {"taskDefinition": old_td})
        report = verify_ecs_rollout(ecs, cw, cluster="c", service="svc", expected=EXPECTED)
        ecs_stub.assert_no_pending_responses()
    assert report.verdict == Verdict.FAIL
    rollout = check(report, "rollout")
    assert rollout.verdict == Verdict.FAIL
    assert "circuit breaker: tasks failed to start" in rollout.reason
    assert "rolling back to deployment ecs-svc/2" in rollout.reason
    assert "`pulumi refresh --stack staging`" in rollout.reason
    assert check(report, "alarms").observed == ["staging-5xx"]
    assert check(report, "image-digest").verdict == Verdict.FAIL
    assert report.details["live_task_definition"] == old_td
    assert len(report.details["rollback_evidence"]) == 3


def rollout_object(*, image: str, phase: str = "Healthy", abort: bool = False, version: str = "13",
                   stable: str = "abc", current: str = "abc") -> dict[str, Any]:
    return {"metadata": {"name": "churn", "namespace": "ml-serving"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "model", "image": image, "env": [{"name": "MLCICD_MODEL_VERSION", "value": version}]}]}}},
            "status": {"phase": phase, "abort": abort, "stableRS": stable, "currentPodHash": current,
                       "message": "RolloutAborted: metric \"canary-judge\" assessed Failed" if abort else ""}}


def test_argo_rollout_states() -> None:
    healthy = verify_argo_rollout(rollout_object(image=f"repo@{PINNED}"), EXPECTED)
    assert healthy.verdict == Verdict.PASS, healthy.summary_lines()
    aborted = verify_argo_rollout(rollout_object(image=f"repo@{PINNED}", phase="Degraded", abort=True), EXPECTED)
    assert check(aborted, "rollout").verdict == Verdict.FAIL
    assert "canary-judge" in check(aborted, "rollout").reason
    progressing = verify_argo_rollout(rollout_object(image=f"repo@{PINNED}", phase="Progressing", current="def"),
                                      EXPECTED)
    assert progressing.verdict == Verdict.INCONCLUSIVE
    other = verify_argo_rollout(rollout_object(image=f"repo@{OTHER}", version="12"), EXPECTED)
    assert check(other, "image-digest").verdict == Verdict.FAIL
    assert check(other, "model-version").verdict == Verdict.FAIL


def test_cli_reads_names_from_stack_outputs(moto_url: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    deploy(moto_url, "cli-svc", monkeypatch=monkeypatch)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"servingCluster": "cli-svc", "servingService": "cli-svc",
                                   "rollbackAlarmNames": ["staging-5xx"]}))
    out = tmp_path / "verify.json"
    result = CliRunner().invoke(app, ["verify", "rollout", "--stack", "staging", "--project-dir", str(ROOT),
                                      "--stack-outputs", str(outputs), "--endpoint-url", moto_url,
                                      "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["kind"] == "rollout-verification"


def test_cli_without_service_names_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["verify", "rollout", "--stack", "staging", "--project-dir", str(ROOT)])
    assert result.exit_code == 2
    assert "pass --cluster and --service" in result.output
