"""Run the benchmarks: `python -m benchmarks [NAME ...] [OPTIONS]` (names: cli, data, decisions, local,
local-split, replay, smoke, capture).

Each prints its figures and ratios against its named peer, measured in the same run; the exit code is non-zero
when a target is missed."""

from __future__ import annotations

import importlib
import sys

SUITES = {"cli": "benchmarks.cli", "data": "benchmarks.data_validation", "local": "benchmarks.local_run",
          "local-split": "benchmarks.local_split",
          "smoke": "benchmarks.smoke_overhead", "capture": "benchmarks.capture_overhead",
          "decisions": "benchmarks.decisions", "replay": "benchmarks.replay_decisions"}


def main(argv: list[str]) -> int:
    """Leading arguments name suites; everything from the first option on goes to each suite (`local --repeat 1`)."""
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:split] or list(SUITES), argv[split:]
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(SUITES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        module = importlib.import_module(SUITES[name])
        status |= module.main(options)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
