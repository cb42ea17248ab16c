"""The resource graph: both stacks build, the output is deterministic, secrets never appear, bad config registers
nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from components.data.spark_validation import SparkValidationArgs
from components.monitoring.batch_inference import BatchInferenceArgs
from components.monitoring.drift_monitor import DriftMonitorArgs
from components.network.network import NetworkArgs
from components.observability.canary_alarms import CanaryAlarmsArgs
from components.registry.image_repository import ImageRepositoryArgs
from components.storage.artifact_store import ArtifactStoreArgs
from runtime.config import ConfigError
from runtime.graph import SECRET, Graph, _plain, build_graph
from tests.harness import ROOT, graph, stack_config


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_stack_builds_with_explicit_provider_everywhere(stack: str) -> None:
    g = graph(stack)
    providers = g.of_type("pulumi:providers:aws")
    assert len(providers) == 1
    assert providers[0].inputs["region"] == "eu-west-1"
    custom = [r for r in g.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert custom, "no resources registered"
    aws_resources = [r for r in custom if r.type.startswith("aws:")]
    assert [r.name for r in aws_resources if r.provider != providers[0].urn] == []


def test_default_tags_carry_stack_and_environment(production: Graph) -> None:
    tags = production.one("pulumi:providers:aws").inputs["defaultTags"]
    tags = json.loads(tags) if isinstance(tags, str) else tags
    assert tags["tags"]["ml-cicd:environment"] == "production"
    assert tags["tags"]["ml-cicd:stack"] == "production"
    assert tags["tags"]["team"] == "ml-platform"


def test_component_type_tokens(production: Graph, staging: Graph) -> None:
    components = {r.type for r in production.resources if not r.custom}
    assert "mlcicd:storage:ArtifactStore" in components
    assert all(t.startswith("mlcicd:") for t in components)
    # Production serves the image the pipeline pushed to staging's repository (registry.imageRepositoryArn).
    assert "mlcicd:registry:ImageRepository" not in components
    assert "mlcicd:registry:ImageRepository" in {r.type for r in staging.resources if not r.custom}


#: Each component's args and the fields without a default: the wiring only the program knows.
REQUIRED_ARGS = [
    (DriftMonitorArgs, {"settings", "model_name"}),
    (BatchInferenceArgs, {"settings", "image", "ecr_repository_arn"}),
    (CanaryAlarmsArgs, {"model_name", "account_id", "region"}),
    (NetworkArgs, set()),
    (ArtifactStoreArgs, {"account_id"}),
    (ImageRepositoryArgs, {"kms_key_arn"}),
    (SparkValidationArgs, {"model_name", "stack", "account_id", "data_bucket", "data_bucket_arn", "kms_key_arn",
                           "read_prefixes"}),
]


@pytest.mark.parametrize(("args", "required"), REQUIRED_ARGS, ids=[a.__name__ for a, _ in REQUIRED_ARGS])
def test_component_args_default_everything_but_the_wiring(args: type, required: set[str]) -> None:
    """One declaration per component: a field without a default is required, and leaving it out fails at
    construction naming it."""
    assert {f.name for f in fields(args) if f.default is MISSING and f.default_factory is MISSING} == required
    for name in required:
        with pytest.raises(TypeError, match=name):
            args(**dict.fromkeys(required - {name}))


def test_every_child_has_an_existing_parent(production: Graph) -> None:
    urns = {r.urn for r in production.resources}
    assert all(r.parent is None or r.parent in urns for r in production.resources)


def test_dependencies_point_at_registered_resources(production: Graph) -> None:
    urns = {r.urn for r in production.resources}
    for r in production.resources:
        assert set(r.dependencies) <= urns, r.name
        for deps in r.property_dependencies.values():
            assert set(deps) <= urns, r.name


def test_production_protects_history(production: Graph, staging: Graph) -> None:
    protected = {r.name for r in production.resources if r.protect}
    assert {"artifacts-data", "artifacts-models", "artifacts-key"} <= protected
    # Staging hosts the pipeline: its repository holds the images production serves, its models bucket the
    # versions' evidence and champion records (and its MLflow database has deletion protection: Pulumi.staging.yaml).
    assert {r.name for r in staging.resources if r.protect} == {"serving-images", "artifacts-data",
                                                                "artifacts-models", "artifacts-key"}


def test_invalid_config_registers_nothing() -> None:
    with pytest.raises(ConfigError) as info:
        build_graph("staging", ROOT, raw_config=stack_config("staging", {"serving": {"canary": {"percent": 75}}}))
    assert info.value.registered_resources == 0
    assert "ml-cicd:serving.canary.percent" in str(info.value)


def _graph_cli(stack: str, out: Path) -> bytes:
    result = subprocess.run([sys.executable, "-m", "runtime.cli.main", "graph", "--stack", stack, "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def test_graph_is_deterministic_across_processes(tmp_path: Path) -> None:
    first = _graph_cli("production", tmp_path / "a.json")
    second = _graph_cli("production", tmp_path / "b.json")
    assert first == second
    doc = json.loads(first)
    assert doc["project"] == "ml-cicd"
    assert doc["stack"] == "production"
    urns = [r["urn"] for r in doc["resources"]]
    assert urns == sorted(urns)
    assert set(doc["resources"][0]) == {"urn", "type", "name", "parent", "inputs", "dependencies",
                                        "propertyDependencies"}


def test_graph_cli_bad_config_exits_2(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    text = (ROOT / "Pulumi.staging.yaml").read_text().replace("percent: 20", "percent: 75")
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    result = subprocess.run([sys.executable, "-m", "runtime.cli.main", "graph", "--stack", "staging"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "ml-cicd:serving.canary.percent = 75.0" in result.stderr
    assert result.stdout == ""


def test_secret_values_are_masked() -> None:
    wire_secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    assert _plain({"password": wire_secret, "nested": [wire_secret]}) == {"nested": [SECRET], "password": SECRET}


def test_secret_config_never_reaches_the_graph_in_plain_text() -> None:
    """A secret config value that flows into a resource input is written as "[secret]"."""
    plaintext = "s3cr3t-team-tag-value"
    g = graph("staging", {"tags": {"owner": plaintext}}, secret_keys=frozenset({"tags"}))
    text = g.to_json()
    assert plaintext not in text
    tags = g.one("pulumi:providers:aws").inputs["defaultTags"]
    assert SECRET in json.dumps(tags)


def test_graph_builds_after_asyncio_run_cleared_the_event_loop() -> None:
    """`asyncio.run` (the smoke test, servers) leaves the main thread without an event loop; Pulumi needs one."""
    import asyncio

    async def noop() -> int:
        return 1

    assert asyncio.run(noop()) == 1
    g = build_graph("staging", ROOT, raw_config=stack_config("staging", {"tags": {"built-after": "asyncio-run"}}))
    assert g.resources
