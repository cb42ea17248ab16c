"""Canary traffic on one machine: replay labelled rows at a fixed rate, split between the champion (baseline) and
the candidate (canary) by the canary percent, and record what each side served."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd

from runtime.canary.publish import Observation


@dataclass(frozen=True)
class Served:
    observation: Observation
    correct: bool | None
    """Whether the prediction matched the row's label (None when the request failed)."""


def _body(row: pd.Series, features: Sequence[str]) -> dict[str, Any]:
    values = [row[f].item() if hasattr(row[f], "item") else row[f] for f in features]
    return {"dataframe_split": {"columns": list(features), "data": [values]}}


async def _send(client: httpx.AsyncClient, url: str, body: dict[str, Any], label: Any) -> Served:
    t0 = time.perf_counter()
    try:
        response = await client.post(url + "/invocations", json=body)
        latency = time.perf_counter() - t0
        predictions: list[Any] = []
        if response.status_code < 400:
            predictions = list(response.json().get("predictions", []))
        correct = bool(predictions and predictions[0] == label) if predictions else None
        status = response.status_code if response.status_code >= 400 or predictions else 502
        return Served(Observation(datetime.now(UTC), latency, status, tuple(predictions)), correct)
    except (httpx.HTTPError, ValueError):
        return Served(Observation(datetime.now(UTC), time.perf_counter() - t0, 599, ()), None)


async def _replay(champion: str, candidate: str, rows: pd.DataFrame, *, features: Sequence[str], target: str,
                  canary_percent: float, total: int, seconds: float, max_in_flight: int) -> dict[str, list[Served]]:
    rng = random.Random(20261122)  # noqa: S311 - traffic split, not cryptography
    served: dict[str, list[Served]] = {"champion": [], "candidate": []}
    interval = seconds / total
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    in_flight = asyncio.Semaphore(max_in_flight)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:

        async def one(i: int) -> None:
            side = "candidate" if rng.random() * 100 < canary_percent else "champion"
            row = rows.iloc[i % len(rows)]
            async with in_flight:
                result = await _send(client, candidate if side == "candidate" else champion,
                                     _body(row, features), row[target].item())
            served[side].append(result)

        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return served


def replay_split(champion: str, candidate: str, rows: pd.DataFrame, *, features: Sequence[str], target: str,
                 canary_percent: float, total: int, seconds: float, max_in_flight: int = 8
                 ) -> dict[str, list[Served]]:
    """Send `total` single-row requests evenly over `seconds`; `canary_percent` of them go to the candidate."""
    return asyncio.run(_replay(champion, candidate, rows, features=features, target=target,
                               canary_percent=canary_percent, total=total, seconds=seconds,
                               max_in_flight=max_in_flight))
