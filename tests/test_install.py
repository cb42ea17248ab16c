"""The slim install: the runtime (`pip install ml-cicd`) works without the Pulumi SDKs; `mlcicd graph` names the
extra to install; the `infra` extra, the dependency group Pulumi's uv toolchain installs and the `test` extra agree.

The runtime is run in a subprocess whose imports of `pulumi`, `pulumi_aws` and `pulumi_kubernetes` fail as they
would in a venv without them (a meta-path finder answers "no such module" for them).
"""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import runtime
from tests.harness import ROOT

PULUMI_SDKS = ("pulumi", "pulumi_aws", "pulumi_kubernetes")

BLOCKER = f"""
import importlib.abc, sys
class NoPulumi(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {PULUMI_SDKS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NoPulumi())
"""


def _without_pulumi(code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER + code, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _mlcicd(*args: str) -> subprocess.CompletedProcess[str]:
    return _without_pulumi("import sys; sys.argv = ['mlcicd', *sys.argv[1:]]\n"
                           "from runtime.cli.main import main; main()", *args)


def _requirements(entries: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", e, maxsplit=1)[0].lower() for e in entries}


def test_the_blocker_blocks() -> None:
    result = _without_pulumi("import pulumi_aws")
    assert result.returncode != 0
    assert "No module named 'pulumi_aws'" in result.stderr


def test_every_runtime_module_imports_without_the_pulumi_sdks() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(runtime.__path__, "runtime."))
    assert len(modules) > 50
    result = _without_pulumi("import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\n"
                             "import runtime.stack_outputs\nprint('ok')", *modules)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("command", [["--help"], ["config", "validate", "--stack", "staging"],
                                     ["config", "schema"], ["champion", "--help"], ["data", "--help"],
                                     ["gate", "model", "--help"], ["smoke", "--help"], ["canary", "judge", "--help"],
                                     ["verify", "rollout", "--help"], ["promote", "--help"], ["local", "--help"]])
def test_runtime_commands_run_without_the_pulumi_sdks(command: list[str]) -> None:
    result = _mlcicd(*command)
    assert result.returncode == 0, result.stderr


def test_graph_without_the_infra_extra_names_it() -> None:
    result = _mlcicd("graph", "--stack", "staging")
    assert result.returncode == 2, result.stderr
    assert "pip install 'ml-cicd[infra]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_extras_and_the_uv_group_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    base = _requirements(project["project"]["dependencies"])
    extras = project["project"]["optional-dependencies"]
    sdks = {name.replace("_", "-") for name in PULUMI_SDKS}
    assert not sdks & base, "the base install stays free of the Pulumi SDKs"
    assert _requirements(extras["infra"]) == sdks
    # Pulumi's uv toolchain runs a plain `uv sync`: default groups, no extras.
    assert sorted(project["dependency-groups"]["infra"]) == sorted(extras["infra"])
    assert project["tool"]["uv"]["default-groups"] == ["infra"]
    assert "ml-cicd[infra]" in extras["test"], "the test suite builds graphs"
    assert "moto" in _requirements(extras["local"])
