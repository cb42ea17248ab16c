"""What a canary probe is asked to do (`ProbeRequest`: the two endpoints, the sample, where to publish, for how
long) and the checks that refuse a probe before a single request is sent: http(s) URLs without credentials on
loopback or `serving.canary.probe.allowedHosts`, two different sides, a window of whole periods, and at most
`serving.canary.probe.maxRequests` requests a side."""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from runtime import metrics as m
from runtime.canary.probe_sample import Sample
from runtime.config.checks import CanaryProbeConfig
from runtime.config.defaults import MODEL_METRICS_NAMESPACE, MODEL_QUALITY_METRIC
from runtime.errors import UsageError

SIDES: tuple[str, ...] = ("baseline", "canary")


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


def validate_probe(request: ProbeRequest, url_options: tuple[str, str] = ("--baseline-url", "--canary-url"), *,
                   duration_name: str = "the duration") -> ProbeRequest:
    """Refuse a probe before anything is sent: URLs, variants, window and the request cap. `url_options` name the
    URLs and `duration_name` what sets the duration in messages as the user spells them."""
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
    most = cfg.requests_per_side(duration, period)
    if most > cfg.max_requests:
        raise UsageError(f"--rps {cfg.rps:g} for {duration} s (+ up to {period} s of warm-up) sends up to {most} "
                         f"requests a side, more than serving.canary.probe.maxRequests ({cfg.max_requests}); "
                         f"lower the rate or {duration_name}, or raise the cap")
    return replace(request, baseline_url=baseline, canary_url=canary, duration_seconds=duration)
