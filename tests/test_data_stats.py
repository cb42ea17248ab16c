"""The data gate's statistics: KS from grid counts against scipy (exact, or within the stated bound), mergeable
summaries (any split of the rows gives the same counts), the reference's two-pass grid, duplicate counting, the
tests for sparse categoricals, tied integers and small references, and the drift family's false-alarm rate."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from scipy import stats as sps

from runtime.config.gates import DataValidationConfig
from runtime.data import duplicates, ks, local, scan, sources, stats, summary
from runtime.data.profile import GRID_POINTS, column_plan
from runtime.data.sources import TableFrame
from runtime.data.validate import compare, current_plans
from runtime.report import Verdict


def profile_and_current(ref: dict[str, Any], cur: dict[str, Any], batch_rows: int = 1 << 20,
                        config: DataValidationConfig | None = None) -> tuple[Any, Any]:
    reference = scan.reference_profile(TableFrame(pa.table(ref), "ref", batch_rows), 10)
    current = scan.scan(TableFrame(pa.table(cur), "cur", batch_rows),
                        current_plans(reference, config or DataValidationConfig()), hashes=True)
    return reference, current


def drift_entry(ref: dict[str, Any], cur: dict[str, Any], name: str = "x", **kwargs: Any) -> dict[str, Any]:
    reference, current = profile_and_current(ref, cur, **kwargs)
    return compare(reference, current, kwargs.get("config")).details["columns"][name]["drift"]


# --------------------------------------------------------------------------------------------------------------
# KS against scipy
# --------------------------------------------------------------------------------------------------------------

def _samples(kind: str, n1: int, n2: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        return rng.normal(0, 1, n1), rng.normal(0.03, 1.05, n2)
    if kind == "ties":  # integers with few values: most points are tied, across and within samples
        return rng.integers(0, 5, n1).astype(float), rng.integers(0, 5, n2).astype(float) + (rng.random(n2) < 0.02)
    a = np.where(rng.random(n1) < 0.3, 0.0, rng.normal(0, 1, n1))  # a point mass plus a continuous part
    return a, np.where(rng.random(n2) < 0.33, 0.0, rng.normal(0, 1, n2))


@pytest.mark.parametrize("kind", ["continuous", "ties", "mixed"])
@pytest.mark.parametrize(("n1", "n2"), [(7, 5), (300, 1000), (5000, 5000), (9000, 12000), (40000, 25000),
                                        (20000, 60), (30000, 400), (150000, 150000), (200, 90000)])
def test_ks_equals_scipy_or_brackets_it_within_the_bound(kind: str, n1: int, n2: int) -> None:
    a, b = _samples(kind, n1, n2, seed=n1 + n2)
    entry = drift_entry({"x": a}, {"x": b})
    lo, hi = entry["statistic_bounds"]
    theirs: Any = sps.ks_2samp(a, b)
    if np.unique(a).size <= GRID_POINTS:  # every reference value on the grid: exact, the same float
        assert lo == hi == theirs.statistic
        assert abs(entry["p_value"] - theirs.pvalue) < 1e-3
    else:
        assert lo <= theirs.statistic <= hi
        assert hi - lo <= 2.5 / GRID_POINTS


@pytest.mark.parametrize("seed", range(25))
def test_bounds_contain_the_statistic_on_random_coarse_grids(seed: int) -> None:
    """ks_bounds with an arbitrary grid (here 3-200 random points) and inexact sides: always brackets scipy's D."""
    rng = np.random.default_rng(seed)
    a = np.sort(rng.normal(0, 1, int(rng.integers(50, 3000))))
    b = np.sort(rng.normal(rng.uniform(-0.3, 0.3), 1, int(rng.integers(50, 3000))))
    if seed % 3 == 0:
        a, b = np.round(a, 1), np.round(b, 1)
    probes = np.unique(np.concatenate([rng.choice(a, int(rng.integers(3, 200))), [a[0], a[-1]]]))

    def side(x: np.ndarray) -> ks.Side:
        return ks.Side(x.size, np.searchsorted(x, probes, "left"), np.searchsorted(x, probes, "right"), False)

    d = float(sps.ks_2samp(a, b, method="asymp").statistic)  # type: ignore[attr-defined]
    lo, hi = ks.ks_bounds(probes, side(a), side(b))
    assert lo <= d <= hi
    lo2, hi2 = ks.ks_bounds(probes, side(a), side(b), cur_values=b)  # the current side exact: tighter
    assert lo <= lo2 <= d <= hi2 <= hi


