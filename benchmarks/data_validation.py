"""Data validation at scale: `mlcicd data validate` on 1,000,000 reference + 1,000,000 current rows x (20 numeric
+ 5 categorical) Parquet columns, against Evidently 0.7's DataDriftPreset on the same files in the same run.

    python -m benchmarks.data_validation [--rows N] [--skip-evidently] [--regenerate]

Measures (each in a fresh process; wall time and peak RSS from the child's own rusage):
- `mlcicd data validate` cold CLI process, reference data -> report (the end-to-end figure, target <= 1.5 s,
  peak RSS <= 1.2 GB);
- `mlcicd data profile` (writes the reference profile) and `mlcicd data validate --reference PROFILE`;
- the library call in-process: `validate_data(...)` timed inside an already-started interpreter, and the
  current-side compute with a cached profile (Arrow table in memory -> report, target <= 0.25 s);
- Evidently: pandas.read_parquet of both files + `Report([DataDriftPreset()]).run(...)`, in its own virtualenv
  `benchmarks/.venv-evidently` (created on first use: `evidently==0.7.*`, `pandas<3`).

The data (seeded, drift in 3 numeric and 1 categorical column) is generated once into `benchmarks/.data/`.
Results are printed and written to `benchmarks/.data/data_validation_results.json`. Exit code 1 when a target is
missed.
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

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
EVIDENTLY_VENV = ROOT / "benchmarks" / ".venv-evidently"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.*", "pandas<3", "pyarrow"]
BIN = Path(sys.executable).parent
GENERATOR_VERSION = 1

TARGET_WALL_S = 1.5
TARGET_RSS_MB = 1200.0
TARGET_PROFILE_COMPUTE_S = 0.25
TARGET_RATIO = 50.0

NUMERIC = 20
CATEGORICAL = 5


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------

def generate(rows: int, seed: int, drift: bool) -> object:
    """A frame of 20 numeric columns (normal, lognormal, uniform, exponential, integer counts with heavy ties,
    a bimodal mixture) and 5 dictionary-encoded categorical columns (3 to 40 categories). With `drift`: a shifted
    mean (num_00), a changed scale (num_01), a changed shape at equal mean and variance (num_02) and a new
    category (cat_0)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(NUMERIC):
        kind = i % 5
        if kind == 0:
            x = rng.normal(50, 10, rows)
        elif kind == 1:
            x = rng.lognormal(3, 0.6, rows)
        elif kind == 2:
            x = rng.uniform(-1, 1, rows)
        elif kind == 3:
            x = rng.poisson(4, rows).astype(np.float64)  # few distinct values: a tie-heavy KS
        else:
            x = np.where(rng.random(rows) < 0.3, rng.normal(-2, 0.5, rows), rng.normal(1, 1, rows))
        cols[f"num_{i:02d}"] = x
    if drift:
        cols["num_00"] = np.asarray(cols["num_00"]) + 1.0  # mean + 0.1 sd
        cols["num_01"] = rng.lognormal(3, 0.72, rows)  # wider
        cols["num_02"] = rng.normal(0, np.sqrt(1 / 3), rows)  # U(-1, 1)'s mean and variance, another shape
    for j in range(CATEGORICAL):
        k = (3, 8, 12, 25, 40)[j]
        names = np.array([f"c{j}_{v:02d}" for v in range(k + 1)])
        p = np.linspace(1, 2, k)
        p /= p.sum()
        codes = rng.choice(k, size=rows, p=p)
        if drift and j == 0:
            codes = np.where(rng.random(rows) < 0.02, k, codes)  # a category the reference never had
        cols[f"cat_{j}"] = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names))
    return pa.table(cols)


