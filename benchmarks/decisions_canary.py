"""Canary judge: each metric's test (runtime.canary.stats, the functions the judge calls) on simulated canaries.

A canary runs 20 periods and is judged after every 4th (5 looks, each on everything since the start); it stops at
its first decisive look. Traffic follows a daily-like swing (+-50 % over the run) with Poisson noise per period and
side, and the response time's level follows the load on both sides, so unequal volumes and time trends are in every
trial. Sizes are the canary's requests over the whole run; the baseline serves 1, 4 or 9 times as many.

Truths: null = both sides from one distribution; effect = the documented effect of the default config:
5xx x2 (0.5 % -> 1 %), every request +10 % slower, p99 +20 % with the median unchanged (the slowest 10 % stretched),
predictions shifted by 0.2 sd (scores: a logistic of a normal), a class share +5 points, quality 2 % worse.
The `judge` rows run the whole `judge_canary` (all five metrics, score and critical rule) under the null. The
`host jitter` rows break the tests' assumption on purpose: each side's response-time level moves by its own +-3 %
every period (a slower host that minute), to show how much that costs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.special import logit, ndtr, ndtri

from benchmarks.decisions_common import Row, counts, sequential
from runtime.canary import bins, stats
from runtime.canary.judge import CanaryData, QualityRule, VariantMetrics, judge_canary
from runtime.canary.metric_judges import metric_levels
from runtime.config.checks import CanaryJudgeConfig

TITLE = "Canary judge (always-valid tests, 5 looks per canary)"
SIZES = (200, 1000, 5000, 20000, 100000)
SPLITS = (1, 4, 9)
PERIODS, LOOKS = 20, 5
LOAD = 1 + 0.5 * np.sin(2 * np.pi * np.arange(PERIODS) / PERIODS)
SIGMA = 0.5  # log-sd of the response time
ERROR_RATE = 0.005
STARTS = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=k) for k in range(PERIODS)]
CFG = CanaryJudgeConfig()
LEVELS = metric_levels(CFG)


def traffic(rng: np.random.Generator, trials: int, n: int, ratio: int) -> tuple[np.ndarray, np.ndarray]:
    share = LOAD / LOAD.sum()
    return (rng.poisson(ratio * n * share, (trials, PERIODS)).astype(float),
            rng.poisson(n * share, (trials, PERIODS)).astype(float))


def _medians() -> np.ndarray:
    return 0.1 * (1 + 0.4 * (LOAD - 1))  # the level follows the load


def latency_shares(scale: float = 1.0, tail: float = 0.0, medians: np.ndarray | None = None) -> np.ndarray:
    """(periods, bins) shares of the response-time bins: lognormal, times `scale`; `tail` > 0 stretches the slowest
    10 % (up to x(1 + tail) at the p99) so the p99 moves by `tail` and the median does not."""
    u = (np.arange(20000) + 0.5) / 20000
    stretch = 1 + tail * np.clip((u - 0.9) / 0.09, 0, 1)
    out = []
    for median in _medians() if medians is None else medians:
        x = median * scale * np.exp(SIGMA * ndtri(u)) * stretch
        index = np.searchsorted(bins.LATENCY_LOG_EDGES, np.log(x), side="right")
        out.append(np.bincount(index, minlength=len(bins.LATENCY_LABELS)) / len(u))
    return np.array(out)


#: Per-period level offsets of one side for the host-jitter scenario: log-normal with sd JITTER, on a grid.
JITTER = 0.03
JITTER_GRID = np.exp(np.linspace(-4 * JITTER, 4 * JITTER, 81))
JITTER_BANK = latency_shares(medians=0.1 * JITTER_GRID)


def jittered(rng: np.random.Generator, trials: int) -> np.ndarray:
    """(trials, PERIODS, bins): each period's level moved by the load (both sides) and by this side's own random
    offset (a slower or faster host that minute)."""
    offset = np.clip(np.rint(rng.normal(0, JITTER, (trials, PERIODS)) / (8 * JITTER / 80)) + 40, 0, 80).astype(int)
    load = np.rint(np.log(_medians() / 0.1) / (8 * JITTER / 80)).astype(int)
    index = np.clip(offset + load, 0, 80)
    return JITTER_BANK[index]


def score_shares(shift: float = 0.0) -> np.ndarray:
    edges = np.asarray(bins.SCORE_EDGES)
    with np.errstate(divide="ignore"):
        cdf = ndtr(logit(edges) - shift)
    return np.diff(cdf)


def _hist(rng: np.random.Generator, n: np.ndarray, shares: np.ndarray) -> np.ndarray:
    return rng.multinomial(n.astype(np.int64), np.broadcast_to(shares, (*n.shape, shares.shape[-1]))).astype(float)


def _looks(fn, *arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run a test at every look (data since the start) and apply the stop-at-first-decision rule."""
    fails, passes = [], []
    step = PERIODS // LOOKS
    for look in range(1, LOOKS + 1):
        out = fn(*(a[:, : look * step] for a in arrays))
        fails.append(out.fail)
        passes.append(out.passed)
    return sequential(np.stack(fails, axis=1), np.stack(passes, axis=1))


