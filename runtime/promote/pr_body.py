"""The pull-request body of a promotion: what changes, the evidence behind it, and what reviewers check.

Reports come from other gates; their `details` are read defensively (a missing section is said, not guessed).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from runtime.promote.gather import Evidence, Target
from runtime.report import Verdict

if TYPE_CHECKING:
    from runtime.config import StackConfig

_LATENCY_CHECK = re.compile(r"p50|p9[59]|latency|error|ready|throughput|rps", re.IGNORECASE)


def render(*, target: Target, previous_version: Any, previous_digest: Any, source_label: str, stack: str,
           file_name: str, evidence: list[Evidence], config: StackConfig, diff: str) -> str:
    by_kind = {e.kind: e for e in evidence}
    lines = [f"## Promote {target.model} version {target.version} to {stack}", ""]
    lines += _change_table(target, previous_version, previous_digest)
    lines += ["", f"Copied from {source_label} by `mlcicd promote`; only `model.version` and `model.imageDigest` "
              f"change in `{file_name}`.", "", "```diff", diff.rstrip("\n"), "```", ""]
    lines += ["### Evidence", "", "| Report | Required | Verdict | Source |", "|---|---|---|---|"]
    for item in evidence:
        verdict = item.verdict if item.found else "not provided"
        lines.append(f"| {item.kind} | {'yes' if item.required else 'if present'} | {_cell(verdict)} "
                     f"| {_cell(item.source or '-')} |")
    lines += ["", *_gate_section(by_kind.get("model-gate"))]
    lines += _deltas_section(by_kind.get("model-gate"), config)
    lines += _data_section(by_kind.get("data-validation"))
    lines += _latency_section([by_kind[k] for k in ("smoke", "load") if k in by_kind])
    lines += _canary_section(config, stack)
    lines += _review_section(target, stack, previous_version)
    return "\n".join(lines).rstrip("\n") + "\n"


def _change_table(target: Target, previous_version: Any, previous_digest: Any) -> list[str]:
    return ["| | Now | After merge |", "|---|---|---|",
            f"| model | {target.model} | {target.model} |",
            f"| version | {_cell(previous_version if previous_version is not None else '(none)')} "
            f"| {target.version} |",
            f"| image digest | {_code(previous_digest) if previous_digest else '(none)'} "
            f"| {_code(target.image_digest)} |"]


def _gate_section(gate: Evidence | None) -> list[str]:
    lines = ["### Model gate", ""]
    if gate is None or gate.report is None:
        lines += ["The model gate's verdict comes from an MLflow tag without a readable report; no check table.", ""]
        return lines
    lines += _checks_table(gate.report.get("checks", []))
    return [*lines, ""]


def _checks_table(checks: Iterable[Any]) -> list[str]:
    lines = ["| Check | Verdict | Observed | Threshold |", "|---|---|---|---|"]
    for check in checks:
        if isinstance(check, dict):
            lines.append(f"| {_cell(check.get('name'))} | {_cell(check.get('verdict'))} "
                         f"| {_value(check.get('observed'))} | {_cell(check.get('threshold') or '-')} |")
    return lines


def metric_deltas(details: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(metric, champion, candidate) from a model-gate report's details as `mlcicd gate model` writes them:
    `candidate: {version, metrics}` and `champion: {version, metrics}` (None without a champion)."""
    candidate = _metrics_of(details, "candidate")
    champion = _metrics_of(details, "champion")
    return [(name, champion.get(name), candidate.get(name)) for name in sorted(set(champion) | set(candidate))]


def _metrics_of(details: dict[str, Any], side: str) -> dict[str, Any]:
    nested = details.get(side)
    if isinstance(nested, dict) and isinstance(nested.get("metrics"), dict):
        return nested["metrics"]
    return {}


def _champion_label(details: dict[str, Any]) -> str:
    champion = details.get("champion")
    if isinstance(champion, dict) and champion.get("version") is not None:
        return f"Champion (version {champion['version']})"
    return "Champion (none yet)"


