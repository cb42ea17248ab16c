"""Timing helpers shared by the benchmarks: wall time and peak RSS of a child process, repeated, median."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Timing:
    label: str
    wall_s: float
    peak_rss_mb: float

    def row(self) -> str:
        return f"{self.label:<52} {self.wall_s:8.3f} s {self.peak_rss_mb:9.0f} MB"


def run_child(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (waited with wait4 for its own rusage)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def median_of(label: str, argv: list[str], repeat: int, env: dict[str, str] | None = None) -> Timing:
    runs = [run_child(argv, env) for _ in range(repeat)]
    return Timing(label, statistics.median(w for w, _ in runs), max(r for _, r in runs))


def self_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER TARGET"
