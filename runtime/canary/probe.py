"""Probe traffic for the canary judge: requests from a sample sent at a fixed rate to a baseline and a canary
endpoint, what each side answered recorded as `Observation`s and published with `runtime.canary.publish` (plus the
per-period quality when the sample is labelled) into the model namespace with Variant dimensions.

Why it exists: the judge compares per-variant metrics, and where nothing publishes them the judge could only ever
be INCONCLUSIVE. On EKS nothing does: MLflow's scoring server publishes no metrics, there is no load balancer per
variant, and Argo Rollouts points the stable Service at the stable pods only, so user traffic never reaches the
canary through it. The probe makes the traffic it then measures.

One sender, two plans:
- `replay_split` (local mode): N requests over T seconds, each to ONE side, `canary_percent` of them to the
  canary, the way a load balancer splits user traffic;
- `probe_canary` (`mlcicd canary probe`, `mlcicd canary judge --probe-*`, the EKS analysis step): at `rps`, every
  row goes to BOTH sides at the same moment (paired: equal sample sizes and identical inputs, so the prediction
  histograms differ only where the models do), over whole periods of the judge's window.

Only valid requests are sent, so every answer without usable predictions counts as an error: a 5xx keeps its
status, a 4xx, a non-JSON body or a wrong number of predictions is recorded as 502 and no answer at all (refused,
reset, timeout, or not sent because `maxInFlight` requests of that side are still open) as 599.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from runtime import metrics as m
from runtime.canary.publish import Observation, observations_metric_data, put_metric_data, score_bin
from runtime.config.checks import CanaryProbeConfig
from runtime.config.defaults import MODEL_METRICS_NAMESPACE, MODEL_QUALITY_METRIC
from runtime.errors import UsageError
from runtime.progress import Advance, progress
from runtime.report import Report, Verdict, inconclusive, passed

if TYPE_CHECKING:
    import httpx
    import pandas as pd

    from runtime.canary.run import ClientFactory, JudgeRequest

KIND = "canary-probe"
SIDES: tuple[str, ...] = ("baseline", "canary")
#: Status recorded for an answer without usable predictions (4xx, not JSON, wrong number of predictions).
UNUSABLE = 502
#: Status recorded when no answer came (refused, reset, timeout) or the request was not sent (side saturated).
NO_ANSWER = 599
#: Rows read from a sample file at most (the first rows without missing values are used).
MAX_SAMPLE_ROWS = 10_000
#: Seed of local mode's traffic split (reproducible runs).
SPLIT_SEED = 20261122
#: How often `judge_with_probe` asks CloudWatch again while published requests are not yet visible.
VISIBILITY_POLL_SECONDS = 5.0


# Sample -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoringRow:
    """One `/invocations` request of the sample."""

    body: dict[str, Any]
    label: Any = None
    """Expected prediction (class label) of a single-row request; None when the sample has no labels."""
    rows: int | None = 1
    """Predictions the answer must hold; None when the request format does not say."""


@dataclass(frozen=True)
class Sample:
    rows: tuple[ScoringRow, ...]
    source: str

    @property
    def labelled(self) -> bool:
        return any(r.label is not None for r in self.rows)


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: timestamps as ISO 8601, everything else as pandas' `tolist()` gives it."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def sample_from_frame(frame: pd.DataFrame, features: Sequence[str], target: str | None, source: str) -> Sample:
    """One single-row `dataframe_split` request per row of `frame` (its `features`, in order), labelled with the
    row's `target` when given."""
    columns = list(features)
    values = zip(*(frame[c].tolist() for c in columns), strict=True)
    labels = frame[target].tolist() if target is not None else [None] * len(frame)
    rows = tuple(ScoringRow({"dataframe_split": {"columns": columns, "data": [[_plain(v) for v in row]]}},
                            _plain(label))
                 for row, label in zip(values, labels, strict=True))
    return Sample(rows, source)


