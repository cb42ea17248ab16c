"""Buildspecs and the stage list as pure functions: rendering, quoting, structure, shell syntax."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from components.delivery import buildspec as bs
from runtime.config import load_stack
from runtime.pipeline.model import Action, Mlcicd, PipelineSpec, build_actions, critical_path
from runtime.pipeline.steps import delivery_stages
from tests.harness import ROOT

INSTALL = "python -m pip install -e ."


def spec(source: str = "staging", **changes: object) -> PipelineSpec:
    """The pipeline spec of a real stack file, with fields changed."""
    base = PipelineSpec.from_config(load_stack(source, ROOT).config, source)
    return base if not changes else PipelineSpec(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def actions(s: PipelineSpec | None = None) -> list[Action]:
    return [a for _, a in build_actions(delivery_stages(s or spec()))]


def rendered(action: Action) -> dict:
    return yaml.safe_load(bs.render(action, install_command=INSTALL, python_version="3.11"))


# Quoting and single commands ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("arg", "word"), [
    ("reports/model-gate.json", "reports/model-gate.json"),
    ("$MODEL_NAME", '"$MODEL_NAME"'),
    ("s3://$DATA_BUCKET/profiles/reference.npz", '"s3://$DATA_BUCKET/profiles/reference.npz"'),
    ("two words", "'two words'"),
    ('say "$X" `now`', '"say \\"$X\\" \\`now\\`"'),
    ("it's", "'it'\"'\"'s'"),
])
def test_shell_word_quotes_only_what_needs_it_and_keeps_variables_expandable(arg: str, word: str) -> None:
    assert bs.shell_word(arg) == word


def test_captured_invocation_fails_when_the_command_fails() -> None:
    line = bs.render_command(Mlcicd(("pipeline", "candidate-version", "--model", "$M"), capture="MODEL_VERSION"))
    assert line == 'MODEL_VERSION="$(mlcicd pipeline candidate-version --model "$M")" && export MODEL_VERSION'
    run = subprocess.run(["bash", "-c", 'X="$(false)" && export X; echo "status $?"'], capture_output=True,
                         text=True, check=False)
    assert run.stdout.strip() == "status 1"


def test_stdout_redirect_and_accepted_exit_codes() -> None:
    line = bs.render_command(Mlcicd(("promote", "--to", "production"), stdout="promotion.diff", ok_exit_codes=(1,)))
    assert line == 'mlcicd promote --to production > promotion.diff || { rc=$?; [ "$rc" -eq 1 ]; }'
    for code, accepted in ((0, True), (1, True), (2, False), (3, False)):
        wrapped = f'(exit {code}) || {{ rc=$?; [ "$rc" -eq 1 ]; }}'
        assert (subprocess.run(["bash", "-c", wrapped], check=False).returncode == 0) is accepted


# Buildspec shape ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", actions(), ids=lambda a: a.name)
def test_every_buildspec_has_the_same_shape(action: Action) -> None:
    doc = rendered(action)
    assert doc["version"] == 0.2
    assert doc["env"]["shell"] == "bash"
    assert doc["phases"]["install"]["runtime-versions"] == {"python": "3.11"}
    assert doc["phases"]["build"]["commands"] == [bs.render_command(c) for c in action.commands]
    assert doc["cache"] == {"paths": ["/root/.cache/pip/**/*"]}
    assert doc.get("env", {}).get("exported-variables", []) == list(action.exports)
    assert ("post_build" in doc["phases"]) is bool(action.finally_commands)
    install = doc["phases"]["install"].get("commands", [])
    assert (INSTALL in install) is action.install_project


def test_only_the_test_actions_install_the_test_extra() -> None:
    """Slim installs: the runtime alone for every action, the test tools only where the team's tests and linter run,
    the Pulumi SDKs only through Pulumi's own install in Deploy."""
    installs = {a.name: rendered(a)["phases"]["install"].get("commands", []) for a in actions()}
    default = spec()
    for name, commands in installs.items():
        if name in ("UnitTests", "Lint"):
            assert commands == [default.test_install_command]
        elif name == "Deploy":
            assert INSTALL not in commands
            assert not any("[test]" in c or "[infra]" in c for c in commands)
        else:
            assert commands == [INSTALL], name
    assert default.install_command == "python -m pip install -e ."


