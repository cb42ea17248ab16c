"""The Spark engine in PySpark local mode (one session for the whole run): the same summaries as the local engine
through `mapInArrow`, hence the same report: identical verdicts and statistics on the same files (drifted,
tie-heavy, sparse categorical, missing-column and empty inputs), and within the stated bound when a large
reference's grid is drawn from a partition-dependent sample."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.data import scan, spark, summary
from runtime.data.validate import validate_data
from runtime.report import Verdict

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def session() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("PySpark needs a Java 17 runtime: apt-get install openjdk-17-jre-headless (.ci/run does)")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    spark_session = (SparkSession.builder.master("local[2]").appName("mlcicd-tests")
                     .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                     .config("spark.driver.memory", "1g").config("spark.sql.files.maxPartitionBytes", "200000")
                     .getOrCreate())
    spark_session.sparkContext.setLogLevel("ERROR")
    yield spark_session
    spark_session.stop()


def write(path: Path, columns: dict[str, Any], row_group: int = 2500) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group)  # several row groups: several partitions
    return path


def frame(rng: np.random.Generator, n: int, **overrides: Any) -> dict[str, Any]:
    x = rng.normal(size=n)
    x[rng.random(n) < 0.02] = np.nan
    cols = {"x": x, "k": rng.poisson(3, n), "amount": np.round(rng.gamma(2, 30, n), 1),
            "c": rng.choice([f"l{i}" for i in range(500)], n), "plan": rng.choice(["a", "b", "c"], n)}
    cols.update(overrides)
    return cols


def same_reports(a: Any, b: Any) -> None:
    assert [(c.name, c.verdict, c.observed) for c in a.checks] == [(c.name, c.verdict, c.observed) for c in b.checks]
    for name, col in a.details["columns"].items():
        assert col.get("drift") == b.details["columns"][name].get("drift"), name
    assert a.details["current"]["duplicates"] == b.details["current"]["duplicates"]


def test_same_report_as_the_local_engine(session: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 12000
    ref = write(tmp_path / "r.parquet", frame(rng, n))
    same = write(tmp_path / "s.parquet", frame(rng, n))
    drifted = write(tmp_path / "d.parquet", frame(rng, n, x=rng.normal(0.2, 1, n), plan=rng.choice(["a", "b", "z"], n)))
    for cur in (same, drifted):
        local, on_spark = validate_data(ref, cur, engine="local"), validate_data(ref, cur, engine="spark")
        assert on_spark.details["engine"] == "spark"
        same_reports(local, on_spark)
    assert on_spark.verdict is Verdict.FAIL
    assert set(on_spark.details["drifted_columns"]) == {"x", "plan"}


def test_missing_column_empty_input_and_profile(session: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    ref = write(tmp_path / "r.parquet", frame(rng, 6000))
    cols = frame(rng, 6000)
    del cols["amount"]
    missing = write(tmp_path / "m.parquet", cols)
    empty = tmp_path / "e.parquet"
    pq.write_table(pq.read_table(ref).slice(0, 0), empty)
    validate_data(ref, missing, engine="local", write_profile=tmp_path / "p.npz")
    for reference in (ref, tmp_path / "p.npz"):
        for cur, verdict in ((missing, Verdict.FAIL), (empty, Verdict.INCONCLUSIVE)):
            local, on_spark = validate_data(reference, cur, engine="local"), validate_data(reference, cur,
                                                                                           engine="spark")
            same_reports(local, on_spark)
            assert on_spark.verdict is verdict


def test_large_reference_within_the_stated_bound(session: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A reference larger than the first pass's sample: each engine draws its grid from its own sample (row
    groups vs partitions); both count the reference exactly on their grid and bracket scipy's statistic."""
    for module in (summary, scan, spark):
        monkeypatch.setattr(module, "SAMPLE_SIZE", 4000)
    monkeypatch.setattr("runtime.data.profile.GRID_POINTS", 1000)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=30000), rng.normal(0.03, 1, 20000)
    ref = write(tmp_path / "r.parquet", {"x": a}, row_group=7000)
    cur = write(tmp_path / "c.parquet", {"x": b}, row_group=7000)
    local, on_spark = validate_data(ref, cur, engine="local"), validate_data(ref, cur, engine="spark")
    d = sps.ks_2samp(a, b).statistic  # type: ignore[attr-defined]
    for report in (local, on_spark):
        lo, hi = report.details["columns"]["x"]["drift"]["statistic_bounds"]
        assert lo <= d <= hi
        assert hi - lo < 4 / 1000
    assert [(c.name, c.verdict) for c in local.checks] == [(c.name, c.verdict) for c in on_spark.checks]


def test_cli_engine_option(session: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    ref = write(tmp_path / "r.parquet", frame(rng, 3000))
    cur = write(tmp_path / "c.parquet", frame(rng, 3000))
    result = CliRunner().invoke(app, ["data", "validate", "--reference", str(ref), "--current", str(cur),
                                      "--report", str(tmp_path / "o.json"), "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert '"engine": "spark"' in (tmp_path / "o.json").read_text()