def _deltas_section(gate: Evidence | None, config: StackConfig) -> list[str]:
    lines = ["### Champion vs candidate", ""]
    details = gate.report.get("details") if gate is not None and gate.report is not None else None
    rows = metric_deltas(details) if isinstance(details, dict) else []
    if not rows:
        return [*lines, "The model-gate report carries no candidate metrics.", ""]
    assert isinstance(details, dict)
    lines += [f"| Metric | {_champion_label(details)} | Candidate | Delta | |", "|---|---|---|---|---|"]
    for name, champion, candidate in rows:
        bounds = config.gates.metrics.get(name)
        direction = _direction(champion, candidate, bounds.higher_is_better) if bounds is not None else ""
        lines.append(f"| {_cell(name)} | {_value(champion)} | {_value(candidate)} | {_delta(champion, candidate)} "
                     f"| {direction} |")
    return [*lines, ""]


def _direction(champion: Any, candidate: Any, higher_is_better: bool) -> str:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (champion, candidate)):
        return ""
    if candidate == champion:
        return "equal"
    return "better" if (candidate > champion) == higher_is_better else "worse"


def _data_section(data: Evidence | None) -> list[str]:
    lines = ["### Data validation", ""]
    if data is None or not data.found:
        return [*lines, "No data-validation report was provided for this version.", ""]
    if data.report is None:
        return [*lines, f"Verdict {data.verdict} (from {data.source}); no readable report.", ""]
    checks = [c for c in data.report.get("checks", []) if isinstance(c, dict)]
    counts = {v.value: sum(1 for c in checks if c.get("verdict") == v.value) for v in Verdict}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines.append(f"Verdict **{data.report.get('verdict')}**: {len(checks)} checks ({summary or 'none'}).")
    drift = [c for c in checks if "drift" in str(c.get("name", "")).lower()]
    if drift:
        lines += ["", "<details><summary>Drift checks</summary>", "", *_checks_table(drift), "", "</details>"]
    return [*lines, ""]


def _latency_section(reports: list[Evidence]) -> list[str]:
    lines = ["### Smoke and load", ""]
    shown = [e for e in reports if e.report is not None]
    if not shown:
        return [*lines, "No readable smoke or load report (verdicts only, from MLflow tags).", ""]
    summaries = [(e.kind, _latency_summary(e.report)) for e in shown if e.report is not None]
    summaries = [(kind, summary) for kind, summary in summaries if summary]
    if summaries:
        lines += ["| Report | Requests | Errors | p50 ms | p95 ms | p99 ms | Throughput rps |",
                  "|---|---|---|---|---|---|---|"]
        for kind, summary in summaries:
            rps = summary.get("achieved_rps", summary.get("throughput_rps"))
            lines.append(f"| {kind} | {_value(summary.get('requests'))} | {_value(summary.get('errors'))} "
                         f"| {_value(summary.get('p50_ms'))} | {_value(summary.get('p95_ms'))} "
                         f"| {_value(summary.get('p99_ms'))} | {_value(rps)} |")
        lines.append("")
    lines += ["| Report | Check | Verdict | Observed | Threshold |", "|---|---|---|---|---|"]
    for item in shown:
        assert item.report is not None
        for check in item.report.get("checks", []):
            if isinstance(check, dict) and _LATENCY_CHECK.search(str(check.get("name", ""))):
                lines.append(f"| {item.kind} | {_cell(check.get('name'))} | {_cell(check.get('verdict'))} "
                             f"| {_value(check.get('observed'))} | {_cell(check.get('threshold') or '-')} |")
    missing = [k for k in ("smoke", "load") if k not in {e.kind for e in shown}]
    if missing:
        lines += ["", f"Not provided: {', '.join(missing)}."]
    return [*lines, ""]


