"""The model gate's page (report kind `model-gate`): champion vs candidate per metric with the bounds and the
allowed regression (and each check's interval when it carries one), the confusion matrix and class shares
(classification) or the residual plot (regression), fairness by group, and single-row latency.

Reads `details.candidate`, `details.champion`, `details.fairness`, `details.latency`, `details.class_shares` and
`details.plots` (runtime/gates/plots.py); a section whose data is missing is left out, and every check, known or
not, is in the checks table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runtime.html.charts import HBar, Mark, confusion_matrix, density, grouped_bars, hbars, histogram
from runtime.html.latency import latency_histogram
from runtime.html.page import Section, charts, facts, figure, interval, report_page, worst
from runtime.html.svg import NEW, OLD, VERDICT, finite, fmt

#: Metric names whose `max` bounds the typical size of a residual (drawn as ± lines on the residual plots).
ERROR_METRICS = ("rmse", "root_mean_squared_error", "mae", "mean_absolute_error")


def _by_prefix(checks: Sequence[Mapping[str, Any]], *prefixes: str) -> list[Mapping[str, Any]]:
    return [c for c in checks if str(c.get("name", "")).startswith(prefixes)]


def _verdict(checks: Sequence[Mapping[str, Any]]) -> str:
    return worst(str(c.get("verdict")) for c in checks) if checks else ""


def _metric_figure(name: str, bounds: Mapping[str, Any], cand: Mapping[str, Any], champ: Mapping[str, Any] | None,
                   related: Sequence[Mapping[str, Any]]) -> str:
    cand_value = (cand.get("metrics") or {}).get(name)
    champ_value = ((champ or {}).get("metrics") or {}).get(name)
    higher = bounds.get("higher_is_better", True)
    marks = [Mark(float(bounds[k]), k) for k in ("min", "max") if finite(bounds.get(k))]
    allowed = bounds.get("max_regression")
    if finite(champ_value) and finite(allowed):
        limit = champ_value - allowed if higher else champ_value + allowed
        marks.append(Mark(float(limit), f"champion {'-' if higher else '+'} {fmt(allowed)}", "tolerance"))
    bound_check = next((c for c in related if c.get("name") == f"metric:{name}"), {})
    ci = interval(bound_check)
    verdict = _verdict(related)
    rows = []
    if champ is not None:
        rows.append(HBar(f"champion v{champ.get('version')}", float(champ_value) if finite(champ_value) else None,
                         color=OLD, note=fmt(champ_value)))
    rows.append(HBar(f"candidate v{cand.get('version')}", float(cand_value) if finite(cand_value) else None,
                     low=ci[0] if ci else None, high=ci[1] if ci else None,
                     color=VERDICT.get(verdict, NEW) if verdict == "FAIL" else NEW,
                     note=fmt(cand_value) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "")))
    title = f"{name} ({'higher' if higher else 'lower'} is better)"
    reasons = "; ".join(str(c.get("reason")) for c in related if c.get("verdict") != "PASS")
    return figure(title, hbars(rows, title=title, x_label=name, marks=marks, zero=False), reasons)


def _metrics(report: Mapping[str, Any], checks: Sequence[Mapping[str, Any]]) -> Section:
    details = report.get("details") or {}
    bounds: Mapping[str, Any] = (details.get("plots") or {}).get("metric_bounds") or {}
    names = list(bounds) or sorted({str(c["name"]).split(":", 1)[1] for c in _by_prefix(checks, "metric:",
                                                                                      "regression:")})
    cand = details.get("candidate") or {}
    champ = details.get("champion")
    related = _by_prefix(checks, "metric:", "regression:", "champion-comparison", "metrics")
    figures = [_metric_figure(n, bounds.get(n) or {}, cand, champ,
                              [c for c in related if str(c.get("name", "")).endswith(f":{n}")]) for n in names]
    about = facts({"candidate metrics from": cand.get("metrics_from"),
                   "champion metrics from": (champ or {}).get("metrics_from"),
                   "champion": "none" if champ is None else f"version {champ.get('version')}"})
    body = about + charts(figures) if cand else ""
    return Section("Champion vs candidate", body, _verdict(related), "metrics")


def _classification(plots: Mapping[str, Any], details: Mapping[str, Any]) -> list[str]:
    confusion = plots.get("confusion") or {}
    limits = plots.get("prediction_limits") or {}
    out = []
    labels, counts = confusion.get("labels") or [], confusion.get("counts") or []
    if labels:
        floor = ((plots.get("metric_bounds") or {}).get("accuracy") or {}).get("min")
        note = (f"accuracy {fmt(confusion.get('accuracy'))} on {fmt(confusion.get('rows'))} rows"
                + (f" (min {fmt(floor)})" if finite(floor) else ""))
        out.append(figure("Confusion matrix", confusion_matrix(labels, counts, title="Confusion matrix", note=note),
                          "shade: share of the actual class's rows (recall on the diagonal)"))
    rows = sum(sum(r) for r in counts) or 1
    shares: Mapping[str, float] = details.get("class_shares") or {}
    cats = list(labels) or list(shares)
    series: dict[str, Sequence[float | None]] = {"predicted": [shares[c] for c in cats]}
    if labels:
        series = {"actual": [sum(r) / rows for r in counts],
                  "predicted": [sum(r[i] for r in counts) / rows for i in range(len(labels))]}
    marks = [Mark(float(limits[k]), k.replace("_", " ")) for k in ("max_class_share", "min_class_share")
             if finite(limits.get(k))]
    if cats:
        svg = grouped_bars(cats, series, title="Class shares", y_label="share of rows", marks=marks,
                           colors={"actual": OLD, "predicted": NEW}, percent=True)
        out.append(figure("Class shares", svg))
    return out


def _regression(plots: Mapping[str, Any]) -> list[str]:
    res = plots.get("residuals") or {}
    if not res.get("counts"):
        return []
    limits = plots.get("prediction_limits") or {}
    range_marks = [Mark(float(limits[k]), k.replace("_", " ")) for k in ("score_min", "score_max")
                   if finite(limits.get(k))]
    bounds = plots.get("metric_bounds") or {}
    spread = [Mark(sign * float(b["max"]), f"{name} max")
              for name, b in bounds.items() if name in ERROR_METRICS and finite((b or {}).get("max"))
              for sign in (1, -1)]
    note = f"MAE {fmt(res.get('mae'))} · RMSE {fmt(res.get('rmse'))} · bias {fmt(res.get('bias'))}"
    grid = density(res["predicted_edges"], res["residual_edges"], res["counts"], title="Residuals vs prediction",
                   x_label="predicted", y_label="actual - predicted", x_marks=range_marks,
                   y_marks=[Mark(0.0, "no error", "observed"), *spread], note=note)
    clipped = f"; {res['clipped']} rows beyond the axis" if res.get("clipped") else ""
    out = [figure("Residuals vs prediction", grid, f"{fmt(res.get('rows'))} evaluation rows{clipped}")]
    hist = res.get("predicted_histogram") or {}
    if hist.get("edges"):
        out.append(figure("Predicted values", histogram(hist["edges"], hist["counts"], title="Predicted values",
                                                        x_label="predicted", marks=range_marks)))
    rhist = res.get("residual_histogram") or {}
    if rhist.get("edges"):
        out.append(figure("Residuals", histogram(rhist["edges"], rhist["counts"], title="Residuals",
                                                 x_label="actual - predicted", marks=spread,
                                                 overflow=rhist.get("overflow", 0) + rhist.get("underflow", 0))))
    return out


def _predictions(report: Mapping[str, Any], checks: Sequence[Mapping[str, Any]]) -> Section:
    details = report.get("details") or {}
    plots = details.get("plots") or {}
    task = plots.get("task")
    figures = _regression(plots) if task == "regression" else _classification(plots, details)
    evaluation = details.get("evaluation") or {}
    about = facts({"evaluation data": evaluation.get("path"), "rows": evaluation.get("rows"), "task": task})
    return Section("Predictions", about + charts(figures) if figures else "",
                   _verdict(_by_prefix(checks, "predictions:")), "predictions")


def _fairness(report: Mapping[str, Any], checks: Sequence[Mapping[str, Any]]) -> Section:
    details = report.get("details") or {}
    fair = details.get("fairness") or {}
    groups: Mapping[str, Mapping[str, Any]] = fair.get("groups") or {}
    related = _by_prefix(checks, "fairness:")
    if not groups:
        return Section("Fairness by group", "", _verdict(related))
    limits = (details.get("plots") or {}).get("fairness_limits") or {}
    names = list(groups)
    cats = [f"{g} (n={fmt(groups[g].get('rows'))})" for g in names]

    def values(key: str) -> list[float | None]:
        return [groups[g].get(key) if finite(groups[g].get(key)) else None for g in names]

    def top(key: str) -> float:
        return max([v for v in values(key) if v is not None] or [0.0])

    figures = []
    ratio = limits.get("demographic_parity_ratio_min")
    marks = [Mark(ratio * top("positive_rate"), f"{fmt(ratio)} x highest")] if finite(ratio) else []
    figures.append(figure("Positive-prediction rate", grouped_bars(
        cats, {"positive rate": values("positive_rate")}, title="Positive-prediction rate", y_label="rate",
        marks=marks), f"positive label {fair.get('positive_label')!r}"))
    gap = limits.get("equalized_odds_difference_max")
    tprs, fprs = [v for v in values("tpr") if v is not None], [v for v in values("fpr") if v is not None]
    marks = ([Mark(max(tprs) - gap, "TPR floor (highest - max gap)", "tolerance")] if finite(gap) and tprs else [])
    marks += [Mark(min(fprs) + gap, "FPR ceiling (lowest + max gap)", "tolerance")] if finite(gap) and fprs else []
    figures.append(figure("True- and false-positive rates", grouped_bars(
        cats, {"TPR": values("tpr"), "FPR": values("fpr")}, title="True- and false-positive rates", y_label="rate",
        marks=marks)))
    ratio = limits.get("metric_ratio_min")
    marks = [Mark(ratio * top("accuracy"), f"{fmt(ratio)} x best")] if finite(ratio) else []
    figures.append(figure("Accuracy", grouped_bars(cats, {"accuracy": values("accuracy")}, title="Accuracy",
                                                   y_label="accuracy", marks=marks)))
    size = limits.get("min_group_size")
    marks = [Mark(float(size), "min group size")] if finite(size) else []
    figures.append(figure("Rows per group", grouped_bars(names, {"rows": values("rows")}, title="Rows per group",
                                                         y_label="rows", marks=marks)))
    return Section(f"Fairness by group ({fair.get('column')})", charts(figures), _verdict(related), "fairness")


def _latency(report: Mapping[str, Any], checks: Sequence[Mapping[str, Any]]) -> Section:
    details = report.get("details") or {}
    figure_html = latency_histogram((details.get("plots") or {}).get("latency"), "Single-row prediction latency",
                                    observed=details.get("latency") or {}, what="timed single-row predictions")
    return Section("Latency", charts([figure_html]), _verdict(_by_prefix(checks, "latency:")), "latency")


def sections(report: Mapping[str, Any]) -> list[Section]:
    checks = list(report.get("checks") or [])
    return [_metrics(report, checks), _predictions(report, checks), _fairness(report, checks),
            _latency(report, checks)]


def render(report: Mapping[str, Any]) -> str:
    details = report.get("details") or {}
    before = facts({"candidate": details.get("candidate_ref"), "tracking": details.get("tracking_uri")})
    return report_page("Model gate", report, sections(report), before=before)
