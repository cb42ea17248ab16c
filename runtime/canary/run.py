"""`mlcicd canary judge` as a library call: read the window, judge, and (when asked) act on the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from runtime.aws import ClientFactory, boto3_clients
from runtime.canary import act as acting
from runtime.canary.judge import KIND, QualityRule, judge_canary
from runtime.canary.metrics_source import MetricSource, MetricsUnavailable, read_canary_data, window
from runtime.config.checks import CanaryJudgeConfig
from runtime.report import Report, Verdict, failed, inconclusive, passed

__all__ = ["ActSettings", "ClientFactory", "JudgeRequest", "boto3_clients", "carry_out", "decide_actions",
           "run_canary_judge"]


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


def run_canary_judge(request: JudgeRequest, clients: ClientFactory) -> Report:
    cfg = request.config
    start, end = window(request.end, cfg.window_minutes, cfg.period_seconds)
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
    if request.act is not None:
        carry_out(report, request.act, clients)
    return report


def decide_actions(verdict: Verdict, settings: ActSettings, clients: ClientFactory) -> list[acting.Action]:
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
    actions = decide_actions(verdict, settings, clients)
    report.details["actions"] = [a.to_dict() for a in actions]
    summary = "; ".join(f"{a.name}: {a.detail}" for a in actions)
    bad = [a for a in actions if not a.ok]
    if bad:
        report.add(failed("act", [a.name for a in bad], "every action succeeds",
                          f"verdict {verdict.value} could not be carried out: {summary}"))
    else:
        report.add(passed("act", [a.name for a in actions], "every action succeeds",
                          f"verdict {verdict.value}: {summary}"))
