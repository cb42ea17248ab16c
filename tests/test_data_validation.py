"""`mlcicd data validate`: statistics against scipy, constructed drift, schema and quality checks, profiles, bad
inputs and exit codes, the HTML report, S3 inputs through a real moto server."""

from __future__ import annotations

import json
import re
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
from runtime.data import stats
from runtime.data.frame import DataInputError, NumericSummary, TableSource, summarize
from runtime.data.html import render_html
from runtime.data.profile import compact, load_profile, reference_from_summary, sketch
from runtime.data.validate import compare, validate_data
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
# Statistics against scipy
# --------------------------------------------------------------------------------------------------------------

def _samples(kind: str, n1: int, n2: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        return rng.normal(0, 1, n1), rng.normal(0.03, 1.05, n2)
    if kind == "ties":  # integers with few values: most points are tied, across and within samples
        return rng.integers(0, 5, n1).astype(float), rng.integers(0, 5, n2).astype(float) + (rng.random(n2) < 0.02)
    if kind == "mixed":  # a point mass plus a continuous part
        a = np.where(rng.random(n1) < 0.3, 0.0, rng.normal(0, 1, n1))
        return a, np.where(rng.random(n2) < 0.33, 0.0, rng.normal(0, 1, n2))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["continuous", "ties", "mixed"])
@pytest.mark.parametrize(("n1", "n2"), [(7, 5), (300, 1000), (5000, 5000), (9000, 12000), (40000, 25000),
                                        (20000, 60), (30000, 400), (150000, 150000)])
def test_ks_statistic_equals_scipy_exactly_and_pvalue_within_1e3(kind: str, n1: int, n2: int) -> None:
    a, b = _samples(kind, n1, n2, seed=n1 + n2)
    sa, sb = np.sort(a), np.sort(b)
    asymp: Any = sps.ks_2samp(a, b, method="asymp")
    assert stats.ks_statistic_sorted(sa, sb) == asymp.statistic
    ours_d, ours_p = stats.ks_2samp_sorted(sa, sb)
    theirs: Any = sps.ks_2samp(a, b)
    assert ours_d == theirs.statistic
    assert abs(ours_p - theirs.pvalue) < 1e-3


@pytest.mark.parametrize("seed", range(30))
def test_ks_statistic_on_random_tie_patterns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(1, 5000)), int(rng.integers(1, 5000))
    values = int(rng.integers(1, 50))
    a = np.sort(rng.integers(0, values, n1).astype(float))
    b = np.sort(rng.integers(0, values, n2).astype(float) + rng.integers(0, 2))
    theirs: Any = sps.ks_2samp(a, b, method="asymp")
    assert stats.ks_statistic_sorted(a, b) == theirs.statistic


def test_ks_identical_and_disjoint_samples() -> None:
    x = np.sort(np.random.default_rng(1).normal(size=20000))
    assert stats.ks_2samp_sorted(x, x.copy()) == (0.0, 1.0)
    d, p = stats.ks_2samp_sorted(x, x + 100)
    assert d == 1.0
    assert p == 0.0


@pytest.mark.parametrize("n", [100, 1000, 20000, 100001])
def test_kolmogorov_sf_matches_scipy_kstwo(n: int) -> None:
    for z in np.linspace(0.3, 2.5, 12 if n < 100000 else 4):
        x = z / np.sqrt(n)
        assert abs(stats.kolmogorov_sf(n, x) - sps.kstwo.sf(x, n)) < 1e-5


def test_chi2_sf_matches_scipy() -> None:
    for df in (1, 2, 3, 7, 50, 501):
        for x in (0.01, 0.5, 3.0, 20.0, 400.0, 2000.0):
            assert stats.chi2_sf(x, df) == pytest.approx(sps.chi2.sf(x, df), rel=1e-9, abs=1e-15)


def test_chi_square_homogeneity_matches_scipy_contingency() -> None:
    ref, cur = np.array([500, 300, 200, 0]), np.array([450, 330, 190, 30])
    ours = stats.chi_square_homogeneity(ref, cur)
    theirs: Any = sps.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
    assert ours.df == theirs.dof


def test_adjusted_pvalues_match_scipy() -> None:
    p = [0.001, 0.04, 0.03, 0.2, 0.5, 0.012]
    bh = stats.adjust_pvalues(p, "benjamini-hochberg")
    assert bh == pytest.approx(sps.false_discovery_control(p, method="bh").tolist())
    assert stats.adjust_pvalues(p, "bonferroni") == pytest.approx([min(1.0, x * 6) for x in p])


