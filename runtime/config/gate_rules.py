"""Rules of the gates a candidate passes before it is deployed: `ml-cicd:data.schema` (the data contract) and
`gates` (the model gate's thresholds and checks) (listed in `rules.RULES`; the replay gate's are in
`replay_rules`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.config.findings import Finding, Problem, bad_value, needs


@needs("gates")
def gate_thresholds(s: dict[str, Any]) -> Iterator[Finding]:
    gates = s["gates"]
    for name, bounds in gates.metrics.items():
        if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
            yield bad_value(f"gates.metrics.{name}.min", f"must not exceed max ({bounds.max:g})", bounds.min)
    needs_data = [key for key in ("fairness", "latency") if getattr(gates, key) is not None]
    if needs_data and gates.evaluation is None:
        yield Problem("gates.evaluation", f"checks {', '.join(needs_data)} score the model: set "
                      "`evaluation: {path, targetColumn}`")
    if gates.champion_alias == gates.candidate_alias:
        yield bad_value("gates.candidateAlias", "must differ from championAlias", gates.candidate_alias)


@needs("gates")
def model_gate_checks(s: dict[str, Any]) -> Iterator[Finding]:
    gates = s["gates"]
    for name, bounds in gates.metrics.items():
        if bounds.min is None and bounds.max is None and bounds.max_regression is None:
            yield Problem(f"gates.metrics.{name}", "checks nothing: set at least one of min, max, maxRegression")
    fairness = gates.fairness
    if fairness is not None:
        if gates.task != "classification":
            yield bad_value("gates.task", "fairness checks compare predicted classes: use `task: classification` "
                            "or remove `fairness`", gates.task)
        limits = (fairness.demographic_parity_ratio_min, fairness.equalized_odds_difference_max,
                  fairness.metric_ratio_min)
        if all(limit is None for limit in limits):
            yield Problem("gates.fairness", "checks nothing: set at least one of demographicParityRatioMin, "
                          "equalizedOddsDifferenceMax, metricRatioMin")
    sanity = gates.predictions
    if None not in (sanity.min_class_share, sanity.max_class_share) and sanity.min_class_share > sanity.max_class_share:
        yield bad_value("gates.predictions.minClassShare",
                        f"must not exceed maxClassShare ({sanity.max_class_share:g})", sanity.min_class_share)
    if None not in (sanity.score_min, sanity.score_max) and sanity.score_min > sanity.score_max:
        yield bad_value("gates.predictions.scoreMin", f"must not exceed scoreMax ({sanity.score_max:g})",
                        sanity.score_min)


@needs("data")
def data_schema_contract(s: dict[str, Any]) -> Iterator[Finding]:
    data = s["data"]
    numeric = ("float", "int")
    for name, col in data.schema_.columns.items():
        path = f"data.schema.columns.{name}"
        if col.min is not None and col.max is not None and col.min > col.max:
            yield bad_value(f"{path}.min", f"must not exceed max ({col.max:g})", col.min)
        if col.type not in numeric and (col.min is not None or col.max is not None):
            key = "min" if col.min is not None else "max"
            yield bad_value(f"{path}.{key}", f"value bounds apply to numeric columns (float, int), not {col.type}; "
                            "use `allowed` for categories", getattr(col, key))
        if col.type not in ("string", "category", "bool") and col.allowed is not None:
            yield bad_value(f"{path}.allowed", f"allowed categories apply to string, category and bool columns, not "
                            f"{col.type}; use `min`/`max` for numeric bounds", col.allowed)
        if col.allowed is not None and not col.allowed:
            yield bad_value(f"{path}.allowed", "an empty list allows nothing; list the categories or remove "
                            "`allowed`", col.allowed)
    repeated = sorted({c for c in data.schema_.exclude_from_drift if data.schema_.exclude_from_drift.count(c) > 1})
    if repeated:
        yield bad_value("data.schema.excludeFromDrift", f"lists {', '.join(repeated)} more than once",
                        data.schema_.exclude_from_drift)
