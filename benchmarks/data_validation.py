"""Data validation at scale: `mlcicd data validate` on production-shaped Parquet (20 numeric columns of mixed
shapes with ties and missing values, 5 categoricals, one of 500 levels: benchmarks/data_shapes.py), against
Evidently 0.7's DataDriftPreset on the same files in the same run.

    python -m benchmarks.data_validation [--rows N] [--skip-evidently] [--evidently-max-load 2.5]
                                         [--scale 1000000,5000000,20000000] [--engines ROWS] [--regenerate]

Measures (each in a fresh process; wall time, CPU time and peak RSS from the child's own rusage; the 1-minute
load average before and after each run, since the machine is shared):
- speed: `mlcicd data validate` cold CLI on --rows + --rows (default 1,000,000), best of 3 (target <= 1.0 s);
- Evidently, last and once: pandas.read_parquet of both files + `Report([DataDriftPreset()]).run(...)` in its own
  virtualenv `benchmarks/.venv-evidently` (`evidently==0.7.*`, `pandas<3`), ratio to our best run, target >= 100x;
  not run (and reported so) when the load average is above --evidently-max-load;
- memory: the same command at each --scale size (one run each): peak RSS independent of rows, <= 1.5 GB at 20M,
  time linear in rows;
- engines: at --engines rows a side (default 10,000,000), the local engine and the Spark engine (PySpark local
  mode, local[2]) in a started process: rows per second per core (both sides' rows / wall / 2 cores), and the
  two reports compared (same verdicts; statistics within the grid's bound).
Data is generated once into `benchmarks/.data/`; results are printed and written to
`benchmarks/.data/data_validation_results.json`. Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
EVIDENTLY_VENV = ROOT / "benchmarks" / ".venv-evidently"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.*", "pandas<3", "pyarrow"]
BIN = Path(sys.executable).parent
GENERATOR_VERSION = 2
TARGET_WALL_S = 1.0
TARGET_RATIO = 100.0
TARGET_RSS_MB = 1536.0
CORES = 2


def ensure_data(rows: int, regenerate: bool = False) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.data_shapes import write

    DATA.mkdir(parents=True, exist_ok=True)
    ref, cur = DATA / f"reference_{rows}.parquet", DATA / f"current_{rows}.parquet"
    stamp = DATA / f"generated_{rows}.json"
    wanted = {"rows": rows, "version": GENERATOR_VERSION}
    if not regenerate and ref.exists() and cur.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return ref, cur
    t0 = time.perf_counter()
    write(ref, rows, 1, drift=False)
    write(cur, rows, 2, drift=True)
    stamp.write_text(json.dumps(wanted))
    print(f"generated {ref.name}, {cur.name} ({ref.stat().st_size / 1e6:.0f} MB each) in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    return ref, cur


def measure(argv: list[str], ok: tuple[int, ...] = (0, 1, 3), env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one child and read its own rusage (os.wait4), so the figures are the child's and nobody else's."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errs:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=errs, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        errs.seek(0)
        stdout, stderr = out.read().decode(), errs.read().decode()
    if code not in ok:
        raise RuntimeError(f"{' '.join(argv[:2])} exited {code}:\n{stderr[:2000]}\n...\n{stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "stdout": stdout, "exit_code": code}


def cli(ref: Path, cur: Path, out: Path) -> dict[str, Any]:
    return measure([str(BIN / "mlcicd"), "data", "validate", "--reference", str(ref), "--current", str(cur),
                    "--report", str(out)])


EVIDENTLY = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref = pd.read_parquet(sys.argv[1])
cur = pd.read_parquet(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
drifted = None
for metric in snapshot.dict().get("metrics", []):
    value = metric.get("value")
    if isinstance(value, dict) and "count" in value and "share" in value:
        drifted = value["count"]
        break
print(json.dumps({"total_s": time.perf_counter() - t0, "drifted_columns": drifted}))
"""

ENGINES = r"""
import json, os, sys, time
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
from pyspark.sql import SparkSession
from runtime.data.validate import validate_data
ref, cur = sys.argv[1:3]
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "3g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
out = {}
for engine in ("local", "spark"):
    t0 = time.perf_counter()
    report = validate_data(ref, cur, engine=engine)
    out[engine] = {"wall_s": time.perf_counter() - t0, "verdicts": {c.name: c.verdict.value for c in report.checks},
                   "columns": {n: c.get("drift", {}).get("statistic_bounds") or c.get("drift", {}).get("statistic")
                               for n, c in report.details["columns"].items()}}
spark.stop()
print(json.dumps(out))
"""


def ensure_evidently() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    probe = [str(python), "-c", "import evidently, pandas; assert evidently.__version__.startswith('0.7'); "
             "assert int(pandas.__version__.split('.')[0]) < 3"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    print(f"creating {EVIDENTLY_VENV.relative_to(ROOT)} ({', '.join(EVIDENTLY_REQUIREMENTS)}) ...", flush=True)
    if EVIDENTLY_VENV.exists():
        shutil.rmtree(EVIDENTLY_VENV)
    subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_REQUIREMENTS], check=True)
    return python


