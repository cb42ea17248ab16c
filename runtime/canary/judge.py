"""The canary judge's decision: from the metrics of baseline and canary over a window to a `Report`.

Five metrics, each PASS, FAIL or NODATA (docs/canary.md):
- errors: 5xx rate, one-sided Fisher exact test (works with a zero-error baseline) plus an absolute tolerance;
- latency: Mann-Whitney U with a Hodges-Lehmann shift and confidence interval on per-period response times;
- spread: scatter (p90 - p10, rank test on deviations) and p99 of the response time, for variance-only regressions;
- predictions: PSI plus a chi-square test over the published prediction histogram;
- quality: the model-quality metric, shifted in its bad direction or past the alarm threshold.
The weighted share of passing metrics is the score (0-100). Metrics without data widen the score into a range:
the canary passes only if even the worst case passes. MARGINAL is reported as FAIL (a canary that is not clearly
good is rolled back). Too few requests make the verdict INCONCLUSIVE at best, never PASS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from runtime.canary import stats
from runtime.config.checks import CanaryJudgeConfig, JudgeMetric
from runtime.config.defaults import MODEL_QUALITY_METRIC
from runtime.config.platform import ModelQualityAlarmConfig
from runtime.report import Check, Report, Verdict, failed, inconclusive, passed

KIND = "canary-judge"
METRICS: tuple[JudgeMetric, ...] = ("errors", "latency", "spread", "predictions", "quality")
Status = Literal["PASS", "FAIL", "NODATA"]


@dataclass(frozen=True)
class VariantMetrics:
    """What one side (baseline or canary) showed over the window."""

    requests: float | None = None
    """Total requests; None when no datapoint exists at all."""
    errors: float | None = None
    """Total 5xx responses; None when no datapoint exists (the ALB publishes none while there are none: 0)."""
    latency: Sequence[float] = ()
    """Per-period average response time, seconds, in time order."""
    latency_p99: Sequence[float] = ()
    """Per-period p99 response time, seconds (empty where the source computes no percentiles)."""
    quality: Sequence[float] = ()
    """Per-period model-quality metric."""
    prediction_counts: Mapping[str, float] = field(default_factory=dict)
    """Predictions per histogram bin, summed over the window."""
    prediction_mean: Sequence[float] = ()
    """Per-period mean prediction (reported, not scored)."""


@dataclass(frozen=True)
class CanaryData:
    baseline: VariantMetrics
    canary: VariantMetrics
    start: datetime | None = None
    end: datetime | None = None
    period_seconds: int = 60
    source: Mapping[str, Any] = field(default_factory=dict)
    """How the data was read (namespace, dimensions, notes), copied into the report."""
    timeline: Mapping[str, Any] = field(default_factory=dict)
    """Per-period series of both sides for the report's charts (runtime/canary/plots.py); never judged."""


@dataclass(frozen=True)
class QualityRule:
    """How to read the model-quality metric: its direction and the alarm's threshold (`alarms.modelQuality`)."""

    metric_name: str = MODEL_QUALITY_METRIC
    higher_is_better: bool = True
    threshold: float | None = None

    @classmethod
    def from_alarm(cls, alarm: ModelQualityAlarmConfig) -> QualityRule:
        """The rule the stack's model-quality alarm states (`alarms.modelQuality`)."""
        return cls(metric_name=alarm.metric_name, higher_is_better=alarm.comparison == "LessThanThreshold",
                   threshold=alarm.threshold)


@dataclass
class MetricResult:
    name: JudgeMetric
    status: Status
    weight: float
    critical: bool
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "weight": self.weight, "critical": self.critical,
                "reason": self.reason, "stats": self.stats}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _nodata(name: JudgeMetric, cfg: CanaryJudgeConfig, reason: str, **extra: Any) -> MetricResult:
    return MetricResult(name, "NODATA", getattr(cfg.weights, name), name in cfg.critical, reason, dict(extra))


def _result(name: JudgeMetric, cfg: CanaryJudgeConfig, regressed: bool, reason: str, **extra: Any) -> MetricResult:
    return MetricResult(name, "FAIL" if regressed else "PASS", getattr(cfg.weights, name), name in cfg.critical,
                        reason, dict(extra))


def _too_few(label: str, b: np.ndarray, c: np.ndarray, need: int) -> str:
    return (f"too few {label} points (baseline {len(b)}, canary {len(c)}; need {need} per side): "
            "lengthen the window or lower minPoints")


