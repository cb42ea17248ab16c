"""One metric of the canary judge at a time: from both sides' `VariantMetrics` to a `MetricResult`.

Each function shapes the side's per-period counts into arrays, runs the test of `runtime.canary.stats`, and words
the outcome: PASS, FAIL, INCONCLUSIVE (the data cannot decide yet: with the canary requests still needed for the
configured power) or NODATA (nothing to judge). docs/canary.md, "How it decides", describes every test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from runtime.canary import bins as binning
from runtime.canary import stats
from runtime.config.checks import CanaryJudgeConfig, JudgeMetric
from runtime.stats.histograms import ridits

if TYPE_CHECKING:
    from runtime.canary.data import CanaryData, QualityRule, VariantMetrics

Status = Literal["PASS", "FAIL", "INCONCLUSIVE", "NODATA"]


@dataclass
class MetricResult:
    name: JudgeMetric
    status: Status
    weight: float
    critical: bool
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    """Method, alpha share, power, effect and (when undecided) the canary requests still needed."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "weight": self.weight, "critical": self.critical,
                "reason": self.reason, "stats": self.stats, "decision": self.decision}


def _scalar(value: Any) -> Any:
    arr = np.asarray(value)
    return arr.item() if arr.ndim == 0 else arr.tolist()


def _result(name: JudgeMetric, cfg: CanaryJudgeConfig, outcome: stats.Outcome | None, reason: str, *,
            decision: dict[str, Any], needed: float = math.nan, have: float = 0.0, **extra: Any) -> MetricResult:
    weight, critical = getattr(cfg.weights, name), name in cfg.critical
    if outcome is None:
        return MetricResult(name, "NODATA", weight, critical, reason, dict(extra), decision)
    status: Status = "FAIL" if bool(outcome.fail) else "PASS" if bool(outcome.passed) else "INCONCLUSIVE"
    values = {k: _scalar(v) for k, v in outcome.stats.items()} | extra
    if status == "INCONCLUSIVE":
        decision = decision | {"canary_requests_needed": needed,
                               "canary_requests_remaining": stats.remaining(needed, have)}
        more = stats.remaining(needed, have)
        reason += ("; undecided: " + (f"about {needed:,.0f} canary requests give the configured power "
                                      f"({more:,.0f} more)" if math.isfinite(needed) else
                                      "no sample size suffices at the observed rates"))
    return MetricResult(name, status, weight, critical, reason, values, decision)


def _decision(method: str, levels: stats.Levels, effect: str) -> dict[str, Any]:
    return {"method": method, "alpha": levels.alpha, "power": 1 - levels.beta, "effect": effect,
            "looks": "always valid: any number of looks at data since the deployment start"}


def _e(log_e: Any) -> str:
    value = float(np.asarray(log_e))
    return f"{math.exp(min(value, 700)):.3g}" if math.isfinite(value) else "0"


# Shaping the data ---------------------------------------------------------------------------------------------------
def _counts(side: VariantMetrics, periods: int) -> tuple[np.ndarray, np.ndarray]:
    if side.requests_by_period:
        requests = np.nan_to_num(np.asarray(side.requests_by_period, dtype=float))
        errors = np.nan_to_num(np.asarray(side.errors_by_period, dtype=float)) if side.errors_by_period else \
            np.zeros_like(requests)
        return requests, errors
    requests = np.zeros(max(periods, 1))
    errors = np.zeros_like(requests)
    requests[-1], errors[-1] = side.requests or 0.0, side.errors or 0.0
    return requests, errors


def _histogram(series: dict[str, Any], labels: list[str], periods: int) -> np.ndarray:
    out = np.zeros((periods, len(labels)))
    for k, label in enumerate(labels):
        values = np.nan_to_num(np.asarray(series.get(label, ()), dtype=float))
        out[-len(values):, k] = values[-periods:] if len(values) else 0.0
    return out


def _periods(data: CanaryData) -> int:
    sides = (data.baseline, data.canary)
    lengths = [len(s.requests_by_period) for s in sides]
    lengths += [len(v) for s in sides for v in (*s.latency_histogram.values(), *s.prediction_histogram.values())]
    return max([len(data.periods), *lengths, 1])


