"""Operating characteristics of the drift gate: false-block rate under identical distributions (A/A), INCONCLUSIVE
rate, and power at stated effect sizes, each with a 95 % (Wilson) interval, simulated on the gate itself.

    python -m benchmarks.decisions_drift [--trials N] [--seed S] [--quick] [--out FILE]

Each trial draws a reference and a current sample of known truth, summarises both with the engine's own code
(`runtime.data.scan` on in-memory Arrow tables: the streaming path, chunked and merged) and decides with
`runtime.data.validate.compare` at the default config (alpha 0.01, Benjamini-Hochberg, minEffectSize 0.02,
detectableEffect 0.2 at power 0.9). The verdict counted is the drift decision (`drift.share`); the "whole gate"
rows count the report's verdict over a 25-column production-shaped table. Cells: numeric (normal), tied integers
(Poisson(3)), categoricals with 5 and 500 levels (Zipf-like: sparse at small n), at 500, 1k, 10k and 100k rows a
side (1M with fewer trials); effects: normal mean shift, category share change, missing-share change.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from benchmarks import decisions_common as common

GATE = "drift"
SIZES = (500, 1_000, 10_000, 100_000)
BIG = 1_000_000
LEVELS_500 = np.array([f"l{i:03d}" for i in range(500)])
P_500 = 1.0 / np.arange(1, 501) ** 1.1
P_500 /= P_500.sum()
LEVELS_5 = np.array(["a", "b", "c", "d", "e"])
P_5 = np.array([0.35, 0.25, 0.2, 0.12, 0.08])


@dataclass(frozen=True)
class Row:
    """One cell of the operating-characteristics table (rates with 95 % Wilson intervals; None where the cell does
    not measure it: no false blocks under an effect, no power under A/A)."""

    gate: str
    check: str
    scenario: str
    n_per_side: int
    split: str
    trials: int
    false_block: float | None
    false_block_ci: tuple[float, float] | None
    inconclusive: float
    inconclusive_ci: tuple[float, float]
    power: float | None
    power_ci: tuple[float, float] | None


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


# --------------------------------------------------------------------------------------------------------------
# Samples of known truth
# --------------------------------------------------------------------------------------------------------------

#: Effects: name -> (kind of change, size). Mean shifts in sd (0.5 sd is a KS distance of 0.2, 0.1 sd 0.04), share
#: moves as total variation, Poisson means, missing shares.
EFFECTS: dict[str, tuple[str, float]] = {
    "A/A": ("none", 0.0),
    "mean shift 0.5 sd (D 0.2)": ("shift", 0.5), "mean shift 0.1 sd (D 0.04)": ("shift", 0.1),
    "Poisson 3 -> 3.9 (D 0.2)": ("shift", 3.9), "Poisson 3 -> 3.15 (D 0.04)": ("shift", 3.15),
    "share change (TVD 0.2)": ("shift", 0.2), "share change (TVD 0.04)": ("shift", 0.04),
    "missing share 0 -> 5 %": ("null", 0.05), "missing share 0 -> 2.5 %": ("null", 0.025),
}


def _column(kind: str, n: int, rng: np.random.Generator, scenario: str) -> Any:
    change, size = EFFECTS[scenario]
    null_rate = size if change == "null" else 0.0
    shift = change == "shift"
    if kind == "numeric":
        x = rng.normal(size if shift else 0.0, 1.0, n)
    elif kind == "tied-int":
        x = rng.poisson(size if shift else 3.0, n).astype(np.float64)
    else:
        levels, p = (LEVELS_5, P_5) if kind == "cat-5" else (LEVELS_500, P_500)
        if shift:  # move a total variation of `size` from the most frequent categories to the rarer half
            p = p.copy()
            head = int(np.searchsorted(np.cumsum(p), 2 * size)) + 1
            p[:head] *= 1 - size / p[:head].sum()
            p[len(p) // 2:] += size / (len(p) - len(p) // 2)
        values = rng.choice(levels, n, p=p)
        if null_rate:
            return pa.array(values, mask=rng.random(n) < null_rate)
        return pa.array(values)
    if null_rate:
        x[rng.random(n) < null_rate] = np.nan
    return x


def _decide(ref: dict[str, Any], cur: dict[str, Any], check: str) -> str:
    from runtime.config.gates import DataValidationConfig
    from runtime.data.scan import reference_profile, scan
    from runtime.data.sources import TableFrame
    from runtime.data.validate import compare, current_plans

    config = DataValidationConfig()
    reference = reference_profile(TableFrame(pa.table(ref), "ref"), config.drift.bins, threads=1)
    current = scan(TableFrame(pa.table(cur), "cur"), current_plans(reference, config), hashes=check == "whole gate",
                   threads=1)
    report = compare(reference, current, config)
    if check == "whole gate":
        return report.verdict.value
    return next(c.verdict.value for c in report.checks if c.name == "drift.share")


def _whole_table(n: int, rng: np.random.Generator) -> dict[str, Any]:
    from benchmarks.data_shapes import table

    t = table(n, int(rng.integers(1 << 31)), drift=False)
    return {name: t.column(name).combine_chunks() for name in t.column_names}


def cell(check: str, scenario: str, n: int, trials: int, rng: np.random.Generator) -> Row:
    counts = {"PASS": 0, "FAIL": 0, "INCONCLUSIVE": 0}
    for _ in range(trials):
        if check == "whole gate":
            verdict = _decide(_whole_table(n, rng), _whole_table(n, rng), check)
        else:
            verdict = _decide({"x": _column(check, n, rng, "A/A")}, {"x": _column(check, n, rng, scenario)}, check)
        counts[verdict] += 1
    fails, unsure = counts["FAIL"], counts["INCONCLUSIVE"]
    aa = scenario == "A/A"
    return Row(gate=GATE, check=check, scenario=scenario, n_per_side=n, split="1:1", trials=trials,
               false_block=fails / trials if aa else None, false_block_ci=wilson(fails, trials) if aa else None,
               inconclusive=unsure / trials, inconclusive_ci=wilson(unsure, trials),
               power=None if aa else fails / trials, power_ci=None if aa else wilson(fails, trials))


SCENARIOS = {
    "numeric": ("A/A", "mean shift 0.5 sd (D 0.2)", "mean shift 0.1 sd (D 0.04)", "missing share 0 -> 5 %",
                "missing share 0 -> 2.5 %"),
    "tied-int": ("A/A", "Poisson 3 -> 3.9 (D 0.2)", "Poisson 3 -> 3.15 (D 0.04)"),
    "cat-5": ("A/A", "share change (TVD 0.2)", "share change (TVD 0.04)", "missing share 0 -> 5 %"),
    "cat-500": ("A/A", "share change (TVD 0.2)", "share change (TVD 0.04)"),
}


TITLE = "drift gate (data validation)"
ALPHA = 0.01
POWER = 0.9


def run(trials: int, rng: np.random.Generator) -> list[common.Row]:
    """The drift section of `python -m benchmarks decisions`: the cells as the shared table's rows (counts, truth)."""
    return [as_common(row) for row in simulate(trials, rng)]


