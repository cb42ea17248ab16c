"""Latency the inference capture layer adds per request, against the bare scoring server in the same run.

    python -m benchmarks capture [--seconds 60] [--rps 50]

Two servers started with the one serving command (`python -m runtime.serving`, one worker each) on the same
MLflow model (scikit-learn logistic regression on iris): the bare server, and the same server with capture on
(100 % sampled, records put to a Firehose stream of a moto server in its own process). One client sends the same
one-row request to each at `--rps` requests/s (open loop: a fixed schedule, alternating which server goes first
each tick, one keep-alive connection each) and records the wall time of every request. Added latency = the
captured server's percentile minus the bare server's. Targets: p50 <= 1 ms, p99 <= 5 ms added.

Also, in this process: the capture layer's own cost per request (CaptureMiddleware around an ASGI app that answers
at once, against that app alone), which excludes network and model noise. And the accounting: every captured
request reached the stream (moto S3) or was counted dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import verdict
from runtime.local.processes import ManagedProcess, free_port
from runtime.serving import command
from runtime.serving.settings import CaptureSettings
from tests.capture_aws import aws_env, create_stream, delivered
from tests.models import iris_request, save_iris_model

P50_TARGET_MS = 1.0
P99_TARGET_MS = 5.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return (time.perf_counter() - t0) * 1000.0, response.status, response.getheader("x-inference-id") or ""


def _paced_one(url: str, body: bytes, rps: float, seconds: float, start: float,
               out: list[tuple[float, int, str]]) -> None:
    conn = _connection(url)
    interval = 1.0 / rps
    for tick in range(round(seconds * rps)):
        delay = start + tick * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        out.append(_post(conn, body))
    conn.close()


def paced(urls: dict[str, str], rps: float, seconds: float) -> tuple[dict[str, list[tuple[float, int, str]]], float]:
    """Each server gets `rps` requests/s on its own fixed schedule (open loop, one thread and keep-alive
    connection each, so one server's latency never delays the other's requests). Returns the results and the
    wall seconds the schedule took (longer than `seconds` when the client fell behind)."""
    body = json.dumps(iris_request()).encode()
    for url in urls.values():  # warm-up: first-request costs paid
        conn = _connection(url)
        for _ in range(20):
            _post(conn, body)
        conn.close()
    results: dict[str, list[tuple[float, int, str]]] = {n: [] for n in urls}
    start = time.perf_counter() + 0.05
    threads = [threading.Thread(target=_paced_one, args=(url, body, rps, seconds, start, results[name]))
               for name, url in urls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def layer_cost_us(n: int = 20_000) -> tuple[float, float]:
    """Median microseconds per request of an instant ASGI app, alone and behind CaptureMiddleware (100 %)."""
    from runtime.serving.capture import CaptureMiddleware
    from runtime.serving.recorder import Recorder

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"json")]})
        await send({"type": "http.response.body", "body": b'{"predictions": [0]}'})

    body = json.dumps(iris_request()).encode()
    scope = {"type": "http", "path": "/invocations", "method": "POST",
             "headers": [(b"content-type", b"application/json")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        return None

    class Discard:  # the layer's cost only: what the recorder's thread does happens off the request path
        def put(self, records: Any) -> list[int]:
            return []

    recorder = Recorder(CaptureSettings(stream="bench", buffer_records=n + 1), {"model_name": "bench"},
                        sink=Discard(), publish=lambda sent, dropped: None)
    logging.getLogger("mlcicd.capture").setLevel(logging.ERROR)  # its buffer is discarded unsent on purpose
    wrapped = CaptureMiddleware(app, recorder, 100.0)

    async def measure(target: Any) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            await target(scope, receive, send)
            times.append(time.perf_counter_ns() - t0)
        return statistics.median(times) / 1000.0

    bare = asyncio.run(measure(app))
    captured = asyncio.run(measure(wrapped))
    recorder.close()
    return bare, captured


def off_path_cost_us(n: int = 5_000) -> float:
    """Median microseconds the recorder's thread spends per one-row request: parse, build, serialise."""
    from runtime.serving.records import CaptureSchema, Exchange, build_records
    from tests.models import IRIS_COLUMNS

    schema = CaptureSchema(tuple((c, "double") for c in IRIS_COLUMNS), prediction_type="long")
    exchange = Exchange("id", 0, 1.0, 200, "application/json", json.dumps(iris_request()).encode(),
                        b'{"predictions": [0]}')
    times = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        for record in build_records(exchange, {"model_name": "iris"}, schema):
            json.dumps(record, separators=(",", ":")).encode()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1000.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks capture")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rps", type=float, default=50.0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="capture-bench-"))
    model = save_iris_model(work / "model")
    servers: list[ManagedProcess] = []
    try:
        moto_port = free_port()
        moto = ManagedProcess("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                              moto_port, work / "moto.log").start()
        servers.append(moto)
        moto.wait_ready("/moto-api/", 60)
        stream = f"bench-{uuid.uuid4().hex[:8]}"
        create_stream(moto.url, stream)
        capture = CaptureSettings(stream=stream, region="eu-west-1", metrics_namespace="Bench/Capture")
        urls = {}
        for name, extra in (("bare", {}), ("captured", capture.to_env())):
            port = free_port()
            env = {**command.serving_environment(model_name="iris", model_version="1", image_digest=None,
                                                 variant="baseline", extra=extra),
                   **aws_env(moto.url), "HOME": str(work), "TMPDIR": str(work)}
            server = ManagedProcess(name, command.serve_argv(str(model), port=port, host="127.0.0.1", workers=1,
                                                             python=sys.executable), port, work / f"{name}.log", env)
            servers.append(server.start())
            urls[name] = server.url
        for server in servers[1:]:
            server.wait_ready("/ping", 120)
        results, took = paced(urls, args.rps, args.seconds)
        for server in servers[1:]:
            server.stop()  # SIGTERM: the captured server drains its buffer and logs its counts
        records = {r["inference_id"] for r in delivered(moto.url, stream)}
    finally:
        for server in reversed(servers):
            server.stop()
    bare = [ms for ms, status, _ in results["bare"] if status == 200]
    captured = [ms for ms, status, _ in results["captured"] if status == 200]
    ids = {i for _, status, i in results["captured"] if status == 200}
    log = (work / "captured.log").read_text()
    summary = next((line for line in log.splitlines() if "capture: stopped" in line), "(no summary line)")
    print(f"load: {args.rps:g} requests/s to each server for {args.seconds:g} s (schedule took {took:.1f} s); "
          f"load average {os.getloadavg()[0]:.2f}; {len(bare)} + {len(captured)} answered 200")
    print(f"{'':<10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, values in (("bare", bare), ("captured", captured)):
        print(f"{name:<10} {quantile(values, .5):8.3f} {quantile(values, .9):8.3f} {quantile(values, .99):8.3f} "
              f"{statistics.fmean(values):8.3f}")
    added50 = quantile(captured, .5) - quantile(bare, .5)
    added99 = quantile(captured, .99) - quantile(bare, .99)
    print(f"added p50 {added50:+.3f} ms (target <= {P50_TARGET_MS} ms: {verdict(added50, P50_TARGET_MS)}); "
          f"added p99 {added99:+.3f} ms (target <= {P99_TARGET_MS} ms: {verdict(added99, P99_TARGET_MS)})")
    alone, layered = layer_cost_us()
    print(f"capture layer alone (instant ASGI app, median of 20,000): {alone:.1f} us bare, {layered:.1f} us "
          f"captured: {layered - alone:+.1f} us per request on the request path; recorder thread "
          f"{off_path_cost_us():.1f} us per one-row request off it")
    print(f"accounting: {len(ids)} answered and sampled, {len(records & ids)} in the stream; server: "
          f"{summary.split('mlcicd.capture: ')[-1]}")
    ok = added50 <= P50_TARGET_MS and added99 <= P99_TARGET_MS and ids <= records
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
