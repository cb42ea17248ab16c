"""Readiness and protocol checks against an MLflow-compatible scoring server.

Verdict policy (one rule for every check): what the endpoint did or failed to do is a FAIL (not ready within the
budget, refused connections, timeouts, TLS errors, 5xx, truncated or non-JSON bodies, wrong predictions, garbage
accepted); INCONCLUSIVE means the client gathered too little evidence to judge (no payload to send, too few
samples for a percentile, a check skipped because readiness failed).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import httpx

from runtime.report import Check, failed, inconclusive, passed
from runtime.smoke.client import Outcome, request, snippet
from runtime.smoke.payloads import ScoringRequest

#: Readiness polling: first pause, growth factor and longest pause between `/ping` attempts.
BACKOFF_FIRST_S = 0.1
BACKOFF_FACTOR = 2.0
BACKOFF_MAX_S = 5.0
#: The least time one `/ping` attempt gets (or the request timeout, when that is shorter), even when less of the
#: budget is left: an attempt cut to a sliver of the budget "times out" however healthy the endpoint is, and that
#: made-up timeout would be the reason the report gives. The whole wait may overrun the budget by this much.
MIN_ATTEMPT_S = 1.0
#: Simple endpoints an MLflow scoring server answers with 200.
STATUS_PATHS = ("/ping", "/health", "/version")


async def wait_ready(client: httpx.AsyncClient, base: str, budget_s: float, timeout_s: float) -> Check:
    """Poll `/ping` with exponential backoff until it answers 200 or the budget is spent.

    A TLS error ends the wait at once (waiting does not fix a certificate or an http/https mix-up).
    """
    t0 = time.monotonic()
    pause = BACKOFF_FIRST_S
    attempts = 0
    last = "no attempt made"
    threshold = f"/ping 200 within {budget_s:g} s"
    while True:
        remaining = budget_s - (time.monotonic() - t0)
        if remaining <= 0:
            break
        outcome = await request(client, "GET", f"{base}/ping", min(timeout_s, max(remaining, MIN_ATTEMPT_S)))
        attempts += 1
        elapsed = time.monotonic() - t0
        if outcome.answered and outcome.status == 200:
            return passed("readiness", round(elapsed, 3), threshold,
                          f"/ping answered 200 after {elapsed:.2f} s ({attempts} attempt{'s' * (attempts > 1)})")
        last = outcome.describe()
        if outcome.kind == "tls":
            return failed("readiness", None, threshold, f"{last}; not retried")
        remaining = budget_s - elapsed
        if remaining <= 0:
            break
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * BACKOFF_FACTOR, BACKOFF_MAX_S)
    return failed("readiness", None, threshold, f"not ready after {budget_s:g} s ({attempts} attempts to /ping); "
                  f"last: {last}")


async def status_check(client: httpx.AsyncClient, base: str, path: str, timeout_s: float) -> Check:
    outcome = await request(client, "GET", f"{base}{path}", timeout_s)
    name = f"endpoint {path}"
    if outcome.answered and outcome.status == 200:
        text = snippet(outcome.text, 60).strip()
        return passed(name, 200, "HTTP 200", f"200 in {outcome.latency_s * 1000:.1f} ms"
                      + (f": {text}" if path == "/version" and text else ""))
    return failed(name, outcome.status, "HTTP 200", outcome.describe())


def _shape(item: Any) -> str:
    if isinstance(item, list):
        return f"list of {len(item)}"
    if isinstance(item, dict):
        return f"object with keys {sorted(item)}"
    return "scalar"


def _missing(item: Any) -> bool:
    if item is None:
        return True
    if isinstance(item, float):
        return not math.isfinite(item)
    if isinstance(item, list):
        return any(_missing(v) for v in item)
    if isinstance(item, dict):
        return any(_missing(v) for v in item.values())
    return False


def predictions_problem(body: Any, expected_rows: int | None) -> str | None:
    """Why a 200 body is not MLflow's `{"predictions": [...]}` with one prediction per input row (None: it is)."""
    if not isinstance(body, dict) or "predictions" not in body:
        got = f"an object with keys {sorted(body)}" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
        return f"body is {got}, not MLflow's {{\"predictions\": [...]}}"
    preds = body["predictions"]
    if isinstance(preds, dict):  # columnar output: {"col": [one value per row], ...}
        lengths = {k: len(v) if isinstance(v, list) else None for k, v in preds.items()}
        if not lengths or None in lengths.values() or len(set(lengths.values())) != 1:
            return f"columnar predictions must be equal-length lists; got lengths {lengths}"
        rows = next(iter(lengths.values())) or 0
        items: list[Any] = [{k: v[i] for k, v in preds.items()} for i in range(rows)]
    elif isinstance(preds, list):
        items = preds
    else:
        return f"`predictions` is a JSON {type(preds).__name__}, expected a list with one entry per row"
    if expected_rows is not None and len(items) != expected_rows:
        return (f"wrong number of predictions: {expected_rows} row{'s' * (expected_rows != 1)} in, "
                f"{len(items)} prediction{'s' * (len(items) != 1)} out")
    if not items:
        return "no predictions in the response"
    shapes = sorted({_shape(i) for i in items})
    if len(shapes) > 1:
        return f"predictions have mixed shapes: {', '.join(shapes)}"
    missing = sum(_missing(i) for i in items)
    if missing:
        return f"{missing} of {len(items)} predictions are null or NaN"
    return None


