"""The capture recorder: a bounded in-memory buffer drained by one background thread into Firehose.

The request path only appends an `Exchange` (raw bytes) to a deque, or counts it as dropped when the buffer is
full: it never waits, never parses, never makes a network call, never raises. The thread parses exchanges into
records (`records.build_records`), puts them in batches (`put_record_batch`: at most 500 records and 4 MiB), retries
the records Firehose rejected, and counts every sampled request whose records did not all arrive. The counts are
published as CloudWatch metrics (`CaptureRequestsSent`, `CaptureRequestsDropped`) every minute and at shutdown.

Every sampled request ends in exactly one of: sent, dropped (buffer full, delivery failed, or not delivered within
the shutdown allowance). A process killed with SIGKILL loses its buffer uncounted; SIGTERM (what ECS and Kubernetes
send) drains it first.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from runtime import metrics
from runtime.serving import command
from runtime.serving.counts import CountPublisher, Publish, cloudwatch_counts
from runtime.serving.records import VARIANTS, Exchange, build_records
from runtime.serving.settings import CaptureSettings

log = logging.getLogger("mlcicd.capture")

#: Firehose PutRecordBatch limits.
BATCH_RECORDS = 500
BATCH_BYTES = 4 * 1024 * 1024
RECORD_BYTES = 1000 * 1024
#: Attempts per record (the first put and the retries of what Firehose rejected).
PUT_ATTEMPTS = 3
#: Label of the pod's variant in the downward-API labels file (EKS; Argo Rollouts sets it per ReplicaSet).
VARIANT_LABEL = "mlcicd.io/variant"


class Sink(Protocol):
    def put(self, records: Sequence[bytes]) -> list[int]:
        """Put the records; return the indices of those not accepted (to retry). Raises on a failed call."""
        ...


class FirehoseSink:
    def __init__(self, stream: str, region: str = "") -> None:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=1, read_timeout=3, retries={"total_max_attempts": 2, "mode": "standard"})
        self.client = boto3.client("firehose", region_name=region or None, config=config)
        self.stream = stream

    def put(self, records: Sequence[bytes]) -> list[int]:
        answer = self.client.put_record_batch(DeliveryStreamName=self.stream,
                                              Records=[{"Data": r} for r in records])
        if not answer.get("FailedPutCount"):
            return []
        return [i for i, result in enumerate(answer["RequestResponses"]) if result.get("ErrorCode")]


@dataclass
class Counters:
    sent: int = 0
    dropped_buffer: int = 0
    dropped_delivery: int = 0
    dropped_shutdown: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_buffer + self.dropped_delivery + self.dropped_shutdown


class Recorder:
    def __init__(self, settings: CaptureSettings, identity: Mapping[str, str], *, sink: Sink | None = None,
                 publish: Publish | None = None) -> None:
        self.settings = settings
        self.identity = dict(identity)
        self.schema = settings.schema(salt=self.identity.get("model_name", ""))
        self.sink = sink if sink is not None else FirehoseSink(settings.stream, settings.region)
        self.counters = Counters()
        self._publish_counts = CountPublisher(
            publish if publish is not None else cloudwatch_counts(
                settings.metrics_namespace, self.identity.get("model_name", ""),
                (metrics.CAPTURE_SENT, metrics.CAPTURE_DROPPED), settings.region),
            "capture", log)
        self._queue: deque[Exchange] = deque()
        self._inflight = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mlcicd-capture", daemon=True)

    def start(self) -> Recorder:
        self._thread.start()
        return self

    # -- request path: O(1), never blocks or raises
    def submit(self, exchange: Exchange) -> None:
        if self._closed or len(self._queue) >= self.settings.buffer_records:
            self.counters.dropped_buffer += 1
            return
        self._queue.append(exchange)
        if len(self._queue) >= BATCH_RECORDS:
            self._wake.set()

    # -- background thread
    def _run(self) -> None:
        next_metrics = time.monotonic() + self.settings.metrics_seconds
        while not self._stop.is_set():
            self._wake.wait(self.settings.flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break  # closing: the final drain below runs under the shutdown allowance
            self._drain(deadline=None)
            if time.monotonic() >= next_metrics:
                self._publish()
                next_metrics = time.monotonic() + self.settings.metrics_seconds
        self._drain(deadline=time.monotonic() + self.settings.shutdown_seconds)

    def _drain(self, deadline: float | None) -> None:
        while self._queue and (deadline is None or time.monotonic() < deadline):
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), BATCH_RECORDS))]
            self._inflight = len(batch)
            try:
                self._deliver(batch, deadline)
            except Exception:  # never let the thread die: whatever was in the batch is counted, not lost
                log.exception("capture: %d sampled requests dropped (unexpected error)", len(batch))
                self.counters.dropped_delivery += len(batch)
            self._inflight = 0

    def _deliver(self, batch: list[Exchange], deadline: float | None) -> None:
        variant = self._variant()
        identity = {**self.identity, "variant": variant}
        owners: list[int] = []
        payloads: list[bytes] = []
        failed: set[int] = set()
        for index, exchange in enumerate(batch):
            for record in build_records(exchange, identity, self.schema):
                data = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
                if len(data) > RECORD_BYTES:
                    failed.add(index)  # Firehose refuses records over 1000 KiB
                    continue
                owners.append(index)
                payloads.append(data)
        pending = list(range(len(payloads)))
        for attempt in range(PUT_ATTEMPTS):
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
            if attempt:
                time.sleep(min(0.1 * 4 ** (attempt - 1), 1.0))
            pending = self._put_chunks(pending, payloads)
        failed.update(owners[i] for i in pending)
        self.counters.dropped_delivery += len(failed)
        self.counters.sent += len(batch) - len(failed)
        if failed:
            log.warning("capture: %d of %d sampled requests not delivered to %s", len(failed), len(batch),
                        self.settings.stream)

    def _put_chunks(self, indices: list[int], payloads: list[bytes]) -> list[int]:
        """Put `indices` in chunks within Firehose's limits; the indices still to retry."""
        retry: list[int] = []
        chunk: list[int] = []
        size = 0
        for i in [*indices, None]:
            if i is not None and len(chunk) < BATCH_RECORDS and size + len(payloads[i]) <= BATCH_BYTES:
                chunk.append(i)
                size += len(payloads[i])
                continue
            if chunk:
                try:
                    rejected = self.sink.put([payloads[j] for j in chunk])
                    retry += [chunk[j] for j in rejected]
                except Exception as exc:  # network, throttling, credentials: retried, then counted
                    log.warning("capture: put_record_batch failed: %s", exc)
                    retry += chunk
            chunk, size = ([i], len(payloads[i])) if i is not None else ([], 0)
        return retry

    def _variant(self) -> str:
        path = os.environ.get(command.ENV_VARIANT_FILE)
        if path:
            try:
                with open(path, encoding="utf-8") as handle:
                    for line in handle:
                        key, _, value = line.strip().partition("=")
                        if key == VARIANT_LABEL and value.strip('"') in VARIANTS:
                            return value.strip('"')
            except OSError:
                pass
        return self.identity.get("variant", "")

    def _publish(self) -> None:
        self._publish_counts(self.counters.sent, self.counters.dropped)

    # -- shutdown
    def close(self) -> Counters:
        """Deliver what is buffered within `shutdown_seconds`, count the rest as dropped, publish the counters."""
        if self._closed:
            return self.counters
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self.settings.shutdown_seconds + 1.0)
        # Still buffered (or in a put that outlived the allowance): counted as dropped. A put that completes after
        # this point makes the count conservative, never short.
        self.counters.dropped_shutdown += len(self._queue) + (self._inflight if self._thread.is_alive() else 0)
        self._queue.clear()
        self._publish()
        c = self.counters
        log.warning("capture: stopped: %d sampled requests sent, %d dropped (buffer full %d, delivery %d, "
                    "shutdown %d)", c.sent, c.dropped, c.dropped_buffer, c.dropped_delivery, c.dropped_shutdown)
        return c

