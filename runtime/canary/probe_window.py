"""When the canary probe sends and when its data can be judged: the measured window of whole periods, the windows
of a bake that probes window after window (`next_window`) and how long such a bake can take at most, the send
times of every request (`plan_shots`), and the bounded wait until CloudWatch returns every request the probe
published (a new metric can take a while to show)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from runtime.canary.probe_replay import Shot
from runtime.canary.probe_request import SIDES, ProbeRequest
from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig

if TYPE_CHECKING:
    from runtime.canary.judge import CanaryData

#: How often `judge_with_probe` asks CloudWatch again while published requests are not yet visible.
VISIBILITY_POLL_SECONDS = 5.0


def probe_window(now: float, duration_seconds: int, period_seconds: int) -> tuple[datetime, datetime]:
    """[start, end): from the first period boundary at or after `now`, `duration_seconds` long."""
    start = math.ceil(now / period_seconds) * period_seconds
    return (datetime.fromtimestamp(start, tz=UTC), datetime.fromtimestamp(start + duration_seconds, tz=UTC))


def whole_periods(seconds: float, period_seconds: int) -> int:
    """`seconds` rounded up to whole periods (a float a hair above a whole period, as 1 / 60 x 60 may be, is that
    period)."""
    return math.ceil(round(seconds / period_seconds, 9)) * period_seconds


def next_window(now: float, start: datetime, window_seconds: int, bake_seconds: int,
                period_seconds: int) -> tuple[datetime, datetime] | None:
    """The next window of a bake that began at `start` (a period boundary) and probes window after window: from
    the first period boundary at or after `now` to the first end of a window (`start` + k x `window_seconds`) at
    least one period later, cut at `start + bake_seconds`, the end of the bake. None when not one whole period is
    left before that end. The ends lie on one grid whatever the time spent between windows, so the looks come at
    planned times and the bake never overruns (both durations are whole periods)."""
    begin = math.ceil(now / period_seconds) * period_seconds
    origin = round(start.timestamp())
    limit = origin + bake_seconds
    if begin + period_seconds > limit:
        return None
    windows = math.ceil((begin + period_seconds - origin) / window_seconds)
    end = min(origin + windows * window_seconds, limit)
    return datetime.fromtimestamp(begin, tz=UTC), datetime.fromtimestamp(end, tz=UTC)


def longest_probed_bake_seconds(judge: CanaryJudgeConfig, probe: CanaryProbeConfig,
                                platform_bake_minutes: int = 0) -> int:
    """The longest run of `mlcicd canary judge --probe-* --until-decided` with this config, from its first request
    to its last look: up to one period of warm-up before the first window, the maximum bake in whole periods (every
    window and every look but the last lies inside it: `next_window`), the last requests' timeout and the wait for
    CloudWatch to show them. What the EKS analysis job's deadline is built on."""
    period = judge.period_seconds
    bake = whole_periods(judge.bake_limit_minutes(platform_bake_minutes) * 60, period)
    return math.ceil(period + bake + probe.request_timeout_seconds + probe.visibility_timeout_seconds)


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