def judge_errors(base: VariantMetrics, canary: VariantMetrics, cfg: CanaryJudgeConfig) -> MetricResult:
    if not base.requests or not canary.requests:
        return _nodata("errors", cfg, f"no requests counted (baseline {base.requests}, canary {canary.requests})")
    cmp = stats.compare_error_rates(base.errors or 0.0, base.requests, canary.errors or 0.0, canary.requests,
                                    tolerance=cfg.error_rate_tolerance, alpha=cfg.alpha)
    reason = (f"5xx rate canary {cmp.canary_rate:.3%} vs baseline {cmp.baseline_rate:.3%} "
              f"({cmp.difference * 100:+.3f} pp), Fisher p={cmp.p_value:.3g}, P(worse by > tolerance)="
              f"{cmp.prob_exceeds_tolerance:.2f}; fails when p < {cfg.alpha:g} and the increase exceeds "
              f"{cfg.error_rate_tolerance * 100:g} pp")
    return _result("errors", cfg, cmp.regressed, reason, baseline_requests=base.requests,
                   baseline_errors=base.errors or 0.0, canary_requests=canary.requests,
                   canary_errors=canary.errors or 0.0, baseline_rate=cmp.baseline_rate, canary_rate=cmp.canary_rate,
                   difference=cmp.difference, p_value=cmp.p_value, prob_exceeds_tolerance=cmp.prob_exceeds_tolerance)


def _shift_stats(cmp: stats.ShiftComparison) -> dict[str, Any]:
    return {"baseline_median": cmp.baseline_median, "canary_median": cmp.canary_median,
            "hodges_lehmann": cmp.shift.estimate, "ci_low": cmp.shift.low, "ci_high": cmp.shift.high,
            "ci_confidence": cmp.shift.confidence, "relative_shift": cmp.relative_shift, "p_value": cmp.p_value}


def judge_latency(base: VariantMetrics, canary: VariantMetrics, cfg: CanaryJudgeConfig) -> MetricResult:
    b, c = stats.as_sample(base.latency), stats.as_sample(canary.latency)
    if min(len(b), len(c)) < cfg.min_points:
        return _nodata("latency", cfg, _too_few("latency", b, c, cfg.min_points))
    cmp = stats.compare_location(b, c, tolerance=cfg.latency_tolerance, alpha=cfg.alpha, worse="higher")
    reason = (f"median {_ms(cmp.baseline_median)} -> {_ms(cmp.canary_median)}, Hodges-Lehmann shift "
              f"{cmp.shift.estimate * 1000:+.1f} ms ({cmp.relative_shift:+.1%}), {cmp.shift.confidence:.0%} CI "
              f"[{cmp.shift.low * 1000:.1f}, {cmp.shift.high * 1000:.1f}] ms, Mann-Whitney p={cmp.p_value:.3g}; "
              f"fails when p < {cfg.alpha:g} and the shift exceeds +{cfg.latency_tolerance:.0%}")
    return _result("latency", cfg, cmp.regressed, reason, points=[len(b), len(c)], **_shift_stats(cmp))


def judge_spread(base: VariantMetrics, canary: VariantMetrics, cfg: CanaryJudgeConfig) -> MetricResult:
    b, c = stats.as_sample(base.latency), stats.as_sample(canary.latency)
    if min(len(b), len(c)) < cfg.min_points:
        return _nodata("spread", cfg, _too_few("latency", b, c, cfg.min_points))
    b99, c99 = stats.as_sample(base.latency_p99), stats.as_sample(canary.latency_p99)
    with_p99 = min(len(b99), len(c99)) >= cfg.min_points
    # Two tests make up this metric when the p99 is available: Bonferroni keeps the metric's false alarms <= alpha.
    alpha = cfg.alpha / 2 if with_p99 else cfg.alpha
    spread = stats.compare_spread(b, c, tolerance=cfg.spread_tolerance, alpha=alpha)
    parts = [f"p90-p10 spread {_ms(spread.baseline_spread)} -> {_ms(spread.canary_spread)} "
             f"({spread.relative_increase:+.1%}, dispersion p={spread.p_value:.3g})"]
    extra: dict[str, Any] = {"baseline_spread": spread.baseline_spread, "canary_spread": spread.canary_spread,
                             "relative_increase": spread.relative_increase, "p_value": spread.p_value}
    regressed = spread.regressed
    if with_p99:
        tail = stats.compare_location(b99, c99, tolerance=cfg.spread_tolerance, alpha=alpha, worse="higher")
        parts.append(f"p99 median {_ms(tail.baseline_median)} -> {_ms(tail.canary_median)} "
                     f"({tail.relative_shift:+.1%}, p={tail.p_value:.3g})")
        extra["p99"] = _shift_stats(tail)
        regressed = regressed or tail.regressed
    else:
        parts.append("p99 not available (the source computes no percentiles)")
    reason = "; ".join(parts) + f"; fails when significant (p < {alpha:g}) and beyond +{cfg.spread_tolerance:.0%}"
    return _result("spread", cfg, regressed, reason, **extra)


