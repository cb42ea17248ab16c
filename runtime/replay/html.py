"""The replay and shadow gates' page (report kinds `replay-gate`, `shadow-gate`), in the shared report style
(runtime/html): the checks, then disagreement by segment with its bounds and the configured limit, champion vs
candidate predictions (a confusion matrix of their classes, or a binned scatter with the equivalence margin), and
the latency distributions of both sides with the allowed p50 and p99 marked. Rendered from the report's JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runtime.html.charts import HBar, Mark, confusion_matrix, density, grouped_bars, hbars
from runtime.html.page import Section, charts, figure, report_page
from runtime.html.svg import NEW, OLD, VERDICT, e, finite, fmt
from runtime.report import Report, write_atomic

SIDES = {"champion": OLD, "candidate": NEW}
BINS = 20


def _segments(details: Mapping[str, Any], limit: float | None) -> Section:
    seg = details.get("segments") or {}
    rows: Sequence[Mapping[str, Any]] = seg.get("rows") or []
    if not rows:
        return Section("By segment", "")
    is_rate = "rate" in rows[0]
    bars = [HBar(str(r["segment"]), float(r["rate"] if is_rate else abs(r["median_difference"])),
                 low=r.get("lower") if is_rate else None, high=r.get("upper") if is_rate else None,
                 color=VERDICT.get(str(r.get("verdict")), NEW),
                 note=f"{fmt(r.get('rows'))} rows", tip=f"{r['segment']}: {r.get('verdict')}") for r in rows]
    what = "share of rows predicted differently, with its bounds" if is_rate else "|median prediction difference|"
    marks = [Mark(float(limit), f"limit {fmt(limit)}")] if finite(limit) else []
    svg = hbars(bars, title=f"By segment: {seg.get('column', '')}", x_label=what, marks=marks)
    verdict = min((str(r.get("verdict")) for r in rows), key=lambda v: {"FAIL": 0, "INCONCLUSIVE": 1}.get(v, 2))
    return Section(f"By segment: {seg.get('column', '')}",
                   charts([figure(f"Disagreement by {seg.get('column', '')}", svg, f"worst: {seg.get('worst')}")]),
                   verdict, "segments")


def _scatter(points: Sequence[Sequence[float]], margin: float | None) -> str:
    values = [float(v) for p in points for v in p]
    low, high = min(values), max(values)
    step = ((high - low) or 1.0) / BINS
    edges = [low + i * step for i in range(BINS + 1)]
    counts = [[0.0] * BINS for _ in range(BINS)]
    for a, b in points:
        i, j = (min(int((float(v) - low) / step), BINS - 1) for v in (a, b))
        counts[i][j] += 1
    note = f"equivalence margin ±{fmt(margin)}" if finite(margin) else ""
    return density(edges, edges, counts, title="Predictions", x_label="champion", y_label="candidate", note=note)


def _predictions(details: Mapping[str, Any]) -> Section:
    pred = details.get("predictions") or {}
    if "table" in pred:
        classes = [str(c) for c in pred["classes"]]
        counts = [[float(pred["table"][a][b]) for b in pred["classes"]] for a in pred["classes"]]
        svg = confusion_matrix(classes, counts, title="Champion's class (rows) by candidate's class (columns)",
                               note="off the diagonal they disagree")
    elif pred.get("scatter"):
        svg = _scatter(pred["scatter"], details.get("bound"))
    else:
        return Section("Champion vs candidate predictions", "")
    return Section("Champion vs candidate predictions", charts([figure("Predictions", svg)]), "", "predictions")


def _latency(latency: Mapping[str, Any]) -> Section:
    hist = latency.get("histogram") or {}
    edges = hist.get("edges") or []
    if len(edges) < 2:
        return Section("Latency", '<p class="muted">no request was answered by both sides</p>')
    labels = [f"{edges[i]:.3g}-{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    marks = []
    for key in ("p50", "p99"):
        info = latency.get(key) or {}
        if finite(info.get("champion_ms")) and finite(info.get("bound")):
            marks.append(f"{key} allowed {fmt(info['champion_ms'] * info['bound'])} ms")
    svg = grouped_bars(labels, {side: [float(c) for c in hist[side]] for side in SIDES}, title="Latency",
                       y_label="requests", colors=SIDES, note="; ".join(marks))
    return Section("Latency", charts([figure("Latency per request (ms, log-spaced bins)", svg)]), "", "latency")


def sections(report: Mapping[str, Any]) -> list[Section]:
    details = report.get("details") or {}
    return [_segments(details, details.get("bound")), _predictions(details), _latency(details.get("latency") or {})]


def render_html(report: Mapping[str, Any]) -> str:
    details = report.get("details") or {}
    window = details.get("window") or {}
    note = (f'<p class="muted">captures {e(details.get("captures", ""))} {e(window.get("start", ""))} .. '
            f'{e(window.get("end", ""))} · {fmt(details.get("requests"))} requests, {fmt(details.get("rows"))} rows '
            f'paired ({fmt(details.get("labelled_rows"))} labelled); alpha {fmt(details.get("alpha"))} over '
            f'{fmt(details.get("checks_that_can_fail"))} checks: {fmt(details.get("alpha_per_check"))} each</p>')
    title = "Shadow gate" if report.get("kind") == "shadow-gate" else "Replay gate"
    return report_page(title, report, sections(report), before=note)


def write_html(report: Report | Mapping[str, Any], path: Path) -> Path:
    data = report.to_dict() if isinstance(report, Report) else report
    write_atomic(Path(path), render_html(data))
    return Path(path)