def as_common(row: Row) -> common.Row:
    """A drift cell as a `decisions_common.Row`: A/A cells are null rows (a FAIL is a false block), effect cells
    count their FAILs as detections."""
    null = row.false_block is not None
    rate = row.false_block if null else row.power
    fail = round((rate or 0.0) * row.trials)
    inconclusive = round(row.inconclusive * row.trials)
    return common.Row(gate="drift", check=row.check, scenario=row.scenario, truth="null" if null else "effect",
                      n=row.n_per_side, unit="rows per side", split=row.split, trials=row.trials, fail=fail,
                      inconclusive=inconclusive, passed=max(0, row.trials - fail - inconclusive), alpha=ALPHA,
                      power=POWER)


def simulate(trials: int, rng: np.random.Generator, *, quick: bool = False, checks: tuple[str, ...] | None = None,
             progress: bool = False) -> list[Row]:
    """Every drift cell (`checks`: a subset of the cells' checks)."""
    plan = []
    sizes = SIZES[:3] if quick else SIZES
    for check, scenarios in SCENARIOS.items():
        for scenario in scenarios:
            for n in sizes:
                scale = 1 if n <= 10_000 else 5  # 100k rows cost ~10x a 10k trial
                plan.append((check, scenario, n, max(20, trials // scale)))
            if not quick:
                plan.append((check, scenario, BIG, max(10, trials // 50)))
    for n in sizes:
        plan.append(("whole gate", "A/A", n, max(20, trials // (4 if n <= 10_000 else 20))))
    rows = []
    for check, scenario, n, count in plan:
        if checks is None or check in checks:
            rows.append(cell(check, scenario, n, count, rng))
            if progress:
                print_table(rows[-1:], header=len(rows) == 1)
    return rows


def print_table(rows: list[Row], *, header: bool = True) -> None:
    def rate(value: float | None, ci: tuple[float, float] | None) -> str:
        return "-" if value is None or ci is None else f"{100 * value:5.1f}% [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"

    if header:
        print(f"{'check':<11} {'scenario':<26} {'n/side':>9} {'trials':>6}  {'false block':<20} "
              f"{'inconclusive':<20} power")
    for r in rows:
        print(f"{r.check:<11} {r.scenario:<26} {r.n_per_side:>9,} {r.trials:>6}  "
              f"{rate(r.false_block, r.false_block_ci):<20} {rate(r.inconclusive, r.inconclusive_ci):<20} "
              f"{rate(r.power, r.power_ci)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decisions_drift")
    parser.add_argument("--trials", type=int, default=1000, help="trials per cell up to 10k rows (fewer beyond)")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--quick", action="store_true", help="up to 10k rows, no 1M cells")
    parser.add_argument("--checks", help=f"comma-separated subset of {', '.join([*SCENARIOS, 'whole gate'])}")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / ".data" / "decisions_drift.json")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    checks = tuple(args.checks.split(",")) if args.checks else None
    rows = simulate(args.trials, np.random.default_rng(args.seed), quick=args.quick, checks=checks, progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    alpha = ALPHA
    worst = [r for r in rows if r.false_block_ci is not None and r.false_block_ci[0] > alpha]
    print(f"{len(rows)} cells in {time.perf_counter() - t0:.0f} s; written to {args.out}")
    for r in worst:
        print(f"FALSE-BLOCK RATE ABOVE ALPHA: {r.check} {r.scenario} n={r.n_per_side}: {r.false_block:.3f}")
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