def judge_prediction(outcome: Outcome, req: ScoringRequest) -> str | None:
    """None when `outcome` is a correct answer to `req`, else the reason it is not."""
    if not outcome.answered:
        return outcome.reason
    if outcome.status != 200:
        return outcome.describe()
    if not outcome.is_json:
        return f"non-JSON body with HTTP 200: {snippet(outcome.text, 80)!r}"
    return predictions_problem(outcome.body, req.rows)


async def invocation_check(client: httpx.AsyncClient, base: str, req: ScoringRequest, timeout_s: float) -> Check:
    outcome = await request(client, "POST", f"{base}/invocations", timeout_s, req.content)
    name = f"invocations {req.name}"
    expected = f"HTTP 200 with {req.rows} predictions" if req.rows is not None else "HTTP 200 with predictions"
    problem = judge_prediction(outcome, req)
    if problem is not None:
        return failed(name, outcome.status, expected, problem)
    if req.rows is None:
        return inconclusive(name, "answered 200 with predictions, but the payload's row count is not determinable "
                            "from its shape, so the prediction count is unchecked", outcome.status, expected)
    shape = _shape(outcome.body["predictions"][0]) if isinstance(outcome.body["predictions"], list) else "columns"
    return passed(name, req.rows, expected, f"200 with {req.rows} prediction{'s' * (req.rows != 1)} "
                  f"({shape}) in {outcome.latency_s * 1000:.1f} ms")


async def rejection_check(client: httpx.AsyncClient, base: str, req: ScoringRequest, timeout_s: float) -> Check:
    """A schema-violating request must be rejected with 4xx; 2xx (garbage accepted) and 5xx (crash) fail."""
    outcome = await request(client, "POST", f"{base}/invocations", timeout_s, req.content)
    name = f"rejects {req.name}"
    if not outcome.answered:
        return failed(name, None, "HTTP 4xx", outcome.reason)
    status = outcome.status or 0
    if 400 <= status < 500:
        return passed(name, status, "HTTP 4xx", f"rejected with {status}")
    if 200 <= status < 300:
        return failed(name, status, "HTTP 4xx", f"accepted a schema-violating request with {status}: the server "
                      "does not enforce the model's input schema (it would score garbage)")
    body = f": {snippet(outcome.text, 80)}" if outcome.text.strip() else ""
    return failed(name, status, "HTTP 4xx", f"answered HTTP {status} instead of rejecting the request with 4xx"
                  f"{body}")