def simulate(metric: str, effect: bool, rng: np.random.Generator, trials: int, n: int,
             ratio: int) -> tuple[np.ndarray, np.ndarray]:
    nb, nc = traffic(rng, trials, n, ratio)
    if metric == "errors":
        xb = rng.binomial(nb.astype(np.int64), ERROR_RATE).astype(float)
        xc = rng.binomial(nc.astype(np.int64), ERROR_RATE * (CFG.error_rate_ratio if effect else 1)).astype(float)
        return _looks(lambda b, eb, c, ec: stats.errors(b, eb, c, ec, levels=LEVELS, ratio=CFG.error_rate_ratio,
                                                        tolerance=CFG.error_rate_tolerance), nb, xb, nc, xc)
    if metric.endswith("(host jitter)"):
        test = stats.latency if metric.startswith("latency") else stats.tail
        tolerance = CFG.latency_tolerance if metric.startswith("latency") else CFG.tail_tolerance
        hb, hc = _hist(rng, nb, jittered(rng, trials)), _hist(rng, nc, jittered(rng, trials))
        return _looks(lambda b, c: test(b, c, bins.LATENCY_LOG_EDGES, levels=LEVELS, tolerance=tolerance), hb, hc)
    if metric in ("latency", "tail"):
        base = latency_shares()
        canary = (latency_shares(scale=1 + CFG.latency_tolerance) if metric == "latency" else
                  latency_shares(tail=CFG.tail_tolerance)) if effect else base
        hb, hc = _hist(rng, nb, base), _hist(rng, nc, canary)
        test = stats.latency if metric == "latency" else stats.tail
        tolerance = CFG.latency_tolerance if metric == "latency" else CFG.tail_tolerance
        return _looks(lambda b, c: test(b, c, bins.LATENCY_LOG_EDGES, levels=LEVELS, tolerance=tolerance), hb, hc)
    if metric == "predictions (scores)":
        hb = _hist(rng, nb, score_shares())
        hc = _hist(rng, nc, score_shares(CFG.prediction_shift_sd if effect else 0.0))
        return _looks(lambda b, c: stats.predictions_ordered(b, c, levels=LEVELS, shift_sd=CFG.prediction_shift_sd),
                      hb, hc)
    if metric == "predictions (classes)":
        base = np.array([0.7, 0.3])
        hb = _hist(rng, nb, base)
        hc = _hist(rng, nc, base + (np.array([-1, 1]) * CFG.prediction_share_change if effect else 0))
        return _looks(lambda b, c: stats.predictions_classes(b, c, levels=LEVELS,
                                                             share_change=CFG.prediction_share_change), hb, hc)
    accuracy = 0.9
    qb = rng.binomial(nb.astype(np.int64), accuracy) / np.where(nb > 0, nb, np.nan)
    worse = accuracy * (1 - CFG.quality_tolerance) if effect else accuracy
    qc = rng.binomial(nc.astype(np.int64), worse) / np.where(nc > 0, nc, np.nan)
    return _looks(lambda b, c: stats.quality(b, c, levels=LEVELS, higher_is_better=True,
                                             tolerance=CFG.quality_tolerance, threshold=0.8,
                                             min_points=CFG.min_points), qb, qc)


