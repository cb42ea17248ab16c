"""`mlcicd canary judge` as a library call: read the window, judge, and (when asked) act on the verdict.

With a start time (the deployment start) the judge reads everything since then, so repeated looks judge growing
data with tests that stay valid however often they look. An INCONCLUSIVE look before the maximum bake extends the
bake: no verdict is published and nothing is rolled back (`extend` action); `judge_until_decided` keeps looking
(every period, or after each probed window: `runtime.canary.probe_judge`) until PASS, FAIL or the maximum bake,
then acts once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from runtime import plot_data
from runtime.aws import ClientFactory, boto3_clients
from runtime.canary import act as acting
from runtime.canary.judge import KIND, QualityRule, judge_canary
from runtime.canary.metrics_source import MetricSource, MetricsUnavailable, read_canary_data, window
from runtime.canary.plots import canary_plots
from runtime.config.checks import CanaryJudgeConfig
from runtime.report import Report, Verdict, failed, inconclusive, passed

__all__ = ["ActSettings", "ClientFactory", "JudgeRequest", "Look", "bake_minutes", "boto3_clients", "carry_out",
           "decide_actions", "judge_until_decided", "run_canary_judge", "settled_look"]


@dataclass(frozen=True)
class ActSettings:
    """What `--act` does and where (from `serving` in the stack config and the command line)."""

    verdict_namespace: str
    model_name: str
    backend: Literal["ecs", "eks"] = "ecs"
    strategy: Literal["canary", "linear", "rolling", "blue-green"] = "canary"
    cluster: str | None = None
    service: str | None = None
    previous_task_definition: str | None = None
    deployment_id: str | None = None
    codedeploy_application: str | None = None
    codedeploy_group: str | None = None
    on_inconclusive: Literal["rollback", "hold"] = "rollback"


@dataclass(frozen=True)
class JudgeRequest:
    source: MetricSource
    config: CanaryJudgeConfig = field(default_factory=CanaryJudgeConfig)
    quality: QualityRule = field(default_factory=QualityRule)
    end: datetime | None = None
    subject: dict[str, Any] = field(default_factory=dict)
    act: ActSettings | None = None
    start: datetime | None = None
    """Deployment start: judge everything since then (aligned down to the period). None: one window of
    `windowMinutes` ending at `end`, a single look."""
    max_bake_minutes: float | None = None
    """How long after `start` an INCONCLUSIVE canary keeps baking; None: `maxBakeMinutes`, else `windowMinutes`."""


def _aligned(moment: datetime, period: int) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, tz=UTC)


def judge_window(request: JudgeRequest) -> tuple[datetime, datetime]:
    cfg = request.config
    if request.start is None:
        return window(request.end, cfg.window_minutes, cfg.period_seconds)
    end = _aligned(request.end or datetime.now(UTC), cfg.period_seconds)
    return min(_aligned(request.start, cfg.period_seconds), end), end


def bake_minutes(request: JudgeRequest) -> float:
    """How long after `request.start` an INCONCLUSIVE canary keeps baking: the request's maximum bake, else the
    config's (`CanaryJudgeConfig.bake_limit_minutes`)."""
    return request.max_bake_minutes or request.config.bake_limit_minutes()


def bake_state(request: JudgeRequest, end: datetime) -> dict[str, Any]:
    """Where the canary stands in its bake: may an INCONCLUSIVE verdict wait for more data?"""
    limit = bake_minutes(request)
    if request.start is None:
        return {"start": None, "max_minutes": limit, "extend": False,
                "note": "no start time: a single window, so an INCONCLUSIVE verdict is final for this run (pass "
                        "--start-time to judge everything since the deployment and extend the bake)"}
    start = request.start if request.start.tzinfo else request.start.replace(tzinfo=UTC)
    elapsed = (end - start).total_seconds() / 60
    return {"start": start.isoformat(), "elapsed_minutes": round(elapsed, 2), "max_minutes": limit,
            "ends": (start + timedelta(minutes=limit)).isoformat(), "extend": elapsed < limit}


def run_canary_judge(request: JudgeRequest, clients: ClientFactory) -> Report:
    cfg = request.config
    start, end = judge_window(request)
    try:
        data = read_canary_data(clients("cloudwatch"), request.source, start=start, end=end,
                                period=cfg.period_seconds)
    except MetricsUnavailable as exc:
        report = Report(kind=KIND, subject=dict(request.subject))
        report.add(inconclusive("metrics", str(exc)))
        report.details = {"label": "INCONCLUSIVE", "source": request.source.describe(),
                          "window": {"start": start.isoformat(), "end": end.isoformat(),
                                     "period_seconds": cfg.period_seconds}}
    else:
        report = judge_canary(data, cfg, quality=request.quality, subject=request.subject)
        plot_data.add(report, **canary_plots(data))
    report.details["bake"] = bake_state(request, end)
    if request.act is not None:
        carry_out(report, request.act, clients)
    return report