def ensure_data(rows: int, regenerate: bool) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    ref, cur = DATA / f"reference_{rows}.parquet", DATA / f"current_{rows}.parquet"
    stamp = DATA / f"generated_{rows}.json"
    wanted = {"rows": rows, "version": GENERATOR_VERSION}
    if not regenerate and ref.exists() and cur.exists() and stamp.exists() \
            and json.loads(stamp.read_text()) == wanted:
        return ref, cur
    t0 = time.perf_counter()
    pq.write_table(generate(rows, 1, drift=False), ref)  # type: ignore[arg-type]
    pq.write_table(generate(rows, 2, drift=True), cur)  # type: ignore[arg-type]
    stamp.write_text(json.dumps(wanted))
    print(f"generated {ref.name}, {cur.name} ({ref.stat().st_size / 1e6:.0f} MB each) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return ref, cur


# --------------------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------------------

def measure(argv: list[str], ok: tuple[int, ...] = (0, 1)) -> dict[str, float | str]:
    """Run one child and read its own rusage (os.wait4), so the figures are the child's and nobody else's."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, errs = proc.stdout.read().decode(), proc.stderr.read().decode()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in ok:
        raise RuntimeError(f"{' '.join(argv)} exited {code}:\n{errs[-3000:]}")
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
            "stdout": out, "exit_code": code}


IN_PROCESS = r"""
import json, resource, sys, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
t_start = time.perf_counter()
import pyarrow.parquet as pq
from runtime.data.frame import TableSource, duplicate_rows, summarize
from runtime.data.validate import compare, load_reference, validate_data, default_config
ref_path, cur_path, profile_path, report_path = sys.argv[1:5]
t_imported = time.perf_counter()
raw = validate_data(ref_path, cur_path)
t_raw = time.perf_counter()
profiled = validate_data(profile_path, cur_path)
t_profiled = time.perf_counter()
cfg = default_config()
profile = load_reference(profile_path, cfg, {})
t_loaded = time.perf_counter()
table = pq.read_table(cur_path)
t_read = time.perf_counter()
computes = []
for _ in range(3):  # the first pays the first touch of the memory the sorted columns go to
    t0, c0 = time.perf_counter(), cpu()
    frame = TableSource(table, cur_path)
    summary = summarize(frame)
    summary.duplicates = duplicate_rows(frame, summary)
    result = compare(profile, summary, cfg)
    computes.append((time.perf_counter() - t0, cpu() - c0))
    del summary
result.finish().write(report_path)
print(json.dumps({
    "imports_s": t_imported - t_start,
    "library_raw_s": t_raw - t_imported,
    "library_profile_s": t_profiled - t_raw,
    "profile_load_s": t_loaded - t_profiled,
    "current_read_s": t_read - t_loaded,
    "current_compute_s": min(w for w, _ in computes),
    "current_compute_runs": computes,
    "verdict": result.verdict.value,
    "drifted": result.details["drifted_columns"],
    "timings_raw": raw.details.get("timings"),
    "timings_profile": profiled.details.get("timings"),
}))
"""

EVIDENTLY = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
t_imported = time.perf_counter()
ref = pd.read_parquet(sys.argv[1])
cur = pd.read_parquet(sys.argv[2])
t_read = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
t_run = time.perf_counter()
result = snapshot.dict()
drifted = None
for metric in result.get("metrics", []):
    value = metric.get("value")
    if isinstance(value, dict) and "count" in value and "share" in value:
        drifted = value["count"]
        break
print(json.dumps({"imports_s": t_imported - t0, "read_s": t_read - t_imported, "run_s": t_run - t_read,
                  "drifted_columns": drifted}))
"""


PROFILE_TRADE_OFF = r"""
import json, sys, time
from runtime.data.frame import NumericSummary
from runtime.data.profile import compact, load_profile, save_profile
from runtime.data.validate import compare, default_config, load_current, load_reference
ref_path, cur_path, tmp = sys.argv[1:4]
cfg = default_config()
raw = load_reference(ref_path, cfg, {})
cur = load_current(cur_path, {})
exact = compare(raw, cur, cfg)
verdicts = {c.name: c.verdict.value for c in exact.checks}
rows = []
for size in (10_000, 65_536, 100_000_000):
    path = f"{tmp}/profile_{size}.npz"
    t0 = time.perf_counter()
    nbytes = save_profile(compact(raw, size), path)
    t1 = time.perf_counter()
    profile = load_profile(path)
    t2 = time.perf_counter()
    result = compare(profile, cur, cfg)
    t3 = time.perf_counter()
    errors, widths = [], []
    for name, col in exact.details["columns"].items():
        if not isinstance(raw.summary.columns.get(name), NumericSummary):
            continue
        got = result.details["columns"][name]["drift"]
        errors.append(abs(got["statistic"] - col["drift"]["statistic"]))
        lo, hi = got.get("statistic_bounds", [got["statistic"], got["statistic"]])
        widths.append(hi - lo)
    rows.append({"sketch_size": size, "bytes": nbytes, "write_s": t1 - t0, "load_s": t2 - t1, "compare_s": t3 - t2,
                 "exact": profile.exact, "max_abs_ks_error": max(errors), "max_bound_width": max(widths),
                 "same_verdicts": {c.name: c.verdict.value for c in result.checks} == verdicts})
print(json.dumps(rows))
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
    subprocess.run(probe, check=True)
    return python


# --------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data_validation",
                                     description="mlcicd data validate vs Evidently's DataDriftPreset")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side (default 1,000,000)")
    parser.add_argument("--skip-evidently", action="store_true", help="skip the Evidently run (no ratio)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the Parquet files")
    args = parser.parse_args(argv)

    ref, cur = ensure_data(args.rows, args.regenerate)
    evidently_python = None if args.skip_evidently else ensure_evidently()
    mlcicd = str(BIN / "mlcicd")
    load_before = os.getloadavg()
    results: dict[str, object] = {"rows": args.rows, "columns": {"numeric": NUMERIC, "categorical": CATEGORICAL},
                                  "cpus": os.cpu_count(), "load_before": load_before}
    with tempfile.TemporaryDirectory() as tmp:
        out, profile = Path(tmp) / "report.json", Path(tmp) / "reference.npz"
        # Warm the page cache and the bytecode once (not timed): every measured run reads from memory.
        measure([mlcicd, "data", "validate", "--reference", str(ref), "--current", str(cur), "--report", str(out)])
        cold = [measure([mlcicd, "data", "validate", "--reference", str(ref), "--current", str(cur), "--report",
                         str(out)]) for _ in range(3)]
        raw_report = json.loads(out.read_text())
        prof = measure([mlcicd, "data", "profile", "--reference", str(ref), "--out", str(profile)], ok=(0,))
        with_profile = [measure([mlcicd, "data", "validate", "--reference", str(profile), "--current", str(cur),
                                 "--report", str(out)]) for _ in range(3)]
        inproc = measure([sys.executable, "-c", IN_PROCESS, str(ref), str(cur), str(profile), str(out)])
        lib = json.loads(str(inproc["stdout"]))
        results["profile_bytes"] = profile.stat().st_size
        trade = measure([sys.executable, "-c", PROFILE_TRADE_OFF, str(ref), str(cur), tmp])
        results["profile_trade_off"] = json.loads(str(trade["stdout"]))
    best = min(cold, key=lambda r: float(r["wall_s"]))
    best_profile = min(with_profile, key=lambda r: float(r["wall_s"]))
    results.update(cold_cli=_strip(cold), profile_cli=_strip([prof]), cold_cli_with_profile=_strip(with_profile),
                   in_process=lib, drifted=raw_report["details"]["drifted_columns"],
                   verdict=raw_report["verdict"], parquet_bytes=ref.stat().st_size)
    evidently = None
    if evidently_python is not None:
        evidently = measure([str(evidently_python), "-c", EVIDENTLY, str(ref), str(cur)], ok=(0,))
        results["evidently"] = {**_strip([evidently])[0], **json.loads(str(evidently["stdout"]))}
    results["load_after"] = os.getloadavg()
    (DATA / "data_validation_results.json").write_text(json.dumps(results, indent=2))

    rows = [
        ("mlcicd data validate, cold CLI (best of 3)", best),
        ("mlcicd data profile, cold CLI", prof),
        ("mlcicd data validate --reference PROFILE, cold CLI (best of 3)", best_profile),
    ]
    print(f"{args.rows:,} + {args.rows:,} rows x ({NUMERIC} numeric + {CATEGORICAL} categorical), "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / {results['load_after'][0]:.1f} after")  # type: ignore[index]
    print(f"{'':<64} {'wall':>8} {'cpu':>8} {'peak RSS':>9}")
    for label, r in rows:
        print(f"{label:<64} {r['wall_s']:7.3f}s {r['cpu_s']:7.3f}s {r['peak_rss_mb']:7.0f}MB")
    walls = ", ".join(f"{float(r['wall_s']):.3f}" for r in cold)
    walls_profile = ", ".join(f"{float(r['wall_s']):.3f}" for r in with_profile)
    print(f"  all cold runs (wall): {walls} s; with profile: {walls_profile} s")
    runs = ", ".join(f"{w:.3f} s ({c:.3f} s CPU)" for w, c in lib["current_compute_runs"])
    stages = ", ".join(f"{k.removesuffix('_s')} {v:.3f}" for k, v in lib["timings_raw"].items())
    print(f"library, in-process: reference data {lib['library_raw_s']:.3f} s ({stages}), profile "
          f"{lib['library_profile_s']:.3f} s (profile load {lib['profile_load_s']:.3f} s, current read "
          f"{lib['current_read_s']:.3f} s)")
    print(f"  current-side compute with the cached profile (Arrow table -> report), 3 runs: {runs}")
    print(f"profile: {results['profile_bytes'] / 1e6:.1f} MB (reference Parquet {ref.stat().st_size / 1e6:.0f} MB); "
          f"verdict {raw_report['verdict']}, drifted {', '.join(raw_report['details']['drifted_columns'])}")
    print("profile size vs accuracy (numeric columns; KS error against the raw reference, bound width):")
    for t in results["profile_trade_off"]:  # type: ignore[attr-defined]
        label = "whole columns (exact)" if t["exact"] else f"{t['sketch_size']:,} order statistics"
        print(f"  {label:<28} {t['bytes'] / 1e6:7.1f} MB  write {t['write_s']:.2f} s  load {t['load_s']:.3f} s  "
              f"max |D error| {t['max_abs_ks_error']:.1e}  max bound width {t['max_bound_width']:.1e}  "
              f"same verdicts: {t['same_verdicts']}")
    failures = []
    if float(best["wall_s"]) > TARGET_WALL_S:
        failures.append(f"cold CLI {float(best['wall_s']):.3f} s > {TARGET_WALL_S} s")
    if max(float(r["peak_rss_mb"]) for r in cold) > TARGET_RSS_MB:
        failures.append(f"peak RSS > {TARGET_RSS_MB} MB")
    if float(lib["current_compute_s"]) > TARGET_PROFILE_COMPUTE_S:
        failures.append(f"current-side compute {lib['current_compute_s']:.3f} s > {TARGET_PROFILE_COMPUTE_S} s")
    if evidently is not None:
        ev = results["evidently"]
        ratio = float(evidently["wall_s"]) / float(best["wall_s"])
        ratio_cpu = float(evidently["cpu_s"]) / float(best["cpu_s"])
        results["ratio_wall"], results["ratio_cpu"] = ratio, ratio_cpu
        (DATA / "data_validation_results.json").write_text(json.dumps(results, indent=2))
        print(f"{'Evidently 0.7 DataDriftPreset (read + run, own process)':<64} {evidently['wall_s']:7.3f}s "
              f"{evidently['cpu_s']:7.3f}s {evidently['peak_rss_mb']:7.0f}MB")
        print(f"  evidently: import {ev['imports_s']:.2f} s, pandas read {ev['read_s']:.2f} s, report "  # type: ignore[index]
              f"{ev['run_s']:.2f} s, drifted columns {ev['drifted_columns']}")  # type: ignore[index]
        print(f"ratio Evidently / mlcicd cold CLI: {ratio:.0f}x wall, {ratio_cpu:.0f}x CPU "
              f"(target >= {TARGET_RATIO:.0f}x)")
        if ratio < TARGET_RATIO:
            failures.append(f"ratio {ratio:.0f}x < {TARGET_RATIO:.0f}x")
    for failure in failures:
        print(f"TARGET MISSED: {failure}")
    return 1 if failures else 0


def _strip(runs: list[dict[str, float | str]]) -> list[dict[str, float | str]]:
    return [{k: v for k, v in r.items() if k != "stdout"} for r in runs]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
