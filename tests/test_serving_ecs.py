"""ModelService on ECS: one test per promise, asserted on the recorded inputs of the real stack files (+ overrides)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.defaults import TLS_POLICY
from runtime import stack_outputs as out
from runtime.config import ConfigError, load_stack
from runtime.graph import MOCK_ACCOUNT, MOCK_VPC_CIDR, Graph, Resource
from runtime.serving import command as serving
from tests.harness import PIPELINE_REPOSITORY, PIPELINE_REPOSITORY_ARN, ROOT, graph, policy, stack_config

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
LISTENER = "aws:lb/listener:Listener"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
BLUE_GREEN = {"serving": {"canary": {"strategy": "blue-green"}}}
LINEAR = {"serving": {"canary": {"strategy": "linear", "stepPercent": 25, "bakeMinutes": 7}}}
ROLLING = {"serving": {"canary": {"strategy": "rolling"}}}
STRATEGIES = {"canary": {}, "linear": LINEAR, "rolling": ROLLING, "blue-green": BLUE_GREEN}


def _component(g: Graph, type_token: str = "mlcicd:serving:ModelService") -> Resource:
    return g.one(type_token)


def _kids(g: Graph, type_token: str) -> list[Resource]:
    return [r for r in g.children(_component(g)) if r.type == type_token]


def _kid(g: Graph, type_token: str, name: str) -> Resource:
    [found] = [r for r in _kids(g, type_token) if r.name == name]
    return found


def _container(g: Graph) -> dict[str, Any]:
    [container] = json.loads(_kid(g, TASK, "model").inputs["containerDefinitions"])
    return container


def _statements(g: Graph, role: str) -> list[dict[str, Any]]:
    return policy(_kid(g, "aws:iam/rolePolicy:RolePolicy", f"model-{role}"))["Statement"]


def _alarm_names(g: Graph) -> list[str]:
    """The rollback alarms CanaryAlarms created (checked against its exported list, which keeps their order)."""
    alarms = g.children(_component(g, "mlcicd:observability:CanaryAlarms"))
    created = [r.inputs["name"] for r in alarms if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    exported = g.outputs[out.ROLLBACK_ALARMS]
    assert sorted(exported) == sorted(created)
    return exported


# Image ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_image_is_pinned_by_digest(stack: str) -> None:
    digest = stack_config(stack)["model"]["imageDigest"]
    image = _container(graph(stack))["image"]
    # Staging serves from its own repository (mocked name); production from staging's (registry.imageRepositoryArn).
    repository = {"staging": "serving-images", "production": PIPELINE_REPOSITORY}[stack]
    assert image == f"{MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{repository}@{digest}"
    assert re.fullmatch(r"[^:@]+(:\d+)?/[^:@]+@sha256:[0-9a-f]{64}", image)  # a digest, never a tag


def test_task_definition_keeps_old_revisions_for_rollback(production: Graph) -> None:
    assert _kid(production, TASK, "model").inputs["skipDestroy"] is True


# Network exposure ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_tasks_run_in_private_subnets_without_public_ip_or_exec(stack: str) -> None:
    service = _kid(graph(stack), SERVICE, "model")
    network = service.inputs["networkConfiguration"]
    assert network["assignPublicIp"] is False
    assert network["subnets"] == stack_config(stack)["network"]["privateSubnetIds"]
    assert service.inputs["enableExecuteCommand"] is False
    assert service.inputs["launchType"] == "FARGATE"


def test_task_security_group_admits_only_the_load_balancer(production: Graph) -> None:
    rules = [r for r in production.of_type(INGRESS) if r.inputs["securityGroupId"] == "model-tasks-id"]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules] == [
        ("model-lb-id", 8080, 8080)]
    assert all("cidrIpv4" not in r.inputs for r in rules)


def test_load_balancer_ingress_only_from_configured_cidrs(production: Graph) -> None:
    rules = [r for r in production.of_type(INGRESS) if r.inputs["securityGroupId"] == "model-lb-id"]
    cidrs = stack_config("production")["serving"]["loadBalancer"]["ingressCidrs"]
    assert sorted((r.inputs["fromPort"], r.inputs["cidrIpv4"]) for r in rules) == sorted(
        (port, cidr) for port in (80, 443) for cidr in cidrs)
    assert "0.0.0.0/0" not in {r.inputs.get("cidrIpv4") for r in production.of_type(INGRESS)}


def _lb_ingress(g: Graph) -> list[tuple[str, str]]:
    rules = [r for r in g.of_type(INGRESS) if r.inputs["securityGroupId"] == "model-lb-id"]
    return sorted((r.inputs.get("cidrIpv4", ""), r.inputs.get("referencedSecurityGroupId", "")) for r in rules)


def test_load_balancer_ingress_defaults_to_the_vpc() -> None:
    g = graph("staging", {"serving": {"loadBalancer": {"ingressCidrs": []}}})
    assert _lb_ingress(g) == [(MOCK_VPC_CIDR, "")]


def test_load_balancer_ingress_from_security_groups_only() -> None:
    g = graph("staging", {"serving": {"loadBalancer": {"ingressCidrs": [],
                                                       "ingressSecurityGroupIds": ["sg-0123456789abcdef0"]}}})
    assert _lb_ingress(g) == [("", "sg-0123456789abcdef0")]


# Container -----------------------------------------------------------------------------------------------------
def test_container_is_non_root_read_only_and_unprivileged(production: Graph) -> None:
    container = _container(production)
    assert container["readonlyRootFilesystem"] is True
    assert container["privileged"] is False
    assert container["user"].split(":")[0] not in {"0", "root"}
    assert container["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    # The one writable path: MLflow's scratch space on an ephemeral task volume.
    assert container["mountPoints"] == [{"containerPath": "/tmp", "readOnly": False, "sourceVolume": "scratch"}]
    assert _kid(production, TASK, "model").inputs["volumes"] == [{"name": "scratch"}]


def test_container_runs_the_one_serving_command(production: Graph, staging: Graph) -> None:
    # The image's own ENTRYPOINT is replaced too: a task never starts MLflow's nginx entrypoint.
    assert _container(staging)["entryPoint"] == serving.serve_argv(port=8080, workers=1)
    assert _container(production)["entryPoint"] == serving.serve_argv(port=8080, workers=2)  # serving.cpu 2048
    assert "command" not in _container(production)
    assert _container(production)["user"] == f"{serving.RUN_AS_UID}:{serving.RUN_AS_UID}"
    mounts = {m["containerPath"]: m["sourceVolume"] for m in _container(production)["mountPoints"]}
    assert mounts == {w.path: w.volume for w in serving.WRITABLE_PATHS}
    env = {e["name"]: e["value"] for e in _container(production)["environment"]}
    assert {k: env[k] for k in serving.BASE_ENVIRONMENT} == serving.BASE_ENVIRONMENT
    assert env["MLCICD_IMAGE_DIGEST"] == stack_config("production")["model"]["imageDigest"]


def test_container_health_check_probes_ping(production: Graph) -> None:
    container = _container(production)
    assert container["healthCheck"]["command"][:2] == ["CMD", "python"]
    assert "http://127.0.0.1:8080/ping" in container["healthCheck"]["command"][-1]
    for group in _kids(production, "aws:lb/targetGroup:TargetGroup"):
        assert group.inputs["healthCheck"]["path"] == "/ping"
        assert group.inputs["targetType"] == "ip"


def test_container_environment_names_the_model_and_takes_config(production: Graph) -> None:
    g = graph("staging", {"serving": {"environment": {"MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "30"}}})
    env = {e["name"]: e["value"] for e in _container(g)["environment"]}
    assert env["MLCICD_MODEL_NAME"] == "churn-classifier"
    assert env["MLCICD_MODEL_VERSION"] == "13"
    assert env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] == "30"
    assert {e["name"]: e["value"] for e in _container(production)["environment"]}["MLCICD_MODEL_VERSION"] == "12"


@pytest.mark.parametrize(("stack", "days"), [("staging", 30), ("production", 365)])
def test_own_log_group_with_retention_per_stack(stack: str, days: int) -> None:
    g = graph(stack)
    logs = _kid(g, "aws:cloudwatch/logGroup:LogGroup", "model-logs")
    assert logs.inputs["retentionInDays"] == days == load_stack(stack, ROOT).config.log_retention_days
    options = _container(g)["logConfiguration"]["options"]
    assert options["awslogs-group"] == logs.inputs["name"]
    assert g.outputs[out.SERVING_LOG_GROUP] == logs.inputs["name"]


def test_cluster_has_container_insights(production: Graph) -> None:
    cluster = _kid(production, "aws:ecs/cluster:Cluster", "model")
    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": "enabled"}]


# IAM -----------------------------------------------------------------------------------------------------------
def _arns_of_this_stack(resource: str) -> bool:
    """A resource ARN of this stack: our account's ARNs, or our own buckets (S3 ARNs carry no account)."""
    return f":{MOCK_ACCOUNT}:" in resource or resource.startswith("arn:aws:s3:::artifacts-")


