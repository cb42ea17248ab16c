"""The main job end to end: `mlcicd local run` of the example project (good scenario), with the time per action.

    python -m benchmarks local [--repeat 2] [--project DIR]

Each repeat is a fresh work directory (the first run also trains and registers the champion), run as a separate
process exactly as a user runs it. Peer in the same run: one cold `mlflow models serve` to its first 200 on /ping,
the fixed cost any MLflow-based pipeline pays to serve a model. Target: <= 120 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import BIN, ROOT, run_child

TARGET_S = 120.0


def _serve_peer(tmp: Path, project: Path) -> float:
    """Train nothing new: reuse the work dir's champion, start one scoring server, time it to ready."""
    import os

    from runtime.config import load_stack
    from runtime.local.processes import ManagedProcess, free_port

    model = load_stack("staging", project).config.model.name
    port = free_port()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = ManagedProcess("peer", [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{model}@champion",
                                     "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port), "--workers",
                                     "1"], port, tmp / "peer.log", env)
    t0 = time.perf_counter()
    server.start()
    try:
        server.wait_ready("/ping", 180)
        return time.perf_counter() - t0
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks local")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--project", type=Path, default=ROOT, help="Project to rehearse (default: this repository's "
                        "example project).")
    args = parser.parse_args(argv)
    walls: list[float] = []
    stages: dict[str, list[float]] = {}
    peer = 0.0
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="mlcicd-bench-") as tmp:
            work = Path(tmp)
            wall, rss = run_child([str(BIN / "mlcicd"), "local", "run", "--workdir", str(work), "--project-dir",
                                   str(args.project)])
            summary = json.loads((work / "summary.json").read_text())
            if summary["verdict"] != "PASS":
                print(f"run {i + 1}: {summary['verdict']} at {summary['stopped_at']}: {summary['reason']}")
                return 1
            walls.append(wall)
            for stage in summary["stages"]:
                stages.setdefault(stage["name"], []).append(stage["duration_s"])
            print(f"run {i + 1}: {wall:.1f} s wall, peak RSS of the run's own process {rss:.0f} MB", flush=True)
            if i == 0:
                peer = _serve_peer(work, args.project)
    median = statistics.median(walls)
    print(f"\n{'stage':<18} {'median':>8}")
    for name, values in stages.items():
        print(f"{name:<18} {statistics.median(values):7.1f} s")
    print(f"{'total (wall)':<18} {median:7.1f} s")
    verdict = "ok" if median <= TARGET_S else "OVER TARGET"
    print(f"\nlocal run (good): {median:.1f} s, target {TARGET_S:.0f} s ({verdict}), {median / peer:.1f}x one cold "
          f"`mlflow models serve` to ready ({peer:.1f} s, peer)")
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
