"""Drift: one family of hypothesis tests over the columns, every rule under the multiplicity correction.

Per tested column, up to two hypotheses:
- its distribution: KS on the non-missing values of a numeric column (statistic bounds from the grid), chi-square
  on a categorical column's cells with rare categories pooled (valid for sparse, high-cardinality columns);
- its missing share, when either side has missing values (two proportions; Fisher's exact test when sparse).
All p-values are adjusted together (Benjamini-Hochberg or Bonferroni). A hypothesis is rejected when its adjusted
p-value is below alpha *and* an effect floor is reached: the KS distance or total variation >= minEffectSize, or
PSI >= psiThreshold, or (categorical) new categories in more than maxNewCategoryRate of the rows; for the missing
share, a change >= minEffectSize. So PSI and new categories no longer decide on their own, and huge samples do not
flag trivial shifts.

A column that no hypothesis rejects PASSes only if its distribution test had the configured power to detect the
configured `detectableEffect`; otherwise it is INCONCLUSIVE and says how many current rows would be needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.data import ks, stats
from runtime.data.profile import Grid
from runtime.data.summary import CategoricalSummary, NumericSummary
from runtime.report import Check, Report, Verdict

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig, DriftConfig

#: Categories listed in the report's histogram (the rest are summed as "(other)").
TOP_CATEGORIES = 20


@dataclass
class Evidence:
    """One column's test results before the correction decides."""

    name: str
    test: str
    statistic: float
    bounds: tuple[float, float]
    """Effect size (KS D or TVD) bounds; equal when exact."""
    p_bounds: tuple[float, float]
    """p-value at the lower and at the upper statistic bound."""
    psi: float
    n_ref: int
    n_cur: int
    df: int = 1
    new_rate: float = 0.0
    null_p: float | None = None
    null_change: float = 0.0
    method: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _at_grid(col: NumericSummary, grid: Grid) -> NumericSummary:
    """`col` with its counts at the grid's probes only: the current side is counted at the grid plus the column's
    declared bounds (`plan_for`), whose extra points must not shift its counts against the reference's."""
    probes = col.plan.probes
    assert col.below is not None
    assert col.at_or_below is not None
    if probes is None or probes.size == grid.probes.size:
        return col
    at = np.searchsorted(probes, grid.probes)
    return replace(col, below=col.below[at], at_or_below=col.at_or_below[at],
                   plan=replace(col.plan, probes=grid.probes))


def _psi_counts(col: NumericSummary, grid: Grid) -> np.ndarray:
    assert col.at_or_below is not None
    at = col.at_or_below[np.searchsorted(grid.probes, grid.psi_edges)]
    return np.diff(np.concatenate(([0], at, [col.n])))


def _histogram(col: NumericSummary, grid: Grid) -> list[int]:
    assert col.below is not None
    below = col.below[np.searchsorted(grid.probes, grid.hist_edges[1:-1])]
    return np.diff(np.concatenate(([0], below, [col.n]))).tolist()


def _side(col: NumericSummary, exact: bool) -> ks.Side:
    assert col.below is not None
    assert col.at_or_below is not None
    return ks.Side(n=col.n, below=col.below, at_or_below=col.at_or_below, exact=exact)


def numeric_evidence(name: str, ref: NumericSummary, cur: NumericSummary, grid: Grid) -> Evidence:
    cur = _at_grid(cur, grid)
    lo, hi = ks.ks_bounds(grid.probes, _side(ref, grid.exact), _side(cur, False),
                          cur.values if cur.complete else None)
    exact = lo == hi
    (lo, p_lo), (hi, p_hi) = ks.ks_test(lo, ref.n, cur.n), ks.ks_test(hi, ref.n, cur.n)
    method = ("exact (scipy.stats.ks_2samp, exact p-value)" if max(ref.n, cur.n) <= ks.EXACT_MAX_N
              else "Kolmogorov distribution (Pelz-Good)") + (
        "" if exact else f"; D from counts at {grid.probes.size} grid points, within [{lo:.3g}, {hi:.3g}]")
    hist = {"edges": grid.hist_edges.tolist(), "reference": _histogram(ref, grid), "current": _histogram(cur, grid)}
    return Evidence(name=name, test="ks", statistic=lo, bounds=(lo, hi), p_bounds=(p_lo, p_hi),
                    psi=stats.psi(_psi_counts(ref, grid), _psi_counts(cur, grid)), n_ref=ref.n, n_cur=cur.n,
                    method=method, details={"statistic_bounds": [lo, hi], "histogram": hist})


