"""`smoke_test` and `load_test`: the two reports `mlcicd smoke` writes.

Both start with the readiness check; when the endpoint never becomes ready the report says FAIL for readiness and
INCONCLUSIVE for everything it could not run. Both use one `httpx.AsyncClient` (one connection pool) for the whole
run. They call `asyncio.run`, so call them from synchronous code (the CLI, a pipeline step, a test).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from runtime.config.checks import SmokeConfig
from runtime.evidence import KIND_LOAD, KIND_SMOKE
from runtime.report import Report, Verdict, inconclusive
from runtime.smoke.client import check_endpoint, make_client
from runtime.smoke.latency import closed_loop, latency_checks, latency_summary
from runtime.smoke.load import load_checks, load_details, open_loop
from runtime.smoke.payloads import Payloads
from runtime.smoke.protocol import STATUS_PATHS, invocation_check, rejection_check, status_check, wait_ready

if TYPE_CHECKING:
    import httpx

_NO_PAYLOAD = ("no payload to send to /invocations: set smoke.samplePayloads in the stack config, or give "
               "--sample-data FILE or --model-uri URI")


def smoke_test(endpoint: str, *, config: SmokeConfig | None = None, payloads: Payloads | None = None,
               subject: dict[str, Any] | None = None, verify: bool | str = True) -> Report:
    """Readiness, `/ping` `/health` `/version`, each valid payload (200, one prediction per row), each schema
    violation (4xx), then latency percentiles and error rate over `config.requests` requests.

    Raises ValueError for an endpoint that is not an http(s) URL; every other problem is a check in the report.
    """
    cfg = config or SmokeConfig()
    thresholds = {"p50_ms": cfg.p50_ms, "p95_ms": cfg.p95_ms, "p99_ms": cfg.p99_ms,
                  "max_error_rate": cfg.max_error_rate, "requests": cfg.requests, "concurrency": cfg.concurrency}
    report, base = _start(KIND_SMOKE, endpoint, subject, thresholds, payloads)
    asyncio.run(_smoke(report, base, cfg, payloads, verify))
    return report.finish()


async def _smoke(report: Report, base: str, cfg: SmokeConfig, payloads: Payloads | None,
                 verify: bool | str) -> None:
    timeout = cfg.request_timeout_seconds
    async with make_client(cfg.concurrency, timeout, verify) as client:
        if not await _ready(report, client, base, cfg, "protocol and latency checks"):
            return
        for path in STATUS_PATHS:
            report.add(await status_check(client, base, path, timeout))
        if payloads is None:
            report.add(inconclusive("invocations", _NO_PAYLOAD))
            return
        for req in payloads.valid:
            report.add(await invocation_check(client, base, req, timeout))
        for req in payloads.invalid:
            report.add(await rejection_check(client, base, req, timeout))
        stats = await closed_loop(client, base, payloads.valid, total=cfg.requests, concurrency=cfg.concurrency,
                                  timeout_s=timeout, max_error_rate=cfg.max_error_rate)
        for check in latency_checks(stats, cfg):
            report.add(check)
        report.details["latency"] = {**latency_summary(stats), "aborted": stats.aborted}


def load_test(endpoint: str, *, config: SmokeConfig | None = None, payloads: Payloads | None = None,
              subject: dict[str, Any] | None = None, verify: bool | str = True) -> Report:
    """Readiness, then `config.load.rps` requests per second for `config.load.duration_seconds` (open model),
    judged on error rate, p95 latency and achieved throughput. Raises ValueError for a non-http(s) endpoint."""
    cfg = config or SmokeConfig()
    load = cfg.load
    thresholds = {"rps": load.rps, "duration_s": load.duration_seconds, "p95_ms": load.p95_ms,
                  "max_error_rate": load.max_error_rate, "max_requests": load.max_requests,
                  "max_in_flight": load.max_in_flight, "min_achieved_ratio": load.min_achieved_ratio}
    report, base = _start(KIND_LOAD, endpoint, subject, thresholds, payloads)
    asyncio.run(_load(report, base, cfg, payloads, verify))
    return report.finish()


async def _load(report: Report, base: str, cfg: SmokeConfig, payloads: Payloads | None,
                verify: bool | str) -> None:
    async with make_client(cfg.load.max_in_flight, cfg.request_timeout_seconds, verify) as client:
        if not await _ready(report, client, base, cfg, "load test"):
            return
        if payloads is None:
            report.add(inconclusive("load test", _NO_PAYLOAD))
            return
        stats = await open_loop(client, base, payloads.valid, cfg.load, cfg.request_timeout_seconds)
        for check in load_checks(stats, cfg.load):
            report.add(check)
        report.details["load"] = load_details(stats, cfg.load)


def _start(kind: str, endpoint: str, subject: dict[str, Any] | None, thresholds: dict[str, Any],
           payloads: Payloads | None) -> tuple[Report, str]:
    """The report of a run against `endpoint` (its base URL, checked: ValueError when not http(s)) and that URL."""
    base = check_endpoint(endpoint)
    report = Report(kind, {"endpoint": base, **(subject or {})})
    report.details["thresholds"] = thresholds
    _describe_payloads(report, payloads)
    return report, base


async def _ready(report: Report, client: httpx.AsyncClient, base: str, cfg: SmokeConfig, not_run: str) -> bool:
    """The readiness check; when it did not pass, an INCONCLUSIVE `not_run` check for everything after it."""
    ready = report.add(await wait_ready(client, base, cfg.readiness_timeout_seconds, cfg.request_timeout_seconds))
    if ready.verdict is not Verdict.PASS:
        report.add(inconclusive(not_run, "not run: the endpoint never became ready"))
        return False
    return True


def _describe_payloads(report: Report, payloads: Payloads | None) -> None:
    if payloads is None:
        report.details["payloads"] = {"source": None}
        return
    report.details["payloads"] = {
        "source": payloads.source,
        "valid": [{"name": p.name, "rows": p.rows} for p in payloads.valid],
        "schema_violations": [p.name for p in payloads.invalid],
        "notes": payloads.notes,
    }