def read_sample(path: Path, target_column: str | None = None) -> Sample:
    """The first rows without missing values of a Parquet or CSV file; `target_column` holds the labels and is
    not sent."""
    import pandas as pd

    if not path.is_file():
        raise UsageError(f"--sample-data {path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".txt"):
        raise UsageError(f"--sample-data {path}: unsupported file type {suffix!r}; give a .parquet or .csv file")
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(path).iter_batches(batch_size=MAX_SAMPLE_ROWS), None)
            frame = batch.to_pandas() if batch is not None else pd.DataFrame()
        else:
            frame = pd.read_csv(path, nrows=MAX_SAMPLE_ROWS)
    except Exception as exc:  # pyarrow and pandas raise many types for a bad file; all mean "not readable"
        raise UsageError(f"--sample-data {path}: cannot read it ({type(exc).__name__}: {exc})") from exc
    if target_column is not None and target_column not in frame.columns:
        raise UsageError(f"--target-column {target_column!r}: not a column of {path} (columns: "
                         f"{', '.join(map(str, frame.columns))})")
    features = [str(c) for c in frame.columns if c != target_column]
    if not features:
        raise UsageError(f"--sample-data {path}: no feature columns besides the target")
    complete = frame.dropna()
    if complete.empty:
        raise UsageError(f"--sample-data {path}: no row without missing values among the first "
                         f"{MAX_SAMPLE_ROWS}; give a file with complete rows")
    return sample_from_frame(complete, features, target_column, f"sample-data:{path}")


def sample_from_payloads(payloads: Sequence[Mapping[str, Any]],
                         source: str = "config (smoke.samplePayloads)") -> Sample:
    """Request bodies as written (`smoke.samplePayloads`), a multi-row `dataframe_split` split into single rows
    (more distinct requests, one prediction each). No labels."""
    from runtime.smoke.payloads import count_rows, finite_json

    rows: list[ScoringRow] = []
    for i, body in enumerate(payloads):
        if not finite_json(dict(body)):
            raise UsageError(f"{source}[{i}] holds NaN or infinity, which JSON cannot carry; use null")
        split = body.get("dataframe_split")
        data = split.get("data") if isinstance(split, dict) else None
        if isinstance(split, dict) and isinstance(data, list) and len(data) > 1:
            kept = {k: v for k, v in split.items() if k not in ("data", "index")}
            rows += [ScoringRow({**body, "dataframe_split": {**kept, "data": [values]}}) for values in data]
        else:
            rows.append(ScoringRow(dict(body), None, count_rows(dict(body))))
    if not rows:
        raise UsageError(f"{source}: no request bodies")
    return Sample(tuple(rows), source)


# Sending ----------------------------------------------------------------------------------------------------------
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
                  overflow: Literal["wait", "drop"], advance: Advance) -> dict[str, list[Served]]:
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
            advance()

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
    with progress("probe", len(shots), unit="requests") as advance:
        return asyncio.run(_replay(shots, sides, timeout_seconds=timeout_seconds, max_in_flight=max_in_flight,
                                   overflow=overflow, advance=advance))


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


# Publishing -------------------------------------------------------------------------------------------------------
def quality_metric_data(served: Sequence[Served], metric_name: str, *, model_name: str, variant: str,
                        period_seconds: int) -> list[dict[str, Any]]:
    """Accuracy of the served predictions against the sample's labels, per period: the model-quality metric."""
    by_period: dict[int, list[bool]] = {}
    for one in served:
        if one.correct is not None:
            stamp = int(one.observation.timestamp.timestamp())
            by_period.setdefault(stamp - stamp % period_seconds, []).append(one.correct)
    dims = [{"Name": m.DIMENSION_MODEL, "Value": model_name}, {"Name": m.DIMENSION_VARIANT, "Value": variant}]
    resolution = {"StorageResolution": 1} if period_seconds < 60 else {}
    return [{"MetricName": metric_name, "Dimensions": dims, "Timestamp": datetime.fromtimestamp(start, tz=UTC),
             "Unit": "None", "Value": sum(hits) / len(hits), **resolution}
            for start, hits in sorted(by_period.items())]


