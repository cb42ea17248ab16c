"""The Replay and Shadow stages in the one stage list (runtime/pipeline/traffic.py): where they sit, what they
run (parsed by the CLI's own parser), and what their roles may touch."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.delivery import buildspec as bs
from runtime.config import validate_config
from runtime.graph import Graph
from runtime.pipeline.model import PipelineSpec, critical_path
from runtime.pipeline.steps import delivery_stages
from tests.harness import graph, stack_config
from tests.test_delivery_pipeline import SAMPLE_ENV, _parse, pipeline, role_policy, statements

ROLE = "arn:aws:iam::123456789012:role/ml-cicd-production-deploy"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
REPLAY = {"gates": {"replay": {"segmentColumn": "contract"}}}
BOTH = {"gates": {"replay": {"capturesUri": "s3://prod-data-bucket/inference/", "capturesKmsKeyArn": KEY},
                  "shadow": {"stack": "production", "deployRoleArn": ROLE}}}


def spec(overrides: dict[str, Any]) -> PipelineSpec:
    loaded = validate_config(stack_config("staging", overrides), "Pulumi.staging.yaml")
    return PipelineSpec.from_config(loaded.config, "staging")


def test_without_gates_replay_the_pipeline_is_unchanged() -> None:
    assert "Replay" not in critical_path(delivery_stages(spec({})))


def test_replay_runs_after_the_staging_checks_and_before_the_promotion() -> None:
    steps = critical_path(delivery_stages(spec(REPLAY)))
    assert steps[steps.index("LoadTest") + 1:] == ["Replay", "Promote"]
    both = critical_path(delivery_stages(spec(BOTH)))
    assert both[both.index("LoadTest") + 1:] == ["Replay", "Shadow", "Promote"]


def _action(overrides: dict[str, Any], name: str) -> Any:
    return next(a for s in delivery_stages(spec(overrides)) for a in s.actions if a.name == name)


def test_replay_serves_candidate_and_champion_from_the_registry_on_the_hosting_stack_s_captures() -> None:
    replay = _action(REPLAY, "Replay")
    [invocation] = bs.mlcicd_invocations(replay)
    argv = list(invocation.argv)
    assert argv[:2] == ["gate", "replay"]
    assert argv[argv.index("--stack") + 1] == "production"  # the promotion target's thresholds
    assert argv[argv.index("--candidate-model-uri") + 1] == "models:/$MODEL_NAME/$MODEL_VERSION"
    assert argv[argv.index("--captures") + 1] == "s3://$DATA_BUCKET/inference/"
    assert "--champion-url" not in argv  # the champion is @champion, served in the build
    assert any("replay-gate.json" in c for c in replay.finally_commands)


@pytest.mark.parametrize("overrides", [REPLAY, BOTH])
def test_every_command_line_parses(overrides: dict[str, Any]) -> None:
    env = {**SAMPLE_ENV, "SHADOW_DATA_BUCKET": "prod-data"}
    for name in ("Replay", "Shadow"):
        try:
            action = _action(overrides, name)
        except StopIteration:
            continue
        for invocation in bs.mlcicd_invocations(action):
            _parse(tuple(re.sub(r"\$\{?(\w+)\}?", lambda m: env[m[1]], a) for a in invocation.argv))


def test_the_shadow_stage_deploys_judges_and_always_removes_the_shadow() -> None:
    shadow = _action(BOTH, "Shadow")
    rendered = [bs.render_command(c) for c in shadow.commands]
    assert any("serving.shadow.imageDigest" in c and "$IMAGE_DIGEST" in c for c in rendered)
    assert any(c.startswith("pulumi up --stack production") for c in rendered)
    assert any(c.startswith("mlcicd gate shadow") and "--wait" in c for c in rendered)
    assert shadow.finally_commands[0].endswith('serving.shadow.enabled "false" --type bool')
    assert shadow.finally_commands[1].startswith("pulumi up --stack production")


@pytest.fixture(scope="module")
def with_both() -> Graph:
    return graph("staging", BOTH)


def test_the_replay_role_reads_exactly_the_other_stack_s_captures(with_both: Graph) -> None:
    by_sid = {s["Sid"]: s for s in statements(role_policy(with_both, "Replay"))}
    assert by_sid["ListExternalPrefix0"]["Resource"] == ["arn:aws:s3:::prod-data-bucket"]
    assert by_sid["ListExternalPrefix0"]["Condition"] == {"StringLike": {"s3:prefix": ["inference/*"]}}
    assert by_sid["ReadExternalPrefix0"]["Resource"] == ["arn:aws:s3:::prod-data-bucket/inference/*"]
    assert by_sid["DecryptExternalViaS3"]["Resource"] == [KEY]
    assert "ReadData" not in by_sid  # not its own data bucket
    assert "UseTrackingServer" in by_sid or "ReadTrackingCredentials" in by_sid


def test_only_the_shadow_stage_assumes_the_shadowed_stack_s_role(with_both: Graph) -> None:
    assert [s["name"] for s in pipeline(with_both)["stages"]][-3:] == ["Replay", "Shadow", "Promote"]
    shadow = {s["Sid"]: s for s in statements(role_policy(with_both, "Shadow"))}
    assert shadow["AssumeOtherStackRoles"]["Resource"] == [ROLE]
    assert "AssumeOtherStackRoles" not in {s["Sid"] for s in statements(role_policy(with_both, "Replay"))}


def test_the_own_bucket_is_read_at_the_inference_prefix_only() -> None:
    by_sid = {s["Sid"]: s for s in statements(role_policy(graph("staging", REPLAY), "Replay"))}
    assert by_sid["ReadData"]["Resource"] == ["arn:aws:s3:::artifacts-data/inference/*"]