#: How long after a period's end `judge_until_decided` waits before judging it (CloudWatch's ALB metrics arrive one
#: to two minutes late).
SETTLE_SECONDS = 120


#: One look of `judge_until_decided`: given the request (its `start` set) and the look's number (1, 2, ...), wait for
#: (or make) the look's data and judge everything since the start; the report carries `details.bake`.
Look = Callable[[JudgeRequest, int], Report]


def judge_until_decided(request: JudgeRequest, clients: ClientFactory, *,
                        sleep: Callable[[float], None] = time.sleep,
                        now: Callable[[], datetime] = lambda: datetime.now(UTC), look: Look | None = None) -> Report:
    """Look from `request.start` (default: now) until the verdict is PASS or FAIL or the maximum bake has passed,
    then act once on the last look. Every look judges everything since the start, so the false-FAIL rate stays
    <= alpha over all of them. The looks are `settled_look`'s by default (every period, on what CloudWatch has);
    the probe's judge passes its own (`runtime.canary.probe_judge`: each look probes the next window first)."""
    plain = replace(request, start=request.start or now(), act=None)
    look = look or settled_look(clients, sleep=sleep, now=now)
    looks = 0
    while True:
        looks += 1
        report = look(plain, looks)
        if report.verdict != Verdict.INCONCLUSIVE or not report.details["bake"]["extend"]:
            break
    report.details["looks"] = looks
    if request.act is not None:
        carry_out(report, request.act, clients)
    return report


def settled_look(clients: ClientFactory, *, sleep: Callable[[float], None],
                 now: Callable[[], datetime]) -> Look:
    """Looks at the metrics others publish (load balancer, serving): from the second look on, wait one period (at
    least a minute for ALB metrics), then judge the complete periods since the start (those ended at least
    `SETTLE_SECONDS`, or two periods, ago)."""

    def look(request: JudgeRequest, number: int) -> Report:
        period = request.config.period_seconds
        if number > 1:
            sleep(period if request.source.albs is None else max(60, period))
        # Judge only periods CloudWatch has finished: a period read while still filling and read again complete
        # would be two different likelihood ratios for one period, which the always-valid guarantee does not cover.
        end = now() - timedelta(seconds=max(2 * period, SETTLE_SECONDS))
        return run_canary_judge(replace(request, end=max(end, request.start) if request.start else end), clients)

    return look


def decide_actions(verdict: Verdict, settings: ActSettings, clients: ClientFactory, *,
                   extend: bool = False) -> list[acting.Action]:
    if verdict == Verdict.INCONCLUSIVE and extend:
        return [acting.Action("extend", True, "verdict INCONCLUSIVE within the maximum bake: no verdict published "
                              "and the deployment left as it is, so the canary keeps baking; judge again with the same "
                              "--start-time (or run with --until-decided)")]
    if verdict == Verdict.INCONCLUSIVE and settings.on_inconclusive == "hold":
        return [acting.Action("hold", True, "verdict INCONCLUSIVE: deployment left as it is and no verdict "
                              "published; rerun the judge once more traffic has been observed")]
    passed_ = verdict == Verdict.PASS
    actions = [acting.publish_verdict(clients("cloudwatch"), namespace=settings.verdict_namespace,
                                      model_name=settings.model_name, passed=passed_)]
    if settings.backend == "eks":
        actions.append(acting.Action("rollout", True, "Argo Rollouts acts on this command's exit code (analysis "
                                     "step): no API call needed"))
    elif settings.strategy == "blue-green":
        actions += acting.act_codedeploy(clients("codedeploy"), passed=passed_, deployment_id=settings.deployment_id,
                                         application=settings.codedeploy_application,
                                         group=settings.codedeploy_group)
    elif settings.cluster and settings.service:
        actions += acting.act_ecs(clients("ecs"), cluster=settings.cluster, service=settings.service, passed=passed_,
                                  previous_task_definition=settings.previous_task_definition)
    else:
        actions.append(acting.Action("continue" if passed_ else "rollback", False, "the ECS cluster and service are "
                                     "unknown: pass --cluster and --service (or --stack-outputs)"))
    return actions


def carry_out(report: Report, settings: ActSettings, clients: ClientFactory) -> None:
    """Act on the report's verdict and record what was done as the `act` check (a failed action is a FAIL)."""
    verdict = report.verdict
    actions = decide_actions(verdict, settings, clients, extend=bool(report.details.get("bake", {}).get("extend")))
    report.details["actions"] = [a.to_dict() for a in actions]
    summary = "; ".join(f"{a.name}: {a.detail}" for a in actions)
    bad = [a for a in actions if not a.ok]
    if bad:
        report.add(failed("act", [a.name for a in bad], "every action succeeds",
                          f"verdict {verdict.value} could not be carried out: {summary}"))
    else:
        report.add(passed("act", [a.name for a in actions], "every action succeeds",
                          f"verdict {verdict.value}: {summary}"))