def speed(rows: int, results: dict[str, Any], failures: list[str]) -> None:
    ref, cur = ensure_data(rows)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cli(ref, cur, out)  # warm the page cache and the bytecode (not timed)
        runs = []
        for _ in range(3):
            load = os.getloadavg()[0]
            runs.append({**cli(ref, cur, out), "load_before": load, "load_after": os.getloadavg()[0]})
        report = json.loads(out.read_text())
    best = min(runs, key=lambda r: r["wall_s"])
    widths = [b[1] - b[0] for c in report["details"]["columns"].values()
              if (b := c.get("drift", {}).get("statistic_bounds"))]
    results["speed"] = {"rows": rows, "runs": [_strip(r) for r in runs], "best": _strip(best),
                        "verdict": report["verdict"], "drifted": report["details"]["drifted_columns"],
                        "max_ks_bound_width": max(widths), "timings": report["details"]["timings"]}
    print(f"{rows:,} + {rows:,} rows, cold CLI: " + ", ".join(
        f"{r['wall_s']:.3f} s ({r['cpu_s']:.2f} s CPU, {r['peak_rss_mb']:.0f} MB, load {r['load_before']:.1f})"
        for r in runs))
    print(f"  verdict {report['verdict']}, drifted {', '.join(report['details']['drifted_columns'])}; "
          f"largest KS bound width {max(widths):.2e}")
    if best["wall_s"] > TARGET_WALL_S:
        failures.append(f"cold CLI {best['wall_s']:.3f} s > {TARGET_WALL_S} s")


def evidently(rows: int, max_load: float, results: dict[str, Any], failures: list[str]) -> None:
    """Evidently's DataDriftPreset on the speed run's files, once, compared with our best run; skipped (and said
    so) when the machine is busier than `max_load`, since its minutes of CPU would then measure the queue."""
    load = os.getloadavg()[0]
    if load > max_load:
        results["evidently"] = {"not_run": f"load average {load:.1f} > {max_load:g}"}
        print(f"Evidently DataDriftPreset: not run (load average {load:.1f} > --evidently-max-load {max_load:g})")
        return
    ref, cur = ensure_data(rows)
    best = results["speed"]["best"]
    python = ensure_evidently()
    ev = measure([str(python), "-c", EVIDENTLY, str(ref), str(cur)], ok=(0,))
    ratio = ev["wall_s"] / best["wall_s"]
    results["evidently"] = {**_strip(ev), **json.loads(ev["stdout"]), "ratio_wall": ratio,
                            "ratio_cpu": ev["cpu_s"] / best["cpu_s"], "load_before": load,
                            "load_after": os.getloadavg()[0]}
    print(f"Evidently DataDriftPreset: {ev['wall_s']:.1f} s ({ev['cpu_s']:.1f} s CPU, {ev['peak_rss_mb']:.0f} "
          f"MB); ratio {ratio:.0f}x wall, {ev['cpu_s'] / best['cpu_s']:.0f}x CPU (target >= {TARGET_RATIO:.0f}x)")
    if ratio < TARGET_RATIO:
        failures.append(f"ratio {ratio:.0f}x < {TARGET_RATIO:.0f}x")


def scale(sizes: list[int], results: dict[str, Any], failures: list[str]) -> None:
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            ref, cur = ensure_data(rows)
            run = cli(ref, cur, Path(tmp) / "report.json")
            table.append({"rows": rows, **_strip(run)})
            print(f"  {rows:>12,} + {rows:,} rows: {run['wall_s']:7.1f} s wall, {run['cpu_s']:7.1f} s CPU, "
                  f"peak RSS {run['peak_rss_mb']:6.0f} MB, {run['cpu_s'] / rows * 1e6:.2f} s CPU per million rows",
                  flush=True)
    results["scale"] = table
    if max(r["peak_rss_mb"] for r in table) > TARGET_RSS_MB:
        failures.append(f"peak RSS above {TARGET_RSS_MB:.0f} MB")


def engines(rows: int, results: dict[str, Any], failures: list[str]) -> None:
    ref, cur = ensure_data(rows)
    run = measure([sys.executable, "-c", ENGINES, str(ref), str(cur)], ok=(0,))
    out = json.loads(run["stdout"].strip().splitlines()[-1])
    for engine, r in out.items():
        r["rows_per_s_per_core"] = 2 * rows / r["wall_s"] / CORES
        print(f"  {engine:<6} engine: {r['wall_s']:6.1f} s for {rows:,} + {rows:,} rows: "
              f"{r['rows_per_s_per_core']:,.0f} rows/s per core")
    same = out["local"]["verdicts"] == out["spark"]["verdicts"]
    print(f"  same verdicts: {same}")
    results["engines"] = {"rows": rows, **out, "same_verdicts": same}
    if not same:
        failures.append("local and Spark verdicts differ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data_validation")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows a side for speed (0 to skip)")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--evidently-max-load", type=float, default=2.5,
                        help="run Evidently (last) only below this 1-minute load average (default 2.5)")
    parser.add_argument("--scale", default="1000000,5000000,20000000", help="sizes for time/RSS ('' to skip)")
    parser.add_argument("--engines", type=int, default=10_000_000, help="rows for local vs Spark (0 to skip)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--tag", default="", help="suffix of the results file (runs side by side)")
    args = parser.parse_args(argv)
    if args.regenerate:
        for stamp in DATA.glob("generated_*.json"):
            stamp.unlink()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    failures: list[str] = []
    if args.rows:
        speed(args.rows, results, failures)
    if args.scale:
        print("memory and time (cold CLI, reference and current data):")
        scale([int(x) for x in args.scale.split(",")], results, failures)
    if args.engines:
        print("engines (in a started process):")
        engines(args.engines, results, failures)
    if args.rows and not args.skip_evidently:
        evidently(args.rows, args.evidently_max_load, results, failures)
    results["load_after"] = os.getloadavg()
    print(f"load average {results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after")
    (DATA / f"data_validation_results{args.tag}.json").write_text(json.dumps(results, indent=2))
    for failure in failures:
        print(f"TARGET MISSED: {failure}")
    return 1 if failures else 0


def _strip(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "stdout"}


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
