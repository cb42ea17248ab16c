"""Open-model load test: requests arrive on a fixed schedule (request i at i / rps), whether or not earlier ones
have been answered, like k6's `constant-arrival-rate` executor.

Bounds: at most `maxRequests` scheduled, arrivals stop after `durationSeconds`, and the whole run ends by
duration + request timeout + 1 s (anything still outstanding then is cancelled and counted as a timeout). At most
`maxInFlight` requests are outstanding; an arrival that finds that many is dropped and counted (the server is not
keeping up). An arrival dispatched later than max(50 ms, one interval) after its slot is counted late (the client
could not keep the schedule; then a shortfall in throughput is INCONCLUSIVE rather than the server's fault).

Thresholds (k6-style): error rate and p95 latency. The run aborts as soon as either is lost for the whole run:
more errors than `maxErrorRate` allows over every scheduled request, or more responses slower than `p95Ms` than
the 5 % a p95 tolerates over every scheduled request.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from runtime.config.checks import LoadTestConfig
from runtime.progress import progress
from runtime.report import Check, failed, inconclusive, passed
from runtime.smoke.client import Outcome, request
from runtime.smoke.latency import RunStats, Sample, allowed_errors, latency_summary, percentile_check
from runtime.smoke.payloads import ScoringRequest
from runtime.smoke.protocol import judge_prediction

#: A dispatch later than this after its slot (or one interval, if longer) counts as late.
LATE_TOLERANCE_S = 0.05
#: Share of late dispatches above which the client, not the server, is the bottleneck.
MAX_LATE_SHARE = 0.10
#: Slack after the last arrival, on top of the request timeout, before outstanding requests are cancelled.
DRAIN_GRACE_S = 1.0


@dataclass
class LoadStats(RunStats):
    planned: int = 0
    sent: int = 0
    dropped: int = 0
    late: int = 0
    cancelled: int = 0
    max_lag_s: float = 0.0
    slow: int = 0
    capped_by_max_requests: bool = False
    abort_cause: str | None = None
    """`errors` or `latency`: which threshold was already lost when the run aborted."""
    arrivals_s: float = 0.0
    """Length of the arrival window: from the first slot to the last dispatch, plus one interval."""

    def achieved_rps(self) -> float:
        """Successful responses per second of the arrival window (a response's own latency is judged by p95,
        not charged again here)."""
        return len(self.ok_latencies_ms()) / self.arrivals_s if self.arrivals_s > 0 else 0.0


def slow_budget(planned: int) -> int:
    """Responses above the p95 threshold the whole run may have: n - ceil(0.95 n) (nearest rank)."""
    return planned - (-(-95 * planned // 100))


async def open_loop(client: httpx.AsyncClient, base: str, requests: list[ScoringRequest], cfg: LoadTestConfig,
                    timeout_s: float) -> LoadStats:
    """Send request i at i / rps, cycling through `requests`, within the bounds of the module docstring; judge each
    response as it arrives and stop scheduling once a threshold is lost for the whole run."""
    wanted = math.ceil(cfg.rps * cfg.duration_seconds)
    stats = LoadStats(planned=min(wanted, cfg.max_requests), capped_by_max_requests=wanted > cfg.max_requests)
    interval = 1.0 / cfg.rps
    error_budget = allowed_errors(cfg.max_error_rate, stats.planned)
    slow_allowed = slow_budget(stats.planned)
    in_flight = asyncio.Semaphore(cfg.max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    url = f"{base}/invocations"

    async def one(req: ScoringRequest) -> None:
        try:
            outcome = await request(client, "POST", url, timeout_s, req.content)
            _count_response(stats, stats.record(outcome, judge_prediction(outcome, req)), cfg, error_budget,
                            slow_allowed)
        finally:
            in_flight.release()

    def send(i: int) -> None:
        """Dispatch arrival i as a task, kept in `tasks` until it is done."""
        task = asyncio.create_task(one(requests[i % len(requests)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    t0 = time.monotonic()
    await _arrivals(stats, t0, interval, in_flight, send)
    stats.arrivals_s = time.monotonic() - t0 + interval
    await _drain(stats, tasks, t0 + stats.planned * interval + timeout_s + DRAIN_GRACE_S, timeout_s)
    stats.wall_s = time.monotonic() - t0
    return stats


def _count_response(stats: LoadStats, sample: Sample, cfg: LoadTestConfig, error_budget: int,
                    slow_allowed: int) -> None:
    """Count a success slower than the p95 threshold, and abort the run once errors or slow responses exceed what
    the thresholds allow over every scheduled request (the first threshold lost is the cause)."""
    if sample.error is None and sample.latency_s * 1000 > cfg.p95_ms:
        stats.slow += 1
    if stats.aborted is None and stats.errors > error_budget:
        stats.abort_cause = "errors"
        stats.aborted = (f"aborted after {len(stats.samples)} responses: {stats.errors} failed, more than "
                         f"the {error_budget} that maxErrorRate {cfg.max_error_rate:g} allows over "
                         f"{stats.planned} requests")
    elif stats.aborted is None and stats.slow > slow_allowed:
        stats.abort_cause = "latency"
        stats.aborted = (f"aborted after {len(stats.samples)} responses: {stats.slow} slower than "
                         f"{cfg.p95_ms:g} ms, more than the {slow_allowed} a p95 allows over "
                         f"{stats.planned} requests")


async def _arrivals(stats: LoadStats, t0: float, interval: float, in_flight: asyncio.Semaphore,
                    send: Callable[[int], None]) -> None:
    """Keep the schedule from `t0` until every planned arrival is due or the run aborts: each arrival is counted
    late or not, then dropped when `in_flight` is full, else it takes a place and `send` dispatches it."""
    late_after = max(LATE_TOLERANCE_S, interval)
    with progress("load test", stats.planned, unit="requests") as advance:
        for i in range(stats.planned):
            if stats.aborted is not None:
                break
            advance()
            slot = t0 + i * interval
            delay = slot - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = time.monotonic() - slot
            stats.max_lag_s = max(stats.max_lag_s, lag)
            if lag > late_after:
                stats.late += 1
            if in_flight.locked():
                stats.dropped += 1
                continue
            await in_flight.acquire()
            stats.sent += 1
            send(i)


async def _drain(stats: LoadStats, tasks: set[asyncio.Task[None]], deadline: float, timeout_s: float) -> None:
    """Wait for the outstanding requests until `deadline` (not at all after an abort), then cancel the rest; without
    an abort each cancelled request counts as a timeout."""
    if not tasks:
        return
    remaining = max(0.0, deadline - time.monotonic()) if stats.aborted is None else 0.0
    _, pending = await asyncio.wait(set(tasks), timeout=remaining)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    stats.cancelled = len(pending)
    if stats.aborted is None:  # outstanding past every request's own timeout: counted as timeouts
        for _ in range(len(pending)):
            outcome = Outcome("timeout", f"still outstanding {DRAIN_GRACE_S:g} s after its timeout", timeout_s)
            stats.record(outcome, outcome.reason)


def load_checks(stats: LoadStats, cfg: LoadTestConfig) -> list[Check]:
    sent = len(stats.samples)  # answered or failed; requests cancelled by an abort are not judged
    checks: list[Check] = []
    threshold = f"<= {cfg.max_error_rate:g}"
    aborted = f"; {stats.aborted}" if stats.aborted else ""
    if sent == 0:
        checks.append(inconclusive("load error rate", f"no request was sent{aborted}", None, threshold))
    else:
        rate = stats.errors / sent
        lost = rate > cfg.max_error_rate or stats.abort_cause == "errors"
        summary = f" ({stats.error_summary()})" if stats.errors else ""
        checks.append((failed if lost else passed)("load error rate", round(rate, 6), threshold,
                                                   f"{stats.errors} of {sent} requests failed{summary}{aborted}"))
    ok = stats.ok_latencies_ms()
    if stats.abort_cause == "latency" and stats.aborted is not None:
        checks.append(failed("load latency p95", None, f"<= {cfg.p95_ms:g} ms", stats.aborted))
    else:
        hint = "raise --duration or --rps" if stats.aborted is None else "the run was aborted"
        checks.append(percentile_check("load latency p95", ok, 0.95, cfg.p95_ms, hint))
    checks.append(rate_check(stats, cfg))
    return checks


def rate_check(stats: LoadStats, cfg: LoadTestConfig) -> Check:
    """Successful responses per second against the target; dropped arrivals are the server's, late ones the
    client's."""
    achieved = stats.achieved_rps()
    need = cfg.min_achieved_ratio * cfg.rps
    threshold = f">= {need:g} rps ({cfg.min_achieved_ratio:g} x {cfg.rps:g})"
    facts = (f"{achieved:.1f} rps answered of {cfg.rps:g} offered; {stats.planned} scheduled, {stats.dropped} "
             f"dropped at {cfg.max_in_flight} in flight, {stats.late} dispatched late (max lag "
             f"{stats.max_lag_s * 1000:.0f} ms)")
    if stats.aborted is not None:
        return inconclusive("load throughput", f"not judged: {stats.aborted}", round(achieved, 2), threshold)
    if achieved >= need:
        return passed("load throughput", round(achieved, 2), threshold, facts)
    if stats.planned and stats.dropped / stats.planned > 1 - cfg.min_achieved_ratio:
        return failed("load throughput", round(achieved, 2), threshold, f"the server is not keeping up: {facts}")
    if stats.planned and stats.late / stats.planned > MAX_LATE_SHARE:
        return inconclusive("load throughput", f"the client could not keep the schedule: {facts}; run the load "
                            "test from a less busy machine or lower --rps", round(achieved, 2), threshold)
    return failed("load throughput", round(achieved, 2), threshold, facts)


def load_details(stats: LoadStats, cfg: LoadTestConfig) -> dict[str, Any]:
    summary = latency_summary(stats)
    return {
        **summary,
        "target_rps": cfg.rps, "duration_s": cfg.duration_seconds, "scheduled": stats.planned,
        "capped_by_max_requests": stats.capped_by_max_requests, "sent": stats.sent,
        "dropped": stats.dropped, "late": stats.late, "cancelled_at_end": stats.cancelled,
        "slower_than_p95_threshold": stats.slow,
        "max_dispatch_lag_ms": round(stats.max_lag_s * 1000, 3),
        "achieved_rps": round(stats.achieved_rps(), 2), "arrival_window_s": round(stats.arrivals_s, 4),
        "aborted": stats.aborted,
        "max_in_flight": cfg.max_in_flight,
    }
