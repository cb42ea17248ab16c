"""The shadow mirror: a copy of each mirrored request, sent to the shadow variant after the caller has its answer.

The capture layer hands a request here once its last response byte is sent (`submit`: O(1), never blocks, never
raises); a few worker threads send the copies to the shadow's `/invocations` with the same `X-Inference-Id`, so the
shadow's capture layer records its answer under the baseline's id (`variant=shadow`). The caller never waits for
the shadow and never sees its answer. Which requests: those whose inference-id hash falls below `sample_percent`
(the capture's own hash: every mirrored request was also captured on the baseline when the share is at most the
capture's).

Every submitted copy ends in exactly one count: `sent` (the shadow answered, whatever the status: a 5xx is evidence
about the shadow, recorded by its own capture), `failed` (no answer: refused, timed out, reset) or `dropped` (the
buffer was full, or copies were still buffered at shutdown). The counts are published as `ShadowMirrorSent` and
`ShadowMirrorFailed` (failed + dropped) in the model namespace, and logged at shutdown.

Standard library only (the serving image carries this package without the rest of the runtime).
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from runtime import metrics
from runtime.serving.counts import CountPublisher, Publish, cloudwatch_counts
from runtime.serving.records import sampled

log = logging.getLogger("mlcicd.mirror")

ENV_MIRROR = "MLCICD_MIRROR"
#: Seconds a stopping server spends sending what it still holds.
SHUTDOWN_SECONDS = 2.0
#: Seconds between publications of the counters.
METRICS_SECONDS = 60.0


@dataclass(frozen=True)
class MirrorSettings:
    url: str
    """Base URL of the shadow (`http://host:port`), reachable from the serving tasks or pods."""
    sample_percent: float = 100.0
    timeout_seconds: float = 5.0
    buffer_requests: int = 1000
    concurrency: int = 4
    metrics_namespace: str = ""
    shutdown_seconds: float = SHUTDOWN_SECONDS
    metrics_seconds: float = METRICS_SECONDS

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        problems = []
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"url {self.url!r} is not an http(s) URL with a host")
        if not 0 < self.sample_percent <= 100:
            problems.append(f"sample_percent {self.sample_percent} is not within (0, 100]")
        if self.timeout_seconds <= 0 or self.buffer_requests < 1 or self.concurrency < 1:
            problems.append("timeout_seconds > 0, buffer_requests >= 1 and concurrency >= 1 are required")
        if problems:
            raise ValueError(f"{ENV_MIRROR}: " + "; ".join(problems))

    def to_env(self) -> dict[str, str]:
        return {ENV_MIRROR: json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MirrorSettings | None:
        raw = environ.get(ENV_MIRROR)
        if not raw:
            return None
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{ENV_MIRROR} is not valid mirror settings ({exc}); the platform writes it from "
                             "`ml-cicd:serving.shadow`") from None


@dataclass
class MirrorCounters:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class Copy:
    inference_id: str
    content_type: str
    body: bytes


class Mirror:
    def __init__(self, settings: MirrorSettings, *, model_name: str = "",
                 publish: Publish | None = None) -> None:
        self.settings = settings
        self.percent = settings.sample_percent
        self.counters = MirrorCounters()
        self._publish_counts = CountPublisher(
            publish if publish is not None else cloudwatch_counts(
                settings.metrics_namespace, model_name, (metrics.MIRROR_SENT, metrics.MIRROR_FAILED)),
            "mirror", log)
        self._queue: deque[Copy] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._closed = False
        self._stop = threading.Event()
        parts = urlsplit(settings.url)
        self._target = (parts.scheme, parts.hostname or "", parts.port, parts.path.rstrip("/") + "/invocations")
        self._threads = [threading.Thread(target=self._work, name=f"mlcicd-mirror-{i}", daemon=True)
                         for i in range(settings.concurrency)]
        self._metrics = threading.Thread(target=self._publish_loop, name="mlcicd-mirror-metrics", daemon=True)

    def start(self) -> Mirror:
        for thread in [*self._threads, self._metrics]:
            thread.start()
        return self

    def wanted(self, inference_id: str) -> bool:
        return sampled(inference_id, self.percent)

    # -- request path: O(1), never blocks on the network, never raises
    def submit(self, inference_id: str, content_type: str, body: bytes) -> None:
        with self._lock:
            if self._closed or len(self._queue) >= self.settings.buffer_requests:
                self.counters.dropped += 1
                return
            self._queue.append(Copy(inference_id, content_type, body))
            self._ready.notify()

    # -- workers
    def _connection(self) -> http.client.HTTPConnection:
        scheme, host, port, _ = self._target
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        return kind(host, port, timeout=self.settings.timeout_seconds)

    def _work(self) -> None:
        connection = self._connection()
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    break
                copy = self._queue.popleft()
            ok = self._send(connection, copy)
            if not ok:
                connection.close()
                connection = self._connection()
            with self._lock:
                if ok:
                    self.counters.sent += 1
                else:
                    self.counters.failed += 1
        connection.close()

    def _send(self, connection: http.client.HTTPConnection, copy: Copy) -> bool:
        headers = {"Content-Type": copy.content_type or "application/json", "X-Inference-Id": copy.inference_id}
        try:
            connection.request("POST", self._target[3], body=copy.body, headers=headers)
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, reset: counted, never raised
            log.debug("mirror: copy of %s not delivered: %s", copy.inference_id, exc)
            return False

    def _publish_loop(self) -> None:
        while not self._stop.wait(self.settings.metrics_seconds):
            self._publish()

    def _publish(self) -> None:
        with self._lock:
            sent, lost = self.counters.sent, self.counters.failed + self.counters.dropped
        self._publish_counts(sent, lost)

    # -- shutdown
    def close(self) -> MirrorCounters:
        """Send what is buffered within `shutdown_seconds`, count the rest as dropped, publish the counters."""
        if self._closed:
            return self.counters
        deadline = time.monotonic() + self.settings.shutdown_seconds
        self._stop.set()
        with self._lock:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        with self._lock:
            self.counters.dropped += len(self._queue)
            self._queue.clear()
        self._publish()
        c = self.counters
        log.warning("mirror: stopped: %d copies answered by the shadow, %d failed, %d dropped", c.sent, c.failed,
                    c.dropped)
        return c

