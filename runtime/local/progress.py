"""What the terminal shows while a local run works: each stage as it starts, each action with its live time, and
a line per finished action with its verdict, time and reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runtime.local.summary import COLORS, StageResult

TICK_S = 0.5


class Progress:
    def __init__(self, console: Any) -> None:
        self.console = console
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()
        self.status: Any = None

    def stage(self, name: str, actions: list[str]) -> None:
        self.console.print(f"[bold]{name}[/]: {' | '.join(actions)}")

    def start(self, name: str) -> None:
        with self.lock:
            self.running[name] = time.monotonic()

    def done(self, result: StageResult) -> None:
        with self.lock:
            self.running.pop(result.name, None)
        color = COLORS.get(result.verdict, "white")
        reason = result.reason if len(result.reason) <= 150 else result.reason[:147] + "..."
        self.console.print(f"  [{color}]{result.verdict:<5}[/] {result.name} ({result.duration_s:.1f} s): "
                           f"{reason}", highlight=False, markup=True)

    def _line(self) -> str:
        now = time.monotonic()
        with self.lock:
            parts = [f"{name} {now - t0:.0f} s" for name, t0 in self.running.items()]
        return " · ".join(parts) or "..."

    @contextmanager
    def live(self) -> Iterator[Progress]:
        """A status line with every running action and its elapsed time, refreshed twice a second."""
        stop = threading.Event()
        with self.console.status("starting") as status:
            self.status = status

            def tick() -> None:
                while not stop.wait(TICK_S):
                    status.update(self._line())

            ticker = threading.Thread(target=tick, name="local-run-progress", daemon=True)
            ticker.start()
            try:
                yield self
            finally:
                stop.set()
                ticker.join(timeout=2)
