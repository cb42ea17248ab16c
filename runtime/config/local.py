"""Config section `local`: the numbers `mlcicd local run` shrinks so the rehearsal fits one machine.

Nothing else differs between the rehearsal and the pipeline: the team's train command, data, evaluation set,
columns and thresholds are used as configured. Each value below replaces exactly the key it names, only in the
rehearsal's copy of the project, and the run prints every replacement at its start. The cloud pipeline and the
Pulumi program ignore this section.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from runtime.config.base import ConfigModel


class LocalRunConfig(ConfigModel):
    """`mlcicd local run` (docs/local-run.md). Flags of the same name override these."""

    smoke_concurrency: int | None = Field(default=4, ge=1, le=256)
    """Requests in flight during the rehearsed smoke test, replacing `smoke.concurrency` of the deployed stack:
    one local scoring process answers them one at a time, so more in flight only measures its queue. Default 4;
    null: as configured."""
    load_test_seconds: float | None = Field(default=8.0, gt=0, le=600)
    """Duration of the rehearsed load test, replacing `smoke.load.durationSeconds` of the deployed stack.
    Default 8; null: as configured."""
    load_test_rps: float | None = Field(default=20.0, gt=0, le=1000)
    """Arrival rate of the rehearsed load test, replacing `smoke.load.rps` of the deployed stack (one local
    scoring process serves it). Default 20; null: as configured."""
    canary_seconds: float = Field(default=12.0, gt=0, le=600)
    """How long canary traffic is sent to champion and candidate (the ECS canary's bake time, which
    `serving.canary.bakeMinutes` sets in the cloud). Default 12."""
    canary_requests: int = Field(default=700, ge=50, le=100_000)
    """Requests sent in that time, split by `serving.canary.percent`. Default 700."""
    canary_period_seconds: Literal[1, 5, 10] = 1
    """Data-point length the canary judge uses in the rehearsal, replacing `serving.canary.judge.periodSeconds`
    (and a one-minute `windowMinutes`), so a short canary still gives the judge enough points. Default 1."""
    canary_latency_tolerance: float | None = Field(default=0.25, gt=0, le=10)
    """At least this `serving.canary.judge.latencyTolerance` in the rehearsal (a smaller configured value is
    replaced). Both scoring servers share one machine's CPUs; the rehearsal's canary sends every request with an
    unjudged twin to the other server so both see the same load, which leaves a small measured difference between
    two servers of one model (docs/local-run.md, `python -m benchmarks local-split --fill`): a cloud task has its
    own CPUs. Default 0.25; null: as configured."""
    min_rows: int | None = Field(default=None, ge=1)
    """Replaces `data.quality.minRows` of the promotion target, for a repository whose committed data is a
    sample of what the pipeline validates. Default: as configured."""
    reference_data: str | None = None
    """Data (Parquet or CSV, relative to the project) profiled into the stand-in of the production reference
    profile (`monitoring.drift.referenceProfileKey`) that the data contract compares against. Default: the
    training data as committed (`pipeline.trainingDataPath`), so only injected drift shows."""
