"""Run the policy pack without the Pulumi CLI: the recorded graph becomes the arguments the engine would hand the
pack at preview (`ResourceValidationArgs` per resource, `StackValidationArgs` for the stack), each policy's config
is its schema's defaults overlaid with policy/config.json, and every reported violation is collected."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.mlcicd_policies.pack import POLICIES
from runtime.graph import Graph, Resource
from tests.harness import ROOT

CONFIG_FILE = ROOT / "policy" / "config.json"


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str | None
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.resource or '(stack)'}: {self.message}"


def policy_config(policy: Policy, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Schema defaults, then policy/config.json's settings for the policy, then `overrides`."""
    config: dict[str, Any] = {}
    if policy.config_schema is not None:
        config = {k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v}
    shipped = json.loads(CONFIG_FILE.read_text(encoding="utf-8")).get(policy.name)
    if isinstance(shipped, dict):
        config |= {k: v for k, v in shipped.items() if k != "enforcementLevel"}
    return config | dict(overrides or {})


def _options(r: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=r.protect, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[],
                                 parent=r.parent)


def _provider(g: Graph, r: Resource) -> PolicyProviderResource | None:
    if r.provider is None:
        return None
    found = next((p for p in g.resources if p.urn == r.provider), None)
    if found is None:
        return None
    return PolicyProviderResource(found.type, found.inputs, found.urn, found.name)


def stack_resources(g: Graph) -> list[PolicyResource]:
    """The graph as the engine's PolicyResource objects, parents and (property) dependencies linked."""
    made: dict[str, PolicyResource] = {}
    for r in g.resources:
        made[r.urn] = PolicyResource(r.type, r.inputs, r.urn, r.name, _options(r), _provider(g, r), None, [], {})
    for r in g.resources:
        target = made[r.urn]
        target.parent = made.get(r.parent) if r.parent else None
        target.dependencies = [made[u] for u in r.dependencies if u in made]
        target.property_dependencies = {k: [made[u] for u in v if u in made]
                                        for k, v in r.property_dependencies.items()}
    return list(made.values())


def run_policies(g: Graph, overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 policies: list[Policy] | None = None) -> list[Violation]:
    """Every violation every policy reports on the graph."""
    names = {r.urn: r.name for r in g.resources}
    resources = stack_resources(g)
    found: list[Violation] = []
    for policy in policies or POLICIES:
        config = policy_config(policy, (overrides or {}).get(policy.name))
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                if not r.resource_type.startswith(("aws:", "kubernetes:")):
                    continue

                def report(message: str, _urn: str | None = None, res: PolicyResource = r,
                           name: str = policy.name) -> None:
                    found.append(Violation(name, res.name, message))

                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider, config)
                policy.validate(args, report)
        elif isinstance(policy, StackValidationPolicy):
            def report_stack(message: str, urn: str | None = None, name: str = policy.name) -> None:
                found.append(Violation(name, names.get(urn) if urn else None, message))

            policy.validate(StackValidationArgs(resources, config), report_stack)
    return found