@pytest.mark.parametrize("n", [100, 1000, 20000, 100001])
def test_kolmogorov_sf_matches_scipy_kstwo(n: int) -> None:
    for z in np.linspace(0.3, 2.5, 12 if n < 100000 else 4):
        x = z / np.sqrt(n)
        assert abs(ks.kolmogorov_sf(n, x) - sps.kstwo.sf(x, n)) < 1e-5


def test_counts_at_equal_searchsorted() -> None:
    rng = np.random.default_rng(3)
    for n in (0, 1, 10, 4000, 300000):
        for b in (np.sort(rng.normal(size=n)), np.sort(rng.integers(0, 7, n).astype(float))):
            keys = np.unique(np.concatenate([rng.normal(0, 3, n // 20 + 5), b[:: max(1, n // 500)],
                                             [-np.inf, np.inf], b[:1], b[-1:]]))
            below, at = ks.counts_at(b, keys)
            assert np.array_equal(below, np.searchsorted(b, keys, "left"))
            assert np.array_equal(at, np.searchsorted(b, keys, "right"))
            assert below.dtype == at.dtype == np.int64


# --------------------------------------------------------------------------------------------------------------
# Chi-square, proportions, corrections
# --------------------------------------------------------------------------------------------------------------

def test_chi2_sf_and_homogeneity_match_scipy() -> None:
    for df in (1, 2, 3, 7, 50, 501):
        for x in (0.01, 0.5, 3.0, 20.0, 400.0, 2000.0):
            assert stats.chi2_sf(x, df) == pytest.approx(sps.chi2.sf(x, df), rel=1e-9, abs=1e-15)
    ref, cur = np.array([500, 300, 200, 0]), np.array([450, 330, 190, 30])
    ours = stats.chi_square_homogeneity(ref, cur)
    theirs: Any = sps.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


def test_merged_cells_expect_five_rows_a_side_and_keep_the_totals() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.multinomial(1000, np.full(500, 1 / 500)), rng.multinomial(700, np.full(500, 1 / 500))
    mr, mc = stats.merge_cells(ref, cur)
    assert mr.sum() == ref.sum()
    assert mc.sum() == cur.sum()
    pooled = mr + mc
    assert np.all(pooled * 700 / 1700 >= stats.MIN_EXPECTED)


def test_proportions_pvalues_match_scipy() -> None:
    assert stats.two_proportions(30, 1000, 52, 1000) == pytest.approx(
        sps.chi2_contingency([[30, 970], [52, 948]], correction=False).pvalue, rel=1e-9)  # type: ignore[attr-defined]
    assert stats.two_proportions(0, 50, 4, 60) == pytest.approx(sps.fisher_exact([[0, 50], [4, 56]]).pvalue)  # type: ignore[attr-defined]
    p = [0.001, 0.04, 0.03, 0.2, 0.5, 0.012]
    assert stats.adjust_pvalues(p, "benjamini-hochberg") == pytest.approx(
        sps.false_discovery_control(p, method="bh").tolist())


def test_range_exceedance_is_beta_binomial_and_calibrated() -> None:
    """The chance that new values fall outside a reference's range, simulated, against the formula."""
    rng = np.random.default_rng(5)
    n_ref, n, k = 300, 1000, 14
    hits = 0
    trials = 4000
    for _ in range(trials):
        ref = rng.normal(size=n_ref)
        new = rng.normal(size=n)
        hits += int(((new < ref.min()) | (new > ref.max())).sum()) >= k
    p = stats.range_exceedance_pvalue(k, n, n_ref, 2)
    assert abs(hits / trials - p) < 4 * np.sqrt(p * (1 - p) / trials) + 1e-3


def test_ks_power_formula_is_conservative() -> None:
    """At the current size the formula asks for, a shift of D = 0.2 is detected in at least 90% of runs."""
    alpha, effect = 0.01, 0.2
    n_ref = 2000
    needed = stats.ks_needed(effect, alpha, 0.9, n_ref)
    assert needed is not None
    rng = np.random.default_rng(9)
    shift = 2 * sps.norm.ppf(0.5 + effect / 2)  # normal location shift whose KS distance is `effect`
    hits = sum(sps.ks_2samp(rng.normal(size=n_ref), rng.normal(shift, 1, needed)).pvalue < alpha  # type: ignore[attr-defined]
               for _ in range(300))
    assert hits / 300 >= 0.9
    assert stats.ks_needed(effect, alpha, 0.9, 50) is None  # a 50-row reference cannot get there


# --------------------------------------------------------------------------------------------------------------
# Mergeable summaries
# --------------------------------------------------------------------------------------------------------------

def _table(rng: np.random.Generator, n: int) -> dict[str, Any]:
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan
    return {"x": x, "k": rng.poisson(3, n), "c": rng.choice([f"v{i}" for i in range(40)], n),
            "b": rng.random(n) < 0.3}


def test_any_split_of_the_rows_gives_the_same_summaries_and_verdicts() -> None:
    rng = np.random.default_rng(11)
    ref, cur = _table(rng, 30000), _table(rng, 20000)
    cur["c"][:300] = "new"
    whole = compare(*profile_and_current(ref, cur))
    split = compare(*profile_and_current(ref, cur, batch_rows=3001))  # 10 and 7 parts, two threads
    assert whole.to_dict()["checks"] == split.to_dict()["checks"]
    for name in ("x", "k", "c", "b"):
        assert whole.details["columns"][name]["drift"] == split.details["columns"][name]["drift"]


def test_reference_larger_than_the_sample_takes_two_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary, "SAMPLE_SIZE", 5000)
    monkeypatch.setattr(scan, "SAMPLE_SIZE", 5000)
    monkeypatch.setattr("runtime.data.profile.GRID_POINTS", 500)
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=40000), rng.normal(0.05, 1, 30000)
    reference, current = profile_and_current({"x": a}, {"x": b}, batch_rows=7000)
    col = reference.summary.columns["x"]
    assert col.n == 40000
    assert col.at_or_below[-1] == 40000  # counted in the second pass: exact at every grid point
    assert np.array_equal(col.at_or_below, np.searchsorted(np.sort(a), reference.grids["x"].probes, "right"))
    lo, hi = compare(reference, current).details["columns"]["x"]["drift"]["statistic_bounds"]
    assert lo <= sps.ks_2samp(a, b).statistic <= hi  # type: ignore[attr-defined]
    assert hi - lo < 10 / 500


