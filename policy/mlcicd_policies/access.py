"""Least privilege in every identity policy, and the tags every resource carries."""

from __future__ import annotations

import re
from functools import cache

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs

from .common import as_list, default_tags, parse_json, resource_policy

STAR_ACTION = re.compile(r"^(\*|[a-z0-9-]+:\*)$")
REQUIRED_TAGS = ["team", "cost-center", "data-classification"]
@cache
def accepts_resources(action: str) -> bool:
    """Whether an action can be scoped to resource ARNs (policy_sentry's copy of the Service Authorization
    Reference). Unknown actions count as scopable: `*` must then be justified by a human."""
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    entries = get_action_data(service, name).get(service) or []
    return not entries or any(e["resource_arn_format"] != "*" for e in entries)


def excess_privilege(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        return []
    document = parse_json(args.props.get("policy")) or {}
    problems = []
    for statement in as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        sid, actions = statement.get("Sid", "?"), as_list(statement.get("Action"))
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"statement {sid} allows with NotAction/NotResource: list what is allowed instead")
        wild = [a for a in actions if STAR_ACTION.match(a)]
        if wild:
            problems.append(f"statement {sid} allows every action ({', '.join(wild)}): list the actions")
        if "*" in as_list(statement.get("Resource")):
            scopable = sorted(a for a in actions if "*" not in a and accepts_resources(a))
            if scopable:
                problems.append(f"statement {sid} grants {', '.join(scopable)} on every resource although AWS "
                                "accepts resource ARNs for them: scope them")
    return problems


least_privilege = resource_policy(
    name="iam-least-privilege",
    description="No `*` action; `Resource: \"*\"` only for actions that accept no resource ARN (Service "
                "Authorization Reference, via policy_sentry); no Allow with NotAction/NotResource.",
    problems=excess_privilege)


def missing_tags(args: ResourceValidationArgs) -> list[str]:
    if not args.resource_type.startswith("aws:"):
        return []
    required = list(args.get_config().get("requiredTags", REQUIRED_TAGS))
    provider_tags = default_tags(args.provider.props) if args.provider is not None else {}
    own = args.props.get("tags") if isinstance(args.props.get("tags"), dict) else {}
    missing = [t for t in required if t not in provider_tags and t not in own]
    if missing:
        return [f"missing required tags {', '.join(missing)}: set them in `ml-cicd:tags` (provider default tags)"]
    return []


required_tags = resource_policy(
    name="required-tags",
    description="Every AWS resource carries the required tags: its provider's default tags (applied to every "
                "taggable resource) or its own tags.",
    problems=missing_tags,
    config_schema=PolicyConfigSchema(properties={
        "requiredTags": {"type": "array", "items": {"type": "string"}, "default": REQUIRED_TAGS}}))