def _aligned(ref: CategoricalSummary, cur: CategoricalSummary) -> tuple[list[str], np.ndarray, np.ndarray]:
    names = sorted(set(ref.counts) | set(cur.counts))
    return (names, np.array([ref.counts.get(c, 0) for c in names], dtype=np.int64),
            np.array([cur.counts.get(c, 0) for c in names], dtype=np.int64))


def _top(names: list[str], r: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    order = np.argsort(-(r + c), kind="stable")
    shown, rest = order[:TOP_CATEGORIES], order[TOP_CATEGORIES:]
    out = {"categories": [names[i] for i in shown], "reference": r[shown].tolist(), "current": c[shown].tolist()}
    if rest.size:
        out["categories"].append("(other)")
        out["reference"].append(int(r[rest].sum()))
        out["current"].append(int(c[rest].sum()))
    return out


def categorical_evidence(name: str, ref: CategoricalSummary, cur: CategoricalSummary) -> Evidence:
    names, r, c = _aligned(ref, cur)
    mr, mc = stats.merge_cells(r, c)
    chi = stats.chi_square_homogeneity(mr, mc)
    tvd = stats.total_variation(mr, mc)
    new = {names[i]: int(c[i]) / max(cur.n, 1) for i in np.flatnonzero((r == 0) & (c > 0))}
    top_new = dict(sorted(new.items(), key=lambda kv: -kv[1])[:50])
    return Evidence(name=name, test="chi-square", statistic=chi.statistic, bounds=(tvd, tvd),
                    p_bounds=(chi.p_value, chi.p_value), psi=stats.psi(mr, mc), n_ref=ref.n, n_cur=cur.n,
                    df=max(chi.df, 1), new_rate=sum(new.values()),
                    method=f"Pearson chi-square on {mr.size} cells ({len(names)} categories, rare ones pooled to "
                           f"expect >= {stats.MIN_EXPECTED:g} rows a side)",
                    details={"df": chi.df, "cells": int(mr.size), "new_categories": top_new,
                             "new_category_rate": sum(new.values()), "histogram": _top(names, r, c)})


def add_null_rate(ev: Evidence, ref_missing: int, ref_rows: int, cur_missing: int, cur_rows: int) -> None:
    """The missing-share hypothesis, when either side has missing values."""
    if ref_missing + cur_missing == 0 or ref_rows == 0 or cur_rows == 0:
        return
    ev.null_p = stats.two_proportions(ref_missing, ref_rows, cur_missing, cur_rows)
    ev.null_change = cur_missing / cur_rows - ref_missing / ref_rows


# --------------------------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------------------------

@dataclass
class Decision:
    evidence: Evidence
    drifted: bool | None
    """True drifted, False not, None undecided (grid bounds straddle the rule, or too little data)."""
    p_adjusted: float
    null_p_adjusted: float | None
    reasons: list[str]
    needed: int | None = None
    """Current rows needed for the configured power (set when the column is INCONCLUSIVE for lack of data)."""
    power_limited: bool = False


def _rejects(p_adj: float, effect: float, ev: Evidence, d: DriftConfig, alpha: float) -> bool:
    big = effect >= d.min_effect_size or ev.psi >= d.psi_threshold or ev.new_rate > d.max_new_category_rate
    return p_adj < alpha and big


def _why(ev: Evidence, d: DriftConfig, alpha: float) -> str:
    effect = "D" if ev.test == "ks" else "TVD"
    parts = []
    if ev.bounds[0] >= d.min_effect_size:
        parts.append(f"{effect} >= {d.min_effect_size:g}")
    if ev.psi >= d.psi_threshold:
        parts.append(f"PSI >= {d.psi_threshold:g}")
    if ev.new_rate > d.max_new_category_rate:
        parts.append(f"new categories in {100 * ev.new_rate:.3g}% of rows > {100 * d.max_new_category_rate:g}%")
    return f"p_adj < {alpha:.3g} and " + " or ".join(parts)


def needed_rows(ev: Evidence, d: DriftConfig, alpha: float) -> int | None:
    """`alpha`: the level of one test (the family's alpha over its number of tests: Bonferroni, conservative)."""
    if ev.test == "none":
        return None
    if ev.test == "ks":
        return stats.ks_needed(d.detectable_effect, alpha, d.power, ev.n_ref)
    return stats.chi2_needed(d.detectable_effect, ev.df, alpha, d.power, ev.n_ref)


def hypotheses(evidence: list[Evidence]) -> int:
    return len(evidence) + sum(1 for e in evidence if e.null_p is not None)


def decide(evidence: list[Evidence], d: DriftConfig, alpha: float) -> list[Decision]:
    """Adjust every hypothesis's p-value together and decide each column at the family's `alpha`."""
    nulls = [e for e in evidence if e.null_p is not None]
    tests = len(evidence) + len(nulls)
    null_ps = [e.null_p for e in nulls if e.null_p is not None]
    lo = stats.adjust_pvalues([e.p_bounds[0] for e in evidence] + null_ps, d.correction)
    hi = stats.adjust_pvalues([e.p_bounds[1] for e in evidence] + null_ps, d.correction)
    null_adj = dict(zip([e.name for e in nulls], lo[len(evidence):], strict=True))
    out = []
    for ev, p_lo, p_hi in zip(evidence, lo[:len(evidence)], hi[:len(evidence)], strict=True):
        at_lo, at_hi = _rejects(p_lo, ev.bounds[0], ev, d, alpha), _rejects(p_hi, ev.bounds[1], ev, d, alpha)
        reasons = [_why(ev, d, alpha)] if at_lo else []
        null_p = null_adj.get(ev.name)
        null_drift = null_p is not None and null_p < alpha and abs(ev.null_change) >= d.min_effect_size
        if null_drift:
            reasons.append(f"missing share changed by {100 * ev.null_change:+.3g} points (p_adj {null_p:.3g})")
        decision = Decision(ev, True if (at_lo or null_drift) else None if at_hi else False, p_lo, null_p, reasons)
        if decision.drifted is False:
            decision.needed = needed_rows(ev, d, alpha / max(tests, 1))
            if decision.needed is None or ev.n_cur < decision.needed:
                decision.drifted, decision.power_limited = None, True
        out.append(decision)
    return out


def report_column(report: Report, x: Decision, cfg: DataValidationConfig,
                  columns: dict[str, dict[str, Any]], *, tolerated: bool, alpha: float) -> None:
    """The `drift:<col>` check and the column's `drift` entry in the report's details."""
    ev, d = x.evidence, cfg.drift
    lo, hi = ev.bounds
    stat = ("KS D=" + (f"{lo:.4g}" if lo == hi else f"[{lo:.4g}, {hi:.4g}]") if ev.test == "ks" else
            f"chi2={ev.statistic:.4g} (df {ev.df}), TVD={lo:.4g}" if ev.test == "chi-square" else ev.method)
    evidence = f"{stat}, p_adj={x.p_adjusted:.3g}, PSI={ev.psi:.3g}"
    if ev.null_p is not None:
        evidence += f", missing share {100 * ev.null_change:+.3g} points (p_adj {x.null_p_adjusted:.3g})"
    threshold = (f"p_adj < {alpha:.3g} and (effect >= {d.min_effect_size:g} or PSI >= {d.psi_threshold:g})"
                 f"; power {d.power:g} at effect {d.detectable_effect:g}")
    if x.drifted:
        verdict = Verdict.PASS if tolerated else Verdict.FAIL
        reason = f"drifted: {evidence} ({'; '.join(x.reasons)})" + (
            f"; tolerated: drift share within maxDriftedShare {d.max_drifted_share:g}" if tolerated else "")
    elif x.drifted is None and x.power_limited:
        verdict = Verdict.INCONCLUSIVE
        need = (f"needs about {x.needed:,} current rows" if x.needed is not None
                else f"the reference's {ev.n_ref} rows are too few for any current size")
        reason = (f"no drift detected ({evidence}), but {ev.n_cur} rows cannot rule out an effect of "
                  f"{d.detectable_effect:g} with power {d.power:g}: {need}")
    elif x.drifted is None:
        verdict = Verdict.INCONCLUSIVE
        reason = (f"{evidence}: the grid's bounds on D straddle the decision; validate against a profile with the "
                  "reference's data or more rows")
    else:
        verdict, reason = Verdict.PASS, f"no drift: {evidence}"
        if x.p_adjusted < alpha:
            reason += f" (significant but effect < minEffectSize {d.min_effect_size:g})"
    report.add(Check(f"drift:{ev.name}", verdict, None if ev.test == "none" else ev.statistic, threshold, reason))
    entry = {"test": ev.test, "method": ev.method, "statistic": ev.statistic, "p_value": ev.p_bounds[0],
             "p_value_adjusted": x.p_adjusted, "effect_size": lo, "psi": ev.psi, "alpha": alpha,
             "min_effect_size": d.min_effect_size, "psi_threshold": d.psi_threshold, "drifted": x.drifted,
             "verdict": verdict.value, "reason": reason, "rows_needed": x.needed,
             "null_rate_change": ev.null_change, "null_p_value": ev.null_p,
             "null_p_value_adjusted": x.null_p_adjusted}
    details = dict(ev.details)
    histogram = details.pop("histogram", None)
    entry.update(details)
    columns[ev.name]["drift"] = entry
    if histogram is not None:
        columns[ev.name]["histogram"] = histogram
