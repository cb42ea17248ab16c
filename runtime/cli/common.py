"""What every command shares: exit codes, usage errors, config loading and report output.

Heavy libraries are never imported at module level here: `mlcicd --help` must answer in well under a second.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from runtime.errors import UsageError
from runtime.report import EXIT_USAGE

__all__ = ["UsageError", "err", "exit_usage", "finish", "load_config", "usage_errors"]

if TYPE_CHECKING:
    from runtime.config import LoadedConfig
    from runtime.report import Report


def err(message: str) -> None:
    """Human-readable output goes to stderr; stdout is kept for machine output (JSON, diffs)."""
    print(message, file=sys.stderr)


def exit_usage(message: str) -> NoReturn:
    err(f"error: {message}")
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def usage_errors() -> Iterator[None]:
    """Turn config and usage errors into a clear message and exit code 2."""
    from runtime.config import ConfigError

    try:
        yield
    except ConfigError as exc:
        exit_usage(str(exc))
    except UsageError as exc:
        exit_usage(str(exc))


def load_config(stack: str, root: Path | None = None) -> LoadedConfig:
    """Load `Pulumi.<stack>.yaml`, printing security advice; exit 2 on invalid config."""
    from runtime.config import ConfigError, load_stack

    try:
        loaded = load_stack(stack, root)
    except ConfigError as exc:
        exit_usage(str(exc))
    for advice in loaded.advice:
        err(f"warning: {advice.render()}")
    return loaded


def finish(report: Report, out: Path | None) -> NoReturn:
    """Write the report (the machine contract), print the summary to stderr, exit with the verdict's code."""
    report.finish()
    if out is not None:
        report.write(out)
    for line in report.summary_lines():
        err(line)
    if out is not None:
        err(f"report: {out}")
    raise typer.Exit(report.exit_code)