SCENARIOS = {
    "errors": ("5xx 0.5 % both", "5xx x2: 0.5 % -> 1 %"),
    "latency": ("same response times", "every request +10 %"),
    "tail": ("same response times", "p99 +20 %, median unchanged"),
    "predictions (scores)": ("same scores", "scores shifted 0.2 sd"),
    "predictions (classes)": ("classes 70/30 both", "class share +5 points"),
    "quality": ("accuracy 0.90 both", "accuracy 2 % worse"),
}


def _variant(rng: np.random.Generator, n: np.ndarray, errors: np.ndarray, latency: np.ndarray,
             scores: np.ndarray) -> VariantMetrics:
    hist = {label: latency[:, k].tolist() for k, label in enumerate(bins.LATENCY_LABELS) if latency[:, k].any()}
    labels = [bins.score_bin(x) for x in (np.asarray(bins.SCORE_EDGES[:-1]) + 0.05)]
    preds = {label: scores[:, k].tolist() for k, label in enumerate(labels)}
    quality = (rng.binomial(n.astype(np.int64), 0.9) / np.where(n > 0, n, np.nan)).tolist()
    return VariantMetrics(requests=float(n.sum()), errors=float(errors.sum()), requests_by_period=n.tolist(),
                          errors_by_period=errors.tolist(), latency_histogram=hist, prediction_histogram=preds,
                          quality=quality)


def whole_judge(rng: np.random.Generator, trials: int, n: int, ratio: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole judge (all metrics, the score and the critical rule) under the null, 5 looks per canary."""
    nb, nc = traffic(rng, trials, n, ratio)
    lat, sc = latency_shares(), score_shares()
    sides = [(b, rng.binomial(b.astype(np.int64), ERROR_RATE).astype(float), _hist(rng, b, lat), _hist(rng, b, sc))
             for b in (nb, nc)]
    fails = np.zeros((trials, LOOKS), dtype=bool)
    passes = np.zeros_like(fails)
    step = PERIODS // LOOKS
    rule = QualityRule(threshold=0.8)
    for t in range(trials):
        for look in range(LOOKS):
            upto = (look + 1) * step
            base, canary = (_variant(rng, *(a[t, :upto] for a in side)) for side in sides)
            verdict = judge_canary(CanaryData(base, canary, periods=STARTS[:upto]), CFG, quality=rule).verdict
            fails[t, look] = verdict.value == "FAIL"
            passes[t, look] = verdict.value == "PASS"
            if fails[t, look] or passes[t, look]:
                break
    return sequential(fails, passes)


def run(trials: int, rng: np.random.Generator) -> list[Row]:
    rows: list[Row] = []
    for metric, (null, effect) in SCENARIOS.items():
        started = time.perf_counter()
        for ratio in SPLITS:
            for n in SIZES:
                for truth, words in (("null", null), ("effect", effect)):
                    fail, passed = simulate(metric, truth == "effect", rng, trials, n, ratio)
                    f, i, p = counts(fail, passed)
                    rows.append(Row("canary", metric, words, "null" if truth == "null" else "effect", n,
                                    "canary requests", f"1:{ratio}", trials,
                                    f, i, p, CFG.alpha, CFG.power, LOOKS))
        print(f"  canary {metric}: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    for metric in ("latency (host jitter)", "tail (host jitter)"):
        for ratio in (1, 9):
            fail, passed = simulate(metric, False, rng, trials, 20000, ratio)
            f, i, p = counts(fail, passed)
            rows.append(Row("canary", metric, f"each side's level +-{JITTER:.0%} per period on its own", "null", 20000,
                            "canary requests", f"1:{ratio}", trials, f, i, p, CFG.alpha, CFG.power, LOOKS,
                            note="outside the tests' assumption (same conditions on both sides within a period)"))
    print(f"  canary host jitter: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    judged = max(100, trials // 5)
    for ratio in (1, 9):
        fail, passed = whole_judge(rng, judged, 5000, ratio)
        f, i, p = counts(fail, passed)
        rows.append(Row("canary", "judge (all metrics)", "all metrics as the baseline", "null", 5000,
                        "canary requests", f"1:{ratio}", judged, f, i, p, CFG.alpha, CFG.power, LOOKS))
    print(f"  canary whole judge: {time.perf_counter() - started:.1f} s", flush=True)
    return rows

