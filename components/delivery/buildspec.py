"""Buildspecs rendered from the step list of `runtime.pipeline.steps` (pure functions; no YAML is written by hand).

Every build action gets the same shape (CodeBuild buildspec reference, version 0.2):
- `env.shell: bash`, and `env.exported-variables` for what later actions read as `#{<Namespace>.<VAR>}`;
- install: the Python runtime, the repository (`pipeline.installCommand`) unless the action says otherwise, then the
  action's own tools;
- build: the action's commands (each must succeed);
- post_build: the action's `finally_commands`, which CodeBuild runs whether the build phase passed or failed
  (evidence upload);
- artifacts: the directory named by `output`, when the action hands files to later actions;
- cache: pip's cache, kept in the pipeline bucket.
"""

from __future__ import annotations

from typing import Any

import yaml

from runtime.pipeline.model import Action, Mlcicd
from runtime.pipeline.render import render_command, shell_word

#: Where build containers keep pip's cache (saved to the pipeline bucket between builds).
PIP_CACHE = "/root/.cache/pip/**/*"

__all__ = ["PIP_CACHE", "buildspec", "mlcicd_invocations", "render", "render_command", "shell_word"]


def buildspec(action: Action, *, install_command: str, python_version: str) -> dict[str, Any]:
    """The buildspec of a build action, as data."""
    if action.category != "Build":
        raise ValueError(f"{action.name}: only build actions have a buildspec (category {action.category})")
    env: dict[str, Any] = {"shell": "bash"}
    if action.exports:
        env["exported-variables"] = list(action.exports)
    install = ([install_command] if action.install_project else []) + list(action.install)
    phases: dict[str, Any] = {"install": {"runtime-versions": {"python": python_version}}}
    if install:
        phases["install"]["commands"] = install
    phases["build"] = {"commands": [render_command(c) for c in action.commands]}
    if action.finally_commands:
        phases["post_build"] = {"commands": list(action.finally_commands)}
    doc: dict[str, Any] = {"version": 0.2, "env": env, "phases": phases}
    if action.output:
        doc["artifacts"] = {"base-directory": action.output, "files": ["**/*"]}
    doc["cache"] = {"paths": [PIP_CACHE]}
    return doc


def render(action: Action, *, install_command: str, python_version: str) -> str:
    """The buildspec YAML of a build action (deterministic: same action, same bytes)."""
    doc = buildspec(action, install_command=install_command, python_version=python_version)
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=10_000)


def mlcicd_invocations(action: Action) -> list[Mlcicd]:
    """The `mlcicd` invocations of an action (what the CLI parser must accept)."""
    return [c for c in action.commands if isinstance(c, Mlcicd)]
