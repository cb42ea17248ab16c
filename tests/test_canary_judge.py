"""The judge's decisions on synthetic canaries with known answers (no AWS: `judge_canary` is pure).

Each side serves requests over 12 periods: response times lognormal (median 100 ms, log-sd 0.5) counted into the
bins of `runtime.canary.bins`, predictions as scores (a logistic of a normal) or classes, a per-period accuracy.
Unless a case says otherwise the baseline serves 90000 requests and the canary 10000 (a 10 % canary).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.special import expit, ndtr

from runtime.canary import bins
from runtime.canary.judge import CanaryData, QualityRule, VariantMetrics, judge_canary
from runtime.config.checks import CanaryJudgeConfig, CanaryWeights
from runtime.report import Verdict

PERIODS = 12
STARTS = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=k) for k in range(PERIODS)]


def _split(total: int, rng: np.random.Generator) -> np.ndarray:
    return rng.multinomial(total, np.full(PERIODS, 1 / PERIODS))


def side(seed: int, *, requests: int = 90000, errors: int = 0, latency: float = 0.100, tail: float = 0.0,
         shift: float = 0.0, classes: tuple[float, ...] | None = None, values: float | None = None,
         quality: float = 0.90) -> VariantMetrics:
    rng = np.random.default_rng(seed)
    per = _split(requests, rng)
    errs = _split(errors, rng)
    lat = {label: [0.0] * PERIODS for label in bins.LATENCY_LABELS}
    preds: dict[str, list[float]] = {}
    for j, n in enumerate(per):
        z = rng.normal(size=n)
        seconds = latency * np.exp(0.5 * z) * (1 + tail * np.clip((ndtr(z) - 0.9) / 0.09, 0, 1))
        index = np.searchsorted(bins.LATENCY_LOG_EDGES, np.log(seconds), side="right")
        for k, count in zip(*np.unique(index, return_counts=True), strict=True):
            lat[bins.LATENCY_LABELS[k]][j] = float(count)
        if classes is not None:
            drawn = rng.multinomial(n, classes)
            found = {f"class-{i}": c for i, c in enumerate(drawn)}
        elif values is not None:  # bins of twenty per decade, labelled by the real labeller
            k = np.floor(20 * np.log10(values * np.exp(0.2 * (rng.normal(size=n) + shift))))
            found = {bins.score_bin(10 ** ((x + 0.5) / 20)): c for x, c in zip(*np.unique(k, return_counts=True),
                                                                               strict=True)}
        else:
            k = np.minimum(np.floor(10 * expit(rng.normal(size=n) + shift)), 9)
            found = {bins.score_bin((x + 0.5) / 10): c for x, c in zip(*np.unique(k, return_counts=True),
                                                                       strict=True)}
        for label, count in found.items():
            preds.setdefault(label, [0.0] * PERIODS)[j] = float(count)
    acc = rng.binomial(per, quality) / np.maximum(per, 1)
    return VariantMetrics(requests=float(per.sum()), errors=float(errs.sum()), requests_by_period=per.tolist(),
                          errors_by_period=errs.tolist(), latency_histogram=lat, prediction_histogram=preds,
                          prediction_counts={k: sum(v) for k, v in preds.items()}, quality=acc.tolist())


def judge(baseline: VariantMetrics, canary: VariantMetrics, **config: object):
    data = CanaryData(baseline, canary, periods=STARTS)
    return judge_canary(data, CanaryJudgeConfig.model_validate(config), quality=QualityRule(threshold=0.8),
                        subject={"model": "m"})


def statuses(report) -> dict[str, str]:
    return {m["name"]: m["status"] for m in report.details["metrics"]}


def metric(report, name: str) -> dict:
    return next(m for m in report.details["metrics"] if m["name"] == name)


def canary(seed: int = 2, **kwargs: object) -> VariantMetrics:
    return side(seed, **{"requests": 10000, **kwargs})  # type: ignore[arg-type]


def test_identical_canary_passes_every_metric() -> None:
    report = judge(side(1), canary())
    assert statuses(report) == dict.fromkeys(("errors", "latency", "tail", "predictions", "quality"), "PASS")
    assert report.verdict == Verdict.PASS
    assert report.details["score"]["low"] == 100.0
    assert report.details["decision"]["alpha"] == 0.01


def test_slower_canary_fails_the_location_and_the_tail() -> None:
    report = judge(side(1), canary(latency=0.130))
    s = statuses(report)
    assert s["latency"] == s["tail"] == "FAIL"
    assert metric(report, "latency")["stats"]["rank_effect"] > 0.1
    assert report.verdict == Verdict.FAIL
    assert report.details["label"] == "MARGINAL"  # 0.15 + 0.15 failing: score 70


def test_tail_only_regression_fails_the_tail_not_the_location() -> None:
    report = judge(side(1), canary(tail=0.6))
    s = statuses(report)
    assert s["tail"] == "FAIL"
    assert s["latency"] != "FAIL"
    assert metric(report, "tail")["stats"]["p99_increase"] > 0.3


def test_zero_error_baseline_vs_a_few_canary_errors_fails_on_the_critical_metric() -> None:
    report = judge(side(1, requests=30000), canary(requests=3000, errors=8))
    assert statuses(report)["errors"] == "FAIL"
    critical = next(c for c in report.checks if c.name == "errors (critical)")
    assert critical.verdict == Verdict.FAIL
    assert critical.decision is not None
    assert critical.decision["alpha"] == pytest.approx(0.002)
    assert report.verdict == Verdict.FAIL


def test_doubled_error_rate_at_volume_fails_and_a_clean_canary_passes_by_the_floor() -> None:
    doubled = judge(side(1, requests=180000, errors=900), canary(requests=20000, errors=200))
    assert statuses(doubled)["errors"] == "FAIL"
    clean = judge(side(1, errors=0), canary(errors=0))
    assert statuses(clean)["errors"] == "PASS"
    assert "0.10%" in metric(clean, "errors")["reason"]


def test_too_few_clean_requests_are_undecided_with_the_requests_still_needed() -> None:
    report = judge(side(1, requests=9000), canary(requests=1000))
    errors = metric(report, "errors")
    assert errors["status"] == "INCONCLUSIVE"
    needed = errors["decision"]["canary_requests_needed"]
    assert 2000 < needed < 10000
    assert errors["decision"]["canary_requests_remaining"] == math.ceil(needed - 1000)
    assert report.verdict == Verdict.INCONCLUSIVE
    assert report.details["decision"]["canary_requests_needed"] >= needed
    score = next(c for c in report.checks if c.name == "score")
    assert "keep baking" in score.reason


def test_below_min_requests_is_never_a_pass_but_a_decisive_spike_fails() -> None:
    report = judge(side(1, requests=150), canary(requests=150))
    samples = next(c for c in report.checks if c.name == "samples")
    assert samples.verdict == Verdict.INCONCLUSIVE
    assert "below 200" in samples.reason
    assert report.verdict == Verdict.INCONCLUSIVE
    spike = judge(side(1, requests=150), canary(requests=60, errors=30))
    assert spike.verdict == Verdict.FAIL


def test_shifted_scores_and_changed_class_shares_fail_the_predictions() -> None:
    shifted = judge(side(1), canary(shift=0.3))
    assert statuses(shifted)["predictions"] == "FAIL"
    assert metric(shifted, "predictions")["stats"]["ordered"]
    assert shifted.verdict == Verdict.FAIL
    classes = judge(side(1, classes=(0.7, 0.3)), canary(classes=(0.6, 0.4)))
    assert statuses(classes)["predictions"] == "FAIL"
    assert not metric(classes, "predictions")["stats"]["ordered"]
    same = judge(side(1, classes=(0.7, 0.3)), canary(classes=(0.7, 0.3)))
    assert statuses(same)["predictions"] == "PASS"


def test_regression_outputs_are_binned_in_order_not_lumped_into_one_bin() -> None:
    report = judge(side(1, values=250.0), canary(values=250.0))
    predictions = metric(report, "predictions")
    assert predictions["stats"]["ordered"]
    assert len(predictions["stats"]["bins"]) > 5
    assert predictions["status"] == "PASS"
    shifted = judge(side(1, values=250.0), canary(values=250.0, shift=0.4))
    assert statuses(shifted)["predictions"] == "FAIL"


def test_quality_drop_fails_the_quality_metric_and_the_threshold_breach_too() -> None:
    dropped = judge(side(1, quality=0.95), canary(quality=0.80))
    assert statuses(dropped)["quality"] == "FAIL"
    assert dropped.details["score"]["low"] == 90.0  # quality weighs 0.1: alone it does not fail the canary
    assert dropped.verdict == Verdict.PASS
    below = judge(side(1, quality=0.70), canary(quality=0.70))
    assert statuses(below)["quality"] == "FAIL"
    assert "breaches 0.8" in metric(below, "quality")["reason"]


def test_weights_decide_the_score_and_the_critical_metric_fails_whatever_the_score() -> None:
    base = side(1)
    slow = canary(latency=0.130)
    heavy = judge(base, slow, weights={"errors": 1, "latency": 8, "tail": 0, "predictions": 1, "quality": 0})
    assert heavy.details["score"]["low"] == 20.0
    assert heavy.details["label"] == "FAIL"
    erroring = canary(errors=300)
    lenient = {"errors": 0.01, "latency": 1, "tail": 1, "predictions": 1, "quality": 1}
    report = judge(base, erroring, weights=lenient)
    assert report.details["score"]["low"] > 99
    assert report.verdict == Verdict.FAIL
    assert judge(base, erroring, weights=lenient, critical=[]).verdict == Verdict.PASS


def test_metric_without_data_blocks_a_pass_only_when_it_could_change_the_outcome() -> None:
    blind = replace(canary(), prediction_histogram={}, prediction_counts={})
    report = judge(side(1), blind)
    assert statuses(report)["predictions"] == "NODATA"
    assert report.verdict == Verdict.INCONCLUSIVE  # score 80-100 straddles passScore 90
    assert "PredictionCount" in metric(report, "predictions")["reason"]
    zero = judge(side(1), blind, weights={"errors": 0.4, "latency": 0.15, "tail": 0.15, "predictions": 0,
                                          "quality": 0.1})
    assert zero.verdict == Verdict.PASS
    no_latency = judge(side(1), replace(canary(), latency_histogram={}))
    assert statuses(no_latency)["latency"] == statuses(no_latency)["tail"] == "NODATA"
    assert "ResponseTimeCount" in metric(no_latency, "latency")["reason"]


def test_totals_without_periods_are_judged_as_one_look() -> None:
    base = VariantMetrics(requests=30000, errors=0, prediction_counts={"a": 21000, "b": 9000})
    erroring = VariantMetrics(requests=3000, errors=8, prediction_counts={"a": 2100, "b": 900})
    report = judge_canary(CanaryData(base, erroring), CanaryJudgeConfig())
    assert statuses(report)["errors"] == "FAIL"
    assert statuses(report)["latency"] == "NODATA"


def test_no_request_counts_at_all_is_inconclusive_with_a_reason() -> None:
    report = judge(side(1), replace(canary(), requests=None, errors=None))
    samples = next(c for c in report.checks if c.name == "samples")
    assert samples.verdict == Verdict.INCONCLUSIVE
    assert "canary" in samples.reason
    assert report.verdict == Verdict.INCONCLUSIVE


def test_report_is_strict_json_and_cites_the_error_rates() -> None:
    data = json.loads(judge(side(1), canary()).finish().to_json())
    assert data["kind"] == "canary-judge"
    assert {m["name"] for m in data["details"]["metrics"]} == {"errors", "latency", "tail", "predictions", "quality"}
    assert data["details"]["config"]["weights"] == CanaryWeights().model_dump(mode="json")
    for m in data["details"]["metrics"]:
        assert m["decision"]["alpha"] == pytest.approx(0.002)
        assert m["decision"]["power"] == pytest.approx(0.9)
        assert m["decision"]["method"]
    score = next(c for c in data["checks"] if c["name"] == "score")
    assert score["decision"]["alpha"] == 0.01
