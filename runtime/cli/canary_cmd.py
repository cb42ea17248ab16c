"""`mlcicd canary judge|probe`: canary vs baseline from CloudWatch; with `--act`, continue or roll back. The work
is in runtime/canary/judge_run.py; this module parses, calls, prints and exits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err, finish, load_config

app = typer.Typer(help="Judge a canary against its baseline from CloudWatch metrics; probe both where nothing "
                  "publishes per-variant metrics.", no_args_is_help=True)


@app.command()
def judge(
    *,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    stack: Annotated[str | None, typer.Option(help="Stack: thresholds, model and strategy from Pulumi.<stack>.yaml.")]
    = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    load_balancer: Annotated[str | None, typer.Option(help="ALB arn suffix app/<name>/<id> (AWS/ApplicationELB).")]
    = None,
    baseline_target_group: Annotated[str | None, typer.Option(help="Arn suffix of the baseline's target group.")]
    = None,
    canary_target_group: Annotated[str | None, typer.Option(help="Arn suffix of the canary's target group.")] = None,
    namespace: Annotated[str | None, typer.Option(help="Custom namespace with ModelName+Variant dimensions instead "
                                                       "of the load balancer (local mode).")] = None,
    model: Annotated[str | None, typer.Option(help="Registered model name (default: the stack's).")] = None,
    baseline_variant: Annotated[str, typer.Option(help="Variant dimension of the baseline.")] = "baseline",
    canary_variant: Annotated[str, typer.Option(help="Variant dimension of the canary.")] = "canary",
    window_minutes: Annotated[int | None, typer.Option(help="Override serving.canary.judge.windowMinutes.")] = None,
    period_seconds: Annotated[int | None, typer.Option(help="Override serving.canary.judge.periodSeconds.")] = None,
    end_time: Annotated[str | None, typer.Option(help="End of the window, ISO 8601 (default: now).")] = None,
    start_time: Annotated[str | None, typer.Option(help="Deployment start, ISO 8601: judge everything since then "
                                                        "(repeated looks stay valid; INCONCLUSIVE within the maximum "
                                                        "bake extends it).")] = None,
    until_decided: Annotated[bool, typer.Option("--until-decided", help="Look every period from --start-time "
                                                                        "(default: now; with --probe-*: after every "
                                                                        "probed window) until PASS, FAIL or the "
                                                                        "maximum bake, then act once.")] = False,
    percentiles: Annotated[bool, typer.Option(help="Read the p99 response time (off for moto, which cannot compute "
                                                   "percentiles).")] = True,
    region: Annotated[str | None, typer.Option(help="AWS region (default: the stack's).")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="AWS endpoint (e.g. a moto server).")] = None,
    act: Annotated[bool, typer.Option("--act", help="Publish the verdict metric and continue or roll back the "
                                                    "deployment.")] = False,
    cluster: Annotated[str | None, typer.Option(help="ECS cluster (default: stack output servingCluster).")] = None,
    service: Annotated[str | None, typer.Option(help="ECS service (default: stack output servingService).")] = None,
    stack_outputs: Annotated[Path | None, typer.Option(help="JSON from `pulumi stack output --json`.")] = None,
    previous_task_definition: Annotated[str | None, typer.Option(help="Task definition to roll back to when ECS "
                                                                      "has no previous deployment to return to.")]
    = None,
    deployment_id: Annotated[str | None, typer.Option(help="CodeDeploy deployment (strategy blue-green).")] = None,
    codedeploy_application: Annotated[str | None, typer.Option(help="CodeDeploy application to find the active "
                                                                    "deployment in.")] = None,
    codedeploy_group: Annotated[str | None, typer.Option(help="CodeDeploy deployment group.")] = None,
    on_inconclusive: Annotated[str, typer.Option(help="With --act: `rollback` (fail closed) or `hold` (leave the "
                                                      "deployment, publish nothing).")] = "rollback",
    probe_baseline_url: Annotated[str | None, typer.Option(help="Probe first: send the window's traffic to this "
                                                                "baseline (stable) scoring server, then judge.")]
    = None,
    probe_canary_url: Annotated[str | None, typer.Option(help="Probe first: the canary's scoring server.")] = None,
    sample_data: Annotated[Path | None, typer.Option(help="With --probe-*: Parquet or CSV rows to send (default: "
                                                         "smoke.samplePayloads).")] = None,
    target_column: Annotated[str | None, typer.Option(help="With --sample-data: the label column (not sent); "
                                                           "gives the quality metric.")] = None,
    rps: Annotated[float | None, typer.Option(help="With --probe-*: requests per second to each side (default "
                                                   "serving.canary.probe.rps).")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the report as a self-contained HTML page here.")]
    = None,
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
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    stack: Annotated[str | None, typer.Option(help="Stack: rate, bounds, payloads, model and namespace from "
                                                   "Pulumi.<stack>.yaml.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
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
    model: Annotated[str | None, typer.Option(help="Registered model name (default: the stack's).")] = None,
    namespace: Annotated[str | None, typer.Option(help="Metric namespace (default alarms.modelQuality.namespace)."
                                                  )] = None,
    baseline_variant: Annotated[str, typer.Option(help="Variant dimension of the baseline.")] = "baseline",
    canary_variant: Annotated[str, typer.Option(help="Variant dimension of the canary.")] = "canary",
    region: Annotated[str | None, typer.Option(help="AWS region (default: the stack's).")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="AWS endpoint (e.g. a moto server).")] = None,
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