def metric_levels(cfg: CanaryJudgeConfig) -> stats.Levels:
    judged = [m for m in ("errors", "latency", "tail", "predictions", "quality")
              if getattr(cfg.weights, m) > 0 or m in cfg.critical]
    return stats.Levels(alpha=cfg.alpha / max(len(judged), 1), beta=1 - cfg.power)


# Metrics ------------------------------------------------------------------------------------------------------------
def judge_errors(data: CanaryData, cfg: CanaryJudgeConfig) -> MetricResult:
    levels, periods = metric_levels(cfg), _periods(data)
    decision = _decision("exact conditional binomial per period (canary's share of the period's 5xx), mixture "
                         "likelihood ratio", levels, f"5xx rate x{cfg.error_rate_ratio:g}")
    nb, xb = _counts(data.baseline, periods)
    nc, xc = _counts(data.canary, periods)
    if nb.sum() <= 0 or nc.sum() <= 0:
        return _result("errors", cfg, None, f"no requests counted (baseline {nb.sum():g}, canary {nc.sum():g})",
                       decision=decision)
    out = stats.errors(nb, xb, nc, xc, levels=levels, ratio=cfg.error_rate_ratio,
                       tolerance=cfg.error_rate_tolerance)
    s = out.stats
    reason = (f"5xx rate canary {float(s['canary_rate']):.3%} ({xc.sum():g}/{nc.sum():g}) vs baseline "
              f"{float(s['baseline_rate']):.3%} ({xb.sum():g}/{nb.sum():g}); evidence the canary is worse: e-value "
              f"{_e(s['log_e_worse'])} (FAIL at >= {1 / levels.alpha:g} and an increase above "
              f"{cfg.error_rate_tolerance * 100:g} pp); PASS once a ratio of {cfg.error_rate_ratio:g} or a rate "
              f"above {cfg.error_rate_tolerance:.2%} is ruled out")
    needed = stats.errors_needed(nb.sum(), xb.sum(), nc.sum(), levels=levels, ratio=cfg.error_rate_ratio,
                                 tolerance=cfg.error_rate_tolerance)
    return _result("errors", cfg, out, reason, decision=decision, needed=needed, have=float(nc.sum()),
                   baseline_requests=float(nb.sum()), canary_requests=float(nc.sum()))


def _latency_arrays(data: CanaryData) -> tuple[np.ndarray, np.ndarray] | None:
    periods = _periods(data)
    labels = list(binning.LATENCY_LABELS)
    b = _histogram(dict(data.baseline.latency_histogram), labels, periods)
    c = _histogram(dict(data.canary.latency_histogram), labels, periods)
    return (b, c) if b.sum() > 0 and c.sum() > 0 else None


NO_HISTOGRAM = ("no per-request response-time histogram on {sides}: publish ResponseTimeCount "
                "(runtime.canary.publish), or read the load balancer with percentiles on (TC statistics)")


def _judge_response_times(name: JudgeMetric, data: CanaryData, cfg: CanaryJudgeConfig, *, method: str,
                          threshold: str, test: Callable[..., stats.Outcome], tolerance: float,
                          explain: Callable[[dict[str, Any], np.ndarray, np.ndarray, stats.Levels],
                                            tuple[str, float]]) -> MetricResult:
    """The latency and tail judges: both sides' response-time histograms (NODATA without them), the test of
    `runtime.canary.stats` (`test`) at `tolerance`, and `explain`'s reason and canary requests needed."""
    levels = metric_levels(cfg)
    decision = _decision(method, levels, threshold)
    arrays = _latency_arrays(data)
    if arrays is None:
        return _result(name, cfg, None, NO_HISTOGRAM.format(sides="both sides"), decision=decision)
    b, c = arrays
    out = test(b, c, binning.LATENCY_LOG_EDGES, levels=levels, tolerance=tolerance)
    reason, needed = explain(out.stats, b, c, levels)
    return _result(name, cfg, out, reason, decision=decision, needed=needed, have=float(c.sum()))


