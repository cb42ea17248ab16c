"""Deliberately faulty scoring servers for the smoke tests (standard library only), one behaviour per failure.

`correct` is an MLflow-compatible scoring server for a model with numeric columns `COLUMNS`: `/ping`, `/health`,
`/version` answer 200; `/invocations` takes `{"dataframe_split": {"columns": COLUMNS, "data": [[...], ...]}}` and
answers `{"predictions": [one per row]}`, rejecting anything else with 400. Every other behaviour breaks exactly
one thing. `GET /stats` returns how many requests were handled and the time spent inside the handler, so a
benchmark can subtract server time from client-side latency.

Run standalone (used by benchmarks/smoke_overhead.py): `python -m tests.servers BEHAVIOUR` prints the port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

COLUMNS = ["x1", "x2", "x3"]
BEHAVIOURS = ("correct", "slow", "hang", "error-5xx", "truncated", "non-json", "accepts-garbage", "wrong-count",
              "never-ready", "flaky-5xx")
#: `flaky-5xx` answers every this-many-th `/invocations` request with 500 (a 20 % error rate), the rest correctly.
FLAKY_EVERY = 5
#: Longest a `hang` request waits (released at once when the server stops).
HANG_S = 30.0


class ScoringServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: str, delay_s: float = 0.0) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; one of {BEHAVIOURS}")
        super().__init__(("127.0.0.1", 0), ScoringHandler)
        self.behaviour = behaviour
        self.delay_s = delay_s
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.handled = 0
        self.handle_s = 0.0
        self.invocations = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, abort) closed its end: expected here, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _valid_rows(body: Any) -> int | None:
    """Rows of a request the `correct` server accepts, or None when it must be rejected."""
    if not isinstance(body, dict) or list(body) != ["dataframe_split"]:
        return None
    split = body["dataframe_split"]
    if not isinstance(split, dict) or split.get("columns") != COLUMNS or not isinstance(split.get("data"), list):
        return None
    for row in split["data"]:
        if not isinstance(row, list) or len(row) != len(COLUMNS):
            return None
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row):
            return None
    return len(split["data"])


class ScoringHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls

    @property
    def scoring(self) -> ScoringServer:
        return cast(ScoringServer, self.server)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode())

    def do_GET(self) -> None:
        t0 = time.perf_counter()
        if self.path == "/stats":
            with self.scoring.lock:
                self._json(200, {"handled": self.scoring.handled, "handle_s": self.scoring.handle_s})
            return
        if self.path in ("/ping", "/health"):
            if self.scoring.behaviour == "never-ready":
                self._json(503, {"message": "model not loaded"})
            else:
                self._send(200, b"\n")
        elif self.path == "/version":
            self._send(200, b"3.0.0-test")
        else:
            self._json(404, {"message": f"no route {self.path}"})
        self._count(t0)

    def do_POST(self) -> None:
        t0 = time.perf_counter()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/invocations":
            self._json(404, {"message": f"no route {self.path}"})
            return
        behaviour = self.scoring.behaviour
        try:
            rows = _valid_rows(json.loads(raw))
        except ValueError:
            rows = None
        if behaviour == "slow":
            time.sleep(self.scoring.delay_s)
        elif behaviour == "hang":
            self.scoring.stopping.wait(HANG_S)
        with self.scoring.lock:
            self.scoring.invocations += 1
            flaky = behaviour == "flaky-5xx" and self.scoring.invocations % FLAKY_EVERY == 0
        if behaviour == "error-5xx" or flaky:
            self._json(500, {"error_code": "INTERNAL_ERROR", "message": "model crashed"})
        elif behaviour == "accepts-garbage":
            self._json(200, {"predictions": [0.5] * (rows or 1)})
        elif rows is None:
            self._json(400, {"error_code": "BAD_REQUEST", "message": f"expected dataframe_split with {COLUMNS}"})
        elif behaviour == "truncated":
            body = json.dumps({"predictions": [0.5] * rows}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 50))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif behaviour == "non-json":
            self._send(200, b"<html>OK</html>", "text/html")
        elif behaviour == "wrong-count":
            self._json(200, {"predictions": [0.5] * (rows - 1)})
        else:
            self._json(200, {"predictions": [0.5] * rows})
        self._count(t0)

    def _count(self, t0: float) -> None:
        with self.scoring.lock:
            self.scoring.handled += 1
            self.scoring.handle_s += time.perf_counter() - t0


@contextmanager
def serve(behaviour: str, delay_s: float = 0.0) -> Iterator[ScoringServer]:
    """A server with `behaviour` on a free loopback port, stopped (and hung requests released) on exit."""
    server = ScoringServer(behaviour, delay_s)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Running:
    url: str


@contextmanager
def serve_process(behaviour: str, delay_s: float = 0.0) -> Iterator[Running]:
    """The same server in its own process, so its threads do not compete with the client for this process's GIL
    (for timing-sensitive tests and the benchmark). Killed on exit."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.servers", behaviour, str(delay_s)], cwd=root, env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # the port, once the server listens
        if not line.isdigit():
            raise RuntimeError(f"test server {behaviour!r} did not start (exit code {proc.poll()})")
        yield Running(f"http://127.0.0.1:{line}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection for as long as the block runs: bound (so no other process can
    take it, and no outgoing connection can be given it as its own port) but never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (bound by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload(rows: int) -> dict[str, Any]:
    """A valid request for the `correct` server."""
    return {"dataframe_split": {"columns": COLUMNS, "data": [[float(r), 1.0, 2.0] for r in range(rows)]}}


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    with serve(sys.argv[1] if len(sys.argv) > 1 else "correct", delay) as running:
        print(running.server_address[1], flush=True)
        with suppress(KeyboardInterrupt):
            running.stopping.wait()
