"""`mlcicd canary judge --probe-*` (the EKS analysis step): probe window after window and, after each window, judge
everything probed since the first window started, until the data decide or the maximum bake is over.

The looks are `judge_until_decided`'s (runtime/canary/run.py), with one difference: where that loop waits a period
for others' traffic, each look here makes its own, probing the next window (`probe_canary`) before it judges. One
start (the first window's), growing data, every period judged only once complete: the always-valid tests keep the
false-FAIL rate at most alpha over every look, exactly as with `--start-time --until-decided`.

- Windows end on one grid (start + k x `windowMinutes`, cut at the maximum bake: `probe_window.next_window`), so
  the time spent judging between windows shortens the next window instead of stretching the bake.
- Each look reads the histogram bins published so far (ListMetrics can take 15 minutes to list a new metric) and
  waits up to `visibilityTimeoutSeconds` until CloudWatch returns every request published since the start. A look
  before the last one does not judge data CloudWatch still lacks part of (INCONCLUSIVE, the bake goes on); the
  last look judges what it has, with an INCONCLUSIVE `metrics visible` check.
- A window whose probe published nothing (the baseline answered too few requests, CloudWatch refused the data)
  ends the bake: INCONCLUSIVE.
- Without `--until-decided` the maximum bake is one window: a single look, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime import plot_data
from runtime.canary.plots import canary_plots
from runtime.canary.probe import ProbeResult, probe_canary
from runtime.canary.probe_request import SIDES, ProbeRequest, validate_probe
from runtime.canary.probe_window import next_window, wait_until_visible, whole_periods
from runtime.canary.run import bake_minutes, bake_state, judge_until_decided
from runtime.report import Check, Report, Verdict, inconclusive, passed

if TYPE_CHECKING:
    from runtime.canary.run import ClientFactory, JudgeRequest


def judge_with_probe(judge: JudgeRequest, probe: ProbeRequest, clients: ClientFactory, *,
                     sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                     clock: Callable[[], float] = time.time) -> Report:
    """Probe windows of `probe.duration_seconds` (the CLI: `judge.windowMinutes`; the periods are the judge's) from
    the next period boundary and judge everything since it after each, until PASS, FAIL or the maximum bake
    (`bake_minutes(judge)`; the CLI without `--until-decided`: one window). With `judge.act` it acts once, like
    `judge_until_decided`. A probe of the whole bake above `maxRequests` is a UsageError before anything is sent."""
    looks = ProbedLooks(judge, probe, clients, sleep=sleep, monotonic=monotonic, clock=clock)
    return judge_until_decided(replace(judge, start=looks.start), clients, look=looks)


def check_bake(judge: JudgeRequest, probe: ProbeRequest,
               url_options: tuple[str, str] = ("--probe-baseline-url", "--probe-canary-url")) -> int:
    """The maximum bake in whole periods (seconds), or a UsageError when probing all of it would send more than
    `serving.canary.probe.maxRequests` a side."""
    period = judge.config.period_seconds
    bake = whole_periods(bake_minutes(judge) * 60, period)
    validate_probe(replace(probe, duration_seconds=bake, period_seconds=period), url_options,
                   duration_name="the maximum bake (serving.canary.judge.maxBakeMinutes)")
    return bake


class ProbedLooks:
    """The looks of `judge_with_probe` (a `runtime.canary.run.Look`): each probes the next window of the bake, then
    judges everything published since the first window started."""

    def __init__(self, judge: JudgeRequest, probe: ProbeRequest, clients: ClientFactory, *,
                 sleep: Callable[[float], None], monotonic: Callable[[], float], clock: Callable[[], float]) -> None:
        period = judge.config.period_seconds
        self.bake_seconds = check_bake(judge, probe)
        self.probe = validate_probe(replace(probe, period_seconds=period), ("--probe-baseline-url",
                                                                            "--probe-canary-url"))
        self.clients, self.sleep, self.monotonic, self.clock = clients, sleep, monotonic, clock
        now = clock()
        self.start = datetime.fromtimestamp(whole_periods(now, period), tz=UTC)
        self.planned = self._plan(now)
        self.results: list[ProbeResult] = []
        self.verdicts: list[str] = []

    def _plan(self, now: float) -> tuple[datetime, datetime] | None:
        return next_window(now, self.start, self.probe.duration_seconds, self.bake_seconds,
                           self.probe.period_seconds)

    def __call__(self, request: JudgeRequest, number: int) -> Report:
        if self.planned is None:  # not reached: a look that leaves no window says the bake is over
            raise RuntimeError(f"look {number}: the bake has no window left")
        result = probe_canary(self.probe, self.clients, clock=self.clock, window=self.planned)
        self.results.append(result)
        end = result.end
        bake = bake_state(request, end)
        if result.report.verdict is not Verdict.PASS:
            report = _not_judged(request, self._window(end), checks=result.report.checks, details={})
            bake = {**bake, "extend": False, "note": "the probe of this window published nothing: the bake ends"}
        else:
            report = self._judge(request, end, last=not bake["extend"])
        if bake["extend"] and report.verdict is Verdict.INCONCLUSIVE:
            self.planned = self._plan(self.clock())
            if self.planned is None:
                bake = {**bake, "extend": False, "note": "not one whole period is left before the maximum bake"}
        report.details["bake"] = bake
        self.verdicts.append(report.verdict.value)
        report.details["probe"] = {**result.report.details, **report.details.get("probe", {}),
                                   "windows": self._windows()}
        return report

    def _window(self, end: datetime) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": end.isoformat(), "period_seconds": self.probe.period_seconds}

    def _windows(self) -> list[dict[str, Any]]:
        """Every window probed so far, with the requests it published and the verdict of the look after it."""
        return [{"start": r.start.isoformat(), "end": r.end.isoformat(), "published": r.published, "verdict": v}
                for r, v in zip(self.results, self.verdicts, strict=True)]

    def _published(self, end: datetime) -> dict[str, int]:
        """Requests per side published since the start and before `end`, by every window's probe."""
        counts = [r.published_between(self.start, end) for r in self.results]
        return {side: sum(c[side] for c in counts) for side in SIDES}

    def _judge(self, request: JudgeRequest, end: datetime, *, last: bool) -> Report:
        """Judge [start, end) once CloudWatch shows every request published in it (or the wait is over)."""
        from runtime.canary.judge import CanaryData, judge_canary
        from runtime.canary.metrics_source import MetricsUnavailable, read_canary_data

        cfg = request.config
        source = replace(request.source, bins=tuple(sorted({b for r in self.results for b in r.bins})))
        published = self._published(end)
        reads = 0

        def read() -> CanaryData:
            nonlocal reads
            reads += 1
            return read_canary_data(self.clients("cloudwatch"), source, start=self.start, end=end,
                                    period=cfg.period_seconds)

        timeout = self.probe.config.visibility_timeout_seconds
        window = self._window(end)
        try:
            data, missing = wait_until_visible(read, published, timeout, sleep=self.sleep, monotonic=self.monotonic)
        except MetricsUnavailable as exc:
            report = _not_judged(request, window, checks=[inconclusive("metrics", str(exc))],
                                 details={"source": source.describe()})
        else:
            lacking = (f"after {reads} reads over {timeout:g} s CloudWatch still lacks {missing} of the requests the "
                       "probe published")
            if missing and not last:
                # A period judged on part of its data now and complete at the next look would be two likelihood
                # ratios for one period, which the always-valid guarantee does not cover.
                report = _not_judged(request, window, details={"source": source.describe()}, checks=[inconclusive(
                    "metrics visible", f"{lacking}: not judged before the last look; the next window's look reads "
                    "them again")])
            else:
                report = judge_canary(data, cfg, quality=request.quality, subject=request.subject)
                plot_data.add(report, **canary_plots(data))
                if missing:
                    report.add(inconclusive("metrics visible", f"{lacking}: judged on part of the window"))
        latest = "; ".join(c.reason for c in self.results[-1].report.checks)
        report.add(passed("probe", published, None, f"{len(self.results)} window(s) since {self.start:%H:%M:%S}, "
                          f"{published['baseline']} baseline and {published['canary']} canary requests; last "
                          f"window: {latest}"))
        report.details["probe"] = {"reads": reads}
        return report


def _not_judged(judge: JudgeRequest, window: dict[str, Any], *, checks: Sequence[Check],
                details: dict[str, Any]) -> Report:
    """A judge report without a judgement: the given (INCONCLUSIVE) checks, the window and `details`."""
    from runtime.canary.judge import KIND as JUDGE_KIND

    report = Report(kind=JUDGE_KIND, subject=dict(judge.subject))
    for check in checks:
        report.add(check)
    report.details = {"label": "INCONCLUSIVE", "window": window, **details}
    return report
