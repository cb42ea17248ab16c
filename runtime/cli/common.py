"""What every command shares: stderr output, config loading and report output.

Commands raise `runtime.errors` exceptions for bad input and let library errors propagate: the entry point
(`runtime/cli/main.py`) is the one place that turns them into a message and an exit code. Heavy libraries are never
imported at module level here: `mlcicd --help` must answer in well under a second.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from runtime.errors import UsageError

__all__ = ["UsageError", "err", "finish", "load_config", "report_and_exit"]

if TYPE_CHECKING:
    from runtime.config import LoadedConfig
    from runtime.report import Report


def err(message: str) -> None:
    """Human-readable output goes to stderr; stdout is kept for machine output (JSON, diffs)."""
    print(message, file=sys.stderr)


def load_config(stack: str, root: Path | None = None) -> LoadedConfig:
    """Load `Pulumi.<stack>.yaml`, printing security advice; an invalid config raises ConfigError (exit 2)."""
    from runtime.config import load_stack

    loaded = load_stack(stack, root)
    for advice in loaded.advice:
        err(f"warning: {advice.render()}")
    return loaded


def finish(report: Report, out: Path | None, html: Path | None = None) -> NoReturn:
    """Time the report, then write it and exit as `report_and_exit` does."""
    report.finish()
    report_and_exit(report, out, html)


def report_and_exit(report: Report, out: Path | None, html: Path | None = None) -> NoReturn:
    """Write the report (the machine contract) as it is and, with `html`, its page; print the summary to stderr, exit
    with the verdict's code."""
    if out is not None:
        report.write(out)
    if html is not None:
        from runtime.html import write

        write(report, html)
        err(f"html: {html}")
    for line in report.summary_lines():
        err(line)
    if out is not None:
        err(f"report: {out}")
    raise typer.Exit(report.exit_code)
