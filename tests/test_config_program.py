"""Validation and the program agree: whatever the Pulumi program rejects, `mlcicd config validate` rejects first,
naming the key path; whatever validation accepts, the program builds.

Two directions:
- A table of bad configs the program itself rejects (run with its config validation switched off, so the
  components' own checks fire): validation must reject each one, at the key path in the table.
- Single-key mutations of the real stack files, generated from the config model (`tests/config_mutations.py`):
  every one that validation accepts must build without an error. The test builds the mutations of the sections
  the program reads that change what it builds (choices, flags, removals: about 0.5 s a build); the full sweep,
  thresholds included, is `python -m tests.config_mutations staging production eks sagemaker`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from runtime.config import ConfigError, LoadedConfig, StackConfig, validate_config
from runtime.config.loader import deep_merge
from runtime.graph import build_graph
from tests.config_mutations import sweep
from tests.harness import PRODUCTION_SELF_HOSTED, ROOT, stack_config

CREATE = {"mode": "create", "vpcId": None, "privateSubnetIds": None}

# (base stack, overrides, key path validation must name). Each row is a config the program rejects on its own.
PROGRAM_REJECTS: list[tuple[str, dict[str, Any], str]] = [
    ("staging", {"network": None}, "network.vpcId"),
    ("staging", {"network": {"vpcId": None}}, "network.vpcId"),
    ("staging", {"network": {"privateSubnetIds": ["subnet-0a1b2c3d4e5f60001"]}}, "network.privateSubnetIds"),
    ("staging", {"network": {**CREATE, "cidr": "10.40.0.0/26"}}, "network.cidr"),
    ("staging", {"network": {**CREATE, "cidr": "10.40.1.0/16"}}, "network.cidr"),
    ("staging", {"network": {**CREATE, "cidr": "10.40.0.0/33"}}, "network.cidr"),
    ("staging", {"network": {**CREATE, "cidr": "310.40.0.0/16"}}, "network.cidr"),
    ("staging", {"tracking": None}, "tracking.selfHosted"),
    ("production", {"tracking": None}, "tracking.selfHosted"),
    ("production", {"tracking": {"external": None}}, "tracking.external"),
    ("staging", {"tracking": {"mode": "external", "selfHosted": None, "external": {"uri": "https://mlflow.example.com"}}},
     "tracking.mode"),
    ("staging", {"tracking": {"selfHosted": None}}, "tracking.selfHosted"),
    ("staging", {"tracking": {"selfHosted": {"auth": {"mode": "oidc"}}}}, "tracking.selfHosted.auth.oidc"),
    ("staging", {"serving": {"backend": "eks"}}, "serving.eks"),
    ("eks", {"serving": {"eks": {"judgeImage": None}}}, "serving.eks.judgeImage"),
    ("eks", {"serving": {"canary": {"strategy": "blue-green"}}}, "serving.canary.strategy"),
    ("eks", {"serving": {"canary": {"probe": {"allowedHosts": ["*.example.com"]}}}},
     "serving.canary.probe.allowedHosts"),
]


@pytest.fixture
def unvalidated_program(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The program with its config validation reduced to the field types (no cross-field rules, no defaults
    check): what the components reject on their own. Set `raw` in the yielded dict before building."""
    import infra.program
    import runtime.config
    import runtime.config.loader

    holder: dict[str, Any] = {}

    def unvalidated() -> LoadedConfig:
        return LoadedConfig(config=StackConfig.model_validate(holder["raw"]))

    # The program loads its config; the EKS backend reads it again for the judge's stack file.
    monkeypatch.setattr(infra.program, "load_from_pulumi", unvalidated)
    monkeypatch.setattr(runtime.config, "load_from_pulumi", unvalidated)
    # `build_graph` checks the config before it runs the program too: switch that check off as well.
    monkeypatch.setattr(runtime.config.loader, "validate_config", lambda *_args, **_kwargs: None)
    return holder


def _graph_stack(base: str) -> str:
    return base if base in ("staging", "production") else "staging"


@pytest.mark.parametrize(("base", "overrides", "path"), PROGRAM_REJECTS,
                         ids=[f"{b}:{p}:{i}" for i, (b, _, p) in enumerate(PROGRAM_REJECTS)])
def test_what_the_program_rejects_validation_rejects_first(unvalidated_program: dict[str, Any], base: str,
                                                             overrides: dict[str, Any], path: str) -> None:
    raw = deep_merge(stack_config(base), overrides)
    unvalidated_program["raw"] = raw
    with pytest.raises(Exception) as program_error:  # whatever the component raises
        build_graph(_graph_stack(base), ROOT, raw_config=raw)
    assert not isinstance(program_error.value, ConfigError)
    with pytest.raises(ConfigError) as validation:
        validate_config(raw, "test")
    problems = {p.path: p.render() for p in validation.value.problems}
    assert path in problems, (program_error.value, problems)
    # The message names config keys, never the components' Python argument names.
    assert not re.search(r"\b(vpc_id|private_subnet_ids|self_hosted|judge_image|args\.)", problems[path])


@pytest.mark.parametrize(("base", "overrides", "path"), PROGRAM_REJECTS[:3])
def test_the_real_program_stops_with_the_validation_message(base: str, overrides: dict[str, Any],
                                                            path: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_graph(_graph_stack(base), ROOT, raw_config=deep_merge(stack_config(base), overrides))
    assert path in {p.path for p in info.value.problems}
    assert info.value.registered_resources == 0


#: Each base sweeps what only it can show, keeping the slow builds (about 0.5 s each, 3 s for a stack with the
#: delivery pipeline on a loaded machine) few: the fixtures without a pipeline cover the network, storage, registry,
#: tracking and alarms; staging the ECS serving, the pipeline and the monitoring jobs; production what the
#: environment decides (protection, deletion protection, retention, multi-AZ), its external tracking as written and
#: its own self-hosted MLflow when it keeps one.
ONLY_STAGING = ("serving", "pipeline", "monitoring")
ENVIRONMENT_DEPENDENT = ("environment", "storage", "registry", "serving.loadBalancer", "tracking")


@pytest.mark.slow
@pytest.mark.parametrize(("base", "only", "overrides"), [
    ("staging", ONLY_STAGING, {}), ("production", ENVIRONMENT_DEPENDENT, {}),
    ("production", ("tracking.selfHosted",), {"tracking": PRODUCTION_SELF_HOSTED}), ("eks", (), {}),
    ("sagemaker", (), {})], ids=["staging", "production", "production-self-hosted", "eks", "sagemaker"])
def test_every_config_validation_accepts_builds(base: str, only: tuple[str, ...], overrides: dict[str, Any]) -> None:
    built, failures = sweep(base, program_only=True, only=only, overrides=overrides)
    assert built > 10, "the sweep must build a real number of configs"
    assert failures == [], "validation accepted configs the program rejects:\n" + "\n".join(failures)


@pytest.mark.parametrize("model", ["churn-classifier", "Churn_Model.v2", "9lives", "--x--", "a" * 80])
def test_the_probe_host_rule_names_the_services_the_eks_backend_creates(model: str) -> None:
    from components.serving import eks_specs
    from runtime.config.program_rules import probed_hosts

    app = eks_specs.k8s_name(model)
    expected = tuple(urlsplit(eks_specs.service_url(name, "ml-serving")).hostname for name in (app, f"{app}-canary"))
    assert probed_hosts(model, "ml-serving") == expected