def judge_latency(data: CanaryData, cfg: CanaryJudgeConfig) -> MetricResult:
    def explain(s: dict[str, Any], b: np.ndarray, c: np.ndarray, levels: stats.Levels) -> tuple[str, float]:
        reason = (f"rank effect P(canary slower) - 1/2 = {float(s['rank_effect']):+.4f} (upper bound "
                  f"{float(s['rank_effect_upper']):+.4f}; +{cfg.latency_tolerance:.0%} on every request would be "
                  f"{float(s['effect_at_tolerance']):+.4f}); evidence the canary is slower: e-value "
                  f"{_e(s['log_e_worse'])} (FAIL at >= {1 / levels.alpha:g} with more than half that effect)")
        share = c.sum() / (b.sum() + c.sum())
        pooled = (b + c).sum(axis=0) / (b + c).sum()
        var = float(np.sum(pooled * (ridits(pooled) - 0.5) ** 2))
        return reason, stats.rank_needed(float(s["effect_at_tolerance"]), share, var, levels=levels)

    return _judge_response_times(
        "latency", data, cfg, test=stats.latency, tolerance=cfg.latency_tolerance, explain=explain,
        method="rank test on each period's pooled response-time histogram (mid-ranks), exact mixture likelihood "
               "ratio; PASS bound Gaussian-mixture", threshold=f"every request +{cfg.latency_tolerance:.0%}")


def judge_tail(data: CanaryData, cfg: CanaryJudgeConfig) -> MetricResult:
    def explain(s: dict[str, Any], b: np.ndarray, c: np.ndarray, levels: stats.Levels) -> tuple[str, float]:
        p99_b, p99_c = math.exp(float(s["baseline_p99_log"])), math.exp(float(s["canary_p99_log"]))
        reason = (f"p99 {p99_b * 1000:.1f} ms -> {p99_c * 1000:.1f} ms ({float(s['p99_increase']):+.1%}); evidence "
                  f"of more slow requests: e-value {_e(s['log_e_worse'])} (FAIL at >= {1 / levels.alpha:g} with "
                  f"more than +{cfg.tail_tolerance / 2:.0%}); evidence the canary's p99 is within "
                  f"+{cfg.tail_tolerance:.0%}: e-value {_e(s['log_e_p99_within_tolerance'])} (PASS at >= "
                  f"{1 / levels.beta:g})")
        return reason, stats.errors_needed(b.sum(), b.sum() * stats.TAIL, c.sum(), levels=levels, ratio=2.0,
                                           tolerance=0.0)

    return _judge_response_times(
        "tail", data, cfg, test=stats.tail, tolerance=cfg.tail_tolerance, explain=explain,
        method="exact conditional binomial per period on requests beyond the pooled p99 (FAIL); canary's share "
               "beyond (1 + tolerance) x the baseline p99 bounded below 1 % (PASS)",
        threshold=f"p99 +{cfg.tail_tolerance:.0%}")


def _prediction_arrays(data: CanaryData) -> tuple[list[str], np.ndarray, np.ndarray]:
    base, canary = data.baseline, data.canary
    if base.prediction_histogram or canary.prediction_histogram:
        series_b, series_c = dict(base.prediction_histogram), dict(canary.prediction_histogram)
        periods = _periods(data)
    else:
        series_b = {k: [v] for k, v in base.prediction_counts.items()}
        series_c = {k: [v] for k, v in canary.prediction_counts.items()}
        periods = 1
    labels = sorted(set(series_b) | set(series_c))
    labels = binning.order_bins(labels) or labels
    return labels, _histogram(series_b, labels, periods), _histogram(series_c, labels, periods)


