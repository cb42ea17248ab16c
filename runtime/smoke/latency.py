"""Latency and error rate over N requests at concurrency C (closed loop: C workers share one connection pool).

A request succeeds when it answers 200 with a JSON body holding one prediction per input row; anything else is an
error. Percentiles are over successful requests only (nearest rank: the reported p95 is a latency some request
really had, never an interpolation below it). A percentile needs enough samples to exist at all: p50 needs 2,
p95 20, p99 100 successful requests; fewer is INCONCLUSIVE. The run stops early once the errors already exceed
what `maxErrorRate` allows over all N requests (the error check is lost whatever comes next).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from runtime.config.checks import SmokeConfig
from runtime.report import Check, failed, inconclusive, passed
from runtime.smoke.client import Outcome, request
from runtime.smoke.payloads import ScoringRequest
from runtime.smoke.protocol import judge_prediction


@dataclass(frozen=True)
class Sample:
    latency_s: float
    error: str | None
    """None for a success, else the error category (`timeout`, `HTTP 500`, `bad predictions`, ...)."""


@dataclass
class RunStats:
    samples: list[Sample] = field(default_factory=list)
    first_reasons: dict[str, str] = field(default_factory=dict)
    """The first full reason seen for each error category."""
    aborted: str | None = None
    wall_s: float = 0.0
    errors: int = 0
    """Failed requests so far (kept as a count: checked after every response)."""

    def record(self, outcome: Outcome, problem: str | None) -> Sample:
        category = None if problem is None else error_category(outcome)
        if category is not None and problem is not None:
            self.first_reasons.setdefault(category, problem)
        sample = Sample(outcome.latency_s, category)
        self.samples.append(sample)
        self.errors += category is not None
        return sample

    def ok_latencies_ms(self) -> list[float]:
        return sorted(s.latency_s * 1000 for s in self.samples if s.error is None)

    def error_summary(self) -> str:
        counts = Counter(s.error for s in self.samples if s.error is not None)
        parts = [f"{n} {cat}" for cat, n in counts.most_common()]
        first = next(iter(self.first_reasons.values()), "")
        return ", ".join(parts) + (f"; first: {first}" if first else "")


def error_category(outcome: Outcome) -> str:
    if not outcome.answered:
        return outcome.kind
    if outcome.status != 200:
        return f"HTTP {outcome.status}"
    if not outcome.is_json:
        return "non-JSON body"
    return "bad predictions"


def min_samples(q: float) -> int:
    """Fewest samples for which the q-quantile is an observed value rather than the maximum by default."""
    return math.ceil(round(1 / (1 - q), 9))


def quantile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank quantile of an ascending list (rank ceil(q*n), 1-based)."""
    n = len(sorted_values)
    permille = round(q * 1000)
    rank = max(1, -(-permille * n // 1000))
    return sorted_values[rank - 1]


def percentile_check(name: str, latencies_ms: list[float], q: float, threshold_ms: float,
                     hint: str = "raise --requests") -> Check:
    need = min_samples(q)
    threshold = f"<= {threshold_ms:g} ms"
    if len(latencies_ms) < need:
        return inconclusive(name, f"only {len(latencies_ms)} successful request{'s' * (len(latencies_ms) != 1)}; "
                            f"p{q * 100:g} needs at least {need} ({hint})", None, threshold)
    value = quantile(latencies_ms, q)
    verdict = passed if value <= threshold_ms else failed
    word = "within" if value <= threshold_ms else "above"
    return verdict(name, round(value, 3), threshold, f"{value:.1f} ms over {len(latencies_ms)} successful "
                   f"requests, {word} {threshold_ms:g} ms")


def latency_summary(stats: RunStats) -> dict[str, float | int | None]:
    ok = stats.ok_latencies_ms()

    def q(p: float) -> float | None:
        return round(quantile(ok, p), 3) if len(ok) >= min_samples(p) else None

    return {
        "requests": len(stats.samples), "errors": stats.errors, "successes": len(ok),
        "min_ms": round(ok[0], 3) if ok else None, "max_ms": round(ok[-1], 3) if ok else None,
        "mean_ms": round(sum(ok) / len(ok), 3) if ok else None,
        "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99),
        "wall_s": round(stats.wall_s, 4),
        "throughput_rps": round(len(stats.samples) / stats.wall_s, 2) if stats.wall_s > 0 else None,
    }


def allowed_errors(max_error_rate: float, planned: int) -> int:
    """Errors the whole run may have: more than this and the error-rate threshold is lost."""
    return math.floor(max_error_rate * planned + 1e-9)


async def closed_loop(client: httpx.AsyncClient, base: str, requests: list[ScoringRequest], *, total: int,
                      concurrency: int, timeout_s: float, max_error_rate: float) -> RunStats:
    """Send `total` requests, at most `concurrency` at a time, cycling through `requests`."""
    stats = RunStats()
    budget = allowed_errors(max_error_rate, total)
    next_index = 0
    url = f"{base}/invocations"

    async def worker() -> None:
        nonlocal next_index
        while next_index < total and stats.aborted is None:
            req = requests[next_index % len(requests)]
            next_index += 1
            outcome = await request(client, "POST", url, timeout_s, req.content)
            stats.record(outcome, judge_prediction(outcome, req))
            if stats.errors > budget and stats.aborted is None:
                stats.aborted = (f"stopped after {len(stats.samples)} of {total} requests: {stats.errors} "
                                 f"failed, more than the {budget} that maxErrorRate {max_error_rate:g} allows")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    stats.wall_s = time.perf_counter() - t0
    return stats


def latency_checks(stats: RunStats, cfg: SmokeConfig) -> list[Check]:
    sent = len(stats.samples)
    threshold = f"<= {cfg.max_error_rate:g}"
    if sent == 0:
        error_check = inconclusive("error rate", "no request was sent", None, threshold)
    elif stats.errors == 0:
        error_check = passed("error rate", 0.0, threshold, f"0 of {sent} requests failed")
    else:
        rate = stats.errors / sent
        verdict = failed if rate > cfg.max_error_rate else passed
        note = f"; {stats.aborted}" if stats.aborted else ""
        error_check = verdict("error rate", round(rate, 6), threshold, f"{stats.errors} of {sent} requests failed "
                              f"({stats.error_summary()}){note}")
    ok = stats.ok_latencies_ms()
    hint = "raise --requests" if sent >= cfg.requests else "the run stopped early on errors"
    return [error_check, percentile_check("latency p50", ok, 0.50, cfg.p50_ms, hint),
            percentile_check("latency p95", ok, 0.95, cfg.p95_ms, hint),
            percentile_check("latency p99", ok, 0.99, cfg.p99_ms, hint)]
