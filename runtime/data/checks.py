"""Row counts, schema and quality checks of the current summary against the reference's and the stack config.

Check names are stable; a family with no failure is reported once as a PASS, failures once per column.
Limits that compare with the reference account for the reference's own sampling error: the missing share may
exceed the reference's by `maxNullRate` (beyond what the two sample sizes explain), and a range taken from the
reference fails only when more values fall outside it than a reference of its size leaves uncovered by chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.data import stats
from runtime.data.summary import CategoricalSummary, ColumnSummary, FrameSummary, NumericSummary
from runtime.report import Check, Report, Verdict, inconclusive, passed

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig

#: Which observed logical types a declared type accepts (reference-derived contracts must match exactly).
ACCEPTS = {"float": {"float", "int"}, "int": {"int"}, "string": {"string"}, "category": {"string", "bool"},
           "bool": {"bool"}, "datetime": {"datetime"}}


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.3g}%"


def fmt(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


@dataclass(frozen=True)
class Contract:
    """What one column must be (from the reference, or declared in the stack config)."""

    type: str
    declared: bool
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    optional: bool = False
    """The target column: may be absent from the current data."""

    def accepts(self, observed: str) -> bool:
        return observed in ACCEPTS.get(self.type, {self.type}) if self.declared else observed == self.type


def effective_schema(reference: FrameSummary, config: DataValidationConfig) -> dict[str, Contract]:
    target = config.schema_.target_column
    schema = {name: Contract(type=col.dtype, declared=False, optional=name == target)
              for name, col in reference.columns.items()}
    for name, decl in config.schema_.columns.items():
        schema[name] = Contract(type=decl.type, declared=True, nullable=decl.nullable, min=decl.min, max=decl.max,
                                allowed=tuple(decl.allowed) if decl.allowed is not None else None,
                                optional=name == target)
    return schema


class Families:
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


def check_rows(report: Report, ref: FrameSummary, cur: FrameSummary, min_rows: int) -> None:
    for side, rows in (("current", cur.rows), ("reference", ref.rows)):
        if rows == 0 or rows < min_rows:
            what = "no rows: nothing to validate" if rows == 0 else f"{rows} rows, fewer than minRows {min_rows}"
            report.add(inconclusive(f"rows.{side}", f"the {side} data has {what}: not enough evidence",
                                    observed=rows, threshold=f">= {min_rows}"))
        else:
            report.add(passed(f"rows.{side}", rows, f">= {min_rows}", f"{rows} rows"))


def check_schema(fam: Families, ref: FrameSummary, cur: FrameSummary, schema: dict[str, Contract],
                 config: DataValidationConfig) -> list[str]:
    """Schema checks; returns the columns present in the current data with an accepted type."""
    usable, absent_target = [], []
    for name, contract in schema.items():
        col = cur.columns.get(name)
        if col is None:
            if contract.optional:
                absent_target.append(name)
            else:
                fam.fail("schema.missing", name, None, "present",
                         f"column {name!r} ({contract.type}) is missing from the current data")
            continue
        if not contract.accepts(col.dtype):
            source = " (declared in the stack config)" if contract.declared else " (as in the reference)"
            fam.fail("schema.type", name, col.dtype, contract.type, f"column {name!r} is {col.dtype} "
                     f"({cur.arrow_types.get(name, '?')}), expected {contract.type}{source}")
            continue
        if not contract.nullable and col.missing:
            fam.fail("schema.nullable", name, col.missing, "0 missing",
                     f"column {name!r} is declared non-nullable but has {col.missing} missing values")
        usable.append(name)
        ref_col = ref.columns.get(name)
        if contract.declared and ref_col is not None and not contract.accepts(ref_col.dtype):
            fam.fail("schema.reference", name, ref_col.dtype, contract.type,
                     f"the reference's column {name!r} is {ref_col.dtype}, the stack config declares "
                     f"{contract.type}: drift is not tested")
        elif contract.declared and ref_col is None:
            fam.fail("schema.reference", name, None, "present",
                     f"declared column {name!r} is not in the reference: drift is not tested",
                     verdict=Verdict.INCONCLUSIVE)
    extra = [name for name in cur.columns if name not in schema]
    if extra and not config.schema_.allow_extra_columns:
        for name in extra:
            fam.fail("schema.extra", name, cur.columns[name].dtype, "absent (allowExtraColumns: false)",
                     f"column {name!r} is not in the schema; remove it or set data.schema.allowExtraColumns")
    notes = [f"extra columns allowed: {', '.join(extra)}"] if extra else []
    notes += [f"target column {n!r} absent (label-free data)" for n in absent_target]
    fam.summary("schema", len(schema), None, f"{len(schema)} columns present with the expected types"
                + "".join(f"; {n}" for n in notes))
    return usable


def check_missing(fam: Families, ref: FrameSummary, cur: FrameSummary, usable: list[str],
                  *, config: DataValidationConfig, alpha: float) -> None:
    """`alpha`: the level of each column's test (the gate's alpha shared among all its tests)."""
    limit = config.quality.max_null_rate
    worst = (0.0, "")
    for name in usable:
        col, ref_col = cur.columns[name], ref.columns.get(name)
        if col.rows == 0:
            continue
        rate = col.missing / col.rows
        ref_k, ref_n = (ref_col.missing, ref_col.rows) if ref_col is not None and ref_col.rows else (0, 1)
        allowed = ref_k / ref_n + limit
        if rate - allowed > worst[0] or not worst[1]:
            worst = (rate - allowed, name)
        if rate > allowed and stats.excess_pvalue(col.missing, col.rows, limit, ref_k, ref_n) < alpha:
            fam.fail("quality.missing", name, rate, f"<= reference {pct(ref_k / ref_n)} + {pct(limit)}",
                     f"column {name!r}: {pct(rate)} missing (null or NaN), the reference {pct(ref_k / ref_n)}: "
                     f"more than {pct(limit)} above it beyond sampling error")
    fam.summary("quality.missing", worst[0], f"<= reference share + {limit}",
                f"every column's missing share within {pct(limit)} of the reference's (closest: "
                f"{worst[1] or '-'})")


def _count_outside(col: NumericSummary, lo: float | None, hi: float | None) -> tuple[int, int]:
    probes = col.plan.probes
    assert probes is not None
    assert col.below is not None
    assert col.at_or_below is not None
    below = above = 0
    if lo is not None:
        below = int(col.below[np.searchsorted(probes, lo)])
    if hi is not None:
        above = col.n - int(col.at_or_below[np.searchsorted(probes, hi)])
    return below, above


def check_ranges(fam: Families, ref: FrameSummary, cur: FrameSummary, schema: dict[str, Contract], *,
                 usable: list[str], config: DataValidationConfig, alpha: float) -> None:
    limit = config.quality.max_out_of_range_rate
    excluded = set(config.schema_.exclude_from_drift)
    tested = [n for n in usable if isinstance(cur.columns[n], NumericSummary) and cur.columns[n].n]
    for name in tested:
        col, contract = cur.columns[name], schema[name]
        assert isinstance(col, NumericSummary)
        ref_col = ref.columns.get(name) if name not in excluded else None
        ref_ok = isinstance(ref_col, NumericSummary) and ref_col.n > 0
        lo = contract.min if contract.min is not None else (ref_col.minimum if ref_ok else None)  # type: ignore[union-attr]
        hi = contract.max if contract.max is not None else (ref_col.maximum if ref_ok else None)  # type: ignore[union-attr]
        if lo is None and hi is None:
            continue
        below, above = _count_outside(col, lo, hi)
        rate = (below + above) / col.n
        if rate <= limit:
            continue
        declared = (below if contract.min is not None else 0) + (above if contract.max is not None else 0)
        from_ref = below + above - declared
        ends = (contract.min is None and lo is not None) + (contract.max is None and hi is not None)
        n_ref = ref_col.n if ref_ok else 0  # type: ignore[union-attr]
        significant = declared / col.n > limit or stats.range_exceedance_pvalue(from_ref, col.n, n_ref, ends) < alpha
        if significant:
            source = "declared" if ends == 0 else "reference" if declared == 0 else "declared/reference"
            fam.fail("quality.range", name, rate, f"<= {limit}",
                     f"column {name!r}: {pct(rate)} of values outside the {source} range [{fmt(lo)}, {fmt(hi)}] "
                     f"({below} below, {above} above), limit {pct(limit)}"
                     + (f", more than {n_ref} reference rows leave uncovered by chance" if ends else ""))
    fam.summary("quality.range", len(tested), f"<= {limit}",
                f"{len(tested)} columns within their ranges (limit {pct(limit)} outside, allowing for the "
                "reference's size)")


def check_allowed(fam: Families, cur: FrameSummary, schema: dict[str, Contract], usable: list[str],
                  limit: float) -> None:
    declared = [n for n in usable if schema[n].allowed is not None and isinstance(cur.columns[n], CategoricalSummary)]
    for name in declared:
        col = cur.columns[name]
        assert isinstance(col, CategoricalSummary)
        allowed = set(schema[name].allowed or ())
        outside = {c: k for c, k in col.counts.items() if c not in allowed}
        rate = sum(outside.values()) / col.n if col.n else 0.0
        if rate > limit:
            shown = ", ".join(repr(c) for c in sorted(outside, key=lambda c: -outside[c])[:5])
            fam.fail("quality.allowed", name, rate, f"<= {limit}",
                     f"column {name!r}: {pct(rate)} of values outside the allowed categories ({shown})")
    if declared:
        fam.summary("quality.allowed", None, f"<= {limit}", "categories within the allowed sets")


def _constant(col: ColumnSummary | None) -> bool:
    if isinstance(col, NumericSummary):
        return col.n >= 2 and col.minimum == col.maximum
    if isinstance(col, CategoricalSummary):
        return col.n >= 2 and sum(1 for k in col.counts.values() if k) == 1
    return False


def check_constant(fam: Families, ref: FrameSummary, cur: FrameSummary, usable: list[str]) -> None:
    both = []
    for name in usable:
        if not _constant(cur.columns[name]):
            continue
        if _constant(ref.columns.get(name)):
            both.append(name)
            continue
        fam.fail("quality.constant", name, 1, "more than one value",
                 f"column {name!r} holds a single value in the current data (not in the reference)")
    fam.summary("quality.constant", 0, "more than one value", "no column collapsed to a single value"
                + (f" (constant in the reference too: {', '.join(both)})" if both else ""))


def check_duplicates(report: Report, cur: FrameSummary, limit: float) -> None:
    if cur.duplicates is None or cur.rows == 0:
        return
    est, lo, hi = cur.duplicates
    rate = est / cur.rows
    exact = lo == hi
    shown = f"{est} duplicate rows ({pct(rate)})" if exact else (
        f"about {est} duplicate rows ({pct(rate)}, between {lo} and {hi}: counted from {cur.rows} rows by "
        "distinct row hashes)")
    verdict = Verdict.FAIL if lo / cur.rows > limit else Verdict.PASS if hi / cur.rows <= limit \
        else Verdict.INCONCLUSIVE
    report.add(Check("quality.duplicates", verdict, rate, f"<= {limit}", f"{shown}, limit {pct(limit)}"))