def judge_predictions(data: CanaryData, cfg: CanaryJudgeConfig) -> MetricResult:
    levels = metric_levels(cfg)
    labels, b, c = _prediction_arrays(data)
    ordered = binning.order_bins(labels) is not None
    effect = (f"shift of {cfg.prediction_shift_sd:g} sd" if ordered else
              f"a class share {cfg.prediction_share_change:+.0%}")
    method = ("two-sided rank test on each period's pooled prediction histogram, exact mixture likelihood ratio"
              if ordered else "Dirichlet-mixture test of the canary's class shares against each period's pooled "
              "shares, exact")
    decision = _decision(method, levels, effect)
    extra: dict[str, Any] = {"bins": labels, "baseline_counts": b.sum(axis=0).tolist(),
                             "canary_counts": c.sum(axis=0).tolist(), "ordered": ordered}
    missing = [name for name, arr in (("baseline", b), ("canary", c)) if arr.sum() <= 0]
    if missing:
        return _result("predictions", cfg, None, f"no prediction histogram from the {' and '.join(missing)} "
                       "(metric PredictionCount with a Bin dimension); publish it or set weights.predictions to 0",
                       decision=decision, **extra)
    share = c.sum() / (b.sum() + c.sum())
    pooled = (b + c).sum(axis=0) / (b + c).sum()
    if ordered:
        out = stats.predictions_ordered(b, c, levels=levels, shift_sd=cfg.prediction_shift_sd)
        s = out.stats
        reason = (f"rank effect {float(s['rank_effect']):+.4f} over {len(labels)} ordered bins (bounds "
                  f"[{float(s['rank_effect_lower']):+.4f}, {float(s['rank_effect_upper']):+.4f}]; a "
                  f"{cfg.prediction_shift_sd:g} sd shift would be {float(s['effect_at_shift']):.4f}); evidence of a "
                  f"shift: e-value {_e(s['log_e_shift'])} (FAIL at >= {1 / levels.alpha:g})")
        var = float(np.sum(pooled * (ridits(pooled) - 0.5) ** 2))
        needed = stats.rank_needed(float(s["effect_at_shift"]), share, var,
                                   levels=stats.Levels(levels.alpha / 2, levels.beta))
    else:
        out = stats.predictions_classes(b, c, levels=levels, share_change=cfg.prediction_share_change)
        s = out.stats
        if len(labels) == 1:
            reason = (f"both sides predict only {labels[0]!r}; evidence that no other class takes "
                      f"{cfg.prediction_share_change:g} of the canary's predictions: e-value "
                      f"{_e(s['log_e_other_classes_ruled_out'])} (PASS at >= {1 / levels.beta:g})")
        else:
            reason = (f"largest class-share change {float(s['largest_share_change']):.3f} over {len(labels)} "
                      f"classes (bound {float(s['share_change_bound']):.3f}, PASS below "
                      f"{cfg.prediction_share_change:g}); evidence of a change: e-value {_e(s['log_e_changed'])} "
                      f"(FAIL at >= {1 / levels.alpha:g})")
        var = float(np.max(pooled * (1 - pooled)))
        needed = stats.rank_needed(cfg.prediction_share_change, share, var, levels=levels)
    return _result("predictions", cfg, out, reason, decision=decision, needed=needed, have=float(c.sum()), **extra)


def judge_quality(data: CanaryData, cfg: CanaryJudgeConfig, rule: QualityRule) -> MetricResult:
    levels = metric_levels(cfg)
    decision = _decision("sign tests over paired periods (exact for exchangeable sides), mixture likelihood "
                         "ratio", levels, f"{rule.metric_name} {cfg.quality_tolerance:.0%} worse")
    qb = np.asarray(data.baseline.quality, dtype=float)
    qc = np.asarray(data.canary.quality, dtype=float)
    if not len(data.periods):
        n = min(len(qb), len(qc))
        qb, qc = qb[len(qb) - n:], qc[len(qc) - n:]
    both = int(np.sum(np.isfinite(qb) & np.isfinite(qc))) if len(qb) == len(qc) else 0
    if both == 0:
        return _result("quality", cfg, None, f"no period with {rule.metric_name} on both sides", decision=decision)
    out = stats.quality(qb, qc, levels=levels, higher_is_better=rule.higher_is_better,
                        tolerance=cfg.quality_tolerance, threshold=rule.threshold, min_points=cfg.min_points)
    s = out.stats
    reason = (f"{rule.metric_name}: median relative change {float(s['median_relative_change']):+.2%} over {both} "
              f"paired periods; evidence the canary is worse: e-value {_e(s['log_e_worse'])}")
    if rule.threshold is not None:
        reason += f"; evidence it breaches {rule.threshold:g}: e-value {_e(s['log_e_breach'])}"
    needed = float(max(cfg.min_points, math.ceil(math.log(2 / levels.beta) / math.log(2)) + 1))
    result = _result("quality", cfg, out, reason, decision=decision, needed=needed, have=float(both))
    if result.status == "INCONCLUSIVE":
        result.reason = result.reason.replace("canary requests", "paired periods")
        result.decision["unit"] = "paired periods"
    return result


def evaluate_metrics(data: CanaryData, cfg: CanaryJudgeConfig, quality: QualityRule) -> list[MetricResult]:
    return [judge_errors(data, cfg), judge_latency(data, cfg), judge_tail(data, cfg), judge_predictions(data, cfg),
            judge_quality(data, cfg, quality)]
