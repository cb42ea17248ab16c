"""DriftMonitor and BatchInference on the real stack files: schedule, job, metric permission, alarm, retrain
trigger, and the batch job's pinned image."""

from __future__ import annotations

import json

import pytest
import yaml

from components.monitoring.drift_monitor import alarm_event_pattern, schedule_period_seconds
from runtime import metrics as m
from runtime.graph import MOCK_ACCOUNT, Graph
from tests.harness import PIPELINE_REPOSITORY, PIPELINE_REPOSITORY_ARN, graph, policy

REGION = "eu-west-1"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
PROJECT = "aws:codebuild/project:Project"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def statements(g: Graph, name: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy(g.one(ROLE_POLICY, name))["Statement"]}


# Pure helpers ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 day)", 86_400), ("rate(6 hours)", 21_600), ("rate(1 hour)", 3_600), ("rate(30 minutes)", 1_800),
    ("rate(1 minute)", 60), ("rate(3 days)", 86_400), ("cron(0 3 * * ? *)", 86_400)])
def test_alarm_period_follows_the_schedule_capped_at_a_day(expression: str, seconds: int) -> None:
    assert schedule_period_seconds(expression) == seconds


def test_retrain_pattern_matches_only_this_alarm_entering_alarm() -> None:
    assert json.loads(alarm_event_pattern("arn:aws:cloudwatch:eu-west-1:1:alarm:a")) == {
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "resources": ["arn:aws:cloudwatch:eu-west-1:1:alarm:a"], "detail": {"state": {"value": ["ALARM"]}}}


# The schedule and the job ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stack", "expression"), [("staging", "rate(1 day)"), ("production", "rate(6 hours)")])
def test_schedule_from_config_starts_the_drift_job(stack: str, expression: str) -> None:
    g = graph(stack)
    schedule = g.one(SCHEDULE, "drift-job-schedule").inputs
    assert schedule["scheduleExpression"] == expression
    assert schedule["scheduleExpressionTimezone"] == "UTC"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    # CodeBuild StartBuild is a templated target: the project's ARN, no input (EventBridge Scheduler user guide).
    project_arn = f"arn:aws:codebuild:{REGION}:{MOCK_ACCOUNT}:project/ml-cicd-{stack}-drift-job"
    assert schedule["target"]["arn"] == project_arn
    assert "input" not in schedule["target"]
    assert schedule["target"]["retryPolicy"] == {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600}
    scheduler = statements(g, "drift-job-scheduler-policy")
    assert scheduler == {"StartThisJob": {
        "Sid": "StartThisJob", "Effect": "Allow", "Action": ["codebuild:StartBuild"],
        "Resource": [f"arn:aws:codebuild:{REGION}:{MOCK_ACCOUNT}:project/ml-cicd-{stack}-drift-job"]}}


def test_drift_job_checks_out_the_repository_and_checks_a_window_of_captures(production: Graph) -> None:
    job = production.one(PROJECT, "drift-job").inputs
    assert job["source"]["type"] == "GITHUB"
    assert job["source"]["location"] == "https://github.com/acme/churn-model.git"
    assert job["source"]["auth"]["type"] == "CODECONNECTIONS"
    assert job["sourceVersion"] == "main"
    build = yaml.safe_load(job["source"]["buildspec"])["phases"]["build"]["commands"]
    drift = next(c for c in build if c.startswith("mlcicd monitor drift"))
    # A window of captures per model version (not the newest object), read and published by one command.
    assert drift.startswith("mlcicd monitor drift --stack production --report reports/drift-monitor.json")
    assert drift.endswith('|| { rc=$?; [ "$rc" -eq 1 ]; }'), "a drifted window is a result, not a failure"
    assert not any("CURRENT_KEY" in c for c in build)
    env = {v["name"]: v["value"] for v in job["environment"]["environmentVariables"]}
    assert env == {"STACK_NAME": "production", "DATA_BUCKET": "artifacts-data"}
    assert job["environment"]["privilegedMode"] is False