def _latency_summary(report: dict[str, Any]) -> dict[str, Any]:
    """`details.latency` (smoke) or `details.load` (load test) as `mlcicd smoke` writes them."""
    details = report.get("details")
    if not isinstance(details, dict):
        return {}
    for key in ("latency", "load"):
        if isinstance(details.get(key), dict):
            return details[key]
    return {}


def _strategy(config: StackConfig) -> str:
    canary = config.serving.canary
    bake = f"{canary.bake_minutes} min"
    if canary.strategy == "canary":
        return f"canary: {canary.percent:g} % of traffic for {bake}, then 100 %"
    if canary.strategy == "linear":
        return f"linear: +{canary.step_percent:g} % of traffic every {bake}"
    if canary.strategy == "blue-green":
        return f"blue-green (CodeDeploy): {canary.percent:g} % of traffic for {bake}, then 100 %"
    return "rolling: tasks replaced in place; the circuit breaker rolls back a failing deployment"


def _canary_section(config: StackConfig, stack: str) -> list[str]:
    judge = config.serving.canary.judge
    alarms = config.alarms
    quality = alarms.model_quality
    op = "<" if quality.comparison == "LessThanThreshold" else ">"
    weights = judge.weights
    lines = [f"### Canary plan ({stack})", "",
             f"- Backend `{config.serving.backend}`; {_strategy(config)}.",
             f"- Judge (`mlcicd canary judge`): window {judge.window_minutes} min, at least {judge.min_requests} "
             f"requests per side before a PASS, false-FAIL rate <= {judge.alpha:g} over the whole decision, "
             f"power {judge.power:g}; score >= {judge.pass_score:g} PASS, >= {judge.marginal_score:g} MARGINAL, "
             "below FAIL.",
             f"- Judge effects (caught with that power): 5xx rate x{judge.error_rate_ratio:g} (floor "
             f"{judge.error_rate_tolerance:g}), latency +{judge.latency_tolerance:.0%}, p99 "
             f"+{judge.tail_tolerance:.0%}, predictions {judge.prediction_shift_sd:g} sd; weights errors "
             f"{weights.errors:g}, latency {weights.latency:g}, tail {weights.tail:g}, predictions "
             f"{weights.predictions:g}, quality {weights.quality:g}.",
             f"- Alarms (roll back automatically): 5xx > {alarms.error_rate_percent:g} % of requests (from "
             f"{alarms.min_requests} requests per period), p99 latency > {alarms.p99_latency_ms:g} ms, "
             f"{quality.namespace}/{quality.metric_name} {op} {quality.threshold:g}; {alarms.datapoints_to_alarm} "
             f"of {alarms.evaluation_periods} periods of {alarms.period_seconds} s.",
             f"- Notified: {', '.join(alarms.emails) if alarms.emails else 'no e-mail subscriptions'}.", ""]
    return lines


def _review_section(target: Target, stack: str, previous_version: Any) -> list[str]:
    back = f"pins version {previous_version} again" if previous_version is not None else "restores the old pin"
    return ["### Review", "",
            f"1. `pulumi preview --stack {stack} --diff`: only the serving task definition's image (digest "
            f"`{target.image_digest[:19]}...`), the model version it carries and the deployment should change.",
            f"2. Merge: the deploy workflow runs `pulumi up --stack {stack}` and the canary plan above takes over; "
            f"then `mlcicd verify rollout --stack {stack}` confirms what is live.",
            f"3. Roll back: revert this pull request ({back}), or let the alarms roll the deployment back.", ""]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _code(value: Any) -> str:
    return f"`{value}`"


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, dict | list):
        text = json.dumps(value, separators=(",", ":"), default=str)
        return _cell(text if len(text) <= 80 else text[:77] + "...")
    return _cell(value)


def _delta(champion: Any, candidate: Any) -> str:
    numbers = (int, float)
    if isinstance(champion, bool) or isinstance(candidate, bool):
        return "-"
    if not isinstance(champion, numbers) or not isinstance(candidate, numbers):
        return "-"
    diff = float(candidate) - float(champion)
    return f"{diff:+.4g}" if math.isfinite(diff) else "-"
