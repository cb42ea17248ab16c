"""The canary judge's decision: from what baseline and canary served since the deployment start to a `Report`.

Five metrics (runtime.canary.metric_judges; docs/canary.md explains each test and shows its measured error rates):
- errors: 5xx rate, exact conditional test per period (works with a zero-error baseline and any traffic split);
- latency: location of the per-request response time, rank test on the response-time histogram;
- tail: the p99 of the per-request response time, requests beyond the pooled p99 split like errors;
- predictions: the prediction histogram (rank test for ordered bins, class shares for labels);
- quality: the model-quality metric, sign tests over paired periods, and the alarm threshold.
Each is PASS, FAIL, INCONCLUSIVE (cannot decide yet) or NODATA. FAIL needs an always-valid test at the metric's
share of `alpha` (so looking after every period since `--start-time` keeps the false-FAIL rate <= alpha) and an
effect of practical size; PASS needs the documented effect ruled out at 1 - `power`. The weighted share of passing
metrics is the score (0-100); undecided metrics widen it into a range, and the canary passes only if even the
worst case passes. MARGINAL is reported as FAIL. Too few requests make the verdict INCONCLUSIVE at best.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runtime.canary.data import CanaryData, QualityRule, VariantMetrics
from runtime.canary.metric_judges import MetricResult, evaluate_metrics
from runtime.canary.score import ScoreRange, classify_score, score_range
from runtime.config.checks import CanaryJudgeConfig, JudgeMetric
from runtime.report import Check, Report, Verdict, failed, inconclusive, passed

__all__ = ["KIND", "METRICS", "CanaryData", "QualityRule", "VariantMetrics", "judge_canary"]

KIND = "canary-judge"
METRICS: tuple[JudgeMetric, ...] = ("errors", "latency", "tail", "predictions", "quality")


def _samples_check(data: CanaryData, cfg: CanaryJudgeConfig) -> Check:
    nb, nc = data.baseline.requests, data.canary.requests
    threshold = f">= {cfg.min_requests} requests per side"
    if nb is None or nc is None:
        missing = " and ".join(n for n, v in (("baseline", nb), ("canary", nc)) if v is None)
        return inconclusive("samples", f"no request counts for the {missing} in the window: is traffic reaching "
                            "it, and do the target groups / dimensions match?", [nb, nc], threshold)
    if min(nb, nc) < cfg.min_requests:
        return inconclusive("samples", f"baseline {nb:g} and canary {nc:g} requests, below {cfg.min_requests} "
                            "on at least one side: not enough evidence to pass; wait longer or widen the window",
                            [nb, nc], threshold)
    return passed("samples", [nb, nc], threshold, f"baseline {nb:g} and canary {nc:g} requests")


def _critical_check(result: MetricResult) -> Check:
    name = f"{result.name} (critical)"
    if result.status == "PASS":
        check = passed(name, result.status, "PASS", result.reason)
    elif result.status == "FAIL":
        check = failed(name, result.status, "PASS", result.reason)
    else:
        check = inconclusive(name, result.reason, result.status, "PASS")
    check.decision = result.decision or None
    return check


def _needed(results: Sequence[MetricResult]) -> float | None:
    """The most canary requests any undecided metric with weight still needs (None when none is undecided)."""
    needs = [r.decision.get("canary_requests_needed") for r in results
             if r.status == "INCONCLUSIVE" and (r.weight > 0 or r.critical) and r.decision.get("unit") is None]
    values = [float(v) for v in needs if v is not None]
    return max(values) if values else None


def _score_check(results: Sequence[MetricResult], cfg: CanaryJudgeConfig) -> tuple[Check, ScoreRange, str]:
    outcomes = [(r.weight, None if r.status in ("NODATA", "INCONCLUSIVE") else r.status == "PASS") for r in results]
    score = score_range(outcomes)
    label = classify_score(score, pass_score=cfg.pass_score, marginal_score=cfg.marginal_score)
    shown = f"{score.low:.1f}" if score.low == score.high else f"{score.low:.1f}-{score.high:.1f}"
    reason = f"score {shown} -> {label}"
    for status, words in (("FAIL", "failing"), ("INCONCLUSIVE", "undecided"), ("NODATA", "no data")):
        listed = [f"{r.name} ({r.weight:g})" for r in results if r.status == status and r.weight > 0]
        if listed:
            reason += f"; {words}: {', '.join(listed)}"
    threshold = f">= {cfg.pass_score:g} to pass (MARGINAL >= {cfg.marginal_score:g} counts as FAIL)"
    observed = score.low if score.low == score.high else [score.low, score.high]
    if label == "PASS":
        check = passed("score", observed, threshold, reason)
    elif label == "INCONCLUSIVE":
        needed = _needed(results)
        more = "" if needed is None else (f" (about {needed:,.0f} canary requests in all for the configured power)"
                                          if needed < float("inf") else "")
        check = inconclusive("score", reason + ": the undecided metrics decide; keep baking" + more, observed,
                             threshold)
    else:
        check = failed("score", observed, threshold, reason)
    check.decision = {"alpha": cfg.alpha, "power": cfg.power,
                      "alpha_per_metric": next((r.decision["alpha"] for r in results if r.decision), cfg.alpha),
                      "method": "Bonferroni over the metrics that can fail; each metric's test is always valid"}
    return check, score, label


def judge_canary(data: CanaryData, config: CanaryJudgeConfig | None = None, *, quality: QualityRule | None = None,
                 subject: Mapping[str, Any] | None = None) -> Report:
    """Decide between baseline and canary. Pure: no AWS calls (metrics_source reads, act acts)."""
    cfg = config or CanaryJudgeConfig()
    report = Report(kind=KIND, subject=dict(subject or {}))
    results = evaluate_metrics(data, cfg, quality or QualityRule())
    report.add(_samples_check(data, cfg))
    for result in results:
        if result.critical:
            report.add(_critical_check(result))
    score_check, score, score_label = _score_check(results, cfg)
    report.add(score_check)
    verdict = report.verdict
    if verdict == Verdict.PASS:
        label = "PASS"
    elif verdict == Verdict.INCONCLUSIVE:
        label = "INCONCLUSIVE"
    elif score_label == "MARGINAL" and all(c.verdict != Verdict.FAIL for c in report.checks if c.name != "score"):
        label = "MARGINAL"
    else:
        label = "FAIL"
    report.details = {
        "label": label,
        "score": {"low": score.low, "high": score.high, "label": score_label, "pass_score": cfg.pass_score,
                  "marginal_score": cfg.marginal_score},
        "metrics": [r.to_dict() for r in results],
        "decision": {"alpha": cfg.alpha, "power": cfg.power, "canary_requests_needed": _needed(results),
                     "periods": len(data.periods),
                     "error_rates": "docs/canary.md, 'Measured error rates' (python -m benchmarks decisions)"},
        "window": {"start": data.start.isoformat() if data.start else None,
                   "end": data.end.isoformat() if data.end else None, "period_seconds": data.period_seconds},
        "source": dict(data.source),
        "config": cfg.model_dump(mode="json"),
    }
    return report
