"""Client-side overhead of `mlcicd smoke` per request, against a local server that answers at once.

    python -m benchmarks smoke [--requests 1000]

The server (tests/servers.py `correct`, in its own process) reports the time spent inside its handler; the
overhead per request is the client-side wall time per request minus that. Peer, measured in the same run: the
standard library's blocking `http.client` on one keep-alive connection, sending the same requests (the floor of
any Python HTTP client on this machine). Also: throughput at concurrency 4 and 16, and the whole `mlcicd smoke`
command (start-up, readiness, protocol checks, N requests, report) as a user runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.common import BIN, run_child
from runtime.smoke.client import make_client
from runtime.smoke.latency import closed_loop
from runtime.smoke.payloads import from_config
from tests.servers import payload, serve_process

#: Budget for the client overhead per request (wall, sequential, keep-alive): 5 % of the default p50 threshold
#: (100 ms), so the client never decides a latency verdict.
OVERHEAD_TARGET_MS = 5.0


def _stats(url: str) -> tuple[int, float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request("GET", "/stats")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data["handled"], data["handle_s"]


def _stdlib(url: str, body: bytes, n: int) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    for _ in range(n):
        conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"stdlib peer got HTTP {response.status}")
    conn.close()


def _ours(url: str, n: int, concurrency: int) -> None:
    payloads = from_config([payload(3)]).valid

    async def run() -> None:
        async with make_client(concurrency, 10.0) as client:
            stats = await closed_loop(client, url, payloads, total=n, concurrency=concurrency, timeout_s=10.0,
                                      max_error_rate=0.0)
        if stats.errors:
            raise RuntimeError(f"smoke client saw errors: {stats.error_summary()}")

    asyncio.run(run())


@dataclass(frozen=True)
class PerRequest:
    label: str
    wall_ms: float
    cpu_ms: float
    """This process's CPU (user + system) per request: the client's own cost, whatever else runs."""
    server_ms: float
    """Time inside the server's handler per request."""

    @property
    def overhead_ms(self) -> float:
        return self.wall_ms - self.server_ms

    def row(self) -> str:
        return (f"{self.label:<44} {self.wall_ms:8.3f} ms {self.server_ms:8.3f} ms {self.overhead_ms:9.3f} ms "
                f"{self.cpu_ms:8.3f} ms")


def _measured(label: str, url: str, fn: Callable[[], None], n: int) -> PerRequest:
    before, cpu0, t0 = _stats(url), os.times(), time.perf_counter()
    fn()
    wall, cpu1, after = time.perf_counter() - t0, os.times(), _stats(url)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    handled = after[0] - before[0]  # /stats requests are not counted
    return PerRequest(label, wall / n * 1000, cpu / n * 1000, (after[1] - before[1]) / max(handled, 1) * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks smoke")
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    n = args.requests
    body = json.dumps(payload(3)).encode()
    with serve_process("correct") as server:
        url = server.url
        _stdlib(url, body, 50)  # warm-up: connections, code paths
        _ours(url, 50, 1)
        peer = _measured("stdlib http.client, sequential (peer)", url, lambda: _stdlib(url, body, n), n)
        ours = _measured("smoke client (httpx async), concurrency 1", url, lambda: _ours(url, n, 1), n)
        concurrent = [_measured(f"smoke client, concurrency {c}", url, lambda c=c: _ours(url, n, c), n)
                      for c in (4, 16)]
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "rows.csv"
            csv.write_text("x1,x2,x3\n1,2,3\n4,5,6\n", encoding="utf-8")
            command = [str(BIN / "mlcicd"), "smoke", "--endpoint", url, "--sample-data", str(csv),
                       "--requests", str(n), "--concurrency", "4", "--report", str(Path(tmp) / "smoke.json")]
            command_s, command_rss = run_child(command)
    print(f"{'client':<44} {'wall/req':>11} {'server/req':>11} {'overhead/req':>12} {'client CPU/req':>14}")
    for item in (peer, ours):
        print(item.row())
    print()
    for item in concurrent:
        print(f"{item.label:<30} {1000 / item.wall_ms:8.0f} requests/s, client CPU {item.cpu_ms:.3f} ms/request")
    print(f"mlcicd smoke --requests {n} --concurrency 4 (whole command): {command_s:.2f} s, peak RSS "
          f"{command_rss:.0f} MB")
    print()
    print(f"per-request client overhead: {ours.overhead_ms:.3f} ms wall ({ours.cpu_ms:.3f} ms CPU), target "
          f"{OVERHEAD_TARGET_MS} ms ({'ok' if ours.overhead_ms <= OVERHEAD_TARGET_MS else 'OVER TARGET'}); "
          f"{ours.overhead_ms / peer.overhead_ms:.1f}x the stdlib floor ({peer.overhead_ms:.3f} ms wall, "
          f"{peer.cpu_ms:.3f} ms CPU)")
    return 0 if ours.overhead_ms <= OVERHEAD_TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
