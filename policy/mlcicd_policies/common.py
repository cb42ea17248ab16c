"""What every rule needs: reading props the way the engine hands them over, and small lookups over a stack.

Props are resource inputs as Pulumi records them (camelCase). JSON documents (policies, container definitions)
arrive as strings; during a preview, values not known yet arrive as `pulumi_policy`'s unknowns (our offline graph
writes them as "[unknown]") and secrets as "[secret]": a rule never fails on a value it cannot see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

#: Placeholders of values a preview cannot show.
HIDDEN = frozenset({"[unknown]", "[secret]"})
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def known(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value in HIDDEN) and not type(
        value).__name__.startswith("Unknown")


def parse_json(value: Any) -> Any:
    """A JSON input (string or already parsed); None when it cannot be seen yet."""
    if not known(value):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def get(props: Any, path: str) -> Any:
    """props["a"]["b"]... along a dotted path; None where anything is missing."""
    for part in path.split("."):
        if not isinstance(props, dict) or part not in props:
            return None
        props = props[part]
    return props


def stack_name(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::...` -> <stack>."""
    return urn.split(":", 3)[2].split("::", 1)[0] if urn.startswith("urn:pulumi:") else ""


def default_tags(provider_props: Any) -> dict[str, str]:
    """The AWS provider's default tags (the engine hands provider inputs over as JSON strings)."""
    tags = parse_json(get(provider_props or {}, "defaultTags"))
    tags = tags.get("tags") if isinstance(tags, dict) else None
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def of_type(args: StackValidationArgs, *types: str) -> Iterator[PolicyResource]:
    return (r for r in args.resources if r.resource_type in types)


def environment(args: StackValidationArgs, production_stacks: list[str]) -> str | None:
    """`production` when the AWS provider tags the stack so (`ml-cicd:environment`) or its name is listed."""
    for r in args.resources:
        if r.provider is not None and r.provider.resource_type == "pulumi:providers:aws":
            env = default_tags(r.provider.props).get("ml-cicd:environment")
            if env:
                return env
    names = {stack_name(r.urn) for r in args.resources}
    return "production" if names & set(production_stacks) else None


def report_each(report: ReportViolation, resource: PolicyResource | None, messages: list[str]) -> None:
    for message in messages:
        report(message, resource.urn if resource is not None else None)


def resource_policy(name: str, description: str, problems: Callable[[ResourceValidationArgs], list[str]],
                    config_schema: PolicyConfigSchema | None = None) -> ResourceValidationPolicy:
    """A policy that reports, against the resource under validation, each message `problems` returns for it (an
    empty list: the resource complies)."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for message in problems(args):
            report(message, None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    config_schema=config_schema)
