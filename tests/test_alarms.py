"""CanaryAlarms: the rollback alarms, their thresholds from config, missing-data choices, and the encrypted topic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime import metrics as m
from runtime import stack_outputs as out
from runtime.graph import MOCK_ACCOUNT, Graph, Resource
from tests.harness import graph, policy, stack_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
PREFIX = "ml-cicd-{stack}-canary-alarms"
STACK_ALARMS = "ml-cicd-{stack}"  # every alarm of the stack (canary and drift) may publish to the topic


def _component(g: Graph) -> Resource:
    return g.one("mlcicd:observability:CanaryAlarms")


def _alarms(g: Graph) -> dict[str, Resource]:
    """The component's metric alarms by short name (`5xx-rate`, ...)."""
    kids = g.children(_component(g))
    return {r.name.removeprefix("canary-alarms-"): r for r in kids if r.type == ALARM}


def _child(g: Graph, type_token: str, name: str) -> Resource:
    [found] = [r for r in g.children(_component(g)) if r.type == type_token and r.name == name]
    return found


def _queries(alarm: Resource) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in alarm.inputs["metricQueries"]}


def test_the_four_rollback_alarms_exist(production: Graph) -> None:
    alarms = _alarms(production)
    assert sorted(alarms) == ["5xx-rate", "canary-verdict", "model-quality", "p99-latency"]
    assert {a.inputs["name"] for a in alarms.values()} == {
        f"{PREFIX.format(stack='production')}-{short}" for short in alarms}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_every_alarm_chooses_missing_data_and_acts(stack: str) -> None:
    g = graph(stack)
    for alarm in _alarms(g).values():
        # Each choice is deliberate and commented in the component: no data means no traffic / no canary /
        # no verdict, so it must not roll a healthy deployment back.
        assert alarm.inputs["treatMissingData"] == "notBreaching", alarm.name
        assert alarm.inputs["actionsEnabled"] is True, alarm.name
    composite = _child(g, COMPOSITE, "canary-alarms-rollback")
    assert composite.inputs["actionsEnabled"] is True


def test_error_rate_is_metric_math_per_target_group_with_the_low_traffic_guard(production: Graph) -> None:
    alarm = _alarms(production)["5xx-rate"]
    alarms_cfg = stack_config("production")["alarms"]
    queries = _queries(alarm)
    assert alarm.inputs["threshold"] == alarms_cfg["errorRatePercent"]
    assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert "metricName" not in alarm.inputs  # the alarm watches the expression, not one metric
    requests = {queries[f"r{i}"]["metric"]["dimensions"]["TargetGroup"] for i in range(2)}
    errors = {queries[f"e{i}"]["metric"]["dimensions"]["TargetGroup"] for i in range(2)}
    assert requests == errors == {"targetgroup/model-blue/0123456789abcdef", "targetgroup/model-green/0123456789abcdef"}
    for i in range(2):
        assert queries[f"r{i}"]["metric"]["metricName"] == m.ALB_REQUESTS
        assert queries[f"e{i}"]["metric"]["metricName"] == m.ALB_TARGET_5XX
        assert queries[f"r{i}"]["metric"]["stat"] == queries[f"e{i}"]["metric"]["stat"] == "Sum"
        assert queries[f"rate{i}"]["expression"] == (
            f"IF(FILL(r{i}, 0) >= {alarms_cfg['minRequests']}, 100 * FILL(e{i}, 0) / FILL(r{i}, 0), 0)")
    assert queries["worst"]["expression"] == "MAX([rate0, rate1])"
    assert [q["id"] for q in alarm.inputs["metricQueries"] if q.get("returnData")] == ["worst"]


def test_p99_latency_uses_the_extended_statistic_in_seconds(production: Graph) -> None:
    alarm = _alarms(production)["p99-latency"]
    queries = _queries(alarm)
    assert alarm.inputs["threshold"] == stack_config("production")["alarms"]["p99LatencyMs"] / 1000
    for i in range(2):
        assert queries[f"t{i}"]["metric"]["metricName"] == m.ALB_RESPONSE_TIME
        assert queries[f"t{i}"]["metric"]["stat"] == "p99"
    assert queries["worst"]["expression"] == "MAX([p0, p1])"


def test_rolling_has_one_target_group_and_no_max() -> None:
    alarm = _alarms(graph("staging", {"serving": {"canary": {"strategy": "rolling"}}}))["5xx-rate"]
    queries = _queries(alarm)
    assert sorted(queries) == ["e0", "r0", "rate0", "worst"]
    assert queries["worst"]["expression"] == "rate0"


def test_load_balancer_alarms_never_use_periods_alb_metrics_cannot_fill() -> None:
    alarms = _alarms(graph("staging", {"alarms": {"periodSeconds": 10}}))
    for short in ("5xx-rate", "p99-latency"):
        assert {q["metric"]["period"] for q in alarms[short].inputs["metricQueries"] if "metric" in q} == {60}
    assert alarms["model-quality"].inputs["period"] == 10  # custom metrics may be high resolution


def test_evaluation_window_comes_from_config() -> None:
    g = graph("staging", {"alarms": {"evaluationPeriods": 5, "datapointsToAlarm": 4}})
    for short in ("5xx-rate", "p99-latency", "model-quality"):
        assert (_alarms(g)[short].inputs["evaluationPeriods"], _alarms(g)[short].inputs["datapointsToAlarm"]) == (5, 4)
    # One failing verdict is decisive whatever the window.
    verdict = _alarms(g)["canary-verdict"]
    assert (verdict.inputs["evaluationPeriods"], verdict.inputs["datapointsToAlarm"]) == (1, 1)


