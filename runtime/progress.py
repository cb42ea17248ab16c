"""Progress of long steps (load test, canary probe, training, data validation) on stderr, for people watching a
terminal; nothing at all when stderr is not a terminal (pipelines, CI logs, captured output), so logs and reports
stay the same.

    with progress("load test", total=planned, unit="requests") as advance:
        ...
        advance()            # one more done
        advance(0, "draining")  # new description, no step

`MLCICD_PROGRESS=0` turns it off on a terminal too; `MLCICD_PROGRESS=1` forces it on (e.g. to look at it under a
pseudo-terminal).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[..., None]
"""`advance(steps=1, description=None)`."""


def enabled(stream: TextIO | None = None) -> bool:
    """Whether progress is shown: forced by MLCICD_PROGRESS, else only when `stream` (stderr) is a terminal."""
    forced = os.environ.get("MLCICD_PROGRESS", "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _quiet(steps: float = 1, description: str | None = None) -> None:
    """What `progress` yields off a terminal: does nothing."""


@contextmanager
def progress(description: str, total: float | None = None, *, unit: str = "") -> Iterator[Advance]:
    """A rich progress bar on stderr (a spinner with elapsed time when `total` is None) while the block runs,
    removed when it ends; a do-nothing `advance` when progress is not shown. Safe to call from other threads."""
    if not enabled():
        yield _quiet
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: float = 1, description: str | None = None) -> None:
            bar.update(task, advance=steps, description=description)

        yield advance
