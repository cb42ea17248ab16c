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

This module runs one probe; `probe_judge` probes and judges (window after window until the data decide). The
parts are their own modules (the entry points and request checks the CLI and the EKS component use are
importable from here too):
- `probe_sample`: the request bodies (`Sample`, `read_sample`, `sample_from_payloads`);
- `probe_request`: the `ProbeRequest` and the checks before anything is sent (`check_url`, `validate_probe`);
- `probe_window`: the measured window, the send plan and the wait until CloudWatch shows the data;
- `probe_replay`: sending (`replay`, `replay_split`) and what each request got (`Served`);
- `probe_publish`: per-variant datums into CloudWatch (`variant_metric_data`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runtime.canary.probe_publish import publish_sides, published_bins
from runtime.canary.probe_replay import Served, replay
from runtime.canary.probe_request import SIDES, ProbeRequest, check_url, validate_probe
from runtime.canary.probe_sample import read_sample, sample_from_payloads
from runtime.canary.probe_window import plan_shots, probe_window
from runtime.report import Report, inconclusive, passed

if TYPE_CHECKING:
    from runtime.canary.run import ClientFactory

#: Imported from here by `runtime.cli` and `components` (the probe's entry points and request checks).
__all__ = ["KIND", "ProbeRequest", "ProbeResult", "check_url", "probe_canary", "read_sample", "sample_from_payloads",
           "validate_probe"]

KIND = "canary-probe"


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
    stamps: dict[str, tuple[datetime, ...]] = field(default_factory=dict)
    """Per side, the time of every request published, warm-up and late answers included (CloudWatch files each
    under its period); empty when nothing was published."""

    def published_between(self, start: datetime, end: datetime) -> dict[str, int]:
        """Requests per side published inside [start, end)."""
        return {side: sum(1 for t in self.stamps.get(side, ()) if start <= t < end) for side in SIDES}


def _side_summary(served: Sequence[Served]) -> dict[str, Any]:
    answered = sum(1 for s in served if s.problem is None)
    return {"sent": len(served), "answered": answered,
            "success_rate": answered / len(served) if served else 0.0,
            "errors": dict(Counter(s.problem for s in served if s.problem is not None).most_common(5)),
            "statuses": {str(k): v for k, v in sorted(Counter(s.http_status for s in served
                                                               if s.http_status is not None).items())}}


def probe_canary(request: ProbeRequest, clients: ClientFactory, *, clock: Callable[[], float] = time.time,
                 window: tuple[datetime, datetime] | None = None) -> ProbeResult:
    """Send the probe traffic over [start, end) (whole periods, after up to one period of warm-up) and publish
    what both sides served. The window is `duration_seconds` from the next period boundary, or `window` (whole
    periods, from a bake's `next_window`). INCONCLUSIVE (nothing published) when the baseline answered too few
    requests or CloudWatch refused the data; bad input raises UsageError before anything is sent."""
    from botocore.exceptions import BotoCoreError, ClientError

    request = validate_probe(request)
    cfg = request.config
    now = clock()
    start, end = window or probe_window(now, request.duration_seconds, request.period_seconds)
    shots = plan_shots(request, end.timestamp() - now)
    t0 = time.perf_counter()
    served = replay(shots, SIDES, timeout_seconds=cfg.request_timeout_seconds, max_in_flight=cfg.max_in_flight,
                    overflow="drop")
    took = time.perf_counter() - t0
    summary = {side: _side_summary(served[side]) for side in SIDES}
    report = _probe_report(request, start, end, took, summary)
    if not _sides_answered(report, request, summary):
        return ProbeResult(report, start, end, dict.fromkeys(SIDES, 0))
    quality = request.quality_metric if request.sample.labelled else None
    try:
        datums, published = publish_sides(clients("cloudwatch"), request, served, start=start, end=end,
                                          quality_metric=quality)
    except (ClientError, BotoCoreError) as exc:
        report.add(inconclusive("publish", f"CloudWatch PutMetricData into {request.namespace} failed: {exc}"))
        return ProbeResult(report, start, end, dict.fromkeys(SIDES, 0))
    bins = published_bins(served)
    report.details["published"] = {"datums": datums, "in_window": published, "bins": bins,
                                   "quality_metric": quality}
    report.add(passed("publish", datums, None, f"{datums} datums into {request.namespace} (ModelName "
                      f"{request.model_name}, Variant {request.baseline_variant}/{request.canary_variant}); "
                      f"in the window {start:%H:%M:%S}-{end:%H:%M:%S}: {published['baseline']} baseline and "
                      f"{published['canary']} canary requests" + ("" if quality else "; no labels, so no quality "
                                                                     "metric")))
    stamps = {side: tuple(s.observation.timestamp for s in served[side]) for side in SIDES}
    return ProbeResult(report, start, end, published, tuple(bins), stamps)


def _probe_report(request: ProbeRequest, start: datetime, end: datetime, took: float,
                  summary: dict[str, dict[str, Any]]) -> Report:
    report = Report(kind=KIND, subject=dict(request.subject))
    report.details = {
        "window": {"start": start.isoformat(), "end": end.isoformat(), "period_seconds": request.period_seconds},
        "rps": request.config.rps, "seconds": round(took, 3),
        "sample": {"source": request.sample.source, "rows": len(request.sample.rows),
                   "labelled": request.sample.labelled},
        "targets": {side: {"url": request.url(side), "variant": request.variant(side)} for side in SIDES},
        "namespace": request.namespace, "sides": summary}
    return report


def _sides_answered(report: Report, request: ProbeRequest, summary: dict[str, dict[str, Any]]) -> bool:
    """Check what both sides answered; False (nothing may be published) when the baseline answered too few."""
    minimum = request.config.min_baseline_success_rate
    base = summary["baseline"]
    if base["success_rate"] < minimum:
        report.add(inconclusive("baseline", f"the baseline at {request.baseline_url} answered {base['answered']} "
                                f"of {base['sent']} requests with predictions ({base['success_rate']:.1%}, needs "
                                f"{minimum:.0%}; errors: {base['errors']}): the stable version "
                                "or the probe's payloads are broken, so nothing was published"))
        return False
    report.add(passed("baseline", round(base["success_rate"], 4), f">= {minimum:g}",
                      f"{base['answered']} of {base['sent']} requests answered with predictions"))
    canary = summary["canary"]
    report.add(passed("canary", round(canary["success_rate"], 4), None,
                      f"{canary['answered']} of {canary['sent']} requests answered with predictions (errors: "
                      f"{canary['errors'] or 'none'}); `mlcicd canary judge` decides whether that is worse"))
    return True
