"""The smoke and load test pages (report kinds `smoke` and `load`), and the latency figures the model gate's page
shares: the latency histogram with the thresholds across it, and the observed percentiles against their limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.html.charts import HBar, Mark, hbars, histogram
from runtime.html.page import Section, charts, facts, figure, report_page, worst
from runtime.html.svg import NEW, VERDICT, finite, fmt

PERCENTILES = ("p50", "p95", "p99")


def _checks(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("name")): c for c in report.get("checks") or []}


def latency_histogram(hist: Mapping[str, Any] | None, title: str, *, observed: Mapping[str, Any] | None = None,
                      what: str = "successful requests") -> str:
    """The histogram of `details.plots.latency` with each threshold (dashed) and, when given, the observed
    percentiles (solid) across it."""
    if not hist or not hist.get("edges"):
        return ""
    marks = [Mark(float(v), f"{k} limit") for k, v in (hist.get("thresholds") or {}).items() if finite(v)]
    for name in PERCENTILES:
        value = (observed or {}).get(f"{name}_ms")
        if finite(value):
            marks.append(Mark(float(value), name, "observed"))
    svg = histogram(hist["edges"], hist["counts"], title=title, x_label="latency (ms)", marks=marks,
                    overflow=hist.get("overflow") or 0)
    return figure(title, svg, f"{fmt(hist.get('n'))} {what}")


def percentile_bars(observed: Mapping[str, Any], limits: Mapping[str, Any], checks: Mapping[str, Any],
                    names: Mapping[str, str], title: str) -> str:
    """Observed p50/p95/p99 (ms) as bars, each with its own limit tick, coloured by its check's verdict."""
    rows = []
    limited = any(finite(limits.get(f"{pct}_ms")) for pct in PERCENTILES)
    for pct in PERCENTILES:
        value, limit = observed.get(f"{pct}_ms"), limits.get(f"{pct}_ms")
        if (value is None and limit is None) or (limited and not finite(limit)):
            continue
        check = checks.get(names.get(pct, ""), {})
        color = VERDICT.get(str(check.get("verdict")), NEW)
        note = f"{fmt(value)} ms" + (f" (limit {fmt(limit)} ms)" if finite(limit) else "")
        rows.append(HBar(pct, float(value) if finite(value) else None, color=color,
                         mark=Mark(float(limit), f"{pct} limit") if finite(limit) else None, note=note))
    if not rows:
        return ""
    return figure(title, hbars(rows, title=title, x_label="ms"), "tick: the limit; bar colour: the check's verdict")


def rate_bar(label: str, value: Any, limit: Any, check: Mapping[str, Any], *, title: str, unit: str,
             limit_label: str, note: str = "") -> str:
    """One observed rate against one limit (error rate, throughput)."""
    if not finite(value) and not finite(limit):
        return ""
    color = VERDICT.get(str(check.get("verdict")), NEW)
    marks = [Mark(float(limit), limit_label)] if finite(limit) else []
    row = HBar(label, float(value) if finite(value) else None, color=color, note=f"{fmt(value)} {unit}".strip())
    return figure(title, hbars([row], title=title, x_label=unit, marks=marks), note)


def smoke_sections(report: Mapping[str, Any]) -> list[Section]:
    details = report.get("details") or {}
    plots = details.get("plots") or {}
    latency = details.get("latency") or {}
    limits = details.get("thresholds") or {}
    checks = _checks(report)
    names = {"p50": "latency p50", "p95": "latency p95", "p99": "latency p99"}
    error = checks.get("error rate", {})
    figures = [latency_histogram(plots.get("latency"), "Latency of successful requests"),
               percentile_bars(latency, limits, checks, names, "Percentiles against their limits"),
               rate_bar("error rate", error.get("observed"), limits.get("max_error_rate"), error,
                        title="Error rate", unit="", limit_label="max error rate",
                        note=f"{fmt(latency.get('errors'))} of {fmt(latency.get('requests'))} requests failed")]
    verdict = worst(str(checks[n].get("verdict")) for n in [*names.values(), "error rate"] if n in checks)
    run = facts({"requests": latency.get("requests"), "concurrency": limits.get("concurrency"),
                 "wall time (s)": latency.get("wall_s"), "throughput (rps)": latency.get("throughput_rps"),
                 "payloads": (details.get("payloads") or {}).get("source"), "stopped early": latency.get("aborted")})
    return [Section("Latency and errors", run + charts(figures) if any(figures) else "", verdict, "latency")]


def load_sections(report: Mapping[str, Any]) -> list[Section]:
    details = report.get("details") or {}
    plots = details.get("plots") or {}
    load = details.get("load") or {}
    limits = details.get("thresholds") or {}
    checks = _checks(report)
    error, rate = checks.get("load error rate", {}), checks.get("load throughput", {})
    target, ratio = limits.get("rps"), limits.get("min_achieved_ratio")
    needed = float(target) * float(ratio) if finite(target) and finite(ratio) else None
    figures = [latency_histogram(plots.get("latency"), "Latency under load", observed={"p95_ms": load.get("p95_ms")}),
               percentile_bars(load, {"p95_ms": limits.get("p95_ms")}, checks, {"p95": "load latency p95"},
                               "p95 against its limit"),
               rate_bar("answered", load.get("achieved_rps"), needed, rate, title="Throughput", unit="rps",
                        limit_label=f"needed ({fmt(ratio)} x {fmt(target)} rps)",
                        note=f"{fmt(load.get('scheduled'))} scheduled, {fmt(load.get('dropped'))} dropped, "
                             f"{fmt(load.get('late'))} dispatched late"),
               rate_bar("error rate", error.get("observed"), limits.get("max_error_rate"), error, title="Error rate",
                        unit="", limit_label="max error rate")]
    names = ("load error rate", "load latency p95", "load throughput")
    verdict = worst(str(checks[n].get("verdict")) for n in names if n in checks)
    run = facts({"target rps": target, "duration (s)": limits.get("duration_s"), "sent": load.get("sent"),
                 "max in flight": limits.get("max_in_flight"), "max dispatch lag (ms)": load.get("max_dispatch_lag_ms"),
                 "aborted": load.get("aborted")})
    return [Section("Latency, throughput and errors", run + charts(figures) if any(figures) else "", verdict,
                    "load")]


def render_smoke(report: Mapping[str, Any]) -> str:
    return report_page("Smoke test", report, smoke_sections(report))


def render_load(report: Mapping[str, Any]) -> str:
    return report_page("Load test", report, load_sections(report))
