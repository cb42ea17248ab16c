"""`mlcicd data validate`: constructed drift, schema and quality checks, profiles, bad inputs and exit codes, the
HTML report, S3 inputs through a real moto server (the statistics themselves: tests/test_data_stats.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config import ConfigError, validate_config
from runtime.config.gates import DataValidationConfig
from runtime.data.html import render_html
from runtime.data.profile import load_profile
from runtime.data.sources import DataInputError
from runtime.data.validate import validate_data
from runtime.report import Verdict
from tests.harness import use_fake_aws

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------

def write_parquet(path: Path, columns: dict[str, Any]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def frame(rng: np.random.Generator, n: int, **overrides: Any) -> dict[str, Any]:
    """A small realistic frame: 4 numeric and 2 categorical columns, overridable per column."""
    cols: dict[str, Any] = {
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "tenure": rng.integers(0, 60, n),
        "score": rng.normal(0, 1, n),
        "plan": rng.choice(["basic", "plus", "pro"], size=n, p=[0.5, 0.3, 0.2]),
        "region": rng.choice(["north", "south", "east", "west"], size=n),
    }
    cols.update(overrides)
    return cols


def cfg(**sections: dict[str, Any]) -> DataValidationConfig:
    return DataValidationConfig.model_validate(sections)


def checks(report: Any) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in report.checks}


def failing(report: Any) -> set[str]:
    return {c.name for c in report.checks if c.verdict is Verdict.FAIL}


def drifted(report: Any) -> set[str]:
    return set(report.details["drifted_columns"])


def run_cli(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["data", *args])
    return result.exit_code, result.output


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    ref = write_parquet(tmp_path / "ref.parquet", frame(rng, 3000))
    cur = write_parquet(tmp_path / "cur.parquet", frame(rng, 3000))
    return ref, cur


# --------------------------------------------------------------------------------------------------------------
# Drift on constructed data
# --------------------------------------------------------------------------------------------------------------

def test_constructed_drift_finds_exactly_the_drifted_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 20000
    ref = frame(rng, n, shape=rng.normal(0, 1, n), scaled=rng.normal(5, 2, n), newcat=rng.choice(["a", "b"], n))
    cur = frame(rng, n,
                score=rng.normal(0.2, 1, n),                              # shifted mean
                scaled=rng.normal(5, 2.6, n),                             # changed scale
                shape=rng.uniform(-np.sqrt(3), np.sqrt(3), n),            # same mean and variance, other shape
                newcat=np.where(rng.random(n) < 0.05, "c", rng.choice(["a", "b"], n)))  # a new category
    report = validate_data(write_parquet(tmp_path / "r.parquet", ref), write_parquet(tmp_path / "c.parquet", cur))
    assert drifted(report) == {"score", "scaled", "shape", "newcat"}
    assert report.verdict is Verdict.FAIL
    new = report.details["columns"]["newcat"]["drift"]
    assert new["new_categories"] == {"c": pytest.approx(0.05, abs=0.006)}
    assert report.details["drift_score"] == pytest.approx(4 / 9)
    score = report.details["columns"]["score"]["drift"]
    assert score["test"] == "ks"
    assert score["p_value_adjusted"] < 0.05
    assert score["statistic"] >= 0.02


def test_identical_distributions_flag_no_column_beyond_the_error_rate(tmp_path: Path) -> None:
    """Under the null, Benjamini-Hochberg at alpha bounds the chance of any false flag per run by alpha, every rule
    included. 12 seeded runs of 10 columns (one of them a 300-level categorical, sparse at 4,000 rows) at alpha
    0.05 and no effect floor: at most 2 runs may flag anything (P(3 or more | 0.05 each) < 2%)."""
    runs_with_flags = 0
    no_floor = cfg(drift={"minEffectSize": 0.0, "ksAlpha": 0.05})
    levels = [f"l{i}" for i in range(300)]
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        sides = [write_parquet(tmp_path / f"{side}{seed}.parquet",
                               frame(rng, 4000, a=rng.normal(size=4000), b=rng.exponential(size=4000),
                                     c=rng.choice(levels, 4000), d=rng.integers(0, 3, 4000)))
                 for side in "rc"]
        flagged = drifted(validate_data(sides[0], sides[1], no_floor))
        runs_with_flags += bool(flagged)
        assert drifted(validate_data(sides[0], sides[1])) == set()
    assert runs_with_flags <= 2


def test_effect_size_floor_ignores_trivial_shifts_at_huge_n(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 400000
    r = write_parquet(tmp_path / "r.parquet", {"x": rng.normal(0, 1, n)})
    c = write_parquet(tmp_path / "c.parquet", {"x": rng.normal(0.02, 1, n)})  # D about 0.008: significant, tiny
    report = validate_data(r, c)
    col = report.details["columns"]["x"]["drift"]
    assert col["p_value_adjusted"] < 1e-6
    assert col["drifted"] is False
    assert "minEffectSize" in col["reason"]
    assert drifted(validate_data(r, c, cfg(drift={"minEffectSize": 0.005}))) == {"x"}


def test_bonferroni_correction_from_config(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    r = write_parquet(tmp_path / "r.parquet", frame(rng, 3000))
    c = write_parquet(tmp_path / "c.parquet", frame(rng, 3000))
    report = validate_data(r, c, cfg(drift={"correction": "bonferroni"}))
    cols = report.details["columns"]
    tested = [n for n in cols if "drift" in cols[n]]
    for name in tested:
        d = cols[name]["drift"]
        assert d["p_value_adjusted"] == pytest.approx(min(1.0, d["p_value"] * len(tested)))
    assert report.details["correction"] == "bonferroni"


def test_max_drifted_share_tolerates_a_drifted_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    r = write_parquet(tmp_path / "r.parquet", frame(rng, 5000))
    c = write_parquet(tmp_path / "c.parquet", frame(rng, 5000, score=rng.normal(1, 1, 5000)))
    strict = validate_data(r, c)
    assert {"drift:score", "drift.share"} <= failing(strict)
    tolerant = validate_data(r, c, cfg(drift={"maxDriftedShare": 0.25}))
    assert tolerant.verdict is Verdict.PASS
    assert drifted(tolerant) == {"score"}
    assert "tolerated" in next(ch.reason for ch in tolerant.checks if ch.name == "drift:score")


# --------------------------------------------------------------------------------------------------------------
# Schema and quality
# --------------------------------------------------------------------------------------------------------------

def test_schema_failures_name_the_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    r = write_parquet(tmp_path / "r.parquet", frame(rng, 1000))
    cur = frame(rng, 1000, extra=np.ones(1000), tenure=rng.choice(["a", "b"], 1000))
    del cur["income"]
    c = write_parquet(tmp_path / "c.parquet", cur)
    report = validate_data(r, c)
    assert {"schema.missing:income", "schema.extra:extra", "schema.type:tenure"} <= failing(report)
    reasons = " ".join(ch.reason for ch in report.checks)
    assert "'income'" in reasons
    assert "'tenure' is string" in reasons
    allowed = validate_data(r, c, cfg(schema={"allowExtraColumns": True}))
    assert "schema.extra:extra" not in checks(allowed)
    code, out = run_cli("validate", "--reference", str(r), "--current", str(c), "--report", str(tmp_path / "o.json"))
    assert code == 1
    assert "schema.missing:income" in out


def test_declared_schema_types_nullability_ranges_and_categories(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    r = write_parquet(tmp_path / "r.parquet", frame(rng, 2000))
    age = rng.normal(40, 10, 2000)
    age[:100] = 150.0  # 5% above the declared max
    plan = rng.choice(["basic", "plus", "pro"], 2000).astype(object)
    plan[:50] = None
    c = write_parquet(tmp_path / "c.parquet", frame(rng, 2000, age=age, plan=pa.array(plan.tolist(), pa.string())))
    config = cfg(schema={"columns": {"age": {"type": "float", "min": 0, "max": 120},
                                     "plan": {"type": "category", "nullable": False, "allowed": ["basic", "plus"]},
                                     "tenure": {"type": "float"}}})
    report = validate_data(r, c, config)
    result = checks(report)
    assert result["quality.range:age"] is Verdict.FAIL
    assert result["schema.nullable:plan"] is Verdict.FAIL
    assert result["quality.allowed:plan"] is Verdict.FAIL
    assert "schema.type:tenure" not in result  # int data satisfies a declared float
    assert "[0, 120]" in next(ch.reason for ch in report.checks if ch.name == "quality.range:age")


def test_quality_missing_duplicates_and_constant_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    r = write_parquet(tmp_path / "r.parquet", {"a": rng.integers(0, 5, n), "b": rng.choice(["x", "y"], n),
                                                "c": rng.integers(0, 3, n)})
    a = rng.integers(0, 5, n).astype(float)
    a[:200] = np.nan  # 10% missing
    b = rng.choice(["x", "y"], n)
    cvals = np.full(n, 1)
    c = write_parquet(tmp_path / "c.parquet", {"a": a, "b": b, "c": cvals})
    report = validate_data(r, c, cfg(schema={"columns": {"a": {"type": "float"}}}))
    result = checks(report)
    assert result["quality.missing:a"] is Verdict.FAIL
    assert result["quality.constant:c"] is Verdict.FAIL
    # 3 columns with few values: many repeated rows; the count is exact (checked against pandas-free numpy)
    rows = np.stack([np.nan_to_num(a, nan=-1), (b == "x").astype(float), cvals], axis=1)
    expected = n - np.unique(rows, axis=0).shape[0]
    dup = next(ch for ch in report.checks if ch.name == "quality.duplicates")
    assert dup.verdict is Verdict.FAIL
    assert dup.observed == pytest.approx(expected / n)


def test_too_few_rows_and_empty_current_are_inconclusive(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    ref, _ = pair
    rng = np.random.default_rng(5)
    few = write_parquet(tmp_path / "few.parquet", frame(rng, 50))
    report = validate_data(ref, few)
    assert checks(report)["rows.current"] is Verdict.INCONCLUSIVE
    assert report.verdict is not Verdict.PASS
    empty = tmp_path / "empty.parquet"
    pq.write_table(pq.read_table(ref).slice(0, 0), empty)
    report = validate_data(ref, empty)
    assert report.verdict is Verdict.INCONCLUSIVE
    code, out = run_cli("validate", "--reference", str(ref), "--current", str(empty), "--report",
                        str(tmp_path / "o.json"))
    assert code == 3
    assert "no rows" in out


def test_nan_heavy_column_and_a_change_of_the_missing_share(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    n = 5000
    r = write_parquet(tmp_path / "r.parquet", {"x": rng.normal(size=n), "y": rng.normal(size=n),
                                                "z": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n))})
    x = rng.normal(size=n)
    x[rng.random(n) < 0.7] = np.nan
    z = np.where(rng.random(n) < 0.34, np.nan, rng.normal(size=n))  # the reference's 30% missing, +4 points
    c = write_parquet(tmp_path / "c.parquet", {"x": x, "y": np.full(n, np.nan), "z": z})
    report = validate_data(r, c)
    result = checks(report)
    assert result["quality.missing:x"] is Verdict.FAIL
    assert result["quality.missing:y"] is Verdict.FAIL
    assert "quality.missing:z" not in result  # 30% missing in the reference too: within its share + 5 points
    col = report.details["columns"]["x"]
    assert col["current"]["n"] == int((~np.isnan(x)).sum())
    assert col["drift"]["drifted"] is True  # the missing share drifted (0% -> 70%); the values did not
    assert "missing share changed" in col["drift"]["reason"]
    assert result["drift:y"] is Verdict.FAIL
    z_drift = report.details["columns"]["z"]["drift"]
    assert z_drift["null_p_value_adjusted"] < 0.01
    assert z_drift["drifted"] is True  # +4 points >= minEffectSize 0.02


def test_target_column_is_optional_in_the_current_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(16)
    r = write_parquet(tmp_path / "r.parquet", frame(rng, 3000, label=rng.integers(0, 2, 3000)))
    c = write_parquet(tmp_path / "c.parquet", frame(rng, 3000))
    assert checks(validate_data(r, c))["schema.missing:label"] is Verdict.FAIL
    report = validate_data(r, c, cfg(schema={"targetColumn": "label"}))
    assert report.verdict is Verdict.PASS, report.summary_lines()
    assert "target column 'label' absent" in next(ch.reason for ch in report.checks if ch.name == "schema")


def test_reference_range_allows_for_a_small_reference(tmp_path: Path) -> None:
    """A random split with a 300-row reference: ~0.7% of new rows fall outside its range by chance (more than 1%
    in about a fifth of splits); the range check must not fail such splits, and still fails a real excess."""
    failures = 0
    r = tmp_path / "r.parquet"
    for seed in range(20):
        rng = np.random.default_rng(200 + seed)
        x = rng.normal(size=1300)
        write_parquet(r, {"x": x[:300]})
        c = write_parquet(tmp_path / "c.parquet", {"x": x[300:]})
        failures += "quality.range:x" in failing(validate_data(r, c))
    assert failures == 0
    rng = np.random.default_rng(3)
    wide = write_parquet(tmp_path / "w.parquet", {"x": rng.normal(0, 1.6, 1000)})
    assert "quality.range:x" in failing(validate_data(r, wide))


def test_small_samples_are_inconclusive_with_the_rows_needed(tmp_path: Path) -> None:
    rng = np.random.default_rng(17)
    r = write_parquet(tmp_path / "r.parquet", {"x": rng.normal(size=2000), "c": rng.choice(list("abcd"), 2000)})
    c = write_parquet(tmp_path / "c.parquet", {"x": rng.normal(size=150), "c": rng.choice(list("abcd"), 150)})
    report = validate_data(r, c)
    result = checks(report)
    assert result["drift:x"] is Verdict.INCONCLUSIVE
    assert result["drift.share"] is Verdict.INCONCLUSIVE
    assert "cannot rule out" in next(ch.reason for ch in report.checks if ch.name == "drift:x")
    needed = report.details["columns"]["x"]["drift"]["rows_needed"]
    assert 150 < needed < 2000
    bigger = write_parquet(tmp_path / "b.parquet", {"x": rng.normal(size=needed),
                                                     "c": rng.choice(list("abcd"), needed)})
    assert checks(validate_data(r, bigger))["drift:x"] is Verdict.PASS


def test_csv_and_parquet_of_the_same_data_agree(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    table = pa.table(frame(rng, 2000))
    pacsv.write_csv(table, tmp_path / "r.csv")
    c = write_parquet(tmp_path / "c.parquet", frame(rng, 2000))
    report = validate_data(tmp_path / "r.csv", c)
    assert report.verdict is Verdict.PASS, report.summary_lines()


# --------------------------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------------------------

def _verdicts(report: Any) -> dict[str, str]:
    return {c.name: c.verdict.value for c in report.checks}


def test_profile_round_trip_gives_the_raw_references_verdicts(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    n = 6000
    r = write_parquet(tmp_path / "r.parquet", frame(rng, n))
    c = write_parquet(tmp_path / "c.parquet", frame(rng, n, score=rng.normal(0.3, 1, n),
                                                     plan=rng.choice(["basic", "plus", "pro", "max"], n)))
    raw = validate_data(r, c, write_profile=tmp_path / "p.npz")
    profiled = validate_data(tmp_path / "p.npz", c)
    assert _verdicts(profiled) == _verdicts(raw)
    for name, col in raw.details["columns"].items():
        assert profiled.details["columns"][name]["drift"]["statistic"] == col["drift"]["statistic"]
        assert profiled.details["columns"][name]["drift"]["p_value"] == col["drift"]["p_value"]
    assert profiled.details["reference"]["profile"] is True
    assert profiled.details["reference"]["grid_exact"] is True


def test_profile_of_a_large_reference_bounds_the_statistic(tmp_path: Path) -> None:
    """More than 65,536 distinct values: the grid holds 65,536 reference quantiles; the statistic is reported
    with bounds that contain the exact (scipy) value, about 1/65,536 apart."""
    rng = np.random.default_rng(13)
    n = 120_000
    r = write_parquet(tmp_path / "r.parquet", {"x": rng.normal(size=n), "k": rng.poisson(4, n)})
    cur_x = rng.normal(0.02, 1, n)
    c = write_parquet(tmp_path / "c.parquet", {"x": cur_x, "k": rng.poisson(4, n)})
    raw = validate_data(r, c, write_profile=tmp_path / "p.npz")
    profiled = validate_data(tmp_path / "p.npz", c)
    assert _verdicts(profiled) == _verdicts(raw)
    profile = load_profile(tmp_path / "p.npz")
    assert not profile.grids["x"].exact
    assert profile.grids["k"].exact  # few distinct integers: every one is a grid point, exact at any size
    lo, hi = profiled.details["columns"]["x"]["drift"]["statistic_bounds"]
    theirs: Any = sps.ks_2samp(pq.read_table(r).column("x").to_numpy(), cur_x)
    assert lo <= theirs.statistic <= hi
    assert hi - lo < 4 / 65536
    klo, khi = profiled.details["columns"]["k"]["drift"]["statistic_bounds"]
    assert klo == khi


def test_profile_errors_are_usage_errors(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    ref, cur = pair
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataInputError, match=re.escape(str(bad))):
        validate_data(bad, cur)
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(DataInputError, match="not a data profile"):
        validate_data(tmp_path / "other.npz", cur)
    validate_data(ref, cur, write_profile=tmp_path / "p.npz")
    with pytest.raises(DataInputError, match="current data must be Parquet or CSV"):
        validate_data(ref, tmp_path / "p.npz")
    with pytest.raises(DataInputError, match="already a profile"):
        validate_data(tmp_path / "p.npz", cur, write_profile=tmp_path / "p2.npz")


# --------------------------------------------------------------------------------------------------------------
# Bad inputs and the CLI
# --------------------------------------------------------------------------------------------------------------

def test_corrupted_and_unreadable_inputs_exit_2_naming_the_path(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    ref, cur = pair
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(cur.read_bytes()[: cur.stat().st_size // 2])
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1" + bytes(range(256)) * 8 + b"PAR1")
    cases = {truncated: "not a readable", garbage: "not a readable", tmp_path / "missing.parquet": "no such file",
             tmp_path: "is a directory", ref / "child.parquet": "cannot read"}
    for path, message in cases.items():
        code, out = run_cli("validate", "--reference", str(ref), "--current", str(path), "--report",
                            str(tmp_path / "o.json"))
        assert code == 2, out
        assert str(path) in out
        assert message in out
    code, out = run_cli("validate", "--reference", str(tmp_path / "nope.csv"), "--current", str(cur), "--report",
                        str(tmp_path / "o.json"))
    assert code == 2
    assert "nope.csv: no such file" in out


def test_cli_exit_codes_report_and_html(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    ref, cur = pair
    out, html = tmp_path / "report.json", tmp_path / "report.html"
    code, text = run_cli("validate", "--reference", str(ref), "--current", str(cur), "--report", str(out),
                         "--html", str(html))
    assert code == 0, text
    report = json.loads(out.read_text())
    assert report["kind"] == "data-validation"
    assert report["verdict"] == "PASS"
    assert report["details"]["drift_score"] == 0.0
    assert {"rows.current", "schema", "quality.missing", "quality.duplicates", "drift.share"} <= {
        c["name"] for c in report["checks"]}
    assert html.read_text().startswith("<!DOCTYPE html>")
    rng = np.random.default_rng(1)
    drifted_cur = write_parquet(tmp_path / "d.parquet", frame(rng, 3000, income=rng.lognormal(11, 0.5, 3000)))
    code, text = run_cli("validate", "--reference", str(ref), "--current", str(drifted_cur), "--report", str(out))
    assert code == 1
    assert "drift:income" in text


def test_config_loaded_alongside_the_data_gives_the_same_report(tmp_path: Path) -> None:
    """The stack config loads in a background thread while both sides are summarised with the default bins; other
    bins redo the summaries, and any way to the config gives the same checks."""
    rng = np.random.default_rng(31)
    ref = write_parquet(tmp_path / "r.parquet", frame(rng, 20000))
    cur = write_parquet(tmp_path / "c.parquet", frame(rng, 20000, score=rng.normal(0.1, 1, 20000)))
    for bins in (10, 5):
        config = cfg(drift={"bins": bins})
        alongside = validate_data(ref, cur, lambda config=config: config, engine="local")
        given = validate_data(ref, cur, config)
        assert alongside.details["bins"] == given.details["bins"] == bins
        assert alongside.to_dict()["checks"] == given.to_dict()["checks"]
        assert set(alongside.details["timings"]) == {"reference_s", "current_s", "compare_s"}
    assert drifted(alongside) == {"score"}


def test_the_data_gate_never_imports_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas on `Array.to_numpy` and on compute calls given Python scalars: 0.3 s of CPU that the
    streaming path avoids by reading Arrow buffers (nulls, dictionaries, booleans, CSV and Parquet inputs)."""
    rng = np.random.default_rng(5)
    n = 12000
    plan = pa.array(rng.choice(["basic", "plus"], n), mask=rng.random(n) < 0.05).dictionary_encode()
    columns = frame(rng, n, tenure=pa.array(rng.integers(0, 60, n), mask=rng.random(n) < 0.1), plan=plan,
                    flag=rng.random(n) < 0.5)
    ref = write_parquet(tmp_path / "ref.parquet", columns)
    pacsv.write_csv(pa.table(columns), tmp_path / "cur.csv")
    script = ("import sys; from runtime.data.validate import validate_data; "
              f"validate_data({str(ref)!r}, {str(tmp_path / 'cur.csv')!r}, engine='local'); "
              "assert 'pandas' not in sys.modules, 'pandas was imported'")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_cli_reads_thresholds_from_the_stack(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ref = write_parquet(tmp_path / "r.parquet", frame(rng, 800, customer_id=np.arange(800)))
    cur = write_parquet(tmp_path / "c.parquet", frame(rng, 300, customer_id=np.arange(10**6, 10**6 + 300)))
    out = tmp_path / "o.json"
    code, _ = run_cli("validate", "--reference", str(ref), "--current", str(cur), "--report", str(out))
    assert code == 1  # customer_id is out of the reference's range and drifts
    # A project whose staging stack (the repository's, two keys changed) asks for 500 rows and leaves customer_id
    # out of the drift tests.
    import shutil

    import yaml

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    doc = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    data = doc["config"]["ml-cicd:data"]
    data.setdefault("schema", {})["excludeFromDrift"] = ["customer_id"]
    data["quality"]["minRows"] = 500
    (project / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    code, text = run_cli("validate", "--reference", str(ref), "--current", str(cur), "--report", str(out),
                         "--stack", "staging", "--project-dir", str(project))
    assert code == 3, text  # minRows 500 (300 rows is too few); customer_id excluded from drift
    report = json.loads(out.read_text())
    assert "drift:customer_id" not in {c["name"] for c in report["checks"]}
    assert report["details"]["alpha"] == 0.01


def test_cli_unknown_stack_is_a_usage_error(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    ref, cur = pair
    code, text = run_cli("validate", "--reference", str(ref), "--current", str(cur), "--report",
                         str(tmp_path / "o.json"), "--stack", "nonexistent", "--project-dir", str(ROOT))
    assert code == 2, text
    assert "Pulumi.nonexistent.yaml" in text
    assert not (tmp_path / "o.json").exists()


def test_profile_command_writes_a_profile(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    ref, cur = pair
    code, text = run_cli("profile", "--reference", str(ref), "--out", str(tmp_path / "p.npz"))
    assert code == 0, text
    code, text = run_cli("validate", "--reference", str(tmp_path / "p.npz"), "--current", str(cur), "--report",
                         str(tmp_path / "o.json"))
    assert code == 0, text


def test_html_is_self_contained_and_lists_failing_checks_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    r = write_parquet(tmp_path / "r.parquet", frame(rng, 3000))
    c = write_parquet(tmp_path / "c.parquet", frame(rng, 3000, score=rng.normal(1, 1, 3000)))
    text = render_html(validate_data(r, c).to_dict())
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert "http://" not in text
    assert "https://" not in text
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    rows = re.findall(r"<tr><td><span class=\"badge\"[^>]*>(\w+)</span></td><td>([^<]+)</td>", text)
    verdicts = [v for v, _ in rows]
    assert verdicts[0] == "FAIL"
    assert verdicts == sorted(verdicts, key=["FAIL", "INCONCLUSIVE", "PASS"].index)
    assert text.count("<svg") == 8  # the drift overview (effect size, PSI) and one histogram per tested column
    assert text.index("<h3>score") < text.index("<h3>age")  # drifted column first


# --------------------------------------------------------------------------------------------------------------
# S3 (a real moto server) and config rules
# --------------------------------------------------------------------------------------------------------------

@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    use_fake_aws(monkeypatch, "eu-west-1", moto_url)
    client = boto3.client("s3")
    if "data" not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return client


def test_s3_reference_current_and_profile(tmp_path: Path, pair: tuple[Path, Path], s3: Any) -> None:
    ref, cur = pair
    s3.upload_file(str(ref), "data", "training/ref.parquet")
    pacsv.write_csv(pq.read_table(cur), tmp_path / "cur.csv")
    s3.upload_file(str(tmp_path / "cur.csv"), "data", "inference/2026/cur.csv")
    raw = validate_data("s3://data/training/ref.parquet", "s3://data/inference/2026/cur.csv",
                        write_profile="s3://data/profiles/reference.npz")
    assert raw.verdict is Verdict.PASS, raw.summary_lines()
    profiled = validate_data("s3://data/profiles/reference.npz", "s3://data/inference/2026/cur.csv")
    assert _verdicts(profiled) == _verdicts(raw)
    with pytest.raises(DataInputError, match=r"s3://data/nope.parquet: no such S3 object"):
        validate_data("s3://data/nope.parquet", cur)


def test_config_rules_for_the_data_schema() -> None:
    raw = {"environment": "staging", "region": "eu-west-1", "model": {"name": "m", "alias": "champion"},
           "data": {"schema": {"columns": {"age": {"type": "float", "min": 5, "max": 1, "allowed": ["a"]},
                                           "city": {"type": "string", "min": 0}},
                               "excludeFromDrift": ["id", "id"]}}}
    with pytest.raises(ConfigError) as info:
        validate_config(raw, "test")
    message = str(info.value)
    assert "ml-cicd:data.schema.columns.age.min = 5.0: must not exceed max (1)" in message
    assert "ml-cicd:data.schema.columns.age.allowed = ['a']: allowed categories apply to string" in message
    assert "ml-cicd:data.schema.columns.city.min = 0.0: value bounds apply to numeric columns" in message
    assert "ml-cicd:data.schema.excludeFromDrift = ['id', 'id']: lists id more than once" in message