#: Every statement allowed `Resource: "*"`, with its actions: AWS offers no resource-level permission for them.
REQUIRES_STAR = {
    ("execution", "EcrAuthorization"): ["ecr:GetAuthorizationToken"],
    ("task", "PublishModelMetrics"): ["cloudwatch:PutMetricData"],  # scoped by the cloudwatch:namespace condition
    ("ecs-load-balancers", "DescribeLoadBalancing"): [
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"],
    ("codedeploy", "DescribeLoadBalancing"): [
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups"],
}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_roles_are_scoped(strategy: str) -> None:
    g = graph("production", STRATEGIES[strategy])
    policies = _kids(g, "aws:iam/rolePolicy:RolePolicy")
    assert policies, "the service has role policies"
    for role_policy in policies:
        role = role_policy.name.removeprefix("model-")
        for statement in policy(role_policy)["Statement"]:
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in statement["Action"]), (role, statement["Sid"])
            for resource in statement["Resource"]:
                if resource == "*":
                    assert REQUIRES_STAR.get((role, statement["Sid"])) == statement["Action"], (role, statement)
                    assert statement["Resource"] == ["*"]
                else:
                    assert _arns_of_this_stack(resource), (role, statement["Sid"], resource)


def test_execution_and_task_roles_are_separate_and_minimal(production: Graph) -> None:
    task = _kid(production, TASK, "model")
    assert task.inputs["executionRoleArn"] != task.inputs["taskRoleArn"]
    execution = {s["Sid"]: s for s in _statements(production, "execution")}
    assert execution["PullServingImage"]["Resource"] == [
        PIPELINE_REPOSITORY_ARN]  # the pipeline stack's
    assert execution["WriteOwnLogs"]["Resource"] == [
        f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:log-group:/ml-cicd/production/model:log-stream:*"]
    assert sorted(execution) == ["DecryptServingImage", "EcrAuthorization", "PullServingImage", "WriteOwnLogs"]
    task_role = {s["Sid"]: s for s in _statements(production, "task")}
    assert task_role["PublishModelMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": stack_config("production")["alarms"]["modelQuality"]["namespace"]}}
    # Inference capture: exactly put to the one stream (the production stack captures).
    assert task_role["PutInferenceCaptures"]["Action"] == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert task_role["PutInferenceCaptures"]["Resource"] == [
        f"arn:aws:firehose:eu-west-1:{MOCK_ACCOUNT}:deliverystream/ml-cicd-production-inference"]
    # Nothing in S3 or KMS: the model is in the image, which the server loads it from.
    assert sorted(task_role) == ["PublishModelMetrics", "PutInferenceCaptures"]
    off = {"monitoring": {"capture": {"enabled": False}, "quality": {"enabled": False}}}
    without = {s["Sid"] for s in _statements(graph("production", off), "task")}
    assert "PutInferenceCaptures" not in without


def test_task_roles_trust_ecs_tasks_of_this_account_only(production: Graph) -> None:
    for name in ("model-execution", "model-task"):
        trust = policy(_kid(production, "aws:iam/role:Role", name), "assumeRolePolicy")
        [statement] = trust["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}}


# Load balancer -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stack", "protected"), [("production", True), ("staging", False)])
def test_deletion_protection_in_production_only(stack: str, protected: bool) -> None:
    alb = _kid(graph(stack), "aws:lb/loadBalancer:LoadBalancer", "model")
    assert alb.inputs["enableDeletionProtection"] is protected


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_load_balancer_is_internal_drops_invalid_headers_and_logs(stack: str) -> None:
    alb = _kid(graph(stack), "aws:lb/loadBalancer:LoadBalancer", "model")
    assert alb.inputs["internal"] is True
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["accessLogs"] == {"bucket": "artifacts-logs", "prefix": "alb", "enabled": True}
    assert alb.inputs["subnets"] == stack_config(stack)["network"]["privateSubnetIds"]


def test_https_with_tls13_and_port_80_only_redirects(production: Graph) -> None:
    listeners = {r.inputs["port"]: r for r in _kids(production, LISTENER)}
    assert sorted(listeners) == [80, 443]
    https = listeners[443].inputs
    assert (https["protocol"], https["sslPolicy"], https["certificateArn"]) == ("HTTPS", TLS_POLICY, CERT)
    assert listeners[80].inputs["defaultActions"] == [{"type": "redirect", "redirect": {
        "port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}]
    # The name the certificate covers, never the load balancer's own (no certificate covers that one); the load
    # balancer's name is exported for the DNS record.
    assert production.outputs[out.MODEL_ENDPOINT] == "https://churn-classifier.ml.example.com"
    assert production.outputs[out.SERVING_LOAD_BALANCER_DNS_NAME] == "model.eu-west-1.elb.amazonaws.com"


def test_http_only_without_certificate(staging: Graph) -> None:
    listeners = _kids(staging, LISTENER)
    assert [(r.inputs["port"], r.inputs["protocol"]) for r in listeners] == [(80, "HTTP")]
    assert "sslPolicy" not in listeners[0].inputs
    # An internal HTTP load balancer needs no hostname: the endpoint is its own DNS name.
    assert staging.outputs[out.MODEL_ENDPOINT] == "http://model.eu-west-1.elb.amazonaws.com"
    assert staging.outputs[out.SERVING_LOAD_BALANCER_DNS_NAME] == "model.eu-west-1.elb.amazonaws.com"


def test_http_endpoint_uses_the_hostname_when_set() -> None:
    g = graph("staging", {"serving": {"loadBalancer": {"hostname": "churn.ml.example.com"}}})
    assert g.outputs[out.MODEL_ENDPOINT] == "http://churn.ml.example.com"
    assert g.resources == graph("staging").resources  # the DNS record is the team's: no resource changes


#: Why an HTTPS load balancer needs a hostname, and the fix, as the config says it.
HOSTNAME_WHY_AND_FIX = (
    "the load balancer serves HTTPS, and no ACM certificate can cover its own DNS name (`*.elb.amazonaws.com`), so "
    "smoke, load, canary probes and verify (every client of `modelEndpoint`) would fail TLS verification on it. "
    "{verb} the DNS name your certificate covers (e.g. `model.ml.example.com`), and create a DNS record (Route 53 "
    "alias or CNAME) pointing it at the load balancer, `pulumi stack output servingLoadBalancerDnsName`")


def _problems(overrides: dict[str, Any], stack: str = "staging") -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        graph(stack, overrides)
    return {p.path: p.render() for p in info.value.problems}


def test_https_without_hostname_is_an_error_naming_key_why_and_fix() -> None:
    problems = _problems({"serving": {"loadBalancer": {"hostname": None}}}, "production")
    assert problems == {"serving.loadBalancer.hostname": (
        "ml-cicd:serving.loadBalancer.hostname: is required: " + HOSTNAME_WHY_AND_FIX.format(verb="Set"))}


def test_https_hostname_must_not_be_the_load_balancers_own_name() -> None:
    name = "internal-model-1234567890.eu-west-1.elb.amazonaws.com"
    problems = _problems({"serving": {"loadBalancer": {"hostname": name}}}, "production")
    assert problems == {"serving.loadBalancer.hostname": (
        f"ml-cicd:serving.loadBalancer.hostname = {name!r}: is the load balancer's own DNS name: "
        + HOSTNAME_WHY_AND_FIX.format(verb="Use"))}


# Deployment ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_canary_strategy_percent_and_bake_come_from_config(stack: str) -> None:
    canary = stack_config(stack)["serving"]["canary"]
    deployment = _kid(graph(stack), SERVICE, "model").inputs["deploymentConfiguration"]
    assert deployment == {"strategy": "CANARY", "bakeTimeInMinutes": str(canary["bakeMinutes"]),
                          "canaryConfiguration": {"canaryPercent": canary["percent"],
                                                  "canaryBakeTimeInMinutes": str(canary["bakeMinutes"])}}


def test_canary_override_is_followed() -> None:
    g = graph("staging", {"serving": {"canary": {"percent": 5, "bakeMinutes": 30}}})
    config = _kid(g, SERVICE, "model").inputs["deploymentConfiguration"]["canaryConfiguration"]
    assert config == {"canaryPercent": 5, "canaryBakeTimeInMinutes": "30"}


def test_linear_strategy_steps_from_config() -> None:
    deployment = _kid(graph("staging", LINEAR), SERVICE, "model").inputs["deploymentConfiguration"]
    assert deployment == {"strategy": "LINEAR", "bakeTimeInMinutes": "7",
                          "linearConfiguration": {"stepPercent": 25, "stepBakeTimeInMinutes": "7"}}


def test_rolling_strategy_has_one_target_group_and_no_traffic_shifting() -> None:
    g = graph("staging", ROLLING)
    service = _kid(g, SERVICE, "model")
    assert service.inputs["deploymentConfiguration"] == {"strategy": "ROLLING"}
    [group] = _kids(g, "aws:lb/targetGroup:TargetGroup")
    assert "advancedConfiguration" not in service.inputs["loadBalancers"][0]
    assert _kids(g, "aws:lb/listenerRule:ListenerRule") == []
    [listener] = _kids(g, LISTENER)
    assert listener.property_dependencies["defaultActions"] == [group.urn]


@pytest.mark.parametrize("strategy", ["canary", "linear"])
def test_native_canary_has_two_groups_a_production_rule_and_a_role_for_ecs(strategy: str) -> None:
    g = graph("production", STRATEGIES[strategy])
    groups = {r.name: r for r in _kids(g, "aws:lb/targetGroup:TargetGroup")}
    assert sorted(groups) == ["model-blue", "model-green"]
    rule = _kid(g, "aws:lb/listenerRule:ListenerRule", "model-production")
    [action] = rule.inputs["actions"]
    assert [(t["arn"].split("/")[-2], t["weight"]) for t in action["forward"]["targetGroups"]] == [
        ("model-blue", 100), ("model-green", 0)]
    assert rule.property_dependencies["listenerArn"] == [_kid(g, LISTENER, "model-https").urn]
    [balancer] = _kid(g, SERVICE, "model").inputs["loadBalancers"]
    advanced = balancer["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"].endswith(":targetgroup/model-green/0123456789abcdef")
    assert balancer["targetGroupArn"].endswith(":targetgroup/model-blue/0123456789abcdef")
    assert advanced["productionListenerRule"].startswith("arn:aws:elasticloadbalancing:eu-west-1:")
    assert advanced["roleArn"] == f"arn:aws:iam::{MOCK_ACCOUNT}:role/model-ecs-load-balancers"
    trust = policy(_kid(g, "aws:iam/role:Role", "model-ecs-load-balancers"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    statements = {s["Sid"]: s for s in _statements(g, "ecs-load-balancers")}
    assert statements["ShiftTraffic"]["Resource"] == [rule.inputs["listenerArn"], advanced["productionListenerRule"]]
    assert sorted(statements["MoveTargets"]["Resource"]) == sorted([balancer["targetGroupArn"],
                                                                   advanced["alternateTargetGroupArn"]])


@pytest.mark.parametrize("strategy", ["canary", "linear", "rolling"])
def test_circuit_breaker_with_rollback_always_on(strategy: str) -> None:
    service = _kid(graph("production", STRATEGIES[strategy]), SERVICE, "model")
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service.inputs["deploymentController"] == {"type": "ECS"}


@pytest.mark.parametrize("strategy", ["canary", "linear", "rolling"])
def test_every_rollback_alarm_exists_and_is_referenced_by_the_service(strategy: str) -> None:
    g = graph("production", STRATEGIES[strategy])
    service = _kid(g, SERVICE, "model")
    assert service.inputs["alarms"] == {"alarmNames": _alarm_names(g), "enable": True, "rollback": True}
    alarms = g.children(_component(g, "mlcicd:observability:CanaryAlarms"))
    urns = sorted(r.urn for r in alarms if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert service.property_dependencies["alarms"] == urns
    assert len(urns) == 4


def test_blue_green_is_codedeploy_only() -> None:
    g = graph("production", BLUE_GREEN)
    service = _kid(g, SERVICE, "model")
    assert service.inputs["deploymentController"] == {"type": "CODE_DEPLOY"}
    for native in ("deploymentConfiguration", "deploymentCircuitBreaker", "alarms"):
        assert native not in service.inputs  # one mechanism per service
    assert "advancedConfiguration" not in service.inputs["loadBalancers"][0]
    assert _kids(g, "aws:lb/listenerRule:ListenerRule") == []
    assert g.outputs[out.SERVING_DEPLOYMENT_GROUP] == "ml-cicd-production-model"


def test_blue_green_maps_canary_percent_and_bake_to_a_codedeploy_config() -> None:
    g = graph("production", BLUE_GREEN)
    config = _kid(g, "aws:codedeploy/deploymentConfig:DeploymentConfig", "model")
    canary = stack_config("production")["serving"]["canary"]
    assert config.inputs["computePlatform"] == "ECS"
    assert config.inputs["trafficRoutingConfig"] == {"type": "TimeBasedCanary", "timeBasedCanary": {
        "percentage": canary["percent"], "interval": canary["bakeMinutes"]}}
    group = _kid(g, "aws:codedeploy/deploymentGroup:DeploymentGroup", "model")
    assert group.inputs["deploymentConfigName"] == config.inputs["deploymentConfigName"]
    assert group.inputs["deploymentStyle"] == {"deploymentOption": "WITH_TRAFFIC_CONTROL",
                                               "deploymentType": "BLUE_GREEN"}
    pair = group.inputs["loadBalancerInfo"]["targetGroupPairInfo"]
    assert len(pair["targetGroups"]) == 2
    assert pair["prodTrafficRoute"]["listenerArns"] == [
        f"arn:aws:elasticloadbalancing:eu-west-1:{MOCK_ACCOUNT}:listener/app/model-https/0123456789abcdef/"
        "0123456789abcdef"]
    assert group.property_dependencies["loadBalancerInfo"] == sorted(
        [_kid(g, LISTENER, "model-https").urn] + [r.urn for r in _kids(g, "aws:lb/targetGroup:TargetGroup")])


def test_blue_green_rolls_back_on_exactly_the_canary_alarms() -> None:
    g = graph("production", BLUE_GREEN)
    group = _kid(g, "aws:codedeploy/deploymentGroup:DeploymentGroup", "model")
    assert group.inputs["alarmConfiguration"] == {"alarms": _alarm_names(g), "enabled": True}
    assert group.inputs["autoRollbackConfiguration"] == {
        "enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    statements = {s["Sid"]: s for s in _statements(g, "codedeploy")}
    assert statements["WatchRollbackAlarms"]["Resource"] == [
        f"arn:aws:cloudwatch:eu-west-1:{MOCK_ACCOUNT}:alarm:{name}" for name in _alarm_names(g)]
    assert statements["PassTaskRoles"]["Resource"] == [f"arn:aws:iam::{MOCK_ACCOUNT}:role/model-task",
                                                       f"arn:aws:iam::{MOCK_ACCOUNT}:role/model-execution"]


# Autoscaling ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_autoscaling_bounds_and_cpu_target_from_config(stack: str) -> None:
    g = graph(stack)
    scaling = stack_config(stack)["serving"]["autoscaling"]
    target = _kid(g, "aws:appautoscaling/target:Target", "model-capacity")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (scaling["minCapacity"],
                                                                            scaling["maxCapacity"])
    assert _kid(g, SERVICE, "model").inputs["desiredCount"] == scaling["minCapacity"]
    cpu = _kid(g, "aws:appautoscaling/policy:Policy", "model-cpu").inputs["targetTrackingScalingPolicyConfiguration"]
    assert cpu["targetValue"] == scaling["targetCpuPercent"]
    assert cpu["predefinedMetricSpecification"] == {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}


def test_request_tracking_counts_both_target_groups(production: Graph) -> None:
    config = _kid(production, "aws:appautoscaling/policy:Policy", "model-requests").inputs[
        "targetTrackingScalingPolicyConfiguration"]
    assert config["targetValue"] == stack_config("production")["serving"]["autoscaling"]["targetRequestsPerTarget"]
    queries = {q["id"]: q for q in config["customizedMetricSpecification"]["metrics"]}
    assert queries["per_task"]["expression"] == "(FILL(r0, 0) + FILL(r1, 0)) / tasks"
    groups = {d["value"] for i in (0, 1) for d in queries[f"r{i}"]["metricStat"]["metric"]["dimensions"]
              if d["name"] == "TargetGroup"}
    assert groups == {"targetgroup/model-blue/0123456789abcdef", "targetgroup/model-green/0123456789abcdef"}


def test_no_request_tracking_unless_configured(staging: Graph) -> None:
    assert [r.name for r in _kids(staging, "aws:appautoscaling/policy:Policy")] == ["model-cpu"]


# Outputs -------------------------------------------------------------------------------------------------------
def test_serving_outputs_name_the_metric_dimensions(production: Graph) -> None:
    assert production.outputs[out.SERVING_LOAD_BALANCER] == "app/model/0123456789abcdef"
    assert production.outputs[out.SERVING_TARGET_GROUPS] == {
        "primary": "targetgroup/model-blue/0123456789abcdef", "alternate": "targetgroup/model-green/0123456789abcdef"}
    assert production.outputs[out.SERVING_CLUSTER] == "model"


def test_no_serving_until_a_digest_is_pinned() -> None:
    g = graph("staging", {"model": {"imageDigest": None}})
    assert g.of_type("mlcicd:serving:ModelService") == []
    assert out.MODEL_ENDPOINT not in g.outputs
    assert any("model.imageDigest" in w and "serving is not created" in w for w in g.warnings)


# Staging vs production -----------------------------------------------------------------------------------------
def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f"{prefix}.{key}" if prefix
                                                                         else key).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def _serving_inputs(g: Graph) -> dict[str, dict[str, Any]]:
    """Inputs of every resource of the serving platform (ModelService, CanaryAlarms), JSON documents parsed, the
    stack name normalised (names derived from it always differ)."""
    roots = {r.urn for r in g.resources if r.type in ("mlcicd:serving:ModelService",
                                                      "mlcicd:observability:CanaryAlarms")}
    found: dict[str, dict[str, Any]] = {}
    for r in g.resources:
        if r.parent not in roots:
            continue
        inputs = dict(r.inputs)
        for key in ("policy", "assumeRolePolicy", "containerDefinitions"):
            if isinstance(inputs.get(key), str):
                inputs[key] = json.loads(inputs[key])
        found[f"{r.type.rsplit(':', 1)[-1]}/{r.name}"] = {
            k: v.replace(g.stack, "<stack>") if isinstance(v, str) else v for k, v in _flatten(inputs).items()}
    return found


def _differences(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> set[str]:
    keys: set[str] = set()
    for name in set(a) | set(b):
        if name not in a or name not in b:
            keys.add(f"{name} (only in {'production' if name in a else 'staging'})")
            continue
        keys |= {re.sub(r"\[\d+\]", "[]", f"{name}:{k}") for k in set(a[name]) | set(b[name])
                 if a[name].get(k) != b[name].get(k)}
    return keys


#: Every input that differs between the two graphs, and the config key that makes it differ.
EXPLAINED = {
    "Listener/model-http (only in staging)": "serving.loadBalancer.protocol",
    "Listener/model-https (only in production)": "serving.loadBalancer.certificateArn",
    "Listener/model-http-redirect (only in production)": "serving.loadBalancer.protocol",
    "ListenerRule/model-production:listenerArn": "serving.loadBalancer.protocol",
    "RolePolicy/model-ecs-load-balancers:policy.Statement[].Resource[]": "serving.loadBalancer.protocol",
    "SecurityGroupIngressRule/model-lb-in-443-cidr0 (only in production)": "serving.loadBalancer.protocol",
    "SecurityGroupIngressRule/model-lb-in-443-cidr1 (only in production)": "serving.loadBalancer.protocol",
    "SecurityGroupIngressRule/model-lb-in-80-cidr1 (only in production)": "serving.loadBalancer.ingressCidrs",
    "SecurityGroupIngressRule/model-lb-in-80-cidr0:cidrIpv4": "serving.loadBalancer.ingressCidrs",
    "LoadBalancer/model:enableDeletionProtection": "environment",
    "LogGroup/model-logs:retentionInDays": "environment",
    "LoadBalancer/model:subnets[]": "network.privateSubnetIds",
    "Service/model:networkConfiguration.subnets[]": "network.privateSubnetIds",
    "SecurityGroup/model-lb:vpcId": "network.vpcId",
    "SecurityGroup/model-tasks:vpcId": "network.vpcId",
    "TargetGroup/model-blue:vpcId": "network.vpcId",
    "TargetGroup/model-green:vpcId": "network.vpcId",
    "TaskDefinition/model:containerDefinitions[].image": "model.imageDigest",  # and registry.imageRepositoryArn
    "RolePolicy/model-execution:policy.Statement[].Resource[]": "registry.imageRepositoryArn",
    "TaskDefinition/model:containerDefinitions[].environment[].value": "model.version",  # and imageDigest
    "TaskDefinition/model:cpu": "serving.cpu",
    "TaskDefinition/model:containerDefinitions[].entryPoint[]": "serving.cpu",  # one worker per vCPU
    "TaskDefinition/model:memory": "serving.memory",
    "Service/model:desiredCount": "serving.autoscaling.minCapacity",
    "Target/model-capacity:minCapacity": "serving.autoscaling.minCapacity",
    "Target/model-capacity:maxCapacity": "serving.autoscaling.maxCapacity",
    "Policy/model-cpu:targetTrackingScalingPolicyConfiguration.targetValue": "serving.autoscaling.targetCpuPercent",
    "Policy/model-requests (only in production)": "serving.autoscaling.targetRequestsPerTarget",
    "Service/model:deploymentConfiguration.bakeTimeInMinutes": "serving.canary.bakeMinutes",
    "Service/model:deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes": "serving.canary.bakeMinutes",
    "Service/model:deploymentConfiguration.canaryConfiguration.canaryPercent": "serving.canary.percent",
    "Service/model:loadBalancers[].advancedConfiguration.productionListenerRule": "serving.loadBalancer.protocol",
    "MetricAlarm/canary-alarms-5xx-rate:threshold": "alarms.errorRatePercent",
    "MetricAlarm/canary-alarms-5xx-rate:metricQueries[].expression": "alarms.minRequests",
    "MetricAlarm/canary-alarms-5xx-rate:alarmDescription": "alarms.minRequests",
    "MetricAlarm/canary-alarms-p99-latency:metricQueries[].expression": "alarms.minRequests",
    "MetricAlarm/canary-alarms-p99-latency:threshold": "alarms.p99LatencyMs",
    "TopicSubscription/canary-alarms-email-0:endpoint": "alarms.emails",
}
#: Config differences that change no serving resource: read by the runtime (judge, alias resolution) or only
#: exported.
RUNTIME_ONLY = {"model.alias", "serving.canary.judge.windowMinutes", "serving.canary.judge.minRequests",
                "serving.canary.judge.maxBakeMinutes",
                # staging's judge is sized to the pipeline's own test traffic (Pulumi.staging.yaml)
                "serving.canary.judge.errorRateTolerance", "serving.canary.judge.predictionShareChange",
                "serving.canary.judge.weights.tail", "serving.canary.judge.weights.quality",
                # the lifecycle of staging's repository, which production serves from: no serving resource
                "registry.maxTaggedImages",
                # the name `modelEndpoint` uses; its DNS record is the team's, not a resource of the stack
                "serving.loadBalancer.hostname"}


def _config_differences() -> set[str]:
    sections = ("environment", "network", "model", "registry", "serving", "alarms")
    prod, stag = ({k: v for k, v in load_stack(s, ROOT).config.model_dump(by_alias=True, mode="json").items()
                   if k in sections} for s in ("production", "staging"))
    a, b = _flatten(prod), _flatten(stag)
    return {re.sub(r"\[\d+\]", "", k) for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_staging_and_production_differ_exactly_where_their_configs_differ(production: Graph,
                                                                          staging: Graph) -> None:
    graph_differences = _differences(_serving_inputs(production), _serving_inputs(staging))
    assert graph_differences == set(EXPLAINED)
    config_differences = _config_differences()
    # Every explanation is a real difference of the two stack configs ...
    assert set(EXPLAINED.values()) <= config_differences
    # ... and every config difference shows in the serving graph, unless only the runtime reads it.
    assert config_differences - set(EXPLAINED.values()) == RUNTIME_ONLY


# Bad config ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("overrides", "path", "words"), [
    ({"serving": {"loadBalancer": {"protocol": "HTTPS"}}}, "serving.loadBalancer.certificateArn", "certificate"),
    ({"serving": {"loadBalancer": {"certificateArn": CERT}}}, "serving.loadBalancer.certificateArn",
     "only used with `protocol: HTTPS`"),
    ({"serving": {"canary": {"percent": 75}}}, "serving.canary.percent", "between 1 and 50"),
    ({"serving": {"canary": {"percent": 0}}}, "serving.canary.percent", "greater than 0"),
    ({"serving": {"canary": {"strategy": "linear", "stepPercent": 2}}}, "serving.canary.stepPercent",
     "between 5 and 50"),
    ({"serving": {"canary": {"strategy": "blue-green", "percent": 12.5}}}, "serving.canary.percent",
     "whole percents"),
    ({"serving": {"canary": {"strategy": "blue-green", "bakeMinutes": 0}}}, "serving.canary.bakeMinutes",
     "at least 1 minute"),
    ({"serving": {"loadBalancer": {"internal": False, "protocol": "HTTPS", "certificateArn": CERT,
                                   "hostname": "churn.ml.example.com", "ingressCidrs": []}}},
     "serving.loadBalancer.ingressCidrs", "explicit ingress"),
    ({"serving": {"loadBalancer": {"internal": False, "ingressCidrs": ["198.51.100.0/24"]}}},
     "serving.loadBalancer.protocol", "must use HTTPS"),
    ({"serving": {"autoscaling": {"minCapacity": 4, "maxCapacity": 2}}}, "serving.autoscaling.minCapacity",
     "maxCapacity"),
    ({"alarms": {"datapointsToAlarm": 9}}, "alarms.datapointsToAlarm", "evaluationPeriods"),
    ({"alarms": {"periodSeconds": 45}}, "alarms.periodSeconds", "60"),
])
def test_bad_serving_config_is_a_clear_error_with_the_key_path(overrides: dict[str, Any], path: str,
                                                               words: str) -> None:
    with pytest.raises(ConfigError) as info:
        graph("staging", overrides)
    rendered = {p.path: p.render() for p in info.value.problems}
    assert path in rendered, rendered
    assert words in rendered[path]
    assert rendered[path].startswith(f"ml-cicd:{path}")
