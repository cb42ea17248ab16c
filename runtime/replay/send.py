"""Replaying the sampled requests against champion and candidate, and pairing what they answered.

Each request goes to both endpoints at the same moment (two concurrent sends), so both meet the same load and a
slow period hurts both; `concurrency` requests are in flight per endpoint. Each carries its captured inference id
(`X-Inference-Id`), so an endpoint that captures records the replay under the same id. The HTTP client is the smoke
test's (runtime/smoke/client.py): every failure becomes an outcome, never an exception.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.errors import EndpointUnavailable
from runtime.replay.judge import Pairs
from runtime.replay.sample import Request
from runtime.smoke.client import Outcome, check_endpoint, make_client, request

INFERENCE_ID_HEADER = "X-Inference-Id"


@dataclass(frozen=True)
class Answer:
    ok: bool
    latency_ms: float
    predictions: tuple[Any, ...] = ()
    problem: str = ""


def predictions_of(outcome: Outcome, rows: int) -> Answer:
    """An answer is usable when it is HTTP 200 with MLflow's `{"predictions": [...]}`, one per row. Scalars stay
    as they are; anything else (class probabilities, several outputs) compares as its JSON text."""
    latency = outcome.latency_s * 1000
    if not outcome.answered or outcome.status != 200:
        return Answer(False, latency, problem=outcome.describe())
    body = outcome.body if outcome.is_json else None
    found = body.get("predictions") if isinstance(body, dict) else None
    if isinstance(found, dict):  # columnar: {"col": [one per row], ...}
        cols = {k: v for k, v in found.items() if isinstance(v, list)}
        found = [{k: v[i] for k, v in cols.items()} for i in range(min((len(v) for v in cols.values()),
                                                                         default=0))]
    if not isinstance(found, list) or len(found) != rows:
        return Answer(False, latency, problem=f"HTTP 200 without {rows} predictions")
    plain = tuple(p if p is None or isinstance(p, str | int | float | bool) else json.dumps(p, sort_keys=True)
                  for p in found)
    return Answer(True, latency, plain)


async def _ready(url: str, role: str, timeout_s: float) -> None:
    async with make_client(1, timeout_s) as client:
        outcome = await request(client, "GET", f"{url}/ping", timeout_s)
    if not (outcome.answered and outcome.status == 200):
        raise EndpointUnavailable(f"the {role} endpoint {url} does not answer /ping with 200: {outcome.describe()}")


async def _send_all(requests: Sequence[Request], champion: str, candidate: str, concurrency: int,
                    timeout_s: float) -> list[tuple[Answer, Answer]]:
    gate = asyncio.Semaphore(concurrency)
    async with make_client(concurrency, timeout_s) as a, make_client(concurrency, timeout_s) as b:

        async def one(req: Request) -> tuple[Answer, Answer]:
            body, headers = req.body(), {INFERENCE_ID_HEADER: req.inference_id}
            async with gate:
                first, second = await asyncio.gather(
                    request(a, "POST", f"{champion}/invocations", timeout_s, body, headers=headers),
                    request(b, "POST", f"{candidate}/invocations", timeout_s, body, headers=headers))
            return predictions_of(first, len(req.rows)), predictions_of(second, len(req.rows))

        return list(await asyncio.gather(*(one(r) for r in requests)))


def replay(requests: Sequence[Request], champion_url: str, candidate_url: str, *, concurrency: int,
           timeout_s: float) -> list[tuple[Answer, Answer]]:
    """(champion's answer, candidate's answer) per request, in order. EndpointUnavailable (exit 3) when either
    endpoint does not answer `/ping` first: an outage is not evidence about the candidate."""
    champion, candidate = check_endpoint(champion_url), check_endpoint(candidate_url)

    async def run() -> list[tuple[Answer, Answer]]:
        await asyncio.gather(_ready(champion, "champion", timeout_s), _ready(candidate, "candidate", timeout_s))
        return await _send_all(requests, champion, candidate, concurrency, timeout_s)

    return asyncio.run(run())


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def pairs(requests: Sequence[Request], answers: Sequence[tuple[Answer, Answer]], *, segments: bool,
          labels: bool) -> Pairs:
    """The paired evidence: per request both outcomes and latencies; per row of the requests both answered, both
    predictions with the row's segment and label."""
    champ_rows: list[Any] = []
    cand_rows: list[Any] = []
    seg_rows: list[Any] = []
    label_rows: list[Any] = []
    for req, (champ, cand) in zip(requests, answers, strict=True):
        if champ.ok and cand.ok:
            champ_rows += champ.predictions
            cand_rows += cand.predictions
            seg_rows += req.segments
            label_rows += req.labels or [None] * len(req.rows)
    return Pairs(
        champion_ok=np.array([c.ok for c, _ in answers], dtype=bool),
        candidate_ok=np.array([d.ok for _, d in answers], dtype=bool),
        champion_ms=np.array([c.latency_ms for c, _ in answers], dtype=np.float64),
        candidate_ms=np.array([d.latency_ms for _, d in answers], dtype=np.float64),
        champion=_objects(champ_rows), candidate=_objects(cand_rows),
        segments=_objects(seg_rows) if segments else None, labels=_objects(label_rows) if labels else None)
