"""Judge 4 on every judged graph: what needs a policy or permission to exist first depends on it. Plus the two
orderings the audit found (ALB access logs, the canary service's load-balancer role), and the judge on broken
copies of the graph."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.graph import Graph, Resource
from tests.harness import graph
from tests.judges import JUDGED
from tests.judges.ordering import closure, ordering_findings


@pytest.mark.parametrize("name", JUDGED)
def test_every_resource_waits_for_the_permissions_it_needs(name: str) -> None:
    findings = ordering_findings(graph(*JUDGED[name]))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_load_balancers_wait_for_the_log_bucket_policy(stack: str) -> None:
    g = graph(stack)
    policy = g.one("aws:s3/bucketPolicy:BucketPolicy", "artifacts-logs-policy")
    for alb in g.of_type("aws:lb/loadBalancer:LoadBalancer"):
        assert policy.urn in alb.property_dependencies["accessLogs"], alb.name


@pytest.mark.parametrize("strategy", ["canary", "linear"])
def test_the_canary_service_waits_for_its_load_balancer_role_policy(strategy: str) -> None:
    g = graph("production", {"serving": {"canary": {"strategy": strategy, "stepPercent": 20}}})
    service = g.one("aws:ecs/service:Service", "model")
    for policy in ("model-ecs-load-balancers", "model-execution", "model-task"):
        assert g.one("aws:iam/rolePolicy:RolePolicy", policy).urn in service.dependencies, policy


def _without(g: Graph, name: tuple[str, str], dropped: tuple[str, str]) -> Graph:
    """A copy of the graph in which resource `name` (type, logical name) no longer waits for `dropped`."""
    target, changed = g.one(*dropped).urn, g.one(*name).urn
    out: list[Resource] = []
    for r in g.resources:
        if r.urn == changed:
            props = {k: [u for u in v if u != target] for k, v in r.property_dependencies.items()}
            out.append(replace(r, dependencies=[u for u in r.dependencies if u != target],
                               property_dependencies=props))
        else:
            out.append(r)
    return Graph(g.project, g.stack, out)


def test_the_judge_finds_an_alb_that_does_not_wait_for_the_log_bucket_policy(staging: Graph) -> None:
    broken = _without(staging, ("aws:lb/loadBalancer:LoadBalancer", "tracking-alb"),
                      ("aws:s3/bucketPolicy:BucketPolicy", "artifacts-logs-policy"))
    assert [str(f) for f in ordering_findings(broken)] == [
        "tracking-alb: accessLogs: does not depend on artifacts-logs-policy (the log bucket's policy admits the "
        "delivery)"]


def test_the_judge_finds_a_service_that_does_not_wait_for_its_role_policy(production: Graph) -> None:
    broken = _without(production, ("aws:ecs/service:Service", "model"),
                      ("aws:iam/rolePolicy:RolePolicy", "model-ecs-load-balancers"))
    found = [str(f) for f in ordering_findings(broken)]
    assert "model: (role): does not depend on model-ecs-load-balancers (the policy of role " \
           "model-ecs-load-balancers)" in found


def test_the_judge_finds_a_notification_rule_racing_its_topic_policy(staging: Graph) -> None:
    broken = _without(staging, ("aws:codestarnotifications/notificationRule:NotificationRule", "delivery-notif"),
                      ("aws:sns/topicPolicy:TopicPolicy", "canary-alarms-topic-policy"))
    assert "delivery-notifications: targets: does not depend on canary-alarms-topic-policy (the topic's policy " \
           "admits the publisher)" in [str(f) for f in ordering_findings(broken)]


def test_closure_follows_dependencies_transitively(production: Graph) -> None:
    scaling = production.one("aws:appautoscaling/policy:Policy", "model-cpu")
    waits = closure(production, scaling)
    assert production.one("aws:ecs/service:Service", "model").urn in waits
    assert production.one("aws:iam/rolePolicy:RolePolicy", "model-execution").urn in waits
