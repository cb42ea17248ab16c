"""One HTTP exchange with a scoring endpoint, turned into an `Outcome` that never raises.

Every failure a client can meet (connection refused, timeout, TLS, reset, truncated body, non-JSON body) becomes
an outcome with a short `kind` (for counting) and a `reason` (for people). Callers decide what an outcome means for
a check; nothing here decides a verdict.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from runtime.errors import InvalidValue

#: Outcome kinds that are transport failures (no HTTP status).
TRANSPORT_KINDS = frozenset({"refused", "connect", "tls", "timeout", "reset", "truncated", "protocol", "unexpected"})

_NO_JSON = object()


@dataclass(frozen=True)
class Outcome:
    """What one request produced. `status` is None when no complete HTTP response arrived."""

    kind: str
    """`ok` (a complete response, any status) or one of TRANSPORT_KINDS."""
    reason: str
    latency_s: float
    status: int | None = None
    text: str = ""
    body: Any = _NO_JSON

    @property
    def answered(self) -> bool:
        return self.kind == "ok"

    @property
    def is_json(self) -> bool:
        return self.body is not _NO_JSON

    def describe(self) -> str:
        """`HTTP 503: <start of body>` or the transport reason."""
        if not self.answered:
            return self.reason
        return f"HTTP {self.status}" + (f": {snippet(self.text)}" if self.text.strip() else "")


def snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def check_endpoint(url: str) -> str:
    """Return the endpoint without a trailing slash; raise InvalidValue (a ValueError) naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"--endpoint {url!r} must be an absolute http:// or https:// URL with a host, "
                         "e.g. http://127.0.0.1:5001")
    if parts.query or parts.fragment:
        raise InvalidValue(f"--endpoint {url!r} must not carry a query or fragment; give the server's base URL")
    return url.rstrip("/")


def make_client(connections: int, timeout_s: float, verify: bool | str = True) -> httpx.AsyncClient:
    """One client, one connection pool of `connections` keep-alive connections, for a whole run."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # httpx's per-phase timeouts bound each read; `request()` below also bounds the whole exchange.
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(timeout_s), verify=verify)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(exc: BaseException, timeout_s: float) -> tuple[str, str]:
    """Map an exception from a request to (kind, reason)."""
    chain = _chain(exc)
    detail = str(exc) or type(exc).__name__
    if any(isinstance(e, ssl.SSLError) for e in chain):
        ssl_err = next(e for e in chain if isinstance(e, ssl.SSLError))
        return "tls", f"TLS error: {ssl_err} (is the endpoint really https, with a certificate this client trusts?)"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        phase = {httpx.ConnectTimeout: "connecting", httpx.ReadTimeout: "waiting for the response",
                 httpx.WriteTimeout: "sending the request", httpx.PoolTimeout: "waiting for a free connection"}
        where = next((v for k, v in phase.items() if isinstance(exc, k)), "in total")
        return "timeout", f"timed out after {timeout_s:g} s ({where})"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused", "connection refused (nothing listening at that host and port)"
    if isinstance(exc, httpx.ConnectError):
        return "connect", f"could not connect: {detail}"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "incomplete" in detail or "without sending complete message body" in detail:
            return "truncated", f"truncated body: the server closed the connection mid-response ({detail})"
        return "protocol", f"malformed HTTP response: {detail}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | ConnectionError):
        return "reset", f"connection reset: {detail}"
    if isinstance(exc, httpx.TransportError):
        return "protocol", f"transport error: {type(exc).__name__}: {detail}"
    return "unexpected", f"unexpected client error: {type(exc).__name__}: {detail}"


async def request(client: httpx.AsyncClient, method: str, url: str, timeout_s: float,
                  payload: Any = None, *, headers: Mapping[str, str] | None = None) -> Outcome:
    """Send one request and read the whole body within `timeout_s`; never raises (except cancellation).

    `payload` is a JSON value, or the already encoded bytes (the hot loops encode each payload once); `headers`
    are added to the request's (the replay gate sends each captured request's `X-Inference-Id`)."""
    if payload is None or isinstance(payload, bytes):
        content = payload
    else:
        content = json.dumps(payload, allow_nan=False).encode()
    sent = {"Content-Type": "application/json"} if content is not None else {}
    sent.update(headers or {})
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.request(method, url, content=content, headers=sent or None)
    except Exception as exc:  # every failure becomes an outcome with its reason, never a crash
        kind, reason = classify(exc, timeout_s)
        return Outcome(kind, reason, time.perf_counter() - t0)
    latency = time.perf_counter() - t0
    text = response.text
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = _NO_JSON
    return Outcome("ok", f"HTTP {response.status_code}", latency, response.status_code, text, body)
