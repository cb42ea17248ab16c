"""Operating characteristics of the replay and shadow gates: how often they fail a candidate as good as the champion
(A/A false-fail rate) and how often they fail a worse one (power), over simulated replays.

    python -m benchmarks replay [--replays 200] [--requests 2000] [--seed 1] [--jobs 1]

Each simulated replay is what the gate judges after sending a sample to both sides: `requests` single-row pairs in
four segments (40/30/20/10 % of traffic), lognormal latencies sharing a per-request load factor (both sides meet the
same moment) with independent noise (and, in one scenario, an independent bimodal slow tail per side), binary
decisions (30 % positive; the champion right on 88 % of rows), labels where the scenario has them. The decision is
the gate's own (`runtime.replay.decide.decide`, default `gates.replay` with `segmentColumn` set: alpha 0.05 over 8
checks, 9 with labels). Target: every A/A scenario's false-fail rate at most
alpha; exit 1 otherwise. Figures and the command that produced them: docs/replay.md.
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.config.replay import ReplayGateConfig
from runtime.replay.decide import decide
from runtime.replay.judge import Pairs
from runtime.replay.stats import clopper_pearson

SEGMENTS = np.array(["s1", "s2", "s3", "s4"], dtype=object)
SHARES = [0.4, 0.3, 0.2, 0.1]
BASE_MS = 8.0
MARGIN = 0.5


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    """"A/A" (as good as the champion: any FAIL is false) or "power" (worse: FAIL is right)."""
    effect: str
    task: str = "classification"
    flip: float = 0.0
    """Share of decisions the candidate flips, spread over every segment."""
    segment_flip: tuple[str, float] | None = None
    """(segment, share of its rows flipped)."""
    latency: float = 1.0
    errors: float = 0.0
    labels: str | None = None
    """None, "equal" (flips as often right as wrong) or "worse" (flips only rows the champion got right)."""
    shift: float = 0.0
    slow_tail: float = 0.0
    """Share of requests each side answers 4.5x slower, independently (a pause, a cold cache): a bimodal tail."""


SCENARIOS = (
    Scenario("identical model", "A/A", "same decisions, same latency"),
    Scenario("retrained champion", "A/A", "2 % of decisions differ", flip=0.02),
    Scenario("at the disagreement bound", "A/A", "5 % differ (= maxDisagreement: worst case)", flip=0.05),
    Scenario("retrained, labelled", "A/A", "3 % differ, equal accuracy", flip=0.03, labels="equal"),
    Scenario("retrained regression", "A/A", "shift 0, sd 0.3 (margin 0.5)", task="regression"),
    Scenario("retrained, 1 % slow tail", "A/A", "2 % differ; 1 % of requests 4.5x slower on each side",
             flip=0.02, slow_tail=0.01),
    Scenario("disagreement 7 %", "power", "7 % of decisions differ", flip=0.07),
    Scenario("disagreement 8 %", "power", "8 % of decisions differ", flip=0.08),
    Scenario("one segment flipped", "power", "s4 (10 % of traffic) fully flipped", segment_flip=("s4", 1.0)),
    Scenario("one segment partly flipped", "power", "s3 (20 %): 25 % flipped, 5 % overall",
             segment_flip=("s3", 0.25)),
    Scenario("small segment partly flipped", "power", "s4 (10 %): 30 % flipped, 3 % overall",
             segment_flip=("s4", 0.30)),
    Scenario("latency +30 %", "power", "every request 1.3x slower (bound 1.25)", latency=1.30),
    Scenario("latency +35 %", "power", "every request 1.35x slower", latency=1.35),
    Scenario("latency +50 %", "power", "every request 1.5x slower", latency=1.5),
    Scenario("errors +0.5 point", "power", "0.5 % of requests fail", errors=0.005),
    Scenario("errors +1 point", "power", "1 % of requests fail", errors=0.01),
    Scenario("accuracy -1 point", "power", "1 % flipped, all from right to wrong", flip=0.01, labels="worse"),
    Scenario("accuracy -2 points", "power", "2 % flipped, all from right to wrong", flip=0.02, labels="worse"),
    Scenario("accuracy -3 points", "power", "3 % flipped, all from right to wrong", flip=0.03, labels="worse"),
    Scenario("regression shift 0.7", "power", "predictions +0.7 (margin 0.5)", task="regression", shift=0.7),
    Scenario("regression shift 1.0", "power", "predictions +1.0 (2x margin)", task="regression", shift=1.0),
)


def _flips(s: Scenario, rng: np.random.Generator, segments: np.ndarray, right: np.ndarray) -> np.ndarray:
    n = segments.size
    if s.segment_flip is not None:
        name, share = s.segment_flip
        return (segments == name) & (rng.random(n) < share)
    if s.labels == "equal":  # as many flips of right rows as of wrong ones: equal accuracy in expectation
        p_right, p_wrong = s.flip / (2 * right.mean()), s.flip / (2 * (1 - right.mean()))
        return rng.random(n) < np.where(right, p_right, p_wrong)
    if s.labels == "worse":
        return right & (rng.random(n) < s.flip / right.mean())
    return rng.random(n) < s.flip


def simulate(s: Scenario, n: int, rng: np.random.Generator) -> Pairs:
    segments = SEGMENTS[rng.choice(4, size=n, p=SHARES)]
    load = rng.lognormal(0, 0.3, n)

    def side(ratio: float) -> np.ndarray:
        tail = np.where(rng.random(n) < s.slow_tail, rng.lognormal(1.5, 0.3, n), 1.0)
        return BASE_MS * ratio * load * rng.lognormal(0, 0.25, n) * tail

    champ_ms, cand_ms = side(1.0), side(s.latency)
    cand_ok = rng.random(n) >= s.errors
    labels: Any = None
    if s.task == "regression":
        champion: Any = rng.normal(50, 10, n)
        candidate: Any = champion + s.shift + rng.normal(0, 0.3, n)
    else:
        champion = (rng.random(n) < 0.3).astype(int)
        truth = np.where(rng.random(n) < 0.88, champion, 1 - champion)
        candidate = np.where(_flips(s, rng, segments, champion == truth), 1 - champion, champion)
        labels = truth if s.labels else None

    def rows(values: Any) -> np.ndarray:
        out = np.empty(int(cand_ok.sum()), dtype=object)
        out[:] = list(np.asarray(values)[cand_ok])
        return out

    return Pairs(champion_ok=np.ones(n, bool), candidate_ok=cand_ok, champion_ms=champ_ms, candidate_ms=cand_ms,
                 champion=rows(champion), candidate=rows(candidate), segments=rows(segments),
                 labels=rows(labels) if labels is not None else None)


def run_scenario(s: Scenario, replays: int, n: int, seed: int) -> dict[str, Any]:
    cfg = ReplayGateConfig(segment_column="region", equivalence_margin=MARGIN)
    counts = {"PASS": 0, "FAIL": 0, "INCONCLUSIVE": 0}
    failing: dict[str, int] = {}
    undecided: dict[str, int] = {}
    for i in range(replays):
        rng = np.random.default_rng([seed, SCENARIOS.index(s), i])
        checks, _ = decide(simulate(s, n, rng), cfg.model_copy(update={"seed": i}), s.task,  # type: ignore[arg-type]
                           segment_column="region", labels_expected=s.labels is not None)
        verdict = ("FAIL" if any(c.verdict.value == "FAIL" for c in checks) else
                   "INCONCLUSIVE" if any(c.verdict.value == "INCONCLUSIVE" for c in checks) else "PASS")
        counts[verdict] += 1
        for c in checks:
            tally = {"FAIL": failing, "INCONCLUSIVE": undecided}.get(c.verdict.value)
            if tally is not None:
                tally[c.name] = tally.get(c.name, 0) + 1
    lower, upper = clopper_pearson(counts["FAIL"], replays, 0.025)
    return {"scenario": s.name, "kind": s.kind, "effect": s.effect, "replays": replays, **counts,
            "fail_rate": counts["FAIL"] / replays, "fail_ci95": [lower, upper], "failing_checks": failing,
            "inconclusive_checks": undecided}


def _table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'scenario':<28} {'kind':<6} {'FAIL':>7} {'95 % CI':>15} {'INCONCL.':>9} {'PASS':>7}  effect; failing "
             "checks; inconclusive checks"]
    for r in results:
        ci = f"{100 * r['fail_ci95'][0]:.1f}-{100 * r['fail_ci95'][1]:.1f} %"
        which, why = (", ".join(f"{k} {v}" for k, v in sorted(r[key].items(), key=lambda kv: -kv[1])) or "-"
                      for key in ("failing_checks", "inconclusive_checks"))
        lines.append(f"{r['scenario']:<28} {r['kind']:<6} {100 * r['fail_rate']:6.1f}% {ci:>15} "
                     f"{100 * r['INCONCLUSIVE'] / r['replays']:8.1f}% {100 * r['PASS'] / r['replays']:6.1f}%  "
                     f"{r['effect']}; {which}; {why}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks replay")
    parser.add_argument("--replays", type=int, default=200, help="simulated replays per scenario (default 200)")
    parser.add_argument("--requests", type=int, default=2000, help="pairs per replay (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (the machine is shared: default 1)")
    args = parser.parse_args(argv)
    alpha = ReplayGateConfig().alpha
    t0 = time.perf_counter()
    repeat = len(SCENARIOS)
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run_scenario, SCENARIOS, [args.replays] * repeat, [args.requests] * repeat,
                                [args.seed] * repeat))
    print(_table(results))
    null = [r for r in results if r["kind"] == "A/A"]
    pooled = sum(r["FAIL"] for r in null) / sum(r["replays"] for r in null)
    print(f"\nA/A false-fail over {sum(r['replays'] for r in null)} replays: {100 * pooled:.2f} % (alpha "
          f"{100 * alpha:g} %); worst scenario {100 * max(r['fail_rate'] for r in null):.2f} %; "
          f"{args.requests} pairs per replay; {time.perf_counter() - t0:.0f} s")
    missed = [r["scenario"] for r in null if r["fail_rate"] > alpha]
    if missed or not math.isfinite(pooled):
        print(f"OVER TARGET: {missed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