def test_csv_reference_larger_than_the_sample_is_read_twice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CSV is read front to back: the second pass reads it again from the start (`CsvFrame.blocks`)."""
    monkeypatch.setattr(summary, "SAMPLE_SIZE", 5000)
    monkeypatch.setattr(scan, "SAMPLE_SIZE", 5000)
    monkeypatch.setattr("runtime.data.profile.GRID_POINTS", 500)
    monkeypatch.setattr(sources, "CSV_BLOCK_BYTES", 1 << 16)  # several blocks
    rng = np.random.default_rng(14)
    a = rng.normal(size=20000)
    pacsv.write_csv(pa.table({"x": a, "c": rng.choice(["u", "v"], a.size)}), tmp_path / "r.csv")
    reference = scan.reference_profile(sources.open_frame(tmp_path / "r.csv"), 10)
    col = reference.summary.columns["x"]
    assert isinstance(col, summary.NumericSummary)
    assert col.below is not None
    assert col.at_or_below is not None
    assert reference.summary.rows == col.n == 20000
    assert not reference.grids["x"].exact
    assert np.array_equal(col.at_or_below, np.searchsorted(np.sort(a), reference.grids["x"].probes, "right"))
    assert np.array_equal(col.below, np.searchsorted(np.sort(a), reference.grids["x"].probes, "left"))


def _same(a: Any, b: Any) -> bool:
    """Deep equality of summaries: dataclasses field by field, arrays element by element (NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        return bool(np.isnan(b))
    return a == b


@pytest.mark.parametrize("threads", [1, 2])
def test_both_sides_at_once_equal_the_reference_then_the_current(threads: int) -> None:
    """The local engine's one-pipeline path (a single-chunk reference) gives the very summaries of
    `reference_profile` then `scan`: grids, counts, kept values, categories, row hashes."""
    rng = np.random.default_rng(23)
    ref, cur = _table(rng, 70000), _table(rng, 80000)  # > GRID_POINTS distinct values: an inexact grid
    ref["gone"], cur["gone"] = np.full(70000, np.nan), np.full(80000, np.nan)
    ref["few"], cur["few"] = rng.integers(0, 9, 70000), rng.integers(0, 9, 80000)
    config = DataValidationConfig.model_validate({"schema": {"columns": {"x": {"type": "float", "min": -2.5}}}})
    reference, current = profile_and_current(ref, cur, config=config)
    both = local.summarize_both(TableFrame(pa.table(ref), "ref"), TableFrame(pa.table(cur), "cur"), 10,
                                lambda name, grid: column_plan(name, grid, config), threads=threads)
    assert local.single_chunk(TableFrame(pa.table(ref), "ref"))
    assert _same(both.reference, reference)
    assert _same(both.current, current)
    assert not reference.grids["x"].exact
    assert reference.grids["few"].exact


def test_duplicate_rows_exact_and_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(13)
    n = 40000
    t = {"a": rng.integers(0, 50, n), "b": rng.choice(["x", "y", "z"], n), "c": rng.integers(0, 40, n)}
    rows = np.stack([t["a"], np.unique(t["b"], return_inverse=True)[1], t["c"]], axis=1)
    expected = n - np.unique(rows, axis=0).shape[0]
    got = scan.scan(TableFrame(pa.table(t), "t", 9000), {}, hashes=True).duplicates
    assert got == (expected, expected, expected)
    monkeypatch.setattr(duplicates, "HASHES_KEPT", 1000)
    _, lo, hi = scan.scan(TableFrame(pa.table(t), "t", 9000), {}, hashes=True).duplicates  # type: ignore[misc]
    assert lo <= expected <= hi
    assert hi - lo < 0.3 * n


# --------------------------------------------------------------------------------------------------------------
# Calibration: identical distributions, the whole gate (a few hundred trials; the full grid is the benchmark)
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["categorical-500", "tied-integers", "numeric"])
def test_same_distribution_false_alarm_rate_is_at_most_alpha(kind: str) -> None:
    """200 A/A runs at 1,000 rows a side; today's sparse chi-square flagged a 500-level column in every one. The
    gate's false-alarm rate must stay within alpha (0.01) plus its Monte Carlo margin (3 sd: 0.031)."""
    rng = np.random.default_rng(21)
    levels = np.array([f"l{i}" for i in range(500)])
    p = np.linspace(1, 3, 500)
    p /= p.sum()
    config = DataValidationConfig()
    alarms = 0
    trials = 200
    for _ in range(trials):
        def draw(n: int) -> dict[str, Any]:
            if kind == "categorical-500":
                return {"x": rng.choice(levels, n, p=p)}
            if kind == "tied-integers":
                return {"x": rng.poisson(2, n)}
            return {"x": rng.normal(size=n)}

        reference, current = profile_and_current(draw(1000), draw(1000))
        checks = {c.name: c.verdict for c in compare(reference, current, config).checks}
        alarms += checks["drift.share"] is Verdict.FAIL
    assert alarms / trials <= 0.01 + 3 * np.sqrt(0.01 * 0.99 / trials)


