"""The replay and shadow reports as one self-contained HTML page (inline CSS and SVG, no scripts), in the visual
style of the data-validation report (runtime/data/html.py, whose stylesheet and badges it uses): checks, then
disagreement by segment with its bounds and the configured limit drawn, champion vs candidate predictions, and the
latency distributions of both sides with the allowed p50 and p99 marked. Rendered from the report's JSON form.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from runtime.data.html import _CSS as CSS
from runtime.data.html import _ORDER as ORDER
from runtime.data.html import _badge as badge
from runtime.data.html import _e as esc
from runtime.data.html import _num as num
from runtime.report import Report, write_atomic

CHAMPION = "#9e9e9e"
CANDIDATE = "#1565c0"
LIMIT = "#c62828"
WIDTH = 560


def _svg(height: int, body: str) -> str:
    return f'<svg width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img">{body}</svg>'


def _segments(details: dict[str, Any], limit: float | None) -> str:
    seg = details.get("segments") or {}
    rows = seg.get("rows") or []
    if not rows:
        return ""
    is_rate = "rate" in rows[0]
    left, bar_h, gap = 150, 14, 6
    span = max([limit or 0.0, *(r.get("upper", 0.0) if is_rate else abs(r["median_difference"]) for r in rows)])
    span = span * 1.1 or 1.0
    scale = (WIDTH - left - 10) / span
    parts = []
    for i, r in enumerate(rows):
        y = 8 + i * (bar_h + gap)
        value = r["rate"] if is_rate else abs(r["median_difference"])
        color = {"FAIL": LIMIT, "PASS": CANDIDATE}.get(r["verdict"], "#ef6c00")
        parts.append(f'<text x="{left - 6}" y="{y + 11}" font-size="11" text-anchor="end">{esc(r["segment"])}'
                     f'</text><rect x="{left}" y="{y}" width="{max(value * scale, 0.5):.1f}" height="{bar_h}" '
                     f'fill="{color}"><title>{esc(r["segment"])}: {num(value)} ({r["rows"]} rows, '
                     f'{esc(r["verdict"])})</title></rect>')
        if is_rate:
            parts.append(f'<line x1="{left + r["lower"] * scale:.1f}" x2="{left + r["upper"] * scale:.1f}" '
                         f'y1="{y + bar_h / 2}" y2="{y + bar_h / 2}" stroke="#212121" stroke-width="1.5"/>')
    height = 16 + len(rows) * (bar_h + gap)
    if limit is not None:
        x = left + limit * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 8}" stroke="{LIMIT}" '
                     f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{height - 1}" font-size="10" '
                     f'fill="{LIMIT}">limit {num(limit)}</text>')
    what = "share of rows predicted differently, with its bounds" if is_rate else "|median prediction difference|"
    return (f'<h2>By segment: {esc(seg.get("column", ""))}</h2><p class="muted">{what}; worst '
            f'{esc(seg.get("worst"))}</p>' + _svg(height + 4, "".join(parts)))


def _table(pred: dict[str, Any]) -> str:
    classes, table = pred["classes"], pred["table"]
    head = "".join(f"<th>{esc(c)}</th>" for c in classes)
    body = "".join(
        f"<tr><th>{esc(a)}</th>" + "".join(
            f'<td class=num style="{"font-weight:600" if a == b else "color:#c62828" if table[a][b] else ""}">'
            f"{table[a][b]}</td>" for b in classes) + "</tr>" for a in classes)
    return (f'<p class="muted">rows: champion\'s class (left) by candidate\'s class (top); off the diagonal they '
            f'disagree</p><table style="width:auto"><tr><th></th>{head}</tr>{body}</table>')


def _scatter(points: list[list[float]], margin: float | None) -> str:
    if not points:
        return ""
    values = [v for p in points for v in p]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    size = 300

    def xy(v: float) -> float:
        return 10 + (v - low) / span * (size - 20)

    parts = [f'<line x1="{xy(low):.1f}" y1="{size - xy(low):.1f}" x2="{xy(high):.1f}" y2="{size - xy(high):.1f}" '
             f'stroke="#757575"/>']
    if margin is not None:
        for sign in (1, -1):
            parts.append(f'<line x1="{xy(low):.1f}" y1="{size - xy(low + sign * margin):.1f}" x2="{xy(high):.1f}" '
                         f'y2="{size - xy(high + sign * margin):.1f}" stroke="{LIMIT}" stroke-dasharray="4 3"/>')
    parts += [f'<circle cx="{xy(a):.1f}" cy="{size - xy(b):.1f}" r="2" fill="{CANDIDATE}" fill-opacity="0.5"/>'
              for a, b in points]
    return (f'<p class="muted">candidate (up) against champion (right), one point per row; dashed: the '
            f'equivalence margin</p><svg width="{size}" height="{size}" role="img">{"".join(parts)}</svg>')


def _latency(latency: dict[str, Any]) -> str:
    hist = latency.get("histogram") or {}
    edges = hist.get("edges") or []
    if len(edges) < 2:
        return '<p class="muted">no request was answered by both sides</p>'
    top = max([*hist["champion"], *hist["candidate"], 1])
    height, base = 140, 130
    lo, hi = math.log(edges[0]), math.log(edges[-1])

    def x(ms: float) -> float:
        return 10 + (math.log(max(ms, edges[0])) - lo) / ((hi - lo) or 1) * (WIDTH - 20)

    parts = []
    for side, color in (("champion", CHAMPION), ("candidate", CANDIDATE)):
        for i, count in enumerate(hist[side]):
            h = 110 * count / top
            width = max(x(edges[i + 1]) - x(edges[i]), 1)
            parts.append(f'<rect x="{x(edges[i]):.1f}" y="{base - h:.1f}" width="{width:.1f}" '
                         f'height="{h:.1f}" fill="{color}" fill-opacity="0.55"><title>{side} '
                         f'{edges[i]:.3g}-{edges[i + 1]:.3g} ms: {count}</title></rect>')
    for key in ("p50", "p99"):
        info = latency.get(key) or {}
        if "champion_ms" in info:
            allowed = info["champion_ms"] * info["bound"]
            parts.append(f'<line x1="{x(allowed):.1f}" x2="{x(allowed):.1f}" y1="10" y2="{base}" stroke="{LIMIT}" '
                         f'stroke-dasharray="4 3"/><text x="{x(allowed) + 2:.1f}" y="18" font-size="10" '
                         f'fill="{LIMIT}">{key} allowed {allowed:.1f} ms</text>')
    parts.append(f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#757575"/>'
                 f'<text x="10" y="{height - 1}" font-size="10" fill="#616161">{edges[0]:.3g} ms</text>'
                 f'<text x="{WIDTH - 10}" y="{height - 1}" font-size="10" fill="#616161" text-anchor="end">'
                 f'{edges[-1]:.3g} ms (log scale)</text>')
    return _svg(height + 2, "".join(parts))


def render_html(report: dict[str, Any]) -> str:
    verdict = report.get("verdict", "INCONCLUSIVE")
    details, subject = report.get("details", {}), report.get("subject", {})
    checks = sorted(report.get("checks", []), key=lambda c: ORDER.get(c.get("verdict"), 3))
    rows = "".join(f"<tr><td>{badge(c['verdict'])}</td><td>{esc(c['name'])}</td><td class=num>"
                   f"{num(c.get('observed'))}</td><td>{esc(c.get('threshold') or '')}</td>"
                   f"<td>{esc(c.get('reason', ''))}</td></tr>" for c in checks)
    kind = "Shadow" if report.get("kind") == "shadow-gate" else "Replay"
    title = f"{kind} gate: {verdict}"
    window = details.get("window", {})
    bound = details.get("bound")
    predictions = details.get("predictions", {})
    compare = (_table(predictions) if "table" in predictions else
               _scatter(predictions.get("scatter", []), bound))
    legend = (f'<p class="legend muted"><span style="background:{CHAMPION}"></span>champion'
              f'<span style="background:{CANDIDATE}"></span>candidate</p>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(title)} {badge(verdict)}</h1>"
        f'<p class="muted">{esc(subject.get("model", ""))} candidate {esc(subject.get("version") or "?")} vs '
        f'champion {esc(subject.get("champion") or "?")} · captures {esc(details.get("captures", ""))} '
        f'{esc(window.get("start", ""))} .. {esc(window.get("end", ""))} · {esc(report.get("started_at", ""))} · '
        f'{num(report.get("duration_s"))} s</p>'
        f'<p class="muted">{num(details.get("requests"))} requests, {num(details.get("rows"))} rows paired '
        f'({num(details.get("labelled_rows"))} labelled); alpha {num(details.get("alpha"))} over '
        f'{num(details.get("checks_that_can_fail"))} checks: {num(details.get("alpha_per_check"))} each</p>'
        "<h2>Checks</h2><table><tr><th>verdict</th><th>check</th><th>observed</th><th>threshold</th>"
        f"<th>reason</th></tr>{rows}</table>"
        f"{_segments(details, bound)}"
        f"<h2>Champion vs candidate predictions</h2>{compare}"
        f"<h2>Latency</h2>{legend}{_latency(details.get('latency', {}))}</body></html>\n")


def write_html(report: Report | dict[str, Any], path: Path) -> Path:
    data = report.to_dict() if isinstance(report, Report) else report
    write_atomic(Path(path), render_html(data))
    return Path(path)
