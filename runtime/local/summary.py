"""The local run's summary: a table on the terminal and one self-contained HTML report linking every stage's report.

Plots are inline SVG built here from the stage reports (no external assets, no plotting library): champion vs
candidate metrics from the model gate, the latency distribution of the smoke test and baseline vs canary from the
canary judge. The data-validation stage links its own HTML report with per-column histograms.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.report import write_atomic

COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700", "ERROR": "#cf222e",
          "SKIPPED": "#6e7781"}


def load_json(path: Path | None) -> dict[str, Any] | None:
    """A report as a mapping, or None when it is missing or unreadable."""
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class StageResult:
    name: str
    title: str
    verdict: str = "SKIPPED"
    duration_s: float = 0.0
    reason: str = ""
    report: Path | None = None
    extra_links: dict[str, Path] = field(default_factory=dict)

    @property
    def report_data(self) -> dict[str, Any] | None:
        return load_json(self.report)


def stop_reason(report: dict[str, Any]) -> str:
    """What a person needs: the names of every failing check (else every inconclusive one), then the first
    two reasons in full."""
    checks = report.get("checks", [])
    for wanted, word in (("FAIL", "failed"), ("INCONCLUSIVE", "inconclusive")):
        bad = [c for c in checks if c.get("verdict") == wanted]
        if bad:
            names = ", ".join(str(c["name"]) for c in bad)
            details = "; ".join(str(c.get("reason", "")) for c in bad[:2])
            return f"{len(bad)} check{'s' * (len(bad) != 1)} {word} ({names}): {details}"
    return ""


# Terminal ---------------------------------------------------------------------------------------------------
def terminal_table(stages: Sequence[StageResult], verdict: str, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("stage")
    table.add_column("verdict")
    table.add_column("time", justify="right")
    table.add_column("reason / evidence", overflow="fold", max_width=90)
    for stage in stages:
        color = COLORS.get(stage.verdict, "white")
        table.add_row(stage.title, f"[{color}]{stage.verdict}[/]", f"{stage.duration_s:.1f} s",
                      stage.reason or (str(stage.report) if stage.report else ""))
    table.caption = f"pipeline verdict: {verdict}"
    return table


# HTML -------------------------------------------------------------------------------------------------------
def _bars(title: str, series: dict[str, dict[str, float]], unit: str = "") -> str:
    """Grouped horizontal bars: {group: {label: value}}."""
    rows = [(g, label, v) for g, values in series.items() for label, v in values.items()]
    if not rows:
        return ""
    top = max(abs(v) for _, _, v in rows) or 1.0
    height = 22 * len(rows) + 30
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" width="640" height="{height}" '
             'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="12">',
             f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>']
    palette = ["#0969da", "#bf3989", "#1a7f37", "#9a6700"]
    groups = list(series)
    for i, (group, label, value) in enumerate(rows):
        y = 26 + 22 * i
        width = max(1.0, 380 * abs(value) / top)
        color = palette[groups.index(group) % len(palette)]
        parts.append(f'<text x="0" y="{y + 13}">{html.escape(group)} · {html.escape(label)}</text>'
                     f'<rect x="200" y="{y}" width="{width:.1f}" height="16" fill="{color}"/>'
                     f'<text x="{205 + width:.1f}" y="{y + 13}">{value:.4g}{html.escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _plots(stage: StageResult) -> str:
    data = stage.report_data or {}
    details = data.get("details") or {}
    checks = data.get("checks", [])
    kind = data.get("kind")
    if kind == "model-gate":
        candidate = (details.get("candidate") or {}).get("metrics") or {}
        champion = (details.get("champion") or {}).get("metrics") or {}
        series = {}
        if champion:
            series["champion"] = {k: float(v) for k, v in champion.items() if isinstance(v, int | float)}
        if candidate:
            series["candidate"] = {k: float(v) for k, v in candidate.items() if isinstance(v, int | float)}
        return _bars("champion vs candidate metrics", series)
    numeric = {c["name"]: float(c["observed"]) for c in checks if isinstance(c.get("observed"), int | float)}
    if kind in ("smoke", "load") and numeric:
        latency = {k: v for k, v in numeric.items() if "ms" in k or "latency" in k or k.startswith("p")}
        return _bars(f"{stage.title}: observed values", {"observed": latency or numeric})
    if kind in ("canary-judge", "deploy") and numeric:
        return _bars("canary judge: observed per check", {"observed": numeric})
    return ""


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value)


def _check_row(check: dict[str, Any]) -> str:
    color = COLORS.get(str(check.get("verdict")), "#000")
    cells = [html.escape(str(check.get("name"))), f"<span style='color:{color}'>{check.get('verdict')}</span>",
             html.escape(_shown(check.get("observed"))), html.escape(str(check.get("threshold") or "")),
             html.escape(str(check.get("reason", "")))]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def write_html(path: Path, stages: Sequence[StageResult], verdict: str, facts: dict[str, str]) -> Path:
    def link(target: Path, label: str) -> str:
        rel = os.path.relpath(target, path.parent)
        return f'<a href="{html.escape(rel)}">{html.escape(label)}</a>'

    rows = []
    sections = []
    for stage in stages:
        color = COLORS.get(stage.verdict, "#000")
        links = [link(stage.report, "report.json")] if stage.report and stage.report.exists() else []
        links += [link(p, label) for label, p in stage.extra_links.items() if p.exists()]
        rows.append(f"<tr><td>{html.escape(stage.title)}</td><td style='color:{color};font-weight:bold'>"
                    f"{stage.verdict}</td><td>{stage.duration_s:.1f} s</td><td>{html.escape(stage.reason)}</td>"
                    f"<td>{' · '.join(links)}</td></tr>")
        data = stage.report_data
        if data:
            checks = sorted(data.get("checks", []), key=lambda c: {"FAIL": 0, "INCONCLUSIVE": 1}.get(
                c.get("verdict"), 2))
            check_rows = "".join(_check_row(c) for c in checks)
            sections.append(f"<h2 id='{stage.name}'>{html.escape(stage.title)} — {data.get('verdict')}</h2>"
                            f"{_plots(stage)}<table><tr><th>check</th><th>verdict</th><th>observed</th>"
                            f"<th>threshold</th><th>reason</th></tr>{check_rows}</table>")
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts.items())
    color = COLORS.get(verdict, "#000")
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ml-cicd local run: {verdict}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}}
h1 span{{color:{color}}}</style></head><body>
<h1>ml-cicd local run: <span>{verdict}</span></h1>
<table>{fact_rows}</table>
<table><tr><th>stage</th><th>verdict</th><th>time</th><th>reason</th><th>evidence</th></tr>{''.join(rows)}</table>
{''.join(sections)}
</body></html>
"""
    write_atomic(path, document)
    return path