def test_exact_tests_without_scipy_match_scipy() -> None:
    for k1, n1, k2, n2 in ((0, 50, 4, 60), (3, 1000, 9, 800), (1, 20, 7, 25), (2, 100000, 0, 3000)):
        theirs: Any = sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
        assert stats.fisher_exact(k1, n1, k2, n2) == pytest.approx(theirs.pvalue, rel=1e-9)
    for k, n, m in ((3, 100, 300), (14, 1000, 300), (40, 5000, 2000), (1, 10, 5)):
        assert stats.range_exceedance_pvalue(k, n, m, 2) == pytest.approx(sps.betabinom.sf(k - 1, n, 2, m - 1),
                                                                          rel=1e-6)
        assert stats.range_exceedance_pvalue(k, n, m, 1) == pytest.approx(sps.betabinom.sf(k - 1, n, 1, m),
                                                                          rel=1e-6)


def test_declared_bounds_do_not_shift_the_current_counts_against_the_grid() -> None:
    """The current side is counted at the grid plus the declared min/max; drift must read it at the grid only
    (a large current sample keeps no values, so its counts are all KS, PSI and the histogram see)."""
    rng = np.random.default_rng(21)
    a, b = np.round(rng.normal(size=3000), 2), np.round(rng.normal(0.1, 1, 70000), 2)
    plain = drift_entry({"x": a}, {"x": b})
    declared = DataValidationConfig.model_validate(
        {"schema": {"columns": {"x": {"type": "float", "min": -3.2345, "max": 10.5}}}})
    bounded = drift_entry({"x": a}, {"x": b}, config=declared)
    theirs: Any = sps.ks_2samp(a, b)
    assert bounded["statistic_bounds"] == plain["statistic_bounds"] == [theirs.statistic] * 2
    assert bounded["psi"] == plain["psi"]