def test_sorted_rank_equals_searchsorted() -> None:
    rng = np.random.default_rng(3)
    for n in (10, 4000, 64 * 300 + 17, 300000):
        for b in (np.sort(rng.normal(size=n)), np.sort(rng.integers(0, 7, n).astype(float))):
            keys = np.sort(np.concatenate([rng.normal(0, 3, n // 20 + 5), b[:: max(1, n // 500)],
                                           [-np.inf, np.inf, b[0], b[-1]]]))
            for side in ("left", "right"):
                assert np.array_equal(stats.sorted_rank(b, keys, side), np.searchsorted(b, keys, side))


@pytest.mark.parametrize("kind", ["point-mass", "integers"])
def test_sketch_bounds_contain_the_exact_statistic(kind: str) -> None:
    rng = np.random.default_rng(5)
    if kind == "point-mass":
        ref = np.sort(np.concatenate([rng.normal(size=200000), np.zeros(5000)]))
        cur = np.sort(rng.normal(0.01, 1, 100000))
    else:  # ties on both sides, at the stored values themselves
        ref = np.sort(rng.poisson(4, 200000).astype(float))
        cur = np.sort(rng.poisson(4.05, 100000).astype(float))
    column = sketch(NumericSummary(dtype="float", rows=ref.size, missing=0, values=ref, n=ref.size), 10000)
    assert column.counts is not None
    assert column.ranks is not None
    assert np.all(np.diff(column.values) > 0)
    lo, hi = stats.ks_statistic_bounds(column.values, column.counts, column.ranks, ref.size, cur)
    exact = stats.ks_statistic_sorted(ref, cur)
    assert lo <= exact <= hi
    assert hi - lo < 3e-4


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
    """Under the null, Benjamini-Hochberg at alpha bounds the chance of any false flag by alpha per run; with the
    effect-size floor at 0 only the tests decide. 12 seeded runs of 10 columns: at most 2 runs may flag anything
    (P(3 or more | 0.05 each) < 2%). With the default floor, nothing is flagged at all."""
    runs_with_flags, total_flags = 0, 0
    no_floor = cfg(drift={"minEffectSize": 0.0, "ksAlpha": 0.05})
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        r = write_parquet(tmp_path / f"r{seed}.parquet", frame(rng, 4000, a=rng.normal(size=4000),
                                                                b=rng.exponential(size=4000),
                                                                c=rng.choice(list("xyz"), 4000),
                                                                d=rng.integers(0, 3, 4000)))
        c = write_parquet(tmp_path / f"c{seed}.parquet", frame(rng, 4000, a=rng.normal(size=4000),
                                                                b=rng.exponential(size=4000),
                                                                c=rng.choice(list("xyz"), 4000),
                                                                d=rng.integers(0, 3, 4000)))
        flagged = drifted(validate_data(r, c, no_floor))
        runs_with_flags += bool(flagged)
        total_flags += len(flagged)
        assert drifted(validate_data(r, c)) == set()
    assert runs_with_flags <= 2
    assert total_flags <= 3


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


def test_nan_heavy_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    n = 5000
    r = write_parquet(tmp_path / "r.parquet", {"x": rng.normal(size=n), "y": rng.normal(size=n)})
    x = rng.normal(size=n)
    x[rng.random(n) < 0.7] = np.nan
    y = np.full(n, np.nan)
    c = write_parquet(tmp_path / "c.parquet", {"x": x, "y": y})
    report = validate_data(r, c)
    result = checks(report)
    assert result["quality.missing:x"] is Verdict.FAIL
    assert result["quality.missing:y"] is Verdict.FAIL
    col = report.details["columns"]["x"]
    assert col["current"]["n"] == int((~np.isnan(x)).sum())
    assert col["drift"]["drifted"] is False  # KS on the non-missing values, which are not shifted
    assert result["drift:y"] is Verdict.INCONCLUSIVE


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
    assert profiled.details["reference"]["profile_exact"] is True


def test_sketched_profile_bounds_and_verdicts(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    n = 60000
    r = write_parquet(tmp_path / "r.parquet", frame(rng, n))
    c = write_parquet(tmp_path / "c.parquet", frame(rng, n, score=rng.normal(0.1, 1, n)))
    small = cfg(drift={"profileQuantiles": 10000})
    raw = validate_data(r, c, small, write_profile=tmp_path / "p.npz")
    profile = load_profile(tmp_path / "p.npz")
    assert not profile.exact
    assert len(profile.summary.columns["age"].values) == 10000  # type: ignore[union-attr]
    sketched = validate_data(tmp_path / "p.npz", c, small)
    assert _verdicts(sketched) == _verdicts(raw)
    for name in ("age", "income", "score", "tenure"):
        exact = raw.details["columns"][name]["drift"]["statistic"]
        lo, hi = sketched.details["columns"][name]["drift"]["statistic_bounds"]
        assert lo <= exact <= hi
        assert hi - lo <= 2.5 / 10000 + 1e-12


def test_a_sketch_too_coarse_to_decide_is_inconclusive() -> None:
    rng = np.random.default_rng(21)
    ref = reference_from_summary(summarize(TableSource(pa.table({"x": rng.normal(0, 1, 20000)}), "r")), 10)
    cur = summarize(TableSource(pa.table({"x": rng.normal(0.02, 1, 20000)}), "c"))
    exact = compare(ref, cur)
    coarse = compare(compact(ref, 20), cur)  # 20 order statistics: bounds about 0.05 wide
    lo, hi = coarse.details["columns"]["x"]["drift"]["statistic_bounds"]
    assert lo <= exact.details["columns"]["x"]["drift"]["statistic"] <= hi
    assert lo < 0.02 <= hi
    assert checks(coarse)["drift:x"] is Verdict.INCONCLUSIVE
    assert checks(coarse)["drift.share"] is Verdict.INCONCLUSIVE
    assert "cannot decide" in next(c.reason for c in coarse.checks if c.name == "drift:x")


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


def test_cli_reads_thresholds_from_the_stack(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ref = write_parquet(tmp_path / "r.parquet", frame(rng, 800, customer_id=np.arange(800)))
    cur = write_parquet(tmp_path / "c.parquet", frame(rng, 300, customer_id=np.arange(10**6, 10**6 + 300)))
    out = tmp_path / "o.json"
    code, _ = run_cli("validate", "--reference", str(ref), "--current", str(cur), "--report", str(out))
    assert code == 1  # customer_id is out of the reference's range and drifts
    code, text = run_cli("validate", "--reference", str(ref), "--current", str(cur), "--report", str(out),
                         "--stack", "staging", "--project-dir", str(ROOT))
    assert code == 3, text  # staging: minRows 500 (300 rows is too few); customer_id excluded from drift
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
    with pytest.raises(DataInputError, match=r"s3://data/nope.parquet: cannot read from S3 \(NoSuchKey\)"):
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
