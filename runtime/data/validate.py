"""`mlcicd data validate` as a library: schema, quality and drift of a current frame against a reference.

`validate_data(reference, current, config)` summarises both sides with an engine (`local`: streaming on this
machine; `spark`: the same summaries as Spark tasks) and returns a `Report` of kind "data-validation";
`compare(reference, current, config)` is the pure part on summaries, shared by every engine.

Checks: `rows.current`, `rows.reference`; `schema[.missing|.extra|.type|.nullable|.reference:<col>]`;
`quality.missing`, `quality.range`, `quality.allowed`, `quality.constant`, `quality.duplicates`; `drift:<col>` per
tested column and `drift.share` (see runtime.data.checks and runtime.data.drift).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runtime.data import checks, drift
from runtime.data.profile import ReferenceProfile, column_plan, load_profile, save_profile
from runtime.data.sources import DataInputError, locate
from runtime.data.summary import CategoricalSummary, ColumnPlan, ColumnSummary, FrameSummary, NumericSummary
from runtime.progress import progress
from runtime.report import Check, Report, Verdict, inconclusive

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig
    from runtime.config.stack import StackConfig

KIND = "data-validation"
DEFAULT_BINS = 10
#: What the report says about the gate's error rates (measured by `python -m benchmarks.decisions_drift`).
DESIGN = ("same-distribution false alarms at most alpha over the whole gate, measured in docs/data-validation.md "
          "(operating characteristics)")


class Engine(Protocol):
    """Computes summaries: the reference's profile from data, and the current side's summary on its grid."""

    def reference(self, path: str, bins: int) -> ReferenceProfile: ...

    def current(self, path: str, plans: dict[str, ColumnPlan]) -> FrameSummary: ...


def engine_named(name: str) -> Engine:
    if name == "spark":
        from runtime.data.spark import SparkEngine

        return SparkEngine()
    if name == "local":
        from runtime.data.local import LocalEngine

        return LocalEngine()
    raise DataInputError(f"unknown engine {name!r}; use local or spark")


def default_config() -> DataValidationConfig:
    from runtime.config.gates import DataValidationConfig

    return DataValidationConfig()


def data_config(stack: StackConfig) -> DataValidationConfig:
    """The stack's data section, with the target column taken from the model gate's evaluation data when unset."""
    cfg = stack.data
    evaluation = stack.gates.evaluation
    if cfg.schema_.target_column is None and evaluation is not None:
        schema = cfg.schema_.model_copy(update={"target_column": evaluation.target_column})
        cfg = cfg.model_copy(update={"schema_": schema})
    return cfg


# --------------------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------------------

def load_reference(path: str | Path, config: DataValidationConfig, engine: Engine | None = None) -> ReferenceProfile:
    """The reference as a profile: loaded from a profile file, or computed from data."""
    text, kind = locate(path)
    if kind == "profile":
        return load_profile(text)
    return (engine or engine_named("local")).reference(text, config.drift.bins)


def current_plans(reference: ReferenceProfile, config: DataValidationConfig) -> dict[str, ColumnPlan]:
    """Where the current side is counted: the reference's grids, plus the declared bounds of each column."""
    names = set(reference.grids) | set(config.schema_.columns)
    plans = {name: column_plan(name, reference.grids.get(name), config) for name in names}
    return {name: plan for name, plan in plans.items() if plan is not None}


def write_reference_profile(reference: ReferenceProfile, out: str | Path, model: tuple[str, str] | None = None) -> int:
    """Save the profile of reference data (not of a profile), labelled with (model name, version) when given."""
    if reference.from_file:
        raise DataInputError(f"{reference.summary.source}: is already a profile; write a profile from the "
                             "reference data (Parquet or CSV)")
    return save_profile(reference, out, model)


