"""When the canary probe sends and when its data can be judged: the measured window of whole periods, the send
times of every request (`plan_shots`), and the bounded wait until CloudWatch returns every request the probe
published (a new metric can take a while to show)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from runtime.canary.probe_replay import Shot
from runtime.canary.probe_request import SIDES, ProbeRequest

if TYPE_CHECKING:
    from runtime.canary.judge import CanaryData

#: How often `judge_with_probe` asks CloudWatch again while published requests are not yet visible.
VISIBILITY_POLL_SECONDS = 5.0


def probe_window(now: float, duration_seconds: int, period_seconds: int) -> tuple[datetime, datetime]:
    """[start, end): from the first period boundary at or after `now`, `duration_seconds` long."""
    start = math.ceil(now / period_seconds) * period_seconds
    return (datetime.fromtimestamp(start, tz=UTC), datetime.fromtimestamp(start + duration_seconds, tz=UTC))


def plan_shots(request: ProbeRequest, span_seconds: float) -> list[Shot]:
    """Every 1/rps seconds the next row of the sample to both sides (which side goes first alternates)."""
    rps = request.config.rps
    count = max(1, math.ceil(span_seconds * rps))
    rows = request.sample.rows
    shots: list[Shot] = []
    for k in range(count):
        order = SIDES if k % 2 == 0 else SIDES[::-1]
        shots += [Shot(k / rps, side, request.url(side), rows[k % len(rows)]) for side in order]
    return shots


def wait_until_visible(read: Callable[[], CanaryData], published: Mapping[str, int], timeout_seconds: float, *,
                       sleep: Callable[[float], None],
                       monotonic: Callable[[], float]) -> tuple[CanaryData, dict[str, int]]:
    """Read until the data holds every published request of both sides or `timeout_seconds` have passed; the
    last data read and the requests per side still missing from it (empty when none)."""
    deadline = monotonic() + timeout_seconds
    while True:
        data = read()
        seen = {"baseline": data.baseline.requests or 0.0, "canary": data.canary.requests or 0.0}
        missing = {side: published[side] - int(seen[side]) for side in SIDES if seen[side] < published[side]}
        if not missing or monotonic() >= deadline:
            return data, missing
        sleep(min(VISIBILITY_POLL_SECONDS, max(0.0, deadline - monotonic())))
