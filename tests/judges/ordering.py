"""Judge 4: creation order. Every resource that needs another's policy or permission to exist first depends on it.

Pulumi creates resources in parallel as soon as their inputs are known; an ARN being known says nothing about the
permissions attached to it. Mocks accept any order; AWS does not:
- a service that assumes or passes a role at creation (an ECS service starting tasks, CodePipeline, CodeBuild,
  CodeDeploy, EventBridge, a Pod Identity association, SageMaker) must wait for that role's policies, or its first
  calls race IAM propagation;
- a load balancer with access logs, and an S3 bucket logging into a bucket, are checked against the log bucket's
  policy when they are created (Access Denied otherwise);
- a CodeStar notification rule is checked against its SNS topic's policy;
- anything using a KMS key whose policy is a separate resource needs that policy first.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.graph import Graph, Resource
from tests.judges.schema import Finding

ROLE_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
#: Types that only record a role's ARN: AWS uses the role later, through a resource that depends on the policies
#: (ECS uses a task definition's roles when a service or RunTask starts a task; the service waits).
RECORDS_ROLE_ONLY = frozenset({"aws:ecs/taskDefinition:TaskDefinition"})
#: Inputs through which a resource delivers logs into a bucket, per type.
LOG_DELIVERY_INPUTS = {"aws:lb/loadBalancer:LoadBalancer": "accessLogs",
                       "aws:s3/bucketLogging:BucketLogging": "targetBucket"}
#: Types AWS checks against their SNS topic's policy at creation.
TOPIC_CHECKED_AT_CREATION = frozenset({"aws:codestarnotifications/notificationRule:NotificationRule"})


def closure(g: Graph, resource: Resource) -> set[str]:
    """Every URN the resource waits for, directly or through others."""
    seen: set[str] = set()
    frontier = list(resource.dependencies)
    while frontier:
        urn = frontier.pop()
        if urn in seen:
            continue
        seen.add(urn)
        try:
            frontier += g.by_urn(urn).dependencies
        except LookupError:
            continue
    return seen


def _targets(resource: Resource, key: str) -> list[str]:
    return resource.property_dependencies.get(key, [])


def _by_target(g: Graph, types: Iterable[str], key: str) -> dict[str, list[Resource]]:
    """URN of what each policy resource attaches to (through input `key`) -> the policy resources."""
    out: dict[str, list[Resource]] = {}
    for policy in (r for r in g.resources if r.type in set(types)):
        for urn in _targets(policy, key):
            out.setdefault(urn, []).append(policy)
    return out


def ordering_findings(g: Graph) -> list[Finding]:
    role_policies = _by_target(g, ROLE_POLICY_TYPES, "role")
    bucket_policies = _by_target(g, ["aws:s3/bucketPolicy:BucketPolicy"], "bucket")
    topic_policies = _by_target(g, ["aws:sns/topicPolicy:TopicPolicy"], "arn")
    key_policies = _by_target(g, ["aws:kms/keyPolicy:KeyPolicy"], "keyId")
    findings: list[Finding] = []
    for resource in g.resources:
        if not resource.custom or resource.type.startswith(("aws:iam/", "pulumi:providers:")):
            continue
        waits = closure(g, resource)

        def need(policies: list[Resource], why: str, where: str, r: Resource = resource, w: set[str] = waits) -> None:
            for policy in policies:
                if policy.urn not in w:
                    findings.append(Finding(r.name, where, f"does not depend on {policy.name} ({why})"))

        if resource.type not in RECORDS_ROLE_ONLY:
            for role_urn in sorted(u for u in waits if u in role_policies):
                need(role_policies[role_urn], f"the policy of role {g.by_urn(role_urn).name}", "(role)")
        key = LOG_DELIVERY_INPUTS.get(resource.type)
        for bucket in _targets(resource, key) if key else []:
            need(bucket_policies.get(bucket, []), "the log bucket's policy admits the delivery", key or "")
        if resource.type in TOPIC_CHECKED_AT_CREATION:
            for topic in (u for urns in resource.property_dependencies.values() for u in urns):
                need(topic_policies.get(topic, []), "the topic's policy admits the publisher", "targets")
        for key_urn in sorted(u for u in waits if u in key_policies):
            need(key_policies[key_urn], "the key's policy", "(kms key)")
    return findings
