"""The docs that are contracts: the README's two commands, .ci/run, and the generated config reference."""

from __future__ import annotations

import re

from runtime.config.reference import render
from tests.harness import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None
    assert text.index("```bash") < text.index("## "), "the two commands must come first"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert main_job.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert tests.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert tests.endswith(".venv/bin/python -m pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    # Besides the README's command, .ci/run may only install a missing system prerequisite (`command -v X || ...`):
    # Chromium for the HTML report tests, bubblewrap for the serving sandbox test.
    commands = [line for line in ci if line.strip() and not line.startswith(("#", "set ", "cd ", "command -v "))]
    assert commands == [_readme_commands()[1]]
    prerequisites = [line for line in ci if line.startswith("command -v ")]
    assert any("bubblewrap" in line for line in prerequisites)


def test_config_reference_is_current() -> None:
    assert (ROOT / "docs" / "config-reference.md").read_text() == render(), (
        "docs/config-reference.md is stale: run `python -m runtime.config.reference > docs/config-reference.md`")
