"""`mlcicd data validate` as a library: schema, quality and drift of a current frame against a reference.

`validate_data(reference, current, config)` reads both sides (the reference may be a profile file) and returns a
`Report` of kind "data-validation"; `compare(reference, current, config)` is the pure part on summaries.

Checks (names are stable; a family with no failure is reported once as a PASS, failures once per column):
- `rows.current`, `rows.reference`: an empty frame or fewer than `quality.minRows` rows is INCONCLUSIVE.
- `schema`, `schema.missing:<col>`, `schema.extra:<col>`, `schema.type:<col>`, `schema.nullable:<col>`,
  `schema.reference:<col>`: the current frame against the schema (the reference's, with the declared columns
  added or overriding); a declared column the reference lacks or types differently.
- `quality.missing`, `quality.range`, `quality.allowed`, `quality.constant` (per column when failing) and
  `quality.duplicates`.
- `drift:<col>` for every tested column (the per-column verdict, statistic, adjusted p-value and thresholds) and
  `drift.share`: the share of drifted columns (the drift score) against `drift.maxDriftedShare`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.data import stats
from runtime.data.frame import (
    CategoricalSummary,
    ColumnSummary,
    DataInputError,
    FrameSummary,
    NumericSummary,
    duplicate_rows,
    locate,
    open_frame,
    parallel_map,
    summarize,
    timed,
)
from runtime.data.profile import (
    ReferenceProfile,
    compact,
    load_profile,
    reference_from_summary,
    save_profile,
)
from runtime.progress import progress
from runtime.report import Check, Report, Verdict, failed, inconclusive, passed

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig

KIND = "data-validation"
#: Categories shown per column in the report's details and the HTML histograms (the rest are summed as "(other)").
TOP_CATEGORIES = 20
#: Which observed logical types a declared type accepts (config-declared columns; reference-derived ones must
#: match exactly).
ACCEPTS = {"float": {"float", "int"}, "int": {"int"}, "string": {"string"}, "category": {"string", "bool"},
           "bool": {"bool"}, "datetime": {"datetime"}}


def default_config() -> DataValidationConfig:
    from runtime.config.gates import DataValidationConfig

    return DataValidationConfig()


# --------------------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------------------

def load_reference(path: str | Path, config: DataValidationConfig, timings: dict[str, float]) -> ReferenceProfile:
    """The reference as an in-memory profile: read and summarised from data, or loaded from a profile file."""
    with timed(timings, "reference_s"):
        inp = locate(path)
        if inp.kind == "profile":
            return load_profile(inp)
        return reference_from_summary(summarize(open_frame(inp)), config.drift.bins)


def load_current(path: str | Path, timings: dict[str, float]) -> FrameSummary:
    with timed(timings, "current_s"):
        inp = locate(path)
        if inp.kind == "profile":
            raise DataInputError(f"{path}: is a reference profile; the current data must be Parquet or CSV")
        frame = open_frame(inp)
        summary = summarize(frame)
        summary.duplicates = duplicate_rows(frame, summary)
    return summary


def write_reference_profile(reference: ReferenceProfile, out: str | Path, config: DataValidationConfig) -> int:
    if reference.from_file:
        raise DataInputError(f"{reference.summary.source}: is already a profile; write a profile from the "
                             "reference data (Parquet or CSV)")
    return save_profile(compact(reference, config.drift.profile_quantiles), out)


def validate_data(reference: str | Path, current: str | Path,
                  config: DataValidationConfig | Callable[[], DataValidationConfig] | None = None, *,
                  write_profile: str | Path | None = None) -> Report:
    """Read both sides and compare them. Input problems raise DataInputError (the CLI's exit 2).

    `config` may be a function returning it: it then runs in a background thread while the data is read (the
    stack config's import and validation take 0.2-0.4 s, the reading does not need it), and what it raises
    is raised here.
    """
    timings: dict[str, float] = {}
    # Long on large files: a progress bar on a terminal (runtime.progress), nothing otherwise.
    with progress("data validation: reading the reference", 3, unit="steps") as step:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(config if callable(config) else (lambda: config or default_config()))
            try:
                with timed(timings, "reference_s"):
                    ref_inp = locate(reference)
                    ref = load_profile(ref_inp) if ref_inp.kind == "profile" else None
                    ref_summary = summarize(open_frame(ref_inp)) if ref is None else None
                step(1, "data validation: reading the current data")
                cur = load_current(current, timings)
            finally:
                cfg = pending.result()  # its exception (a bad stack config) wins over the data's
        step(1, "data validation: comparing")
        if ref is None:
            assert ref_summary is not None
            ref = reference_from_summary(ref_summary, cfg.drift.bins)
        size = 0
        if write_profile is not None:
            with timed(timings, "write_profile_s"):
                size = write_reference_profile(ref, write_profile, cfg)
        with timed(timings, "compare_s"):
            report = compare(ref, cur, cfg)
    report.details["timings"] = timings
    if write_profile is not None:
        report.details["profile_written"] = {"path": str(write_profile), "bytes": size}
    return report.finish()


# --------------------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contract:
    """What one column must be (from the reference, or declared in the stack config)."""

    type: str
    declared: bool
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None

    def accepts(self, observed: str) -> bool:
        if self.declared:
            return observed in ACCEPTS.get(self.type, {self.type})
        return observed == self.type


def effective_schema(reference: FrameSummary, config: DataValidationConfig) -> dict[str, Contract]:
    schema = {name: Contract(type=col.dtype, declared=False) for name, col in reference.columns.items()}
    for name, decl in config.schema_.columns.items():
        schema[name] = Contract(type=decl.type, declared=True, nullable=decl.nullable, min=decl.min, max=decl.max,
                                allowed=tuple(decl.allowed) if decl.allowed is not None else None)
    return schema


def _pct(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{100 * x:.3g}%"


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.4g}"


# --------------------------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------------------------

@dataclass
class ColumnResult:
    """Drift evidence for one column, before the multiple-testing correction decides."""

    name: str
    test: str
    statistic: float
    p_value: float
    p_value_at_upper: float
    """p-value at the upper bound of the statistic (equal to p_value unless the reference is a sketch)."""
    effect: float
    effect_upper: float
    psi: float
    method: str
    details: dict[str, Any] = field(default_factory=dict)
    forced_reason: str | None = None
    """A reason that makes the column drift regardless of the test (new categories)."""


def _numeric_drift(name: str, ref: NumericSummary, cur: NumericSummary, ref_bins: Any) -> ColumnResult:
    if ref.exact:
        d, p = stats.ks_2samp_sorted(ref.values, cur.values)
        lo = hi = d
        p_hi = p
        method = ("exact (scipy.stats.ks_2samp)" if max(ref.n, cur.n) <= stats.EXACT_MAX_N
                  else "asymptotic (Kolmogorov distribution, Pelz-Good)")
    else:
        assert ref.counts is not None
        assert ref.ranks is not None
        lo, hi = stats.ks_statistic_bounds(ref.values, ref.counts, ref.ranks, ref.n, cur.values)
        d = lo
        p = stats.ks_pvalue(lo, ref.n, cur.n)
        p_hi = stats.ks_pvalue(hi, ref.n, cur.n)
        method = f"asymptotic on a {len(ref.values)}-point reference sketch (statistic bounds)"
    cur_psi_counts = stats.bin_counts(cur.values, ref_bins.psi_edges)
    psi_value = stats.psi(ref_bins.psi_counts, cur_psi_counts)
    details: dict[str, Any] = {"statistic_bounds": [lo, hi]} if hi != lo or not ref.exact else {}
    details["histogram"] = {
        "edges": ref_bins.hist_edges.tolist(),
        "reference": ref_bins.hist_counts.tolist(),
        "current": stats.histogram_sorted(cur.values, ref_bins.hist_edges).tolist(),
    }
    return ColumnResult(name=name, test="ks", statistic=d, p_value=p, p_value_at_upper=p_hi, effect=lo,
                        effect_upper=hi, psi=psi_value, method=method, details=details)


def _top_categories(categories: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any]:
    order = np.argsort(-(ref_counts + cur_counts), kind="stable")
    shown = order[:TOP_CATEGORIES]
    out = {"categories": [categories[i] for i in shown], "reference": ref_counts[shown].tolist(),
           "current": cur_counts[shown].tolist()}
    if len(order) > TOP_CATEGORIES:
        rest = order[TOP_CATEGORIES:]
        out["categories"].append("(other)")
        out["reference"].append(int(ref_counts[rest].sum()))
        out["current"].append(int(cur_counts[rest].sum()))
    return out


def _categorical_drift(name: str, ref: CategoricalSummary, cur: CategoricalSummary,
                       max_new_rate: float) -> ColumnResult:
    categories = sorted(set(ref.categories) | set(cur.categories))
    index = {c: i for i, c in enumerate(categories)}
    ref_counts = np.zeros(len(categories), dtype=np.int64)
    cur_counts = np.zeros(len(categories), dtype=np.int64)
    ref_counts[[index[c] for c in ref.categories]] = ref.counts
    cur_counts[[index[c] for c in cur.categories]] = cur.counts
    chi = stats.chi_square_homogeneity(ref_counts, cur_counts)
    tvd = stats.total_variation(ref_counts, cur_counts)
    n_cur = max(int(cur_counts.sum()), 1)
    new = {c: int(cur_counts[index[c]]) / n_cur for c in categories
           if ref_counts[index[c]] == 0 and cur_counts[index[c]] > 0}
    new_rate = sum(new.values())
    details: dict[str, Any] = {"df": chi.df, "new_categories": dict(sorted(new.items(), key=lambda kv: -kv[1])[:50]),
                               "new_category_rate": new_rate,
                               "histogram": _top_categories(categories, ref_counts, cur_counts)}
    forced = None
    if new_rate > max_new_rate:
        shown = ", ".join(f"{c!r} {_pct(r)}" for c, r in sorted(new.items(), key=lambda kv: -kv[1])[:5])
        forced = f"new categories in {_pct(new_rate)} of rows (> {_pct(max_new_rate)}): {shown}"
    return ColumnResult(name=name, test="chi-square", statistic=chi.statistic, p_value=chi.p_value,
                        p_value_at_upper=chi.p_value, effect=tvd, effect_upper=tvd,
                        psi=stats.psi(ref_counts, cur_counts), method="Pearson chi-square (2 x K)",
                        details=details, forced_reason=forced)


def _column_facts(col: ColumnSummary | None) -> dict[str, Any]:
    if col is None:
        return {}
    out: dict[str, Any] = {"rows": col.rows, "missing": col.missing,
                           "missing_rate": col.missing / col.rows if col.rows else math.nan}
    if isinstance(col, NumericSummary):
        out.update(n=col.n, min=col.minimum, max=col.maximum, exact=col.exact)
    elif isinstance(col, CategoricalSummary):
        out.update(n=col.n, categories=len(col.categories))
    return out


class _Families:
    """Collects per-column failures of one check family; adds one PASS summary when none failed."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.failures: dict[str, int] = {}

    def fail(self, family: str, column: str, observed: Any, threshold: str, reason: str, *,
             verdict: Verdict = Verdict.FAIL) -> None:
        self.failures[family] = self.failures.get(family, 0) + 1
        self.report.add(Check(f"{family}:{column}", verdict, observed, threshold, reason))

    def summary(self, family: str, observed: Any, threshold: str | None, reason: str) -> None:
        if not self.failures.get(family):
            self.report.add(passed(family, observed, threshold, reason))


def compare(reference: ReferenceProfile, current: FrameSummary, config: DataValidationConfig | None = None) -> Report:
    """All checks of the gate on two summaries (no I/O)."""
    cfg = config or default_config()
    ref = reference.summary
    q, dcfg = cfg.quality, cfg.drift
    report = Report(kind=KIND, subject={"reference": ref.source, "current": current.source})
    fam = _Families(report)
    columns: dict[str, dict[str, Any]] = {}

    # Rows
    if current.rows == 0:
        report.add(inconclusive("rows.current", "the current data has no rows: nothing to validate",
                                observed=0, threshold=f">= {q.min_rows}"))
    elif current.rows < q.min_rows:
        report.add(inconclusive("rows.current", f"{current.rows} rows, fewer than minRows {q.min_rows}: not enough "
                                "evidence", observed=current.rows, threshold=f">= {q.min_rows}"))
    else:
        report.add(passed("rows.current", current.rows, f">= {q.min_rows}", f"{current.rows} rows"))
    if ref.rows < q.min_rows:
        report.add(inconclusive("rows.reference", f"the reference has {ref.rows} rows, fewer than minRows "
                                f"{q.min_rows}: drift cannot be judged", observed=ref.rows,
                                threshold=f">= {q.min_rows}"))
    else:
        report.add(passed("rows.reference", ref.rows, f">= {q.min_rows}", f"{ref.rows} rows"))

    # Schema
    schema = effective_schema(ref, cfg)
    usable: list[str] = []  # in the schema, present in current with an accepted type
    for name, contract in schema.items():
        col = current.columns.get(name)
        if col is None:
            fam.fail("schema.missing", name, None, "present",
                     f"column {name!r} ({contract.type}) is missing from the current data")
            continue
        if not contract.accepts(col.dtype):
            fam.fail("schema.type", name, col.dtype, contract.type,
                     f"column {name!r} is {col.dtype} ({current.arrow_types.get(name, '?')}), expected "
                     f"{contract.type}" + (" (declared in the stack config)" if contract.declared
                                           else " (as in the reference)"))
            continue
        if not contract.nullable and col.missing:
            fam.fail("schema.nullable", name, col.missing, "0 missing",
                     f"column {name!r} is declared non-nullable but has {col.missing} missing values")
        usable.append(name)
        if contract.declared and name in ref.columns and not contract.accepts(ref.columns[name].dtype):
            fam.fail("schema.reference", name, ref.columns[name].dtype, contract.type,
                     f"the reference's column {name!r} is {ref.columns[name].dtype}, the stack config declares "
                     f"{contract.type}: drift is not tested")
        elif contract.declared and name not in ref.columns:
            fam.fail("schema.reference", name, None, "present",
                     f"declared column {name!r} is not in the reference: drift is not tested",
                     verdict=Verdict.INCONCLUSIVE)
    extra = [name for name in current.columns if name not in schema]
    if extra and not cfg.schema_.allow_extra_columns:
        for name in extra:
            fam.fail("schema.extra", name, current.columns[name].dtype, "absent (allowExtraColumns: false)",
                     f"column {name!r} is not in the schema; remove it or set data.schema.allowExtraColumns")
    fam.summary("schema", len(schema), None,
                f"{len(schema)} columns present with the expected types"
                + (f"; extra columns allowed: {', '.join(extra)}" if extra else ""))

    for name in schema:
        columns[name] = {"type": schema[name].type, "declared": schema[name].declared,
                         "reference": _column_facts(ref.columns.get(name)),
                         "current": _column_facts(current.columns.get(name))}

    if current.rows > 0:
        _quality(report, fam, ref, current, schema=schema, usable=usable, cfg=cfg)
        drift_score = _drift(report, reference, current, schema=schema, usable=usable, cfg=cfg, columns=columns)
    else:
        drift_score = None
        report.add(inconclusive("drift.share", "no current rows: drift not tested", threshold=None))

    report.details.update({
        "reference": {"source": ref.source, "rows": ref.rows, "profile": reference.from_file,
                      "profile_exact": reference.exact, "sketch_size": reference.sketch_size},
        "current": {"source": current.source, "rows": current.rows, "duplicates": current.duplicates},
        "drift_score": drift_score,
        "drifted_columns": [n for n, c in columns.items() if c.get("drift", {}).get("drifted")],
        "correction": dcfg.correction, "alpha": dcfg.ks_alpha, "min_effect_size": dcfg.min_effect_size,
        "psi_threshold": dcfg.psi_threshold, "bins": reference.bins,
        "columns": columns,
    })
    return report


def _quality(report: Report, fam: _Families, ref: FrameSummary, current: FrameSummary, *,
             schema: dict[str, Contract], usable: list[str], cfg: DataValidationConfig) -> None:
    q = cfg.quality
    worst_missing = (0.0, "")
    for name in usable:
        col = current.columns[name]
        rate = col.missing / col.rows if col.rows else 0.0
        if rate > worst_missing[0] or not worst_missing[1]:
            worst_missing = (rate, name)
        if rate > q.max_null_rate:
            fam.fail("quality.missing", name, rate, f"<= {q.max_null_rate}",
                     f"column {name!r}: {_pct(rate)} missing (null or NaN), limit {_pct(q.max_null_rate)}")
    fam.summary("quality.missing", worst_missing[0], f"<= {q.max_null_rate}",
                f"every column at most {_pct(q.max_null_rate)} missing (highest: {worst_missing[1] or '-'} "
                f"{_pct(worst_missing[0])})")

    tested_range = 0
    excluded = set(cfg.schema_.exclude_from_drift)
    for name in usable:
        col, contract = current.columns[name], schema[name]
        # The reference's range is a drift-style expectation: ids and timestamps excluded from drift move on.
        ref_col = ref.columns.get(name) if name not in excluded else None
        if isinstance(col, NumericSummary):
            lo = contract.min if contract.min is not None else (
                ref_col.minimum if isinstance(ref_col, NumericSummary) and ref_col.n else None)
            hi = contract.max if contract.max is not None else (
                ref_col.maximum if isinstance(ref_col, NumericSummary) and ref_col.n else None)
            if (lo is None and hi is None) or col.n == 0:
                continue
            tested_range += 1
            below = col.count_below(lo) if lo is not None else 0
            above = col.count_above(hi) if hi is not None else 0
            rate = (below + above) / col.n
            if rate > q.max_out_of_range_rate:
                source = "declared" if (contract.min is not None or contract.max is not None) else "reference"
                fam.fail("quality.range", name, rate, f"<= {q.max_out_of_range_rate}",
                         f"column {name!r}: {_pct(rate)} of values outside the {source} range "
                         f"[{_fmt(lo)}, {_fmt(hi)}] ({below} below, {above} above), limit "
                         f"{_pct(q.max_out_of_range_rate)}")
        elif isinstance(col, CategoricalSummary) and contract.allowed is not None and col.n:
            tested_range += 1
            allowed = set(contract.allowed)
            outside = {c: int(n) for c, n in zip(col.categories, col.counts.tolist(), strict=True) if c not in allowed}
            rate = sum(outside.values()) / col.n
            if rate > q.max_out_of_range_rate:
                shown = ", ".join(repr(c) for c in sorted(outside, key=lambda c: -outside[c])[:5])
                fam.fail("quality.allowed", name, rate, f"<= {q.max_out_of_range_rate}",
                         f"column {name!r}: {_pct(rate)} of values outside the allowed categories ({shown})")
    fam.summary("quality.range", tested_range, f"<= {q.max_out_of_range_rate}",
                f"{tested_range} columns within their ranges (limit {_pct(q.max_out_of_range_rate)} outside)")
    if any(schema[n].allowed is not None for n in usable):
        fam.summary("quality.allowed", None, f"<= {q.max_out_of_range_rate}", "categories within the allowed sets")

    if q.fail_on_constant_columns:
        both_constant = []
        for name in usable:
            col = current.columns[name]
            if not isinstance(col, NumericSummary | CategoricalSummary) or not col.is_constant:
                continue
            ref_col = ref.columns.get(name)
            if isinstance(ref_col, NumericSummary | CategoricalSummary) and ref_col.is_constant:
                both_constant.append(name)
                continue
            fam.fail("quality.constant", name, 1, "more than one value",
                     f"column {name!r} holds a single value in the current data (not in the reference)")
        fam.summary("quality.constant", 0, "more than one value",
                    "no column collapsed to a single value"
                    + (f" (constant in the reference too: {', '.join(both_constant)})" if both_constant else ""))

    if current.duplicates is not None:
        rate = current.duplicates / current.rows
        check = passed if rate <= q.max_duplicate_rate else failed
        report.add(check("quality.duplicates", rate, f"<= {q.max_duplicate_rate}",
                         f"{current.duplicates} duplicate rows ({_pct(rate)}), limit {_pct(q.max_duplicate_rate)}"))


def _drift(report: Report, reference: ReferenceProfile, current: FrameSummary, *, schema: dict[str, Contract],
           usable: list[str], cfg: DataValidationConfig, columns: dict[str, dict[str, Any]]) -> float | None:
    ref = reference.summary
    d = cfg.drift
    excluded = set(cfg.schema_.exclude_from_drift)
    jobs: list[tuple[str, ColumnSummary, ColumnSummary]] = []
    for name in usable:
        ref_col, cur_col = ref.columns.get(name), current.columns[name]
        if name in excluded or ref_col is None or not schema[name].accepts(ref_col.dtype):
            continue
        if ref_col.kind != cur_col.kind or ref_col.kind == "other":
            continue
        if ref_col.n == 0 or cur_col.n == 0:
            side = "reference" if ref_col.n == 0 else "current"
            report.add(inconclusive(f"drift:{name}", f"no non-missing values in the {side} data"))
            columns[name]["drift"] = {"verdict": "INCONCLUSIVE", "drifted": None}
            continue
        jobs.append((name, ref_col, cur_col))

    def run(job: tuple[str, ColumnSummary, ColumnSummary]) -> ColumnResult:
        name, r, c = job
        if isinstance(r, NumericSummary) and isinstance(c, NumericSummary):
            return _numeric_drift(name, r, c, reference.binnings[name])
        assert isinstance(r, CategoricalSummary)
        assert isinstance(c, CategoricalSummary)
        return _categorical_drift(name, r, c, d.max_new_category_rate)

    results = parallel_map(run, jobs)
    if not results:
        report.add(inconclusive("drift.share", "no column could be tested for drift (all excluded, missing or "
                                "of other types)", threshold=f"<= {d.max_drifted_share}"))
        return None

    adj_lo = stats.adjust_pvalues([r.p_value for r in results], d.correction)
    adj_hi = stats.adjust_pvalues([r.p_value_at_upper for r in results], d.correction)

    def drifted(p_adj: float, effect: float, r: ColumnResult) -> bool:
        significant = p_adj < d.ks_alpha and effect >= d.min_effect_size
        return significant or r.psi >= d.psi_threshold or r.forced_reason is not None

    decisions: list[bool | None] = []
    for r, p_lo, p_hi in zip(results, adj_lo, adj_hi, strict=True):
        low, high = drifted(p_lo, r.effect, r), drifted(p_hi, r.effect_upper, r)
        decisions.append(low if low == high else None)
    drifted_n = sum(1 for x in decisions if x)
    share = drifted_n / len(results)
    allowed = share <= d.max_drifted_share
    threshold = (f"p_adj < {d.ks_alpha:g} and effect >= {d.min_effect_size:g}, or PSI >= {d.psi_threshold:g}")

    for r, p_adj, decision in zip(results, adj_lo, decisions, strict=True):
        effect_name = "D" if r.test == "ks" else "TVD"
        stat = (f"KS D={r.statistic:.4g}" if r.test == "ks" else
                f"chi2={r.statistic:.4g} (df {r.details['df']}), TVD={r.effect:.4g}")
        if r.effect_upper != r.effect:
            stat += f" (D within [{r.effect:.4g}, {r.effect_upper:.4g}] from the profile sketch)"
        evidence = f"{stat}, p_adj={p_adj:.3g}, PSI={r.psi:.3g}"
        if decision is None:
            verdict, reason = Verdict.INCONCLUSIVE, (f"{evidence}: the profile sketch cannot decide (the verdict "
                                                     "differs between the statistic's bounds); validate against "
                                                     "the reference data")
        elif decision:
            why = []
            if p_adj < d.ks_alpha and r.effect >= d.min_effect_size:
                why.append(f"p_adj < {d.ks_alpha:g} and {effect_name} >= {d.min_effect_size:g}")
            if r.psi >= d.psi_threshold:
                why.append(f"PSI >= {d.psi_threshold:g}")
            if r.forced_reason:
                why.append(r.forced_reason)
            reason = f"drifted: {evidence} ({'; '.join(why)})"
            verdict = Verdict.FAIL if not allowed else Verdict.PASS
            if allowed:
                reason += f"; tolerated: drift share {share:.3g} <= maxDriftedShare {d.max_drifted_share:g}"
        else:
            verdict, reason = Verdict.PASS, f"no drift: {evidence}"
            if p_adj < d.ks_alpha:
                reason += f" (significant but {effect_name} < minEffectSize {d.min_effect_size:g})"
        report.add(Check(f"drift:{r.name}", verdict, r.statistic, threshold, reason))
        entry = {"test": r.test, "method": r.method, "statistic": r.statistic, "p_value": r.p_value,
                 "p_value_adjusted": p_adj, "effect_size": r.effect, "psi": r.psi, "alpha": d.ks_alpha,
                 "min_effect_size": d.min_effect_size, "psi_threshold": d.psi_threshold,
                 "drifted": decision, "verdict": verdict.value, "reason": reason}
        histogram = r.details.pop("histogram", None)
        entry.update(r.details)
        columns[r.name]["drift"] = entry
        if histogram is not None:
            columns[r.name]["histogram"] = histogram

    names = [r.name for r, x in zip(results, decisions, strict=True) if x]
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    undecided = sum(1 for x in decisions if x is None)
    reason = (f"{drifted_n} of {len(results)} tested columns drifted ({share:.3g})" + (f": {listed}" if names else "")
              + f"; {d.correction} correction at alpha {d.ks_alpha:g}")
    if not allowed:
        verdict = Verdict.FAIL
    elif (drifted_n + undecided) / len(results) > d.max_drifted_share:
        verdict = Verdict.INCONCLUSIVE  # the undecided columns could push the share over the limit
        reason += f"; {undecided} undecided column(s) could exceed maxDriftedShare {d.max_drifted_share:g}"
    else:
        verdict = Verdict.PASS
    report.add(Check("drift.share", verdict, share, f"<= {d.max_drifted_share}", reason))
    return share
