"""Sending the canary probe's traffic: every planned `Shot` at its time (open model: a slow answer does not delay
later sends), what each side answered recorded as a `Served`.

Only valid requests are sent, so every answer without usable predictions counts as an error: a 5xx keeps its
status, a 4xx, a non-JSON body or a wrong number of predictions is recorded as 502 and no answer at all (refused,
reset, timeout, or not sent because `maxInFlight` requests of that side are still open) as 599.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from runtime.canary.probe_sample import ScoringRow, sample_from_frame
from runtime.canary.publish import Observation

if TYPE_CHECKING:
    import httpx
    import pandas as pd

#: Status recorded for an answer without usable predictions (4xx, not JSON, wrong number of predictions).
UNUSABLE = 502
#: Status recorded when no answer came (refused, reset, timeout) or the request was not sent (side saturated).
NO_ANSWER = 599
#: Seed of local mode's traffic split (reproducible runs).
SPLIT_SEED = 20261122


@dataclass(frozen=True)
class Served:
    observation: Observation
    correct: bool | None
    """Whether the prediction matched the row's label (None when unlabelled or the request failed)."""
    http_status: int | None = None
    """The status the server sent (None: no answer)."""
    problem: str | None = None
    """Why the request counts as an error (for the report); None when it was answered with predictions."""


@dataclass(frozen=True)
class Shot:
    at: float
    """Seconds after the start of the replay."""
    side: str
    url: str
    row: ScoringRow


def _prediction(value: Any) -> float | int | str:
    """A prediction as the publisher bins it: numbers and labels as they are, anything structured as its JSON."""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


def _same(prediction: Any, label: Any) -> bool:
    return bool(prediction == label) or str(prediction) == str(label)


async def _send(client: httpx.AsyncClient, url: str, row: ScoringRow) -> Served:
    import httpx

    t0 = time.perf_counter()
    try:
        response = await client.post(url + "/invocations", json=row.body)
    except httpx.TimeoutException:
        return Served(Observation(datetime.now(UTC), time.perf_counter() - t0, NO_ANSWER), None, None, "timeout")
    except httpx.HTTPError as exc:
        return Served(Observation(datetime.now(UTC), time.perf_counter() - t0, NO_ANSWER), None, None,
                      type(exc).__name__)
    latency = time.perf_counter() - t0
    status = response.status_code

    def unusable(problem: str) -> Served:
        code = status if status >= 500 else UNUSABLE
        return Served(Observation(datetime.now(UTC), latency, code), None, status, problem)

    if status >= 300:
        return unusable(f"HTTP {status}")
    try:
        answer = response.json()
    except ValueError:
        return unusable("body not JSON")
    predictions = answer.get("predictions") if isinstance(answer, dict) else None
    if not isinstance(predictions, list) or not predictions:
        return unusable("no predictions")
    if row.rows is not None and len(predictions) != row.rows:
        return unusable(f"{len(predictions)} predictions for {row.rows} rows")
    values = tuple(_prediction(p) for p in predictions)
    correct = _same(predictions[0], row.label) if row.label is not None else None
    return Served(Observation(datetime.now(UTC), latency, status, values), correct, status)


async def _replay(shots: Sequence[Shot], sides: Sequence[str], *, timeout_seconds: float, max_in_flight: int,
                  overflow: Literal["wait", "drop"]) -> dict[str, list[Served]]:
    import httpx

    served: dict[str, list[Served]] = {side: [] for side in sides}
    busy = dict.fromkeys(sides, 0)
    gates = {side: asyncio.Semaphore(max_in_flight) for side in sides}
    limits = httpx.Limits(max_connections=max_in_flight * len(sides),
                          max_keepalive_connections=max_in_flight * len(sides))
    # No proxies from the environment and no redirects: requests go to the given host and nowhere else.
    async with httpx.AsyncClient(timeout=timeout_seconds, limits=limits, trust_env=False,
                                 follow_redirects=False) as client:

        async def one(shot: Shot) -> None:
            if overflow == "drop" and busy[shot.side] >= max_in_flight:
                served[shot.side].append(Served(Observation(datetime.now(UTC), math.nan, NO_ANSWER), None, None,
                                                f"not sent: {max_in_flight} requests unanswered"))
                return
            busy[shot.side] += 1
            try:
                async with gates[shot.side]:
                    result = await _send(client, shot.url, shot.row)
            finally:
                busy[shot.side] -= 1
            served[shot.side].append(result)

        start = time.perf_counter()
        tasks = []
        for shot in shots:
            delay = start + shot.at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(shot)))
        await asyncio.gather(*tasks)
    return served


def replay(shots: Sequence[Shot], sides: Sequence[str], *, timeout_seconds: float, max_in_flight: int,
           overflow: Literal["wait", "drop"]) -> dict[str, list[Served]]:
    """Send every shot at its time (open model: a slow answer does not delay later sends). `overflow`: with
    `max_in_flight` requests of a side open, `wait` queues the next one, `drop` records it as an unsent error."""
    return asyncio.run(_replay(shots, sides, timeout_seconds=timeout_seconds, max_in_flight=max_in_flight,
                               overflow=overflow))


def replay_split(champion: str, candidate: str, rows: pd.DataFrame, *, features: Sequence[str], target: str,
                 canary_percent: float, total: int, seconds: float, max_in_flight: int = 8
                 ) -> dict[str, list[Served]]:
    """Local mode: send `total` single-row requests evenly over `seconds`; `canary_percent` of them go to the
    candidate (drawn with a fixed seed), the rest to the champion."""
    sample = sample_from_frame(rows, features, target, "local evaluation rows")
    rng = random.Random(SPLIT_SEED)  # noqa: S311 - traffic split, not cryptography
    interval = seconds / total
    shots = []
    for i in range(total):
        side = "candidate" if rng.random() * 100 < canary_percent else "champion"
        shots.append(Shot(i * interval, side, candidate if side == "candidate" else champion,
                          sample.rows[i % len(sample.rows)]))
    return replay(shots, ("champion", "candidate"), timeout_seconds=10.0, max_in_flight=max_in_flight,
                  overflow="wait")