def test_drift_job_role_reads_reference_and_captures_and_publishes_only_its_namespace(production: Graph) -> None:
    s = statements(production, "drift-job-policy")
    assert s["ReadData"]["Resource"] == ["arn:aws:s3:::artifacts-data/inference/*",
                                         "arn:aws:s3:::artifacts-data/monitoring/drift/*",
                                         "arn:aws:s3:::artifacts-data/profiles/reference.npz"]
    assert s["WriteData"]["Resource"] == ["arn:aws:s3:::artifacts-data/monitoring/drift/*"]
    assert s["PublishModelMetrics"] == {
        "Sid": "PublishModelMetrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": ["*"],
        "Condition": {"StringEquals": {"cloudwatch:namespace": "MLCICD/Model"}}}
    assert s["CheckOutThroughConnection"]["Resource"] == [
        "arn:aws:codeconnections:eu-west-1:123456789012:connection/6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"]
    assert "ReadSourceArtifact" not in s
    assert "WriteModels" not in s
    assert all("*" not in a for st in s.values() for a in st["Action"])


# The alarm and the retrain trigger ------------------------------------------------------------------------------
@pytest.mark.parametrize(("stack", "period"), [("staging", 86_400), ("production", 21_600)])
def test_drift_alarm_on_the_published_metric_to_the_alarm_topic(stack: str, period: int) -> None:
    alarm = graph(stack).one(ALARM, "drift-alarm").inputs
    topic = f"arn:aws:sns:{REGION}:{MOCK_ACCOUNT}:canary-alarms-topic"
    assert alarm["name"] == f"ml-cicd-{stack}-drift"
    assert (alarm["namespace"], alarm["metricName"]) == ("MLCICD/Model", m.DRIFT_SCORE)
    assert alarm["dimensions"] == {m.DIMENSION_MODEL: "churn-classifier"}
    assert (alarm["statistic"], alarm["period"], alarm["evaluationPeriods"]) == ("Maximum", period, 1)
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 0.2)
    assert alarm["treatMissingData"] == "ignore"
    assert alarm["actionsEnabled"] is True
    assert alarm["alarmActions"] == alarm["okActions"] == [topic]


def test_threshold_and_namespace_from_config() -> None:
    g = graph("staging", {"monitoring": {"drift": {"alarmThreshold": 0.35}},
                          "alarms": {"modelQuality": {"namespace": "Acme/Churn"}}})
    alarm = g.one(ALARM, "drift-alarm").inputs
    assert (alarm["threshold"], alarm["namespace"]) == (0.35, "Acme/Churn")
    grant = statements(g, "drift-job-policy")["PublishModelMetrics"]
    assert grant["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Acme/Churn"}}


def test_production_retrains_through_the_pipeline_staging_hosts(production: Graph) -> None:
    rule = production.one(RULE, "drift-retrain").inputs
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{MOCK_ACCOUNT}:alarm:ml-cicd-production-drift"
    assert json.loads(rule["eventPattern"]) == json.loads(alarm_event_pattern(alarm_arn))
    target = production.one("aws:cloudwatch/eventTarget:EventTarget", "drift-retrain-target").inputs
    pipeline_arn = f"arn:aws:codepipeline:{REGION}:{MOCK_ACCOUNT}:ml-cicd-staging-delivery"
    assert target["arn"] == pipeline_arn
    assert target["roleArn"] == f"arn:aws:iam::{MOCK_ACCOUNT}:role/drift-retrain-role"
    assert statements(production, "drift-retrain-policy") == {"StartDeliveryPipeline": {
        "Sid": "StartDeliveryPipeline", "Effect": "Allow", "Action": ["codepipeline:StartPipelineExecution"],
        "Resource": [pipeline_arn]}}


def test_no_retrain_trigger_unless_config_asks(staging: Graph) -> None:
    assert staging.of_type(RULE) == []
    g = graph("staging", {"monitoring": {"drift": {"retrainOnDrift": True}}})
    target = g.one("aws:cloudwatch/eventTarget:EventTarget", "drift-retrain-target").inputs
    assert target["arn"] == f"arn:aws:codepipeline:{REGION}:{MOCK_ACCOUNT}:ml-cicd-staging-delivery"


