"""One command of the step list as the bash line a build runs: used by the buildspec renderer
(`components.delivery.buildspec`) and by `mlcicd local run`, so both run byte for byte the same line."""

from __future__ import annotations

import re
import shlex

from runtime.pipeline.model import Command

_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def shell_word(arg: str) -> str:
    """Quote one argument for bash. Words naming variables (`$X`, `${X}`) stay expandable inside double quotes."""
    if _SAFE.match(arg):
        return arg
    if "$" in arg:
        escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
        return f'"{escaped}"'
    return shlex.quote(arg)


def render_command(command: Command) -> str:
    """One buildspec command line."""
    if isinstance(command, str):
        return command
    line = " ".join(["mlcicd", *(shell_word(a) for a in command.argv)])
    if command.stdout:
        line += f" > {shell_word(command.stdout)}"
    if command.ok_exit_codes:
        accepted = " || ".join(f'[ "$rc" -eq {code} ]' for code in command.ok_exit_codes)
        line = f"{line} || {{ rc=$?; {accepted}; }}"
    if command.capture:
        # `VAR="$(...)" && export VAR`: a bare `export VAR="$(...)"` would succeed even when the command failed.
        line = f'{command.capture}="$({line})" && export {command.capture}'
    return line
