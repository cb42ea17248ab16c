"""The one page every HTML report is: a verdict header, the checks (failing first), then sections of charts.

Self-contained: inline CSS and SVG, no scripts, no fonts, images or styles from anywhere else, so a page opened
from an artifact bucket or a CI log looks the same offline. Rendered from a report's JSON form, so a stored report
can be rendered again later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.html.svg import VERDICT, e, finite, fmt

#: Failing first, then inconclusive, then passing; anything else last.
ORDER = {"FAIL": 0, "INCONCLUSIVE": 1, "NODATA": 1, "PASS": 2}

CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--inc:#9a6700;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--ink:#1f2328}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:20px 24px 40px}
header.verdict{border:1px solid var(--line);border-left:8px solid var(--v);border-radius:6px;padding:12px 16px;
 background:var(--soft)}
header.verdict h1{font-size:21px;margin:0 0 4px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.subject{font-size:14px;margin:2px 0}
.muted{color:var(--muted);font-size:13px}
.counts{display:flex;gap:8px;margin-top:8px;flex-wrap:wrap}
.count{border:1px solid var(--line);border-radius:12px;padding:1px 10px;font-size:12px;background:#fff}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;
 background:#6e7781;white-space:nowrap}
.badge[data-v=PASS]{background:var(--pass)} .badge[data-v=FAIL]{background:var(--fail)}
.badge[data-v=INCONCLUSIVE],.badge[data-v=MARGINAL]{background:var(--inc)}
h1 .badge{font-size:15px;padding:2px 12px}
h2{font-size:17px;margin:26px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line);display:flex;gap:8px;
 align-items:center}
h3{font-size:14px;margin:0 0 6px}
section section>h3{font-size:15px;margin:18px 0 8px;display:flex;gap:8px;align-items:center}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:has(.badge[data-v=FAIL])>td{background:#fff5f5} tr:has(.badge[data-v=INCONCLUSIVE])>td{background:#fffbeb}
td.reason{max-width:560px;overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fff;min-width:0}
figcaption{font-weight:600;font-size:13px;margin-bottom:4px}
figure svg{max-width:100%;height:auto;display:block}
figure p{margin:4px 0 0}
.cols{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px;min-width:0}
.card svg{max-width:100%;height:auto}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;font-size:13px}
dl.facts dt{color:var(--muted)} dl.facts dd{margin:0;overflow-wrap:anywhere}
a{color:#0969da}
"""


def badge(verdict: str) -> str:
    return f'<span class="badge" data-v="{e(verdict)}">{e(verdict)}</span>'