def validate_data(reference: str | Path, current: str | Path,
                  config: DataValidationConfig | Callable[[], DataValidationConfig] | None = None, *,
                  write_profile: str | Path | None = None, engine: str | None = None) -> Report:
    """Summarise both sides and compare them. Input problems raise DataInputError (the CLI's exit 2).

    `config` may be a function returning it: it then runs in a background thread while the data is read (the
    stack config's import and validation take 0.2-0.4 s), and what it raises is raised here."""
    import time

    timings: dict[str, float] = {}
    # Long on large files: a progress bar on a terminal (runtime.progress), nothing otherwise.
    with progress("data validation: summarising the reference", 3, unit="steps") as step:
        t0 = time.perf_counter()
        known = engine or (None if callable(config) else (config or default_config()).engine)
        cur: FrameSummary | None = None
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(config if callable(config) else (lambda: config or default_config()))
            try:
                text, kind = locate(reference)
                ref: ReferenceProfile | None = None
                if kind == "profile":
                    ref = load_profile(text)
                elif known == "local":  # while the config loads (default bins; redone below if the config differs)
                    ref, cur = _local(text, current, pending.result, DEFAULT_BINS, timings)
            finally:
                cfg = pending.result()  # its exception (a bad stack config) wins over the data's
        wanted = engine or cfg.engine
        if kind != "profile" and (ref is None or cfg.drift.bins != DEFAULT_BINS):  # not started, or other bins
            timings.clear()
            if wanted == "local":
                ref, cur = _local(text, current, lambda: cfg, cfg.drift.bins, timings)
            else:
                ref, cur = engine_named(wanted).reference(text, cfg.drift.bins), None
        assert ref is not None
        if cur is None:
            timings["reference_s"] = round(time.perf_counter() - t0, 4)
            step(1, "data validation: summarising the current data")
            t1 = time.perf_counter()
            cur = engine_named(wanted).current(current_path(current), current_plans(ref, cfg))
            timings["current_s"] = round(time.perf_counter() - t1, 4)
        step(1, "data validation: comparing")
        size = write_reference_profile(ref, write_profile) if write_profile is not None else 0
        t2 = time.perf_counter()
        report = compare(ref, cur, cfg)
        timings["compare_s"] = round(time.perf_counter() - t2, 4)
    report.details["timings"] = timings
    report.details["engine"] = wanted
    if write_profile is not None:
        report.details["profile_written"] = {"path": str(write_profile), "bytes": size}
    return report.finish()


def current_path(current: str | Path) -> str:
    path, kind = locate(current)
    if kind == "profile":
        raise DataInputError(f"{current}: is a reference profile; the current data must be Parquet or CSV")
    return path


def _local(reference: str, current: str | Path, config: Callable[[], DataValidationConfig], bins: int,
           timings: dict[str, float]) -> tuple[ReferenceProfile, FrameSummary | None]:
    """The local engine's summaries (possibly while the config loads: `config()` waits for it): the reference, and
    the current side with it when the reference allows (runtime.data.local)."""
    from runtime.data.local import LocalEngine

    both = LocalEngine().summarize(reference, lambda: current_path(current), bins, config)
    if both.current is not None:
        timings.update(reference_s=round(both.reference_s, 4), current_s=round(both.current_s, 4))
    return both.reference, both.current


# --------------------------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------------------------

def _facts(col: ColumnSummary | None) -> dict[str, Any]:
    if col is None:
        return {}
    out: dict[str, Any] = {"rows": col.rows, "missing": col.missing,
                           "missing_rate": col.missing / col.rows if col.rows else None, "n": col.n}
    if isinstance(col, NumericSummary) and col.n:
        out.update(min=col.minimum, max=col.maximum)
    elif isinstance(col, CategoricalSummary):
        out.update(categories=len(col.counts))
    return out


def compare(reference: ReferenceProfile, current: FrameSummary, config: DataValidationConfig | None = None) -> Report:
    """All checks of the gate on two summaries (no I/O)."""
    cfg = config or default_config()
    ref = reference.summary
    report = Report(kind=KIND, subject={"reference": ref.source, "current": current.source})
    fam = checks.Families(report)
    checks.check_rows(report, ref, current, cfg.quality.min_rows)
    schema = checks.effective_schema(ref, cfg)
    usable = checks.check_schema(fam, ref, current, schema, cfg)
    columns = {name: {"type": schema[name].type, "declared": schema[name].declared, "reference": _facts(
        ref.columns.get(name)), "current": _facts(current.columns.get(name))} for name in schema}
    drift_score = None
    d = cfg.drift
    alphas = {"drift_family": d.ks_alpha, "quality_test": d.ks_alpha}
    if current.rows > 0:
        evidence = _evidence_list(reference, current, schema, usable, cfg)
        # One alpha for the whole gate, shared in proportion to the number of tests: the drift family (adjusted
        # together) and each quality test that compares with the reference (missing share, reference range).
        m_drift = drift.hypotheses(evidence)
        m_quality = len(usable) + sum(1 for n in usable if isinstance(current.columns[n], NumericSummary))
        alphas = {"drift_family": d.ks_alpha * m_drift / max(m_drift + m_quality, 1),
                  "quality_test": d.ks_alpha / max(m_drift + m_quality, 1)}
        checks.check_missing(fam, ref, current, usable, config=cfg, alpha=alphas["quality_test"])
        checks.check_ranges(fam, ref, current, schema, usable=usable, config=cfg, alpha=alphas["quality_test"])
        checks.check_allowed(fam, current, schema, usable, cfg.quality.max_out_of_range_rate)
        if cfg.quality.fail_on_constant_columns:
            checks.check_constant(fam, ref, current, usable)
        checks.check_duplicates(report, current, cfg.quality.max_duplicate_rate)
        drift_score = _drift(report, evidence, cfg=cfg, columns=columns, alpha=alphas["drift_family"])
    else:
        report.add(inconclusive("drift.share", "no current rows: drift not tested", threshold=None))
    report.details.update({
        "reference": {"source": ref.source, "rows": ref.rows, "profile": reference.from_file,
                      "grid_exact": reference.exact},
        "current": {"source": current.source, "rows": current.rows, "duplicates": current.duplicates},
        "drift_score": drift_score,
        "drifted_columns": [n for n, c in columns.items() if c.get("drift", {}).get("drifted")],
        "correction": d.correction, "alpha": d.ks_alpha, "alpha_split": alphas, "min_effect_size": d.min_effect_size,
        "psi_threshold": d.psi_threshold, "detectable_effect": d.detectable_effect, "power": d.power,
        "bins": reference.bins, "design": DESIGN, "columns": columns,
    })
    return report


