"""`mlcicd canary judge|probe`: canary vs baseline from CloudWatch; with `--act`, continue or roll back. The work
is in runtime/canary/judge_run.py; this module parses, calls, prints and exits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err, finish, load_config

app = typer.Typer(help="Judge a canary against its baseline from CloudWatch metrics; probe both where nothing "
                  "publishes per-variant metrics.", no_args_is_help=True)


# The options of `canary judge`, in its order; the ones `canary probe` shares (the same help) say so.
# The report, the stack and the project (--report and --project-dir: both commands).
ReportOpt = Annotated[Path | None, typer.Option(help="Write the JSON report here.")]
JudgeStackOpt = Annotated[str | None, typer.Option(help="Stack: thresholds, model and strategy from "
                                                        "Pulumi.<stack>.yaml.")]
ProjectOpt = Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")]
# Where the metrics are (--model and the variants: both commands).
LoadBalancerOpt = Annotated[str | None, typer.Option(help="ALB arn suffix app/<name>/<id> (AWS/ApplicationELB).")]
BaselineGroupOpt = Annotated[str | None, typer.Option(help="Arn suffix of the baseline's target group.")]
CanaryGroupOpt = Annotated[str | None, typer.Option(help="Arn suffix of the canary's target group.")]
JudgeNamespaceOpt = Annotated[str | None, typer.Option(help="Custom namespace with ModelName+Variant dimensions "
                                                            "instead of the load balancer (local mode).")]
ModelOpt = Annotated[str | None, typer.Option(help="Registered model name (default: the stack's).")]
BaselineVariantOpt = Annotated[str, typer.Option(help="Variant dimension of the baseline.")]
CanaryVariantOpt = Annotated[str, typer.Option(help="Variant dimension of the canary.")]
# The window.
WindowMinutesOpt = Annotated[int | None, typer.Option(help="Override serving.canary.judge.windowMinutes.")]
JudgePeriodOpt = Annotated[int | None, typer.Option(help="Override serving.canary.judge.periodSeconds.")]
EndTimeOpt = Annotated[str | None, typer.Option(help="End of the window, ISO 8601 (default: now).")]
StartTimeOpt = Annotated[str | None, typer.Option(help="Deployment start, ISO 8601: judge everything since then "
                                                       "(repeated looks stay valid; INCONCLUSIVE within the maximum "
                                                       "bake extends it).")]
UntilDecidedOpt = Annotated[bool, typer.Option("--until-decided", help="Look every period from --start-time "
                                                                       "(default: now; with --probe-*: after every "
                                                                       "probed window) until PASS, FAIL or the "
                                                                       "maximum bake, then act once.")]
PercentilesOpt = Annotated[bool, typer.Option(help="Read the p99 response time (off for moto, which cannot compute "
                                                   "percentiles).")]
# AWS (both commands).
RegionOpt = Annotated[str | None, typer.Option(help="AWS region (default: the stack's).")]
EndpointOpt = Annotated[str | None, typer.Option(help="AWS endpoint (e.g. a moto server).")]
# With --act: continue or roll back.
ActOpt = Annotated[bool, typer.Option("--act", help="Publish the verdict metric and continue or roll back the "
                                                    "deployment.")]
ClusterOpt = Annotated[str | None, typer.Option(help="ECS cluster (default: stack output servingCluster).")]
ServiceOpt = Annotated[str | None, typer.Option(help="ECS service (default: stack output servingService).")]
StackOutputsOpt = Annotated[Path | None, typer.Option(help="JSON from `pulumi stack output --json`.")]
PreviousTaskDefinitionOpt = Annotated[str | None, typer.Option(help="Task definition to roll back to when ECS has "
                                                                    "no previous deployment to return to.")]
DeploymentIdOpt = Annotated[str | None, typer.Option(help="CodeDeploy deployment (strategy blue-green).")]
CodeDeployApplicationOpt = Annotated[str | None, typer.Option(help="CodeDeploy application to find the active "
                                                                   "deployment in.")]
CodeDeployGroupOpt = Annotated[str | None, typer.Option(help="CodeDeploy deployment group.")]
OnInconclusiveOpt = Annotated[str, typer.Option(help="With --act: `rollback` (fail closed) or `hold` (leave the "
                                                     "deployment, publish nothing).")]
# With --probe-*: probe traffic first.
ProbeBaselineOpt = Annotated[str | None, typer.Option(help="Probe first: send the window's traffic to this "
                                                           "baseline (stable) scoring server, then judge.")]
ProbeCanaryOpt = Annotated[str | None, typer.Option(help="Probe first: the canary's scoring server.")]
ProbeSampleDataOpt = Annotated[Path | None, typer.Option(help="With --probe-*: Parquet or CSV rows to send "
                                                              "(default: smoke.samplePayloads).")]
ProbeTargetColumnOpt = Annotated[str | None, typer.Option(help="With --sample-data: the label column (not sent); "
                                                               "gives the quality metric.")]
ProbeRpsOpt = Annotated[float | None, typer.Option(help="With --probe-*: requests per second to each side (default "
                                                        "serving.canary.probe.rps).")]
# The page.
HtmlOpt = Annotated[Path | None, typer.Option(help="Also write the report as a self-contained HTML page here.")]


@app.command()
def judge(
    *, report: ReportOpt = None, stack: JudgeStackOpt = None, project_dir: ProjectOpt = None,
    load_balancer: LoadBalancerOpt = None, baseline_target_group: BaselineGroupOpt = None,
    canary_target_group: CanaryGroupOpt = None, namespace: JudgeNamespaceOpt = None, model: ModelOpt = None,
    baseline_variant: BaselineVariantOpt = "baseline", canary_variant: CanaryVariantOpt = "canary",
    window_minutes: WindowMinutesOpt = None, period_seconds: JudgePeriodOpt = None, end_time: EndTimeOpt = None,
    start_time: StartTimeOpt = None, until_decided: UntilDecidedOpt = False, percentiles: PercentilesOpt = True,
    region: RegionOpt = None, endpoint_url: EndpointOpt = None,
    act: ActOpt = False, cluster: ClusterOpt = None, service: ServiceOpt = None, stack_outputs: StackOutputsOpt = None,
    previous_task_definition: PreviousTaskDefinitionOpt = None, deployment_id: DeploymentIdOpt = None,
    codedeploy_application: CodeDeployApplicationOpt = None, codedeploy_group: CodeDeployGroupOpt = None,
    on_inconclusive: OnInconclusiveOpt = "rollback",
    probe_baseline_url: ProbeBaselineOpt = None, probe_canary_url: ProbeCanaryOpt = None,
    sample_data: ProbeSampleDataOpt = None, target_column: ProbeTargetColumnOpt = None, rps: ProbeRpsOpt = None,
    html: HtmlOpt = None,
) -> None:
    """Judge canary vs baseline over a window (exit 0 PASS, 1 FAIL or MARGINAL, 2 usage, 3 INCONCLUSIVE).

    With --probe-baseline-url and --probe-canary-url it first sends probe traffic to both for the whole window
    and publishes what they served (the EKS analysis step), then judges exactly that window; with --until-decided
    it probes window after window, judging everything probed so far after each, until the data decide or the
    maximum bake is over."""
    from runtime.canary.judge_run import JudgeOptions, Target, canary_judge, probe_options

    cfg = load_config(stack, project_dir).config if stack else None
    target = Target(stack=stack, model=model, namespace=namespace, baseline_variant=baseline_variant,
                    canary_variant=canary_variant, period_seconds=period_seconds, region=region,
                    endpoint_url=endpoint_url)
    probing = probe_options(probe_baseline_url, probe_canary_url, sample_data=sample_data,
                            target_column=target_column, rps=rps)
    options = JudgeOptions(
        load_balancer=load_balancer, baseline_target_group=baseline_target_group,
        canary_target_group=canary_target_group, window_minutes=window_minutes, end_time=end_time,
        start_time=start_time, until_decided=until_decided,
        percentiles=percentiles, act=act, cluster=cluster, service=service, stack_outputs=stack_outputs,
        previous_task_definition=previous_task_definition, deployment_id=deployment_id,
        codedeploy_application=codedeploy_application, codedeploy_group=codedeploy_group,
        on_inconclusive=on_inconclusive, probe=probing)
    finish(canary_judge(target, options, cfg), report, html)


@app.command()
def probe(
    *,
    baseline_url: Annotated[str, typer.Option(help="Baseline (stable) scoring server, e.g. "
                                                   "http://<model>.<namespace>.svc.cluster.local.")],
    canary_url: Annotated[str, typer.Option(help="Canary scoring server, e.g. "
                                                 "http://<model>-canary.<namespace>.svc.cluster.local.")],
    report: ReportOpt = None,
    stack: Annotated[str | None, typer.Option(help="Stack: rate, bounds, payloads, model and namespace from "
                                                   "Pulumi.<stack>.yaml.")] = None,
    project_dir: ProjectOpt = None,
    sample_data: Annotated[Path | None, typer.Option(help="Parquet or CSV rows to send, one per request (default: "
                                                         "smoke.samplePayloads).")] = None,
    target_column: Annotated[str | None, typer.Option(help="Label column of --sample-data (not sent); gives the "
                                                           "quality metric.")] = None,
    rps: Annotated[float | None, typer.Option(help="Requests per second to EACH side (default "
                                                   "serving.canary.probe.rps).")] = None,
    duration: Annotated[int | None, typer.Option(help="Seconds to measure, whole periods (default: the judge's "
                                                      "window).")] = None,
    period_seconds: Annotated[int | None, typer.Option(help="Data-point length (default "
                                                            "serving.canary.judge.periodSeconds).")] = None,
    model: ModelOpt = None,
    namespace: Annotated[str | None, typer.Option(help="Metric namespace (default alarms.modelQuality.namespace)."
                                                  )] = None,
    baseline_variant: BaselineVariantOpt = "baseline",
    canary_variant: CanaryVariantOpt = "canary",
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Send probe traffic to baseline and canary and publish what each served for `canary judge` (exit 0
    published, 2 usage, 3 nothing published).

    Every 1/rps seconds the next sample row goes to both sides; the measured window starts at the next period
    boundary (up to one period of warm-up before it). Only loopback and serving.canary.probe.allowedHosts."""
    from runtime.canary.judge_run import ProbeOptions, Target, canary_probe
    from runtime.report import Verdict

    cfg = load_config(stack, project_dir).config if stack else None
    target = Target(stack=stack, model=model, namespace=namespace, baseline_variant=baseline_variant,
                    canary_variant=canary_variant, period_seconds=period_seconds, region=region,
                    endpoint_url=endpoint_url)
    result = canary_probe(target, ProbeOptions(baseline_url, canary_url, sample_data=sample_data,
                                               target_column=target_column, rps=rps, duration=duration), cfg)
    if result.report.verdict is Verdict.PASS:
        window = result.report.details["window"]
        minutes = -(-(result.end - result.start).total_seconds() // 60)
        err(f"judge this window: mlcicd canary judge {'--stack ' + stack + ' ' if stack else ''}--end-time "
            f"{window['end']} --window-minutes {minutes:.0f} --period-seconds {window['period_seconds']} ...")
    finish(result.report, report)
