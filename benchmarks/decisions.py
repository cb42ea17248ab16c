"""Operating characteristics of every gate's decision: false-FAIL rate, INCONCLUSIVE rate and power.

    python -m benchmarks decisions [--trials 1000] [--seed 12] [--out benchmarks/.data] [--only canary gate]

Each section (`benchmarks/decisions_<name>.py`, found by `decisions_common.sections()`) simulates its gate's
checks through the real decision functions under the null (as good as the baseline / champion / reference) and at
the documented effects, over sample sizes and traffic splits. Printed and written as JSON and markdown
(`decisions.json`, `decisions.md` in --out), every rate with its 95 % Wilson interval. Exit 1 when some null row's
false-FAIL rate is above the configured alpha beyond Monte Carlo error (a binomial test at 0.001).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT
from benchmarks.decisions_common import Row, sections, wilson


def _pct(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f} ({100 * lo:.1f}-{100 * hi:.1f})"


def markdown(title: str, rows: list[Row]) -> str:
    lines = [f"### {title}", "",
             "| check | truth | scenario | n | unit | split | trials | FAIL % (95 % CI) | INCONCLUSIVE % | PASS % |",
             "|---|---|---|---:|---|---|---:|---|---|---|"]
    for r in rows:
        flag = "" if r.held else " **above alpha**"
        lines.append(f"| {r.check} | {r.truth} | {r.scenario} | {r.n:,} | {r.unit} | {r.split} | {r.trials} | "
                     f"{_pct(r.fail, r.trials)}{flag} | {_pct(r.inconclusive, r.trials)} | "
                     f"{_pct(r.passed, r.trials)} |")
    return "\n".join(lines) + "\n"


def pivot(title: str, rows: list[Row]) -> str:
    """The same rows, one line per check, truth, scenario and split, one column per sample size: each cell is
    `FAIL % [95 % interval] / INCONCLUSIVE % / PASS %`."""
    sizes = sorted({r.n for r in rows})
    lines = [f"#### {title}: FAIL % [95 % CI] / INCONCLUSIVE % / PASS % by sample size", "",
             "| check | truth | scenario | split | " + " | ".join(f"{n:,}" for n in sizes) + " |",
             "|---|---|---|---|" + "---|" * len(sizes)]
    keys = dict.fromkeys((r.check, r.truth, r.scenario, r.split) for r in rows)
    for check, truth, scenario, split in keys:
        cells = {r.n: r for r in rows if (r.check, r.truth, r.scenario, r.split) == (check, truth, scenario, split)}
        shown = []
        for n in sizes:
            r = cells.get(n)
            if r is None:
                shown.append("")
                continue
            lo, hi = wilson(r.fail, r.trials)
            flag = " **>alpha**" if not r.held else ""
            shown.append(f"{100 * r.fail_rate:.1f} [{100 * lo:.1f}-{100 * hi:.1f}]{flag} / "
                         f"{100 * r.inconclusive_rate:.0f} / {100 * r.pass_rate:.0f}")
        lines.append(f"| {check} | {truth} | {scenario} | {split} | " + " | ".join(shown) + " |")
    units = ", ".join(dict.fromkeys(r.unit for r in rows))
    lines.append(f"\nSample size: {units}; trials per cell: "
                 f"{', '.join(sorted({str(r.trials) for r in rows}, key=int))}.")
    return "\n".join(lines) + "\n"


def summary(rows: list[Row]) -> list[str]:
    """Per check: the worst null false-FAIL rate, and the smallest n with power >= target per split."""
    out = []
    for check in dict.fromkeys(r.check for r in rows):
        mine = [r for r in rows if r.check == check]
        nulls = [r for r in mine if r.truth == "null"]
        worst = max(nulls, key=lambda r: r.fail_rate) if nulls else None
        line = f"  {check}:"
        if worst is not None:
            line += (f" worst false-FAIL {100 * worst.fail_rate:.2f} % (n={worst.n:,}, {worst.split}; alpha "
                     f"{100 * worst.alpha:g} %)")
        for split in dict.fromkeys(r.split for r in mine if r.truth == "effect"):
            powered = [r for r in mine if r.truth == "effect" and r.split == split and r.fail_rate >= r.power]
            first = min(powered, key=lambda r: r.n) if powered else None
            label = "" if split == "-" else f" at {split}"
            line += (f"; power >= {100 * first.power:g} %{label} from n={first.n:,} ({100 * first.fail_rate:.1f} %)"
                     if first else f"; power target not reached{label} in the grid")
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks decisions")
    parser.add_argument("--trials", type=int, default=1000, help="simulated runs per cell (canary; the model gate "
                        "uses fewer at its largest sizes)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / ".data")
    parser.add_argument("--only", nargs="*", default=None, help="section names (canary, gate, drift, ...)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: list[tuple[str, str, list[Row]]] = []
    for index, module in enumerate(sections()):
        name = module.__name__.rsplit(".", 1)[-1].removeprefix("decisions_")
        if args.only and name not in args.only:
            continue
        title = getattr(module, "TITLE", name)
        print(f"== decisions: {title} ==", flush=True)
        t0 = time.perf_counter()
        rows = module.run(args.trials, np.random.default_rng([args.seed, index]))
        print(f"  ({time.perf_counter() - t0:.0f} s)")
        print("\n".join(summary(rows)), flush=True)
        results.append((name, title, rows))
    elapsed = time.perf_counter() - started
    meta = {"command": "python -m benchmarks decisions " + " ".join(argv or []), "trials": args.trials,
            "seed": args.seed, "seconds": round(elapsed, 1), "cpus": os.cpu_count(),
            "python": platform.python_version(), "load_average": os.getloadavg()}
    (args.out / "decisions.json").write_text(json.dumps(
        {"meta": meta, "sections": [{"name": n, "title": t, "rows": [r.to_dict() for r in rows]}
                                    for n, t, rows in results]}, indent=1), encoding="utf-8")
    text = "\n".join(pivot(t, rows) + "\n" + markdown(t, rows) for _, t, rows in results)
    (args.out / "decisions.md").write_text(f"<!-- {meta['command'].strip()}: {elapsed:.0f} s -->\n\n{text}",
                                           encoding="utf-8")
    broken = [r for _, _, rows in results for r in rows if not r.held]
    print(f"\nwritten: {args.out / 'decisions.json'}, {args.out / 'decisions.md'} ({elapsed:.0f} s)")
    for r in broken:
        print(f"  false-FAIL above alpha: {r.gate} {r.check} {r.scenario} n={r.n} {r.split}: "
              f"{100 * r.fail_rate:.2f} % > {100 * r.alpha:g} %")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