@pytest.mark.parametrize("action", actions(), ids=lambda a: a.name)
def test_rendering_is_deterministic_and_round_trips(action: Action) -> None:
    first = bs.render(action, install_command=INSTALL, python_version="3.11")
    assert first == bs.render(action, install_command=INSTALL, python_version="3.11")
    assert yaml.safe_load(first) == bs.buildspec(action, install_command=INSTALL, python_version="3.11")


@pytest.mark.parametrize("action", actions(spec(manual_approval=True)), ids=lambda a: a.name)
def test_every_command_is_valid_bash(action: Action) -> None:
    doc = rendered(action)
    lines = [c for phase in doc["phases"].values() for c in phase.get("commands", [])]
    for line in lines:
        check = subprocess.run(["bash", "-n", "-c", line], capture_output=True, text=True, check=False)
        assert check.returncode == 0, f"{action.name}: {line}\n{check.stderr}"


def test_only_deploy_hands_files_on_and_its_artifact_is_a_directory() -> None:
    with_output = [a for a in actions() if a.output]
    assert [a.name for a in with_output] == ["Deploy"]
    assert rendered(with_output[0])["artifacts"] == {"base-directory": "deployed", "files": ["**/*"]}


def test_non_build_actions_have_no_buildspec() -> None:
    source = delivery_stages(spec())[0].actions[0]
    with pytest.raises(ValueError, match="only build actions"):
        bs.buildspec(source, install_command=INSTALL, python_version="3.11")


# What the commands say ------------------------------------------------------------------------------------------
def test_deploy_pins_the_candidate_as_strings_then_updates_the_deployed_stack() -> None:
    deploy = next(a for a in actions() if a.name == "Deploy")
    build = rendered(deploy)["phases"]["build"]["commands"]
    assert 'pulumi config set --stack staging --path model.version "$MODEL_VERSION" --type string' in build
    assert 'pulumi config set --stack staging --path model.imageDigest "$IMAGE_DIGEST" --type string' in build
    up = build.index("pulumi up --stack staging --yes --non-interactive --diff")
    assert up > max(i for i, c in enumerate(build) if c.startswith("pulumi config set"))
    assert build.index("export AWS_PROFILE=deploy") < up
    install = rendered(deploy)["phases"]["install"]["commands"]
    assert install[0] == "curl -fsSL https://get.pulumi.com | sh -s -- --version 3.272.0"


def test_deploy_stack_and_promotion_target_come_from_config() -> None:
    s = spec(stack="tools", deploy_stack="qa", promote_to="live")
    text = "\n".join(bs.render(a, install_command=INSTALL, python_version="3.11") for a in actions(s))
    assert "pulumi up --stack qa" in text
    assert "mlcicd promote --from qa --to live" in text
    assert "staging" not in text
    assert "production" not in text


def test_gates_use_the_promotion_targets_thresholds_and_checks_the_deployed_stacks() -> None:
    by_name = {a.name: a for a in actions()}

    def argv(name: str) -> tuple[str, ...]:
        return next(c for c in by_name[name].commands if isinstance(c, Mlcicd)).argv

    assert argv("DataValidate")[argv("DataValidate").index("--stack") + 1] == "production"
    assert argv("ModelGate")[argv("ModelGate").index("--stack") + 1] == "production"
    for name in ("Smoke", "LoadTest"):
        assert argv(name)[argv(name).index("--stack") + 1] == "staging"


def test_critical_path_lists_sequential_steps() -> None:
    assert critical_path(delivery_stages(spec(manual_approval=False))) == [
        "Source", "DataValidate | UnitTests | Lint", "Train", "ModelGate", "Package", "Deploy",
        "Smoke | VerifyRollout", "LoadTest", "Promote"]
    assert critical_path(delivery_stages(spec(manual_approval=True)))[-2:] == ["Approve", "Promote"]