def variant_metric_data(served: Sequence[Served], *, model_name: str, variant: str, period_seconds: int,
                        quality_metric: str | None) -> list[dict[str, Any]]:
    """Everything one side served, as the datums the judge reads (quality only with `quality_metric`)."""
    data = observations_metric_data([s.observation for s in served], model_name=model_name, variant=variant,
                                    period_seconds=period_seconds)
    if quality_metric is not None:
        data += quality_metric_data(served, quality_metric, model_name=model_name, variant=variant,
                                    period_seconds=period_seconds)
    return data


# The probe --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeRequest:
    baseline_url: str
    canary_url: str
    sample: Sample
    model_name: str
    namespace: str = MODEL_METRICS_NAMESPACE
    quality_metric: str = MODEL_QUALITY_METRIC
    baseline_variant: str = m.VARIANT_BASELINE
    canary_variant: str = m.VARIANT_CANARY
    duration_seconds: int = 600
    """Length of the measured window; rounded up to whole periods."""
    period_seconds: int = 60
    config: CanaryProbeConfig = field(default_factory=CanaryProbeConfig)
    subject: dict[str, Any] = field(default_factory=dict)

    def url(self, side: str) -> str:
        return self.baseline_url if side == "baseline" else self.canary_url

    def variant(self, side: str) -> str:
        return self.baseline_variant if side == "baseline" else self.canary_variant