def judge_predictions(base: VariantMetrics, canary: VariantMetrics, cfg: CanaryJudgeConfig) -> MetricResult:
    bins = sorted(set(base.prediction_counts) | set(canary.prediction_counts))
    b = [float(base.prediction_counts.get(k, 0.0)) for k in bins]
    c = [float(canary.prediction_counts.get(k, 0.0)) for k in bins]
    extra: dict[str, Any] = {"bins": bins, "baseline_counts": b, "canary_counts": c}
    bm, cm = stats.as_sample(base.prediction_mean), stats.as_sample(canary.prediction_mean)
    if len(bm) and len(cm):
        extra["prediction_mean"] = {"baseline_median": float(np.median(bm)), "canary_median": float(np.median(cm))}
    missing = [name for name, side in (("baseline", base), ("canary", canary)) if not side.prediction_counts]
    if missing:
        return _nodata("predictions", cfg, f"no prediction histogram from the {' and '.join(missing)} (metric "
                       "PredictionCount with a Bin dimension); publish it or set weights.predictions to 0", **extra)
    if min(sum(b), sum(c)) < cfg.min_requests:
        return _nodata("predictions", cfg, f"too few predictions (baseline {sum(b):g}, canary {sum(c):g}; need "
                       f"{cfg.min_requests} per side)", **extra)
    cmp = stats.compare_histograms(b, c, psi_threshold=cfg.prediction_psi, alpha=cfg.alpha)
    reason = (f"PSI {cmp.psi:.3f} over {len(bins)} bins (threshold {cfg.prediction_psi:g}), chi-square "
              f"p={cmp.p_value:.3g}; fails when PSI exceeds the threshold and p < {cfg.alpha:g}")
    return _result("predictions", cfg, cmp.regressed, reason, psi=cmp.psi, p_value=cmp.p_value, **extra)


def judge_quality(base: VariantMetrics, canary: VariantMetrics, cfg: CanaryJudgeConfig,
                  rule: QualityRule) -> MetricResult:
    b, c = stats.as_sample(base.quality), stats.as_sample(canary.quality)
    if min(len(b), len(c)) < cfg.min_points:
        return _nodata("quality", cfg, _too_few(rule.metric_name, b, c, cfg.min_points))
    worse: stats.Worse = "lower" if rule.higher_is_better else "higher"
    cmp = stats.compare_location(b, c, tolerance=cfg.quality_tolerance, alpha=cfg.alpha, worse=worse)
    reason = (f"{rule.metric_name} median {cmp.baseline_median:.4g} -> {cmp.canary_median:.4g} "
              f"({cmp.relative_shift:+.1%}, p={cmp.p_value:.3g}; {worse} is worse, tolerance "
              f"{cfg.quality_tolerance:.0%})")
    breached = False
    if rule.threshold is not None:
        breached = (cmp.canary_median < rule.threshold if rule.higher_is_better
                    else cmp.canary_median > rule.threshold)
        reason += (f"; canary median {'breaches' if breached else 'within'} the alarm threshold "
                   f"{rule.threshold:g}")
    return _result("quality", cfg, cmp.regressed or breached, reason, threshold=rule.threshold,
                   threshold_breached=breached, **_shift_stats(cmp))


def evaluate_metrics(data: CanaryData, cfg: CanaryJudgeConfig, quality: QualityRule) -> list[MetricResult]:
    b, c = data.baseline, data.canary
    return [judge_errors(b, c, cfg), judge_latency(b, c, cfg), judge_spread(b, c, cfg),
            judge_predictions(b, c, cfg), judge_quality(b, c, cfg, quality)]


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
        return passed(name, result.status, "PASS", result.reason)
    if result.status == "FAIL":
        return failed(name, result.status, "PASS", result.reason)
    return inconclusive(name, result.reason, result.status, "PASS")


def _score_check(results: Sequence[MetricResult], cfg: CanaryJudgeConfig) -> tuple[Check, stats.ScoreRange, str]:
    outcomes = [(r.weight, None if r.status == "NODATA" else r.status == "PASS") for r in results]
    score = stats.score_range(outcomes)
    label = stats.classify_score(score, pass_score=cfg.pass_score, marginal_score=cfg.marginal_score)
    shown = f"{score.low:.1f}" if score.low == score.high else f"{score.low:.1f}-{score.high:.1f}"
    failing = [f"{r.name} ({r.weight:g})" for r in results if r.status == "FAIL" and r.weight > 0]
    missing = [f"{r.name} ({r.weight:g})" for r in results if r.status == "NODATA" and r.weight > 0]
    reason = f"score {shown} -> {label}"
    if failing:
        reason += f"; failing: {', '.join(failing)}"
    if missing:
        reason += f"; no data: {', '.join(missing)}"
    threshold = f">= {cfg.pass_score:g} to pass (MARGINAL >= {cfg.marginal_score:g} counts as FAIL)"
    observed = score.low if score.low == score.high else [score.low, score.high]
    if label == "PASS":
        check = passed("score", observed, threshold, reason)
    elif label == "INCONCLUSIVE":
        check = inconclusive("score", reason + ": the metrics without data decide", observed, threshold)
    else:
        check = failed("score", observed, threshold, reason)
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
        "window": {"start": data.start.isoformat() if data.start else None,
                   "end": data.end.isoformat() if data.end else None, "period_seconds": data.period_seconds},
        "source": dict(data.source),
        "config": cfg.model_dump(mode="json"),
    }
    return report