def _evidence(name: str, reference: ReferenceProfile, r: ColumnSummary, c: ColumnSummary) -> drift.Evidence:
    if r.n == 0 or c.n == 0:
        ev = drift.Evidence(name=name, test="none", statistic=float("nan"), bounds=(0.0, 0.0),
                            p_bounds=(float("nan"), float("nan")), psi=0.0, n_ref=r.n, n_cur=c.n,
                            method=f"no non-missing values in the {'reference' if r.n == 0 else 'current'} data")
    elif isinstance(r, NumericSummary) and isinstance(c, NumericSummary):
        ev = drift.numeric_evidence(name, r, c, reference.grids[name])
    else:
        assert isinstance(r, CategoricalSummary)
        assert isinstance(c, CategoricalSummary)
        ev = drift.categorical_evidence(name, r, c)
    drift.add_null_rate(ev, r.missing, r.rows, c.missing, c.rows)
    return ev


def _evidence_list(reference: ReferenceProfile, current: FrameSummary, schema: dict[str, checks.Contract],
                   usable: list[str], cfg: DataValidationConfig) -> list[drift.Evidence]:
    ref = reference.summary
    excluded = set(cfg.schema_.exclude_from_drift)
    evidence = []
    for name in usable:
        r, c = ref.columns.get(name), current.columns[name]
        if name in excluded or r is None or not schema[name].accepts(r.dtype) or r.kind != c.kind or r.kind == "other":
            continue
        evidence.append(_evidence(name, reference, r, c))
    return evidence


def _drift(report: Report, evidence: list[drift.Evidence], *, cfg: DataValidationConfig,
           columns: dict[str, dict[str, Any]], alpha: float) -> float | None:
    d = cfg.drift
    if not evidence:
        report.add(inconclusive("drift.share", "no column could be tested for drift (all excluded, missing or "
                                "of other types)", threshold=f"<= {d.max_drifted_share}"))
        return None
    decisions = drift.decide(evidence, d, alpha)
    tested = len(decisions)
    drifted = [x.evidence.name for x in decisions if x.drifted]
    undecided = [x for x in decisions if x.drifted is None]
    share = len(drifted) / tested
    for decision in decisions:
        drift.report_column(report, decision, cfg, columns, tolerated=share <= d.max_drifted_share, alpha=alpha)
    listed = ", ".join(drifted[:10]) + (f" and {len(drifted) - 10} more" if len(drifted) > 10 else "")
    reason = (f"{len(drifted)} of {tested} tested columns drifted ({share:.3g})" + (f": {listed}" if drifted else "")
              + f"; {d.correction} correction, family alpha {alpha:.3g} of the gate's {d.ks_alpha:g}; {DESIGN}")
    if share > d.max_drifted_share:
        verdict = Verdict.FAIL
    elif (len(drifted) + len(undecided)) / tested > d.max_drifted_share:
        verdict = Verdict.INCONCLUSIVE
        need = [x.needed for x in undecided if x.power_limited]
        reason += f"; {len(undecided)} undecided column(s) could exceed maxDriftedShare {d.max_drifted_share:g}"
        if need and all(n is not None for n in need):
            reason += f"; about {max(n for n in need if n is not None):,} current rows would decide them"
    else:
        verdict = Verdict.PASS
    report.add(Check("drift.share", verdict, share, f"<= {d.max_drifted_share}", reason))
    return share
