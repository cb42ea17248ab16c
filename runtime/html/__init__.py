"""HTML pages of the gates' reports, in one visual style (docs/reports.md).

    render(report) -> str          the page of any report (a Report or its JSON form), chosen by its kind
    write(report, path) -> Path    the same, written atomically; a path that cannot be written is a UsageError
    charts_html(report) -> str     only the report's chart sections, to embed in another page

Pages are self-contained (inline CSS and SVG, no scripts, nothing loaded from elsewhere) and show the verdict,
the checks failing first, then the gate's charts with its thresholds drawn on them. A kind without its own page,
and any check a page does not know, still renders: the checks table covers every check, and the details are listed.

Building blocks for other pages: `runtime.html.page` (page skeleton, CSS, badge, checks table, sections),
`runtime.html.charts` (histogram, grouped bars, horizontal bars with intervals, line over time, confusion matrix,
binned scatter) and `runtime.html.svg` (`Mark`: a threshold, tolerance or observed value drawn across a chart).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from runtime.errors import InvalidValue, UsageError
from runtime.html.page import Section, facts, report_page, sections_html
from runtime.html.svg import e
from runtime.report import Report, write_atomic

__all__ = ["charts_html", "render", "write"]

TITLES = {"model-gate": "Model gate", "smoke": "Smoke test", "load": "Load test", "canary-judge": "Canary judge",
          "data-validation": "Data validation", "replay-gate": "Replay gate", "shadow-gate": "Shadow gate"}


def _module(kind: str) -> Any:
    """The module that draws reports of `kind` (its `render` and `sections`), None for kinds without one."""
    if kind == "model-gate":
        from runtime.html import model_gate

        return model_gate
    if kind in ("smoke", "load"):
        from runtime.html import latency

        return latency
    if kind == "canary-judge":
        from runtime.html import canary

        return canary
    if kind == "data-validation":
        from runtime.data import html as data_html

        return data_html
    if kind in ("replay-gate", "shadow-gate"):
        from runtime.replay import html as replay_html

        return replay_html
    return None


_RENDER = {"model-gate": "render", "smoke": "render_smoke", "load": "render_load", "canary-judge": "render",
           "data-validation": "render_html", "replay-gate": "render_html", "shadow-gate": "render_html"}
_SECTIONS = {"model-gate": "sections", "smoke": "smoke_sections", "load": "load_sections",
             "canary-judge": "sections", "data-validation": "sections", "replay-gate": "sections",
             "shadow-gate": "sections"}


def generic(report: Mapping[str, Any]) -> str:
    """Any report: the checks, the scalar details as facts and the rest as JSON (collapsed)."""
    details = report.get("details") or {}
    scalars = {k: v for k, v in details.items() if isinstance(v, str | int | float | bool) or v is None}
    rest = {k: v for k, v in details.items() if k not in scalars}
    raw = (f"<details><summary>details</summary><pre>{e(json.dumps(rest, indent=2, default=str))}</pre></details>"
           if rest else "")
    kind = str(report.get("kind", "report"))
    return report_page(TITLES.get(kind, kind), report, [Section("Details", facts(scalars) + raw)])


def _as_dict(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    data = report.to_dict() if isinstance(report, Report) else report
    if not isinstance(data, Mapping) or "checks" not in data or "kind" not in data:
        raise InvalidValue("not a report: an HTML page needs a mapping with kind and checks (design.md section 4)")
    return dict(data)


def render(report: Report | Mapping[str, Any]) -> str:
    data = _as_dict(report)
    kind = str(data["kind"])
    module = _module(kind)
    draw: Callable[[dict[str, Any]], str] = getattr(module, _RENDER[kind]) if module is not None else generic
    return draw(data)


def charts_html(report: Report | Mapping[str, Any], level: int = 3, leave_out: Collection[str] = ()) -> str:
    """The report's chart sections alone (failing first, titled at heading `level`, without the sections whose
    anchor is in `leave_out`, e.g. the data page's per-column `columns`), to embed in another page such as the
    local run's summary; empty for a kind without charts."""
    data = _as_dict(report)
    kind = str(data["kind"])
    module = _module(kind)
    if module is None:
        return ""
    return sections_html([s for s in getattr(module, _SECTIONS[kind])(data) if s.anchor not in leave_out], level)


def write(report: Report | Mapping[str, Any], path: Path) -> Path:
    """Render and write the page atomically (temp file, then rename)."""
    text = render(report)
    try:
        write_atomic(Path(path), text)
    except OSError as exc:
        raise UsageError(f"--html {path}: cannot write the HTML report ({exc.strerror or exc}); give a writable "
                         "file path") from exc
    return Path(path)