@dataclass(frozen=True)
class ProbeResult:
    report: Report
    start: datetime
    """Start of the measured window (a period boundary; requests before it warmed up)."""
    end: datetime
    published: dict[str, int]
    """Requests per side published inside [start, end) (0 when nothing was published)."""
    bins: tuple[str, ...] = ()
    """Prediction histogram bins published (either side)."""


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(option: str, url: str, allowed_hosts: Sequence[str]) -> str:
    """The URL without a trailing slash, or a usage error: http(s) only, no credentials, and a loopback host or
    one matching `serving.canary.probe.allowedHosts`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} {url!r}: not an http(s) URL; use e.g. "
                         "http://<service>.<namespace>.svc.cluster.local or http://127.0.0.1:<port>")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(f"{option} {url!r}: no credentials, query or fragment; give the scoring server's base URL")
    host = parts.hostname
    if not _is_loopback(host) and not any(fnmatch.fnmatchcase(host.lower(), p.lower()) for p in allowed_hosts):
        raise UsageError(f"{option} {url!r}: host {host} is neither loopback nor matched by "
                         f"serving.canary.probe.allowedHosts ({', '.join(allowed_hosts) or 'empty'}); the probe "
                         "only sends traffic to this machine or inside the cluster. Add a pattern for the host to "
                         "the stack config if it is yours")
    return url.rstrip("/")


def validate_probe(request: ProbeRequest,
                   url_options: tuple[str, str] = ("--baseline-url", "--canary-url")) -> ProbeRequest:
    """Refuse a probe before anything is sent: URLs, variants, window and the request cap. `url_options` name the
    URLs in messages as the command line spells them."""
    cfg = request.config
    baseline_option, canary_option = url_options
    baseline = check_url(baseline_option, request.baseline_url, cfg.allowed_hosts)
    canary = check_url(canary_option, request.canary_url, cfg.allowed_hosts)
    if baseline == canary:
        raise UsageError(f"{baseline_option} and {canary_option} are the same ({baseline}): a probe compares two "
                         "different deployments (stable and canary Services)")
    if request.baseline_variant == request.canary_variant:
        raise UsageError(f"--baseline-variant and --canary-variant are both {request.baseline_variant!r}; the judge "
                         "tells the sides apart by them")
    if not request.sample.rows:
        raise UsageError(f"{request.sample.source}: no requests to send")
    period = request.period_seconds
    if period < 1 or request.duration_seconds < period:
        raise UsageError(f"--duration {request.duration_seconds}: must be at least one period ({period} s)")
    duration = -(-request.duration_seconds // period) * period
    most = math.ceil(cfg.rps * (duration + period))
    if most > cfg.max_requests:
        raise UsageError(f"--rps {cfg.rps:g} for {duration} s (+ up to {period} s of warm-up) sends up to {most} "
                         f"requests a side, more than serving.canary.probe.maxRequests ({cfg.max_requests}); "
                         "lower the rate or the duration, or raise the cap")
    return replace(request, baseline_url=baseline, canary_url=canary, duration_seconds=duration)


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


def _side_summary(served: Sequence[Served]) -> dict[str, Any]:
    answered = sum(1 for s in served if s.problem is None)
    return {"sent": len(served), "answered": answered,
            "success_rate": answered / len(served) if served else 0.0,
            "errors": dict(Counter(s.problem for s in served if s.problem is not None).most_common(5)),
            "statuses": {str(k): v for k, v in sorted(Counter(s.http_status for s in served
                                                               if s.http_status is not None).items())}}


def probe_canary(request: ProbeRequest, clients: ClientFactory, *,
                 clock: Callable[[], float] = time.time) -> ProbeResult:
    """Send the probe traffic over [start, end) (whole periods, after up to one period of warm-up) and publish
    what both sides served. INCONCLUSIVE (nothing published) when the baseline answered too few requests or
    CloudWatch refused the data; bad input raises UsageError before anything is sent."""
    from botocore.exceptions import BotoCoreError, ClientError

    request = validate_probe(request)
    cfg = request.config
    now = clock()
    start, end = probe_window(now, request.duration_seconds, request.period_seconds)
    shots = plan_shots(request, end.timestamp() - now)
    t0 = time.perf_counter()
    served = replay(shots, SIDES, timeout_seconds=cfg.request_timeout_seconds, max_in_flight=cfg.max_in_flight,
                    overflow="drop")
    took = time.perf_counter() - t0
    summary = {side: _side_summary(served[side]) for side in SIDES}
    report = Report(kind=KIND, subject=dict(request.subject))
    report.details = {
        "window": {"start": start.isoformat(), "end": end.isoformat(), "period_seconds": request.period_seconds},
        "rps": cfg.rps, "seconds": round(took, 3), "sample": {"source": request.sample.source,
                                                                "rows": len(request.sample.rows),
                                                                "labelled": request.sample.labelled},
        "targets": {side: {"url": request.url(side), "variant": request.variant(side)} for side in SIDES},
        "namespace": request.namespace, "sides": summary}
    base = summary["baseline"]
    published = dict.fromkeys(SIDES, 0)
    if base["success_rate"] < cfg.min_baseline_success_rate:
        report.add(inconclusive("baseline", f"the baseline at {request.baseline_url} answered {base['answered']} "
                                f"of {base['sent']} requests with predictions ({base['success_rate']:.1%}, needs "
                                f"{cfg.min_baseline_success_rate:.0%}; errors: {base['errors']}): the stable version "
                                "or the probe's payloads are broken, so nothing was published"))
        return ProbeResult(report, start, end, published)
    report.add(passed("baseline", round(base["success_rate"], 4), f">= {cfg.min_baseline_success_rate:g}",
                      f"{base['answered']} of {base['sent']} requests answered with predictions"))
    canary = summary["canary"]
    report.add(passed("canary", round(canary["success_rate"], 4), None,
                      f"{canary['answered']} of {canary['sent']} requests answered with predictions (errors: "
                      f"{canary['errors'] or 'none'}); `mlcicd canary judge` decides whether that is worse"))
    quality = request.quality_metric if request.sample.labelled else None
    datums = 0
    try:
        cloudwatch = clients("cloudwatch")
        for side in SIDES:
            data = variant_metric_data(served[side], model_name=request.model_name,
                                       variant=request.variant(side), period_seconds=request.period_seconds,
                                       quality_metric=quality)
            put_metric_data(cloudwatch, request.namespace, data)
            datums += len(data)
            published[side] = sum(1 for s in served[side] if start <= s.observation.timestamp < end)
    except (ClientError, BotoCoreError) as exc:
        report.add(inconclusive("publish", f"CloudWatch PutMetricData into {request.namespace} failed: {exc}"))
        return ProbeResult(report, start, end, dict.fromkeys(SIDES, 0))
    bins = sorted({score_bin(p) for side in SIDES for s in served[side] if s.observation.status < 400
                   for p in s.observation.predictions})
    report.details["published"] = {"datums": datums, "in_window": published, "bins": bins,
                                   "quality_metric": quality}
    report.add(passed("publish", datums, None, f"{datums} datums into {request.namespace} (ModelName "
                      f"{request.model_name}, Variant {request.baseline_variant}/{request.canary_variant}); "
                      f"in the window {start:%H:%M:%S}-{end:%H:%M:%S}: {published['baseline']} baseline and "
                      f"{published['canary']} canary requests" + ("" if quality else "; no labels, so no quality "
                                                                     "metric")))
    return ProbeResult(report, start, end, published, tuple(bins))


# Probe, then judge ------------------------------------------------------------------------------------------------
def judge_with_probe(judge: JudgeRequest, probe: ProbeRequest, clients: ClientFactory, *,
                     sleep: Callable[[float], None] = time.sleep,
                     monotonic: Callable[[], float] = time.monotonic) -> Report:
    """Probe, then judge exactly the probed window [start, end) (the CLI probes for `judge.windowMinutes`; the
    periods are the judge's). The histogram bins are the ones just published (ListMetrics can take 15 minutes to
    list a new metric), and the judge waits up to `visibilityTimeoutSeconds` until CloudWatch returns every
    published request. With `judge.act` it acts like `run_canary_judge`."""
    from runtime.canary.judge import KIND as JUDGE_KIND
    from runtime.canary.judge import judge_canary
    from runtime.canary.metrics_source import MetricsUnavailable, read_canary_data
    from runtime.canary.run import carry_out

    cfg = judge.config
    probe = replace(probe, period_seconds=cfg.period_seconds)
    result = probe_canary(probe, clients)
    window = {"start": result.start.isoformat(), "end": result.end.isoformat(), "period_seconds": cfg.period_seconds}
    if result.report.verdict is not Verdict.PASS:
        report = Report(kind=JUDGE_KIND, subject=dict(judge.subject))
        for check in result.report.checks:
            report.add(check)
        report.details = {"label": "INCONCLUSIVE", "window": window, "probe": result.report.details}
    else:
        source = replace(judge.source, bins=result.bins)
        deadline = monotonic() + probe.config.visibility_timeout_seconds
        attempts = 0
        try:
            while True:
                attempts += 1
                data = read_canary_data(clients("cloudwatch"), source, start=result.start, end=result.end,
                                        period=cfg.period_seconds)
                seen = {"baseline": data.baseline.requests or 0.0, "canary": data.canary.requests or 0.0}
                missing = {side: result.published[side] - int(seen[side]) for side in SIDES
                           if seen[side] < result.published[side]}
                if not missing or monotonic() >= deadline:
                    break
                sleep(min(VISIBILITY_POLL_SECONDS, max(0.0, deadline - monotonic())))
        except MetricsUnavailable as exc:
            report = Report(kind=JUDGE_KIND, subject=dict(judge.subject))
            report.add(inconclusive("metrics", str(exc)))
            report.details = {"label": "INCONCLUSIVE", "window": window, "source": source.describe()}
        else:
            report = judge_canary(data, cfg, quality=judge.quality, subject=judge.subject)
            if missing:
                report.add(inconclusive("metrics visible", f"after {attempts} reads over "
                                        f"{probe.config.visibility_timeout_seconds:g} s CloudWatch still lacks "
                                        f"{missing} of the requests the probe published: judged on part of the "
                                        "window"))
        report.add(passed("probe", result.published, None, "; ".join(c.reason for c in result.report.checks)))
        report.details["probe"] = {**result.report.details, "reads": attempts}
    if judge.act is not None:
        carry_out(report, judge.act, clients)
    return report
