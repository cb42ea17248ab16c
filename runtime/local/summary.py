"""The local run's summary: a table on the terminal and one self-contained HTML report linking every stage's report.

The page uses the reports' shared style and charts (runtime/html/): each stage's checks, failing first, and the
charts of its report (champion vs candidate, latency against the thresholds, baseline vs canary, ...), all inline
(no external assets). The data-validation stage links its own HTML report with per-column histograms.
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
    in_pipeline: bool = True
    """False for a scheduled job run after the pipeline (the drift job): shown, but not the pipeline's verdict."""

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
def write_html(path: Path, stages: Sequence[StageResult], verdict: str, facts: dict[str, str]) -> Path:
    """The summary page in the reports' shared style (runtime/html/): the stages in pipeline order, then each
    stage's checks and charts, failing stages first."""
    from runtime.html import charts_html
    from runtime.html.page import ORDER, badge, checks_table, document, header

    def link(target: Path, label: str) -> str:
        rel = os.path.relpath(target, path.parent)
        return f'<a href="{html.escape(rel)}">{html.escape(label)}</a>'

    rows = []
    sections = []
    for stage in stages:
        links = [link(stage.report, "report.json")] if stage.report and stage.report.exists() else []
        links += [link(p, label) for label, p in stage.extra_links.items() if p.exists()]
        rows.append(f"<tr><td>{badge(stage.verdict)}</td><td>{html.escape(stage.title)}</td>"
                    f"<td class=num>{stage.duration_s:.1f} s</td><td class=reason>{html.escape(stage.reason)}</td>"
                    f"<td>{' · '.join(links)}</td></tr>")
        data = stage.report_data
        if data:
            # The data stage's per-column cards stay on its own page (linked above).
            charts = charts_html(data, leave_out=("columns",)) if {"kind", "checks"} <= set(data) else ""
            sections.append((ORDER.get(str(data.get("verdict")), 2),
                             f"<section id='{stage.name}'><h2>{html.escape(stage.title)} "
                             f"{badge(str(data.get('verdict')))}</h2>{checks_table(data.get('checks', []))}{charts}"
                             "</section>"))
    checks = [{"verdict": stage.verdict} for stage in stages if stage.in_pipeline]
    body = (header("ml-cicd local run", verdict, subject=facts, meta="stages of the delivery pipeline, run locally",
                   checks=checks)
            + "<section id=stages><h2>Stages</h2><table><tr><th>verdict</th><th>stage</th><th>time</th>"
              f"<th>reason</th><th>evidence</th></tr>{''.join(rows)}</table></section>"
            + "".join(text for _, text in sorted(sections, key=lambda s: s[0])))
    write_atomic(path, document(f"ml-cicd local run: {verdict}", body))
    return path
