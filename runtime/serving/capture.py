"""The inference capture layer: an ASGI app in front of MLflow's scoring app, in the same process.

For every `POST /invocations` it assigns an inference id (the caller's `X-Inference-Id` when it sends a valid one,
so a replayed or mirrored request keeps its id; else a new UUID), returns it in the `X-Inference-Id` response
header, decides by a hash of the id whether the request is sampled, and for a sampled request hands the raw request
and response bytes, status and latency to the recorder once the last response byte is sent. Everything else
(parsing, hashing, network) happens on the recorder's thread. Other paths pass through untouched.

Why in-process and not a sidecar proxy: docs/serving.md ("Inference capture"), with the measured overhead.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from runtime.serving.mirror import Mirror
from runtime.serving.recorder import Recorder
from runtime.serving.records import Exchange, sampled

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"x-inference-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def inference_id(headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """(inference id, content type) of a request: the caller's valid id or a new one."""
    given, content_type = b"", b""
    for key, value in headers:
        if key == HEADER:
            given = value
        elif key == b"content-type":
            content_type = value
    if not _VALID_ID.match(given):
        given = str(uuid.uuid4()).encode()
    return given, content_type


class CaptureMiddleware:
    def __init__(self, app: ASGIApp, recorder: Recorder, sample_percent: float, mirror: Mirror | None = None) -> None:
        self.app = app
        self.recorder = recorder
        self.sample_percent = sample_percent
        self.mirror = mirror
        """Copies sampled requests to the shadow variant once answered (runtime/serving/mirror.py)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._on_shutdown(receive), send)
            return
        if scope["type"] != "http" or scope.get("path") != "/invocations":
            await self.app(scope, receive, send)
            return
        await self._invocation(scope, receive, send)

    def _on_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":  # uvicorn has finished the in-flight requests
                if self.mirror is not None:
                    await asyncio.to_thread(self.mirror.close)
                await asyncio.to_thread(self.recorder.close)
            return message
        return wrapped

    async def _invocation(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        arrived_ms = time.time_ns() // 1_000_000
        ident, content_type = inference_id(scope.get("headers") or [])
        take = sampled(ident.decode(), self.sample_percent)
        request: list[bytes] = []
        response: list[bytes] = []
        status = 0
        done = False

        def submit(final_status: int) -> None:
            body = b"".join(request)
            self.recorder.submit(Exchange(
                inference_id=ident.decode(), timestamp_ms=arrived_ms,
                latency_ms=(time.perf_counter() - started) * 1000.0, status=final_status,
                content_type=content_type.decode("latin-1"), request=body, response=b"".join(response)))
            if self.mirror is not None and self.mirror.wanted(ident.decode()):
                self.mirror.submit(ident.decode(), content_type.decode("latin-1"), body)

        async def receive_wrapper() -> Message:
            message = await receive()
            if take and message["type"] == "http.request":
                request.append(message.get("body", b""))
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, ident)]
            elif take and message["type"] == "http.response.body":
                response.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(message)
                    done = True
                    submit(status)
                    return
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            if take and not done:  # the app raised or the client went away before the last byte
                submit(status or 500)
