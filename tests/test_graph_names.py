"""Judge 3: AWS naming limits hold for every name in the judged graphs AND for the longest names the config accepts;
one character more is refused by the config, naming the limit it would break."""

from __future__ import annotations

import string
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from runtime.config import ConfigError
from runtime.config.stackrules import EKS_MODEL_NAME_MAX, max_stack_name_length
from runtime.graph import Graph, build_graph
from tests.harness import ROOT, graph, stack_config
from tests.judges import JUDGED
from tests.judges.names import LIMITS, UNNAMED, botocore_max, k8s_name_findings, name_findings

#: The longest names the config accepts: stack names up to the computed maximum, model names up to 64 characters
#: (48 with EKS, whose Kubernetes names are DNS labels).
LONGEST_STACK = ("s" + string.ascii_lowercase * 2)[:max_stack_name_length()]
LONGEST_MODEL = "M" + "odel.name_with-every_allowed.char" * 2
LONGEST_EKS_MODEL = LONGEST_MODEL[:EKS_MODEL_NAME_MAX]
#: Everything that creates a name built from the stack or the model: the pipeline (hosted: deployStack is this
#: stack, another branch than staging's), CodeDeploy blue-green with the widest percent and bake, retraining on
#: drift, batch inference.
LONGEST_OVERRIDES: dict[str, Any] = {
    "model": {"name": LONGEST_MODEL[:64]},
    "pipeline": {"deployStack": LONGEST_STACK, "branch": "longest-names"},
    "serving": {"canary": {"strategy": "blue-green", "percent": 50, "bakeMinutes": 1440}},
    "monitoring": {"drift": {"retrainOnDrift": True}, "batch": {"enabled": True}},
}


@cache
def longest(stack: str, base: str, model: str) -> Graph:
    overrides = {**LONGEST_OVERRIDES, "model": {"name": model}}
    if base != "staging":
        overrides = {"model": {"name": model}}
    return build_graph(stack, ROOT, raw_config=stack_config(base, overrides))


@pytest.mark.parametrize("name", JUDGED)
def test_every_name_in_the_judged_graphs_is_within_its_limit(name: str) -> None:
    stack, overrides = JUDGED[name]
    g = graph(stack, overrides)
    findings = name_findings(g) + k8s_name_findings(g)
    assert not findings, "\n".join(map(str, findings))


def test_the_longest_names_the_config_accepts_fit() -> None:
    assert len(LONGEST_MODEL[:64]) == 64
    for g in (longest(LONGEST_STACK, "staging", LONGEST_MODEL[:64]), longest(LONGEST_STACK, "eks", LONGEST_EKS_MODEL)):
        findings = name_findings(g) + k8s_name_findings(g)
        assert not findings, "\n".join(map(str, findings))
    # The templated names really were built (the graph exercises the limits the config computes).
    g = longest(LONGEST_STACK, "staging", LONGEST_MODEL[:64])
    assert g.one("aws:cloudwatch/eventRule:EventRule").inputs["name"] == f"ml-cicd-{LONGEST_STACK}-drift-retrain"
    assert len(g.one("aws:cloudwatch/eventRule:EventRule").inputs["name"]) == 64


def test_a_stack_name_one_character_longer_is_refused_naming_the_limit() -> None:
    stack = LONGEST_STACK + "x"
    raw = stack_config("staging", {"pipeline": {"deployStack": stack, "branch": "longest-names"}})
    with pytest.raises(ConfigError) as info:
        build_graph(stack, ROOT, raw_config=raw)
    (problem,) = info.value.problems
    assert problem.render() == (
        f"ml-cicd:(stack name) = {stack!r}: stack `{stack}` is {len(stack)} characters; at most "
        f"{len(LONGEST_STACK)} fit AWS's limit of 64 for the EventBridge rule (drift retrain) "
        f"`ml-cicd-{stack}-drift-retrain`; rename the stack with `pulumi stack rename`")
    assert info.value.registered_resources == 0


@pytest.mark.parametrize("stack", ["1st-stack", "prod_eu", "blue--green", "ends-"])
def test_stack_names_aws_cannot_carry_are_refused(stack: str) -> None:
    with pytest.raises(ConfigError, match="letters, digits and single hyphens, starting with a letter"):
        build_graph(stack, ROOT, raw_config=stack_config("production"))


def test_an_eks_model_name_one_character_longer_is_refused() -> None:
    too_long = LONGEST_MODEL[:EKS_MODEL_NAME_MAX + 1]
    with pytest.raises(ConfigError) as info:
        build_graph("eks", ROOT, raw_config=stack_config("eks", {"model": {"name": too_long}}))
    (problem,) = info.value.problems
    assert problem.path == "model.name"
    assert "Kubernetes names are DNS labels of at most 63 characters" in problem.message


def test_the_limits_agree_with_botocore_where_it_declares_one() -> None:
    checked = 0
    for token, limit in LIMITS.items():
        declared = botocore_max(limit.source)
        if declared is not None:
            assert declared == limit.max_length, (token, declared, limit)
            checked += 1
    assert checked >= 15


def test_every_type_in_the_graphs_has_a_limit_or_no_name() -> None:
    types = {r.type for name in JUDGED for r in graph(*JUDGED[name]).resources
             if r.custom and not r.type.startswith("kubernetes:")}
    assert types - set(LIMITS) - UNNAMED == set()


def test_the_name_judge_names_the_resource_the_name_and_the_limit(staging: Graph) -> None:
    alb = staging.one("aws:lb/loadBalancer:LoadBalancer", "tracking")
    long_alb = replace(alb, name="tracking-load-balancer-xy")  # 25 + Pulumi's 8-character suffix = 33
    schedule = staging.one("aws:scheduler/schedule:Schedule")
    long_schedule = replace(schedule, inputs={**schedule.inputs, "name": "s" * 65})
    bucket = staging.one("aws:s3/bucket:Bucket", "artifacts-data")
    upper = replace(bucket, name="Artifacts-Data")
    found = [str(f) for f in name_findings(Graph("ml-cicd", "staging", [long_alb, long_schedule, upper]))]
    assert found == [
        "tracking-load-balancer-xy: name (auto-name): 'tracking-load-balancer-xy-xxxxxxx' is 33 characters; AWS "
        "allows 32 (ELB user guide: Application Load Balancers, 'name')",
        f"drift-job-schedule: name: '{'s' * 65}' is 65 characters; AWS allows 64 (botocore scheduler "
        "CreateSchedule.Name)",
        "Artifacts-Data: bucket (auto-name): 'Artifacts-Data-xxxxxxx' must be lowercase (S3 user guide: bucket "
        "naming rules)"]
