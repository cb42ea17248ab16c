"""The data-validation report as one self-contained HTML file: inline CSS and SVG, no scripts, no external
assets. Failing checks come first, then inconclusive ones, then passing ones; the per-column sections (reference
vs current histograms) are ordered the same way. Rendered from the report's JSON form, so a stored report can be
rendered again later."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from runtime.report import Report, write_atomic

_ORDER = {"FAIL": 0, "INCONCLUSIVE": 1, "PASS": 2}
_COLOR = {"FAIL": "#c62828", "INCONCLUSIVE": "#ef6c00", "PASS": "#2e7d32"}
_REF_COLOR = "#9e9e9e"
_CUR_COLOR = "#1565c0"

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#212121;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.muted{color:#616161;font-size:13px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e0e0e0;vertical-align:top}
th{background:#fafafa}
.cols{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}
.card{border:1px solid #e0e0e0;border-radius:6px;padding:10px}
.card h3{font-size:14px;margin:0 0 6px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
td.num{text-align:right;font-variant-numeric:tabular-nums}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _badge(verdict: str) -> str:
    return f'<span class="badge" style="background:{_COLOR.get(verdict, "#616161")}">{_e(verdict)}</span>'


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.4g}"
    return _e(value)


def _bars(labels: list[str], ref: list[float], cur: list[float], axis: tuple[str, str] | None) -> str:
    """Grouped bars of the two share vectors as an inline SVG."""
    width, height, pad = 360, 130, 18
    k = max(len(labels), 1)
    ref_total, cur_total = sum(ref) or 1, sum(cur) or 1
    ref_s = [r / ref_total for r in ref]
    cur_s = [c / cur_total for c in cur]
    top = max([*ref_s, *cur_s, 1e-12])
    slot = width / k
    bar = max(slot * 0.42, 0.5)
    parts = [f'<svg width="{width}" height="{height + pad}" '
             f'viewBox="0 0 {width} {height + pad}" role="img">']
    for i, label in enumerate(labels):
        for j, (share, color, who) in enumerate(((ref_s[i], _REF_COLOR, "reference"), (cur_s[i], _CUR_COLOR,
                                                                                         "current"))):
            h = height * share / top
            x = i * slot + slot * 0.08 + j * bar
            parts.append(f'<rect x="{x:.2f}" y="{height - h:.2f}" width="{bar:.2f}" height="{h:.2f}" '
                         f'fill="{color}"><title>{_e(label)}: {who} {100 * share:.2f}%</title></rect>')
    parts.append(f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#757575" stroke-width="1"/>')
    if axis is not None:
        parts.append(f'<text x="0" y="{height + 13}" font-size="10" fill="#616161">{_e(axis[0])}</text>')
        parts.append(f'<text x="{width}" y="{height + 13}" font-size="10" fill="#616161" '
                     f'text-anchor="end">{_e(axis[1])}</text>')
    elif k <= 12:
        for i, label in enumerate(labels):
            short = label if len(label) <= 8 else label[:7] + "…"
            parts.append(f'<text x="{i * slot + slot / 2:.2f}" y="{height + 13}" font-size="10" fill="#616161" '
                         f'text-anchor="middle">{_e(short)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(col: dict[str, Any]) -> str:
    hist = col.get("histogram")
    if not hist:
        return '<p class="muted">no histogram (column not tested for drift)</p>'
    if "edges" in hist:
        edges = hist["edges"]
        labels = [f"[{edges[i]:.4g}, {edges[i + 1]:.4g})" for i in range(len(edges) - 1)]
        return _bars(labels, hist["reference"], hist["current"], (f"{edges[0]:.4g}", f"{edges[-1]:.4g}"))
    return _bars([str(c) for c in hist["categories"]], hist["reference"], hist["current"], None)


def _column_card(name: str, col: dict[str, Any]) -> str:
    drift = col.get("drift", {})
    verdict = drift.get("verdict", "")
    ref, cur = col.get("reference", {}), col.get("current", {})
    rows = [("type", _e(col.get("type", "")), ""),
            ("missing rate", _num(ref.get("missing_rate")), _num(cur.get("missing_rate")))]
    if "min" in cur or "min" in ref:
        rows += [("min", _num(ref.get("min")), _num(cur.get("min"))), ("max", _num(ref.get("max")),
                                                                       _num(cur.get("max")))]
    if drift.get("test"):
        rows += [(f"{drift['test']} statistic", _num(drift.get("statistic")), ""),
                 ("p-value (adjusted)", _num(drift.get("p_value_adjusted")), f"alpha {_num(drift.get('alpha'))}"),
                 ("effect size", _num(drift.get("effect_size")), f"min {_num(drift.get('min_effect_size'))}"),
                 ("PSI", _num(drift.get("psi")), f"threshold {_num(drift.get('psi_threshold'))}")]
        if drift.get("new_categories"):
            shown = ", ".join(f"{k} ({100 * v:.2f}%)" for k, v in list(drift["new_categories"].items())[:5])
            rows.append(("new categories", _e(shown), ""))
    table = "".join(f"<tr><td>{a}</td><td class=num>{b}</td><td class=num>{c}</td></tr>" for a, b, c in rows)
    head = "<tr><th></th><th>reference</th><th>current</th></tr>"
    badge = _badge(verdict) if verdict else '<span class="muted">not tested for drift</span>'
    reason = f'<p class="muted">{_e(drift.get("reason", ""))}</p>' if drift.get("reason") else ""
    return (f'<div class="card"><h3>{_e(name)} {badge}</h3>{_histogram(col)}'
            f"<table>{head}{table}</table>{reason}</div>")


def render_html(report: dict[str, Any]) -> str:
    """The report (its JSON form) as a self-contained HTML page."""
    verdict = report.get("verdict", "INCONCLUSIVE")
    details = report.get("details", {})
    subject = report.get("subject", {})
    checks = sorted(report.get("checks", []), key=lambda c: _ORDER.get(c.get("verdict"), 3))
    check_rows = "".join(
        f"<tr><td>{_badge(c['verdict'])}</td><td>{_e(c['name'])}</td><td class=num>{_num(c.get('observed'))}</td>"
        f"<td>{_e(c.get('threshold') or '')}</td><td>{_e(c.get('reason', ''))}</td></tr>" for c in checks)
    columns = details.get("columns", {})
    ordered = sorted(columns.items(), key=lambda kv: (_ORDER.get(kv[1].get("drift", {}).get("verdict"), 3), kv[0]))
    cards = "".join(_column_card(name, col) for name, col in ordered)
    score = details.get("drift_score")
    summary = (f"drift score {score:.3g} ({len(details.get('drifted_columns', []))} drifted columns); "
               if isinstance(score, int | float) else "")
    counts = {v: sum(1 for c in checks if c.get("verdict") == v) for v in _ORDER}
    title = f"Data validation: {verdict}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)} {_badge(verdict)}</h1>"
        f'<p class="muted">reference {_e(subject.get("reference", ""))} '
        f'({_num(details.get("reference", {}).get("rows"))} rows) · current {_e(subject.get("current", ""))} '
        f'({_num(details.get("current", {}).get("rows"))} rows) · {_e(report.get("started_at", ""))} · '
        f'{_num(report.get("duration_s"))} s</p>'
        f'<p class="muted">{summary}{counts["FAIL"]} failing, {counts["INCONCLUSIVE"]} inconclusive, '
        f'{counts["PASS"]} passing checks; {_e(details.get("correction", ""))} correction at alpha '
        f'{_num(details.get("alpha"))}</p>'
        "<h2>Checks</h2><table><tr><th>verdict</th><th>check</th><th>observed</th><th>threshold</th>"
        f"<th>reason</th></tr>{check_rows}</table>"
        f'<h2>Columns</h2><p class="legend muted">share of rows per bin:<span style="background:{_REF_COLOR}">'
        f'</span>reference<span style="background:{_CUR_COLOR}"></span>current</p>'
        f'<div class="cols">{cards}</div></body></html>\n'
    )


def write_html(report: Report | dict[str, Any], path: Path) -> Path:
    data = report.to_dict() if isinstance(report, Report) else report
    write_atomic(Path(path), render_html(data))
    return Path(path)
