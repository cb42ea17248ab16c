"""The canary judge's page (report kind `canary-judge`): the score against the pass and marginal scores, each
metric's result, baseline vs canary period by period (latency, error rate, requests, quality) with the tolerances
the judge applies, and both prediction distributions.

Reads `details.score`, `details.metrics`, `details.config`, `details.window` and `details.plots`
(runtime/canary/plots.py). Metrics it does not know are listed like the others; a chart whose data or limit is
missing is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.html.charts import HBar, Mark, grouped_bars, hbars, line_chart
from runtime.html.page import Section, badge, charts, facts, figure, report_page, worst
from runtime.html.svg import NEW, OLD, VERDICT, e, finite, fmt, num

SIDES = {"baseline": OLD, "canary": NEW}


def _metric(details: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return next((m for m in details.get("metrics") or [] if m.get("name") == name), {})


def _status(details: Mapping[str, Any], *names: str) -> str:
    found = [str(_metric(details, n).get("status")) for n in names if _metric(details, n)]
    return worst("INCONCLUSIVE" if s == "NODATA" else s for s in found) if found else ""


def _score(details: Mapping[str, Any], verdict: str) -> str:
    score = details.get("score") or {}
    low, high = num(score.get("low")), num(score.get("high"))
    if low is None:
        return ""
    marks = [Mark(float(score["pass_score"]), "pass")] if finite(score.get("pass_score")) else []
    if finite(score.get("marginal_score")):
        marks.append(Mark(float(score["marginal_score"]), "marginal", "tolerance"))
    ranged = high is not None and high != low
    row = HBar("score", low, low=low if ranged else None, high=high if ranged else None,
               color=VERDICT.get(verdict, NEW),
               note=fmt(low) + (f"-{fmt(high)}" if ranged else "") + f" {score.get('label', '')}")
    svg = hbars([row], title="Score", x_label="weighted share of passing metrics", marks=marks)
    return figure("Score (0-100)", svg, "a range: metrics without data could still go either way")


def _metrics_table(details: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{badge(str(m.get('status', '')))}</td><td>{e(m.get('name', ''))}</td>"
        f"<td class=num>{e(fmt(m.get('weight')))}</td><td>{'yes' if m.get('critical') else ''}</td>"
        f"<td class=reason>{e(m.get('reason', ''))}</td></tr>" for m in details.get("metrics") or [])
    if not rows:
        return ""
    return ("<table><tr><th>result</th><th>metric</th><th>weight</th><th>critical</th><th>reason</th></tr>"
            f"{rows}</table>")


def _setting(details: Mapping[str, Any], name: str) -> Any:
    """A judge setting from `details.config`, written camelCase (as in the stack file) or snake_case."""
    cfg = details.get("config") or {}
    head, *rest = name.split("_")
    return cfg.get(name, cfg.get(head + "".join(w.capitalize() for w in rest)))


def _median(values: Sequence[Any]) -> float | None:
    ok = sorted(float(v) for v in values if finite(v))
    if not ok:
        return None
    mid = len(ok) // 2
    return ok[mid] if len(ok) % 2 else (ok[mid - 1] + ok[mid]) / 2


def _series(timeline: Mapping[str, Any], key: str) -> dict[str, Sequence[float | None]]:
    return {side: (timeline.get(side) or {}).get(key) or [] for side in SIDES if (timeline.get(side) or {}).get(key)}


def _rates(timeline: Mapping[str, Any]) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for side in SIDES:
        data = timeline.get(side) or {}
        requests, errors = data.get("requests") or [], data.get("errors") or []
        if requests:
            out[side] = [100 * (errors[i] or 0) / r if finite(r) and r and i < len(errors) else None
                         for i, r in enumerate(requests)]
    return out


def _cumulative(values: Sequence[Any]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += float(v) if finite(v) else 0.0
        out.append(total)
    return out


def _timeline(details: Mapping[str, Any]) -> list[str]:
    timeline = (details.get("plots") or {}).get("timeline") or {}
    periods = [str(p)[11:16] or str(p) for p in timeline.get("periods") or []]
    if not periods:
        return []
    period = f"period start (UTC), {fmt(timeline.get('period_seconds'))} s periods"
    out = []
    latency = _series(timeline, "latency")
    base = _median(latency.get("baseline", []))
    if latency:
        tol = _setting(details, "latency_tolerance")
        marks = [Mark(base * (1 + tol), f"baseline median +{100 * tol:g}%", "tolerance")] if base and finite(tol) \
            else []
        out.append(figure("Latency (average per period)", line_chart(
            periods, latency, title="Latency", y_label="ms", marks=marks, colors=SIDES, x_label=period)))
    rates = _rates(timeline)
    if rates:
        requests = sum(float(v) for v in (timeline.get("baseline") or {}).get("requests") or [] if finite(v))
        errors = sum(float(v) for v in (timeline.get("baseline") or {}).get("errors") or [] if finite(v))
        tol = _setting(details, "error_rate_tolerance")
        marks = [Mark(100 * (errors / requests + tol), f"baseline rate +{100 * tol:g} pp", "tolerance")] \
            if requests and finite(tol) else []
        out.append(figure("5xx error rate", line_chart(periods, rates, title="5xx error rate", y_label="%",
                                                       marks=marks, colors=SIDES, x_label=period)))
        counts = {side: _cumulative((timeline.get(side) or {}).get("requests") or []) for side in rates}
        need = _setting(details, "min_requests")
        marks = [Mark(float(need), "min requests per side")] if finite(need) else []
        out.append(figure("Requests (cumulative)", line_chart(periods, counts, title="Requests", y_label="requests",
                                                              marks=marks, colors=SIDES, x_label=period)))
    tail = _series(timeline, "latency_p99")
    tail_base = _median(tail.get("baseline", []))
    tol = _setting(details, "tail_tolerance")
    if tail and tail_base and finite(tol):
        out.append(figure("p99 latency", line_chart(
            periods, tail, title="p99 latency", y_label="ms", colors=SIDES, x_label=period,
            marks=[Mark(tail_base * (1 + tol), f"baseline p99 +{100 * tol:g}%", "tolerance")])))
    quality = _series(timeline, "quality")
    limit = (_metric(details, "quality").get("stats") or {}).get("threshold")
    if quality:
        marks = [Mark(float(limit), "alarm threshold")] if finite(limit) else []
        out.append(figure("Model quality", line_chart(periods, quality, title="Model quality", y_label="quality",
                                                      marks=marks, colors=SIDES, x_label=period)))
    return out


def _bin_key(label: str) -> tuple[int, float, str]:
    if label.startswith("<"):
        return (0, -math.inf, label)
    found = re.match(r"-?\d+(\.\d+)?([eE]-?\d+)?", label)
    return (1, float(found.group(0)), label) if found else (2, 0.0, label)


def _prediction_note(details: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    """The predictions check's effect against the effect it must catch: a rank effect for ordered bins (scores),
    the largest class-share change for labels."""
    if finite(stats.get("rank_effect")):
        shift, at = _setting(details, "prediction_shift_sd"), stats.get("effect_at_shift")
        return f"rank effect {fmt(stats['rank_effect'])}" + (
            f" · a {fmt(shift)} sd shift: {fmt(at)}" if finite(shift) and finite(at) else "")
    if finite(stats.get("largest_share_change")):
        limit = _setting(details, "prediction_share_change")
        return f"largest share change {fmt(stats['largest_share_change'])}" + (
            f" · PASS below {fmt(limit)}" if finite(limit) else "")
    return ""


def _predictions(details: Mapping[str, Any]) -> str:
    hist = (details.get("plots") or {}).get("predictions") or {}
    stats = _metric(details, "predictions").get("stats") or {}
    bins = list(hist.get("bins") or stats.get("bins") or [])
    sides = {"baseline": list(hist.get("baseline") or stats.get("baseline_counts") or []),
             "canary": list(hist.get("canary") or stats.get("canary_counts") or [])}
    if not bins or not any(sides.values()):
        return ""
    order = sorted(range(len(bins)), key=lambda i: _bin_key(str(bins[i])))
    shares = {}
    for side, counts in sides.items():
        total = sum(float(c) for c in counts) or 1.0
        shares[side] = [float(counts[i]) / total if i < len(counts) else 0.0 for i in order]
    note = _prediction_note(details, stats)
    svg = grouped_bars([str(bins[i]) for i in order], shares, title="Prediction distribution",
                       y_label="share of predictions", colors=SIDES, note=note, percent=True)
    return figure("Prediction distribution", svg)


def sections(report: Mapping[str, Any]) -> list[Section]:
    details = report.get("details") or {}
    verdict = str(report.get("verdict", ""))
    metrics = charts([_score(details, verdict)]) + _metrics_table(details)
    names = [str(m.get("name")) for m in details.get("metrics") or []]
    return [Section("Score and metrics", metrics, _status(details, *names), "metrics"),
            Section("Baseline vs canary over time", charts(_timeline(details)),
                    _status(details, "errors", "latency", "tail", "quality"), "timeline"),
            Section("Predictions", charts([_predictions(details)]), _status(details, "predictions"), "predictions")]


def render(report: Mapping[str, Any]) -> str:
    details = report.get("details") or {}
    window = details.get("window") or {}
    source = details.get("source") or {}
    about = facts({"window": f"{window.get('start')} to {window.get('end')}" if window.get("start") else None,
                   "period (s)": window.get("period_seconds"),
                   "traffic from": (source.get("traffic") or {}).get("namespace"),
                   "model namespace": source.get("model_namespace")})
    return report_page("Canary judge", report, sections(report), label=str(details.get("label", "")), before=about)