def test_model_quality_alarm_follows_config() -> None:
    quality = {"namespace": "Acme/Churn", "metricName": "RecallAt10", "threshold": 0.42,
               "comparison": "GreaterThanThreshold"}
    alarm = _alarms(graph("staging", {"alarms": {"modelQuality": quality}}))["model-quality"]
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["threshold"],
            alarm.inputs["comparisonOperator"]) == ("Acme/Churn", "RecallAt10", 0.42, "GreaterThanThreshold")
    assert alarm.inputs["dimensions"] == {m.DIMENSION_MODEL: "churn-classifier", m.DIMENSION_VARIANT: m.VARIANT_CANARY}


def test_canary_verdict_alarm_fires_on_a_failed_verdict(production: Graph) -> None:
    alarm = _alarms(production)["canary-verdict"]
    assert alarm.inputs["metricName"] == m.CANARY_VERDICT
    assert alarm.inputs["namespace"] == stack_config("production")["alarms"]["modelQuality"]["namespace"]
    assert alarm.inputs["dimensions"] == {m.DIMENSION_MODEL: "churn-classifier"}
    assert (alarm.inputs["statistic"], alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == (
        "Minimum", "LessThanThreshold", 1)


def test_composite_pages_once_for_any_rollback_alarm(production: Graph) -> None:
    composite = _child(production, COMPOSITE, "canary-alarms-rollback")
    names = sorted(a.inputs["name"] for a in _alarms(production).values())
    rule = composite.inputs["alarmRule"]
    assert sorted(part.removeprefix('ALARM("').removesuffix('")') for part in rule.split(" OR ")) == names
    topic = _child(production, "aws:sns/topic:Topic", "canary-alarms-topic")
    assert composite.property_dependencies["alarmActions"] == [topic.urn]
    assert composite.property_dependencies["okActions"] == [topic.urn]
    assert production.outputs[out.ROLLBACK_COMPOSITE_ALARM] == composite.inputs["alarmName"]
    # The metric alarms notify nobody themselves: ECS / CodeDeploy act on them, the composite pages.
    for alarm in _alarms(production).values():
        assert not alarm.inputs.get("alarmActions"), alarm.name


def test_topic_is_encrypted_with_a_rotating_key_cloudwatch_may_use(production: Graph) -> None:
    key = _child(production, "aws:kms/key:Key", "canary-alarms-topic-key")
    topic = _child(production, "aws:sns/topic:Topic", "canary-alarms-topic")
    assert topic.property_dependencies["kmsMasterKeyId"] == [key.urn]
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:key/canary-alarms-topic-key-key-id"
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert set(statements) == {"AccountAdministersKeyThroughIam", "CloudWatchAlarmsPublish", "NotificationRulesPublish"}
    cloudwatch = statements["CloudWatchAlarmsPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-1:{MOCK_ACCOUNT}:alarm:"
                                     f"{STACK_ALARMS.format(stack='production')}-*"}}
    notifications = statements["NotificationRulesPublish"]
    assert notifications["Principal"] == {"Service": "codestar-notifications.amazonaws.com"}
    assert notifications["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}}
    assert statements["AccountAdministersKeyThroughIam"]["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT}:root"}


def test_topic_policy_admits_only_this_stacks_alarms_and_notifications_over_tls(production: Graph) -> None:
    doc = policy(_child(production, "aws:sns/topicPolicy:TopicPolicy", "canary-alarms-topic-policy"))
    statements = {s["Sid"]: s for s in doc["Statement"]}
    publish = statements["CloudWatchAlarmsPublish"]
    assert (publish["Effect"], publish["Action"], publish["Principal"]) == (
        "Allow", "sns:Publish", {"Service": "cloudwatch.amazonaws.com"})
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        f":alarm:{STACK_ALARMS.format(stack='production')}-*")
    notifications = statements["NotificationRulesPublish"]
    assert (notifications["Principal"], notifications["Action"], notifications["Condition"]) == (
        {"Service": "codestar-notifications.amazonaws.com"}, "sns:Publish",
        {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}})
    drift = production.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert all(a.inputs["name"].startswith(STACK_ALARMS.format(stack="production") + "-") for a in drift)
    deny = statements["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_email_subscriptions_from_config() -> None:
    emails = ["a@example.com", "b@example.com"]
    g = graph("staging", {"alarms": {"emails": emails}})
    subs = [r for r in g.children(_component(g)) if r.type == "aws:sns/topicSubscription:TopicSubscription"]
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in subs) == [("email", e) for e in emails]
    g = graph("staging", {"alarms": {"emails": []}})
    assert [r for r in g.children(_component(g)) if r.type == "aws:sns/topicSubscription:TopicSubscription"] == []


def test_rollback_alarm_names_are_exported(production: Graph) -> None:
    assert production.outputs[out.ROLLBACK_ALARMS] == [
        f"{PREFIX.format(stack='production')}-{short}"
        for short in ("5xx-rate", "p99-latency", "model-quality", "canary-verdict")]
    assert production.outputs[out.ALARM_TOPIC_ARN] == "arn:aws:sns:eu-west-1:123456789012:canary-alarms-topic"


def test_no_alarms_without_serving() -> None:
    g = graph("staging", {"model": {"imageDigest": None}})
    assert g.of_type("mlcicd:observability:CanaryAlarms") == []
    assert [r.name for r in g.resources if r.name.startswith("canary-alarms")] == []
    assert out.ROLLBACK_ALARMS not in g.outputs


def test_without_our_load_balancer_only_model_metric_alarms() -> None:
    g = graph("eks")  # tests/fixtures/Pulumi.eks.yaml: Argo Rollouts, no ALB of ours
    assert sorted(_alarms(g)) == ["canary-verdict", "model-quality"]
    composite = _child(g, COMPOSITE, "canary-alarms-rollback")
    assert composite.inputs["alarmRule"].count("ALARM(") == 2