def ordered(checks: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Checks failing first, then inconclusive, then passing; otherwise in report order."""
    return sorted(checks, key=lambda c: ORDER.get(str(c.get("verdict")), 3))


def worst(verdicts: Iterable[str]) -> str:
    seen = list(verdicts)
    return min(seen, key=lambda v: ORDER.get(v, 3)) if seen else "PASS"


def interval(check: Mapping[str, Any]) -> tuple[float, float] | None:
    """The confidence interval a statistical check carries, if any: `decision.bounds.alpha` (the bounds the check
    decided FAIL on), else `decision.ci`, else `ci`, each as [low, high]."""
    decision = check.get("decision")
    decision = decision if isinstance(decision, Mapping) else {}
    bounds = decision.get("bounds")
    bounds = bounds if isinstance(bounds, Mapping) else {}
    for found in (bounds.get("alpha"), decision.get("ci"), check.get("ci")):
        if isinstance(found, list | tuple) and len(found) == 2 and all(finite(v) for v in found):
            return float(found[0]), float(found[1])
    return None


def observed_text(check: Mapping[str, Any]) -> str:
    value = check.get("observed")
    if isinstance(value, list | tuple):
        shown = ", ".join(fmt(v) for v in value)
    elif isinstance(value, Mapping):
        shown = ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    else:
        shown = fmt(value) if value is not None else ""
    ci = interval(check)
    return shown + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "")


def checks_table(checks: Iterable[Mapping[str, Any]]) -> str:
    """Every check, failing first: verdict, name, observed (with its interval when it has one), threshold,
    reason. Works for any check, known or not."""
    rows = "".join(
        f"<tr><td>{badge(str(c.get('verdict', '')))}</td><td>{e(c.get('name', ''))}</td>"
        f"<td class=num>{e(observed_text(c))}</td><td>{e(c.get('threshold') or '')}</td>"
        f"<td class=reason>{e(c.get('reason', ''))}</td></tr>" for c in ordered(checks))
    return ("<table><tr><th>verdict</th><th>check</th><th>observed</th><th>threshold</th><th>reason</th></tr>"
            f"{rows}</table>")


def facts(items: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in items.items() if v is not None and v != ""}
    if not shown:
        return ""
    return "<dl class=facts>" + "".join(f"<dt>{e(k)}</dt><dd>{e(fmt(v))}</dd>" for k, v in shown.items()) + "</dl>"


def figure(caption: str, svg: str, note: str = "") -> str:
    extra = f'<p class="muted">{e(note)}</p>' if note else ""
    return f"<figure><figcaption>{e(caption)}</figcaption>{svg}{extra}</figure>"


@dataclass(frozen=True)
class Section:
    """A titled group of figures (or any HTML) about some of the checks; `verdict` orders the sections (failing
    first) and shows beside the title."""

    title: str
    body: str
    verdict: str = ""
    anchor: str = ""

    def html(self, level: int = 2) -> str:
        tag = f" {badge(self.verdict)}" if self.verdict else ""
        anchor = f' id="{e(self.anchor)}"' if self.anchor else ""
        return f"<section{anchor}><h{level}>{e(self.title)}{tag}</h{level}>{self.body}</section>"


def charts(figures: Sequence[str]) -> str:
    shown = [f for f in figures if f]
    return f'<div class="charts">{"".join(shown)}</div>' if shown else ""


def sections_html(sections: Iterable[Section], level: int = 2) -> str:
    """Sections with failing checks first (stable otherwise), titled at heading `level`; empty ones are left
    out."""
    kept = [s for s in sections if s.body]
    return "".join(s.html(level) for s in sorted(kept, key=lambda s: ORDER.get(s.verdict, 2)))


def header(title: str, verdict: str, *, subject: Mapping[str, Any], meta: str, checks: Sequence[Mapping[str, Any]],
           label: str = "") -> str:
    counts = {v: sum(1 for c in checks if c.get("verdict") == v) for v in ("FAIL", "INCONCLUSIVE", "PASS")}
    chips = "".join(f'<span class="count">{n} {word}</span>' for word, n in
                    (("failing", counts["FAIL"]), ("inconclusive", counts["INCONCLUSIVE"]),
                     ("passing", counts["PASS"])))
    who = " · ".join(f"{e(k)} <b>{e(fmt(v))}</b>" for k, v in subject.items() if v is not None and v != "")
    extra = f" {badge(label)}" if label and label != verdict else ""
    color = VERDICT.get(verdict, "#6e7781")
    return (f'<header class="verdict" style="--v:{color}"><h1>{e(title)} {badge(verdict)}{extra}</h1>'
            f'<p class="subject">{who}</p><p class="muted">{e(meta)}</p><div class="counts">{chips}</div></header>')


def document(title: str, body: str) -> str:
    """The whole page around `body`."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{e(title)}</title>'
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>\n")


def report_page(title: str, report: Mapping[str, Any], sections: Iterable[Section], *, label: str = "",
                before: str = "") -> str:
    """A gate's page: header (verdict, subject, when, counts), the checks failing first, then `sections` (failing
    first). `before` goes between the header and the checks (a short note)."""
    checks = list(report.get("checks") or [])
    verdict = str(report.get("verdict", "INCONCLUSIVE"))
    meta = f"{report.get('kind', '')} · started {report.get('started_at', 'n/a')} · {fmt(report.get('duration_s'))} s"
    body = (header(title, verdict, subject=report.get("subject") or {}, meta=meta, checks=checks, label=label) + before
            + f"<section id=checks><h2>Checks</h2>{checks_table(checks)}</section>" + sections_html(sections))
    return document(f"{title}: {verdict}", body)
