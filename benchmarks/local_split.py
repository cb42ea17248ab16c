"""Why the local canary needs a latency floor: two scoring servers of ONE model version on one machine, sent the
local canary's traffic (`mlcicd local run`: 25 unjudged warm-up requests each, then 700 requests over 12 s, at
most 8 in flight) at several traffic splits.

    python -m benchmarks local-split [--repeat 3] [--splits 0.2,0.5,0.8] [--fill]

Both servers run the same version, so any latency difference is the machine's: the side with the smaller share
of the traffic finds its code and data evicted from the shared CPU caches by the other side between its requests.
Printed per split: each side's p50, the minority side's p50 over the majority's, and the rank effect
P(minority slower) - 1/2 that the canary judge's latency check tests (`+10 %` on every request is about +0.15).
Peer in the same run: the 50/50 split, where neither side is the minority. In the cloud each task has CPUs of its
own; `local.canaryLatencyTolerance` (default 0.5) keeps this artifact from failing a rehearsal.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT

MODEL = "split-benchmark"
REQUESTS, SECONDS, WARM_UP, IN_FLIGHT = 700, 12.0, 25, 8


def _train(tmp: Path) -> str:
    """Version 1 of the example project, trained by its own command under the training contract."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}", "MLFLOW_EXPERIMENT_NAME": MODEL,
           "MLCICD_MODEL_NAME": MODEL, "MLCICD_TRAINING_DATA": str(ROOT / "data" / "train.parquet"),
           "MLCICD_EVALUATION_DATA": str(ROOT / "data" / "evaluation.parquet"), "MLCICD_TARGET_COLUMN": "benign",
           "MLCICD_WORK_DIR": str(tmp / "work"), "PYTHONPATH": str(ROOT)}
    # From the temporary directory: MLflow puts the run's artifacts under ./mlruns of the working directory.
    subprocess.run([sys.executable, "-m", "training.train"], cwd=tmp, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return env["MLFLOW_TRACKING_URI"]


def _rank_effect(slow: list[float], fast: list[float]) -> float:
    from scipy.stats import mannwhitneyu

    u = mannwhitneyu(slow, fast, alternative="two-sided").statistic
    return float(u) / (len(slow) * len(fast)) - 0.5


def _one(urls: dict[str, str], rows: Sequence[Any], share: float, seed: int, fill: bool) -> dict[str, list[float]]:
    """One canary's latencies per side; `fill`: the local run's even load (`runtime.local.deploy.even_load`)."""
    from runtime.canary.probe_replay import Shot, replay
    from runtime.local.deploy import FILL, even_load

    warm = [Shot(0.0, side, urls[side], rows[i % len(rows)]) for side in urls for i in range(WARM_UP)]
    replay(warm, tuple(urls), timeout_seconds=30.0, max_in_flight=1, overflow="wait")
    rng = random.Random(seed)
    shots = [Shot(i * SECONDS / REQUESTS, side, urls[side], rows[i % len(rows)])
             for i in range(REQUESTS) for side in ["b" if rng.random() < share else "a"]]
    if fill:
        shots = even_load(shots, ("a", "b"), urls)
    served = replay(shots, ("a", "b", FILL), timeout_seconds=10.0, max_in_flight=IN_FLIGHT, overflow="wait")
    return {side: [s.observation.latency_s for s in served[side] if s.observation.status == 200]
            for side in ("a", "b")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks local-split")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--splits", default="0.2,0.5,0.8", help="Shares of side b (comma-separated).")
    parser.add_argument("--fill", action="store_true", help="Even load: each request with an unjudged twin to the "
                        "other side at the same moment, as `mlcicd local run` sends them.")
    args = parser.parse_args(argv)
    import pandas as pd

    from runtime.canary.probe_sample import sample_from_frame
    from runtime.local.processes import ProcessGroup
    from runtime.local.servers import start_scoring_server

    frame = pd.read_parquet(ROOT / "data" / "evaluation.parquet")
    rows = sample_from_frame(frame, [c for c in frame.columns if c != "benign"], None, "evaluation rows").rows
    with tempfile.TemporaryDirectory(prefix="mlcicd-split-") as name, ProcessGroup() as group:
        tmp = Path(name)
        tracking = _train(tmp)
        servers = {side: start_scoring_server(group, role=f"side {side}", variant="baseline", model=MODEL,
                                              version="1", image_digest=None, tracking_uri=tracking,
                                              scratch=tmp / side, log=tmp / f"{side}.log") for side in ("a", "b")}
        for server in servers.values():
            server.wait_ready("/ping", 180)
        urls = {side: s.url for side, s in servers.items()}
        print(f"{'share b':>8} {'run':>4} {'p50 a ms':>9} {'p50 b ms':>9} {'minority/majority p50':>22} "
              f"{'rank effect (minority slower)':>30}")
        effects: dict[float, list[float]] = {}
        for share in (float(s) for s in args.splits.split(",")):
            for run in range(args.repeat):
                lat = _one(urls, rows, share, seed=run, fill=args.fill)
                minority, majority = ("b", "a") if share < 0.5 else ("a", "b")
                ratio = statistics.median(lat[minority]) / statistics.median(lat[majority])
                effect = _rank_effect(lat[minority], lat[majority])
                effects.setdefault(share, []).append(effect)
                print(f"{share:8.2f} {run + 1:4d} {statistics.median(lat['a']) * 1e3:9.2f} "
                      f"{statistics.median(lat['b']) * 1e3:9.2f} {ratio:22.3f} {effect:+30.3f}", flush=True)
    print("\nmedian rank effect per split: " + ", ".join(f"{share:g}: {statistics.median(v):+.3f}"
                                                         for share, v in effects.items()))
    peer = effects.get(0.5)
    if peer:
        print(f"peer (50/50, no minority): {statistics.median(peer):+.3f}; +10 % on every request is about +0.15")
    return 0


if __name__ == "__main__":
    sys.exit(main())
