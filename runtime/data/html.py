"""The data-validation report as one self-contained HTML page in the reports' shared style (runtime/html/): inline
CSS and SVG, no scripts, no external assets. Failing checks come first, then inconclusive ones, then passing ones;
the drift overview shows each tested column's effect size and PSI against their thresholds; the per-column cards
(reference vs current histograms) are ordered like the checks. Rendered from the report's JSON form, so a stored
report can be rendered again later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.html.charts import HBar, Mark, grouped_bars, hbars
from runtime.html.page import ORDER, Section, badge, charts, figure, report_page
from runtime.html.svg import NEW, OLD, VERDICT, e, finite, fmt
from runtime.report import Report, write_atomic

_COLORS = {"reference": OLD, "current": NEW}


def _shares(counts: list[float]) -> list[float | None]:
    total = sum(counts) or 1
    return [c / total for c in counts]


def _histogram(name: str, col: dict[str, Any]) -> str:
    hist = col.get("histogram")
    if not hist:
        return '<p class="muted">no histogram (column not tested for drift)</p>'
    if "edges" in hist:
        labels = [fmt(x) for x in hist["edges"][:-1]]
        axis = f"bins from {fmt(hist['edges'][0])} to {fmt(hist['edges'][-1])} (label: bin start)"
    else:
        labels, axis = [str(c) for c in hist["categories"]], ""
    drift = col.get("drift") or {}
    note = f"PSI {fmt(drift.get('psi'))} (limit {fmt(drift.get('psi_threshold'))})" if drift.get("test") else ""
    svg = grouped_bars(labels, {"reference": _shares(hist["reference"]), "current": _shares(hist["current"])},
                       title=f"{name}: share of rows per bin", y_label="share of rows", colors=_COLORS, note=note,
                       percent=True, width=520)
    return svg + (f'<p class="muted">{e(axis)}</p>' if axis else "")


def _column_card(name: str, col: dict[str, Any]) -> str:
    drift = col.get("drift", {})
    verdict = drift.get("verdict", "")
    ref, cur = col.get("reference", {}), col.get("current", {})
    rows = [("type", e(col.get("type", "")), ""),
            ("missing rate", fmt(ref.get("missing_rate")), fmt(cur.get("missing_rate")))]
    if "min" in cur or "min" in ref:
        rows += [("min", fmt(ref.get("min")), fmt(cur.get("min"))), ("max", fmt(ref.get("max")),
                                                                     fmt(cur.get("max")))]
    if drift.get("test"):
        rows += [(f"{e(drift['test'])} statistic", fmt(drift.get("statistic")), ""),
                 ("p-value (adjusted)", fmt(drift.get("p_value_adjusted")), f"alpha {fmt(drift.get('alpha'))}"),
                 ("effect size", fmt(drift.get("effect_size")), f"min {fmt(drift.get('min_effect_size'))}"),
                 ("PSI", fmt(drift.get("psi")), f"threshold {fmt(drift.get('psi_threshold'))}")]
        if drift.get("statistic_bounds"):  # KS bracketed by the reference grid (large samples on both sides)
            low, high = drift["statistic_bounds"]
            rows.append(("statistic bounds", f"{fmt(low)} to {fmt(high)}", ""))
        if finite(drift.get("null_rate_change")):
            rows.append(("missing share change", fmt(drift.get("null_rate_change")),
                         f"p_adj {fmt(drift.get('null_p_value_adjusted'))}"))
        if drift.get("rows_needed"):
            rows.append(("rows needed to decide", fmt(drift.get("rows_needed")), ""))
        if drift.get("new_categories"):
            shown = ", ".join(f"{k} ({100 * v:.2f}%)" for k, v in list(drift["new_categories"].items())[:5])
            rows.append(("new categories", e(shown), ""))
    table = "".join(f"<tr><td>{a}</td><td class=num>{b}</td><td class=num>{c}</td></tr>" for a, b, c in rows)
    head = "<tr><th></th><th>reference</th><th>current</th></tr>"
    tag = badge(verdict) if verdict else '<span class="muted">not tested for drift</span>'
    reason = f'<p class="muted">{e(drift.get("reason", ""))}</p>' if drift.get("reason") else ""
    return (f'<div class="card"><h3>{e(name)} {tag}</h3>{_histogram(name, col)}'
            f"<table>{head}{table}</table>{reason}</div>")


def _overview(ordered: list[tuple[str, dict[str, Any]]], details: dict[str, Any]) -> str:
    """Effect size and PSI of every tested column against the thresholds (a column drifts when its adjusted p-value
    is below alpha and its effect reaches the minimum, or its PSI or unseen-category share reaches its limit)."""
    tested = [(n, c["drift"]) for n, c in ordered if (c.get("drift") or {}).get("test")]
    if not tested:
        return ""
    figures = []
    for key, limit_key, title in (("effect_size", "min_effect_size", "Effect size by column"),
                                  ("psi", "psi_threshold", "PSI by column")):
        limit = details.get(limit_key)
        marks = [Mark(float(limit), limit_key.replace("_", " "))] if finite(limit) else []
        rows = [HBar(n, float(d[key]) if finite(d.get(key)) else None, color=VERDICT.get(d.get("verdict"), NEW),
                     mark=Mark(float(d[limit_key]), limit_key) if finite(d.get(limit_key)) and not marks else None,
                     note=(f"p_adj {fmt(d.get('p_value_adjusted'))}" if key == "effect_size" else fmt(d.get(key))))
                for n, d in tested]
        figures.append(figure(title, hbars(rows, title=title, x_label=key.replace("_", " "), marks=marks)))
    return charts(figures)


def sections(report: dict[str, Any]) -> list[Section]:
    """The drift overview and one card per column, drifted columns first."""
    details = report.get("details", {})
    columns = details.get("columns", {})
    ordered = sorted(columns.items(), key=lambda kv: (ORDER.get(kv[1].get("drift", {}).get("verdict"), 3), kv[0]))
    cards = "".join(_column_card(name, col) for name, col in ordered)
    drift_checks = [c for c in report.get("checks", []) if str(c.get("name", "")).startswith("drift")]
    verdict = min((str(c.get("verdict")) for c in drift_checks), key=lambda v: ORDER.get(v, 3), default="")
    return [Section("Drift overview", _overview(ordered, details), verdict, "drift"),
            Section("Columns", f'<div class="cols">{cards}</div>' if cards else "", "", "columns")]


def render_html(report: dict[str, Any]) -> str:
    """The report (its JSON form) as a self-contained HTML page."""
    details = report.get("details", {})
    subject = report.get("subject", {})
    score = details.get("drift_score")
    summary = (f"drift score {score:.3g} ({len(details.get('drifted_columns', []))} drifted columns); "
               if isinstance(score, int | float) else "")
    note = (f'<p class="muted">reference {e(subject.get("reference", ""))} '
            f'({fmt(details.get("reference", {}).get("rows"))} rows) · current {e(subject.get("current", ""))} '
            f'({fmt(details.get("current", {}).get("rows"))} rows) · {summary}{e(details.get("correction", ""))} '
            f'correction at alpha {fmt(details.get("alpha"))}</p>')
    return report_page("Data validation", report, sections(report), before=note)


def write_html(report: Report | dict[str, Any], path: Path) -> Path:
    data = report.to_dict() if isinstance(report, Report) else report
    write_atomic(Path(path), render_html(data))
    return Path(path)