def test_jobs_of_a_stack_without_pipeline_check_out_monitoring_source(production: Graph) -> None:
    job = production.one(PROJECT, "drift-job").inputs
    assert job["source"]["auth"]["resource"] == (
        "arn:aws:codeconnections:eu-west-1:123456789012:connection/6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    g = graph("production", {"monitoring": {"source": {"branch": "release"}}})
    assert g.one(PROJECT, "drift-job").inputs["sourceVersion"] == "release"


def test_drift_monitor_off_by_config() -> None:
    g = graph("staging", {"monitoring": {"drift": {"enabled": False}}})
    assert g.of_type("mlcicd:monitoring:DriftMonitor") == []
    assert not [r for r in g.of_type(SCHEDULE) if r.name.startswith("drift")]


def test_failed_monitoring_runs_notify_the_alarm_topic(production: Graph) -> None:
    for job in ("drift-job", "batch-job"):
        rule = production.one("aws:codestarnotifications/notificationRule:NotificationRule", f"{job}-failures")
        assert rule.inputs["eventTypeIds"] == ["codebuild-project-build-state-failed"]
        assert rule.inputs["targets"][0]["address"].endswith(":canary-alarms-topic")


# Batch inference ------------------------------------------------------------------------------------------------
def test_batch_inference_only_when_enabled(staging: Graph, production: Graph) -> None:
    assert staging.of_type("mlcicd:monitoring:BatchInference") == []
    assert len(production.of_type("mlcicd:monitoring:BatchInference")) == 1


def test_batch_job_scores_with_the_pinned_image_on_its_schedule(production: Graph) -> None:
    job = production.one(PROJECT, "batch-job").inputs
    env = {v["name"]: v["value"] for v in job["environment"]["environmentVariables"]}
    digest = "sha256:7e3a1c9b5d2f8e4a6c0b3d9f1e7a5c2b8d4f0e6a3c9b1d7f5e2a8c4b0d6f3e9a"
    assert env["SERVING_IMAGE"] == f"{MOCK_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{PIPELINE_REPOSITORY}@{digest}"
    assert job["environment"]["privilegedMode"] is True
    build = yaml.safe_load(job["source"]["buildspec"])["phases"]["build"]["commands"]
    assert any('--network none' in c and "models predict --model-uri /opt/ml/model" in c for c in build)
    assert build[-1] == ("mlcicd monitor batch-summary --inputs batch/input --predictions batch/output "
                         "--report batch/output/summary.json")
    post = yaml.safe_load(job["source"]["buildspec"])["phases"]["post_build"]["commands"]
    assert post == ['if [ -d batch/output ]; then aws s3 cp batch/output '
                    '"s3://$DATA_BUCKET/batch/output/$RUN_ID/" --recursive; fi']
    assert production.one(SCHEDULE, "batch-job-schedule").inputs["scheduleExpression"] == "cron(0 3 * * ? *)"


def test_batch_job_reads_its_input_writes_its_output_pulls_only_the_serving_repository(production: Graph) -> None:
    s = statements(production, "batch-job-policy")
    assert s["ReadData"]["Resource"] == ["arn:aws:s3:::artifacts-data/batch/input/*",
                                         "arn:aws:s3:::artifacts-data/batch/output/*"]
    assert s["WriteData"]["Resource"] == ["arn:aws:s3:::artifacts-data/batch/output/*"]
    assert s["PullServingImage"]["Resource"] == [PIPELINE_REPOSITORY_ARN]
    assert "PushServingImage" not in s
    assert "PublishModelMetrics" not in s


def test_quality_job_runs_beside_the_drift_job_with_labels_and_captures_only(production: Graph,
                                                                             staging: Graph) -> None:
    job = production.one(PROJECT, "drift-quality-job").inputs
    build = yaml.safe_load(job["source"]["buildspec"])["phases"]["build"]["commands"]
    assert "mlcicd monitor quality --stack production --report reports/quality-monitor.json" in build
    s = statements(production, "drift-quality-job-policy")
    assert s["ReadData"]["Resource"] == ["arn:aws:s3:::artifacts-data/inference/*",
                                         "arn:aws:s3:::artifacts-data/labels/*",
                                         "arn:aws:s3:::artifacts-data/monitoring/quality/*"]
    assert s["WriteData"]["Resource"] == ["arn:aws:s3:::artifacts-data/monitoring/quality/*"]
    assert [r for r in staging.of_type(PROJECT) if "quality" in r.name] == []  # staging has no labels
