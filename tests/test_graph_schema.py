"""Judge 1 on every judged graph: inputs against the provider SDKs' types, enumerated values against botocore.
And the judge itself, on deliberately broken copies: each mistake found, named by resource and path."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from runtime.graph import Graph, Resource
from tests.harness import graph
from tests.judges import JUDGED
from tests.judges.enums import ENUMS, enum_findings, enum_values, graph_enum_findings
from tests.judges.schema import args_class, graph_schema_findings, schema_findings, unchecked_types


def judged(name: str) -> Graph:
    stack, overrides = JUDGED[name]
    return graph(stack, overrides)


@pytest.mark.parametrize("name", JUDGED)
def test_every_input_matches_the_provider_sdk_types(name: str) -> None:
    findings = graph_schema_findings(judged(name))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("name", JUDGED)
def test_every_resource_type_has_an_sdk_input_type(name: str) -> None:
    """Nothing escapes the check: each type maps to its *Args class (Argo's custom resources excepted, whose
    embedded pod template and job are checked against pulumi_kubernetes' types)."""
    assert unchecked_types(judged(name)) == []


@pytest.mark.parametrize("name", JUDGED)
def test_every_enumerated_value_is_one_aws_accepts(name: str) -> None:
    findings, _ = graph_enum_findings(judged(name))
    assert not findings, "\n".join(map(str, findings))


def test_the_enum_table_is_live() -> None:
    """Every entry names a botocore enumeration and matches a value somewhere in the judged graphs."""
    used: set[tuple[str, str]] = set()
    for name in JUDGED:
        used |= graph_enum_findings(judged(name))[1]
    assert set(ENUMS) - used == set()
    for service, shape in ENUMS.values():
        assert enum_values(service, shape), f"botocore {service} {shape} has no enumeration"


# The judge catches what the SDK lets through ---------------------------------------------------------------------
def _one(g: Graph, type_token: str, name: str = "") -> Resource:
    return g.one(type_token, name)


def _tampered(resource: Resource, edit: Any) -> Resource:
    inputs = copy.deepcopy(resource.inputs)
    edit(inputs)
    return replace(resource, inputs=inputs)


def test_a_misspelt_nested_key_is_named_with_its_path_and_a_hint(staging: Graph) -> None:
    alb = _one(staging, "aws:lb/loadBalancer:LoadBalancer", "tracking")
    broken = _tampered(alb, lambda i: i["accessLogs"].update(Enabled=i["accessLogs"].pop("enabled")))
    assert [str(f) for f in schema_findings(broken)] == [
        "tracking-alb: accessLogs.Enabled: unknown key for LoadBalancerAccessLogsArgs (did you mean `enabled`?)"]


def test_a_wrong_value_type_and_a_missing_nested_key_are_named(staging: Graph) -> None:
    group = _one(staging, "aws:lb/targetGroup:TargetGroup", "model-blue")
    wrong = _tampered(group, lambda i: i["healthCheck"].update(interval="15"))
    assert [str(f) for f in schema_findings(wrong)] == [
        "model-blue: healthCheck.interval: expected an integer, got '15'"]
    listener = _one(staging, "aws:lb/listener:Listener", "model-http")
    missing = _tampered(listener, lambda i: i["defaultActions"][0].pop("type"))
    assert [str(f) for f in schema_findings(missing)] == [
        "model-http: defaultActions[0].type: required by ListenerDefaultActionArgs, missing"]


def test_container_definitions_are_checked_against_botocore(staging: Graph) -> None:
    task = _one(staging, "aws:ecs/taskDefinition:TaskDefinition", "model")

    def edit(inputs: dict[str, Any]) -> None:
        (container,) = json.loads(inputs["containerDefinitions"])
        container["readOnlyRootFilesystem"] = container.pop("readonlyRootFilesystem")
        container["logConfiguration"]["logDriver"] = "cloudwatch"
        inputs["containerDefinitions"] = json.dumps([container])

    found = sorted(str(f) for f in schema_findings(_tampered(task, edit)))
    assert found == [
        "model: containerDefinitions[0].logConfiguration.logDriver: 'cloudwatch' is not one of LogDriver ['json-file', "
        "'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'awsfirelens']",
        "model: containerDefinitions[0].readOnlyRootFilesystem: unknown member of ContainerDefinition"]


def test_pod_templates_inside_argo_objects_are_checked() -> None:
    rollout = _one(graph("eks"), "kubernetes:argoproj.io/v1alpha1:Rollout")
    broken = _tampered(rollout, lambda i: i["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(
        runAsNonroot=True))
    assert [str(f) for f in schema_findings(broken)] == [
        "model-rollout: spec.template.spec.containers[0].securityContext.runAsNonroot: unknown key for "
        "SecurityContextArgs (did you mean `runAsNonRoot`?)"]


def test_an_invalid_enum_value_is_named_with_the_botocore_shape(staging: Graph) -> None:
    service = _one(staging, "aws:ecs/service:Service", "model")
    broken = _tampered(service, lambda i: i["deploymentConfiguration"].update(strategy="BLUEGREEN"))
    findings, _ = enum_findings(broken)
    assert [str(f) for f in findings] == [
        "model: deploymentConfiguration.strategy: 'BLUEGREEN' is not one of botocore ecs DeploymentStrategy: "
        "['ROLLING', 'BLUE_GREEN', 'LINEAR', 'CANARY']"]


@pytest.mark.parametrize(("token", "expected"), [
    ("aws:s3/bucketLogging:BucketLogging", "BucketLoggingInitArgs"),
    ("aws:s3/bucket:Bucket", "BucketArgs"),
    ("kubernetes:core/v1:Service", "ServiceInitArgs"),
    ("pulumi:providers:aws", "ProviderArgs"),
])
def test_resource_types_map_to_their_own_args_class(token: str, expected: str) -> None:
    """The SDKs rename a resource's args class when a nested input type has the same name (`BucketLoggingArgs` is
    the old Bucket's nested `logging`, `ServiceArgs` a nested Kubernetes type): the class comes from the resource's
    own module."""
    cls = args_class(token)
    assert cls is not None
    assert cls.__name__ == expected
