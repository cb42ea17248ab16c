"""`mlcicd canary judge`: canary vs baseline from CloudWatch; with `--act`, continue or roll back."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runtime.cli.common import UsageError, err, finish, load_config, usage_errors
from runtime.report import Report

if TYPE_CHECKING:
    from runtime.canary.probe import ProbeRequest
    from runtime.canary.run import ActSettings, JudgeRequest
    from runtime.config import StackConfig

app = typer.Typer(help="Judge a canary against its baseline from CloudWatch metrics; probe both where nothing "
                  "publishes per-variant metrics.", no_args_is_help=True)


def parse_time(value: str | None, option: str = "--end-time") -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not an ISO 8601 time; use e.g. 2026-01-31T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_stack_outputs(path: Path | None) -> dict[str, Any]:
    """`pulumi stack output --json` saved to a file (empty when no file is given)."""
    if path is None:
        return {}
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"--stack-outputs {path}: not readable JSON ({exc}); save `pulumi stack output --json`") \
            from None
    if not isinstance(data, dict):
        raise UsageError(f"--stack-outputs {path}: expected a JSON object of outputs")
    return data


def resolve_region(flag: str | None, cfg: StackConfig | None) -> str:
    region = flag or (cfg.region if cfg else None) or os.environ.get("AWS_REGION") or \
        os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UsageError("no AWS region: pass --region, --stack S, or set AWS_REGION")
    return region


def build_request(*, cfg: StackConfig | None, stack: str | None, model: str | None, load_balancer: str | None,
                  baseline_target_group: str | None, canary_target_group: str | None, namespace: str | None,
                  baseline_variant: str, canary_variant: str, window_minutes: int | None,
                  period_seconds: int | None, end_time: str | None, percentiles: bool,
                  act: ActSettings | None, outputs: dict[str, Any], start_time: str | None = None) -> JudgeRequest:
    from pydantic import ValidationError

    from infra import outputs as out
    from runtime.canary.judge import QualityRule
    from runtime.canary.metrics_source import AlbTargets, MetricSource
    from runtime.canary.run import JudgeRequest
    from runtime.config.checks import CanaryJudgeConfig
    from runtime.config.defaults import MODEL_METRICS_NAMESPACE, MODEL_QUALITY_METRIC

    model_name = model or (cfg.model.name if cfg else None) or outputs.get(out.MODEL_NAME)
    if not model_name:
        raise UsageError("no model name: pass --model NAME or --stack S")
    load_balancer = load_balancer or (outputs.get(out.SERVING_LOAD_BALANCER) if (baseline_target_group or
                                                                                 canary_target_group) else None)
    alb = {"--load-balancer": load_balancer, "--baseline-target-group": baseline_target_group,
           "--canary-target-group": canary_target_group}
    given = [k for k, v in alb.items() if v]
    if given and namespace:
        raise UsageError(f"choose one source: {', '.join(given)} (load balancer) or --namespace (custom metrics)")
    if given and len(given) < len(alb):
        missing = [k for k, v in alb.items() if not v]
        raise UsageError(f"the load-balancer source needs {', '.join(missing)} too (target group and load "
                         "balancer arn suffixes, e.g. targetgroup/name/0123456789abcdef)")
    judge = cfg.serving.canary.judge if cfg else CanaryJudgeConfig()
    overrides = {k: v for k, v in (("windowMinutes", window_minutes), ("periodSeconds", period_seconds))
                 if v is not None}
    if overrides:
        try:
            judge = CanaryJudgeConfig.model_validate({**judge.model_dump(mode="json"), **overrides})
        except ValidationError as exc:
            first = exc.errors()[0]
            option = {"windowMinutes": "--window-minutes", "periodSeconds": "--period-seconds"}[str(first["loc"][0])]
            raise UsageError(f"{option} {first['input']!r}: {first['msg']}") from None
    alarm = cfg.alarms.model_quality if cfg else None
    quality = QualityRule.from_alarm(alarm) if alarm else QualityRule()
    albs = AlbTargets(load_balancer, baseline_target_group, canary_target_group) if (
        load_balancer and baseline_target_group and canary_target_group) else None
    model_namespace = namespace or (alarm.namespace if alarm else None)
    source = MetricSource(model_name=model_name, albs=albs, percentiles=percentiles,
                          baseline_variant=baseline_variant, canary_variant=canary_variant,
                          model_namespace=model_namespace or MODEL_METRICS_NAMESPACE,
                          quality_metric=alarm.metric_name if alarm else MODEL_QUALITY_METRIC)
    subject = {"model": model_name, "version": cfg.model.version if cfg else None, "stack": stack,
               "baseline": baseline_target_group or baseline_variant, "canary": canary_target_group or canary_variant}
    start, end = parse_time(start_time, "--start-time"), parse_time(end_time)
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--start-time {start_time} is not before --end-time {end_time}")
    bake = judge.max_bake_minutes or max(cfg.serving.canary.bake_minutes if cfg else 0, judge.window_minutes)
    return JudgeRequest(source=source, config=judge, quality=quality, end=end, subject=subject, act=act, start=start,
                        max_bake_minutes=bake)


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
                                                                        "(default: now) until PASS, FAIL or the "
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
) -> None:
    """Judge canary vs baseline over a window (exit 0 PASS, 1 FAIL or MARGINAL, 2 usage, 3 INCONCLUSIVE).

    With --probe-baseline-url and --probe-canary-url it first sends probe traffic to both for the whole window
    and publishes what they served (the EKS analysis step), then judges exactly that window."""
    with usage_errors():
        from infra import outputs as out
        from runtime.canary.run import ActSettings, boto3_clients, run_canary_judge
        from runtime.config.defaults import MODEL_METRICS_NAMESPACE

        cfg = load_config(stack, project_dir).config if stack else None
        outputs = read_stack_outputs(stack_outputs)
        if on_inconclusive not in ("rollback", "hold"):
            raise UsageError(f"--on-inconclusive {on_inconclusive!r}: use `rollback` or `hold`")
        settings = None
        if act:
            serving = cfg.serving if cfg else None
            settings = ActSettings(
                verdict_namespace=namespace or (cfg.alarms.model_quality.namespace if cfg
                                                else MODEL_METRICS_NAMESPACE),
                model_name=model or (cfg.model.name if cfg else "") or str(outputs.get(out.MODEL_NAME, "")),
                backend=serving.backend if serving else "ecs",
                strategy=serving.canary.strategy if serving else "canary",
                cluster=cluster or outputs.get(out.SERVING_CLUSTER),
                service=service or outputs.get(out.SERVING_SERVICE),
                previous_task_definition=previous_task_definition, deployment_id=deployment_id,
                # The stack names the CodeDeploy application and its deployment group alike.
                codedeploy_application=codedeploy_application or outputs.get(out.SERVING_DEPLOYMENT_GROUP),
                codedeploy_group=codedeploy_group or outputs.get(out.SERVING_DEPLOYMENT_GROUP),
                on_inconclusive="hold" if on_inconclusive == "hold" else "rollback")
            if not settings.model_name:
                raise UsageError("--act needs the model name: pass --model NAME or --stack S")
        request = build_request(cfg=cfg, stack=stack, model=model, load_balancer=load_balancer,
                                baseline_target_group=baseline_target_group, canary_target_group=canary_target_group,
                                namespace=namespace, baseline_variant=baseline_variant, canary_variant=canary_variant,
                                window_minutes=window_minutes, period_seconds=period_seconds, end_time=end_time,
                                percentiles=percentiles, act=settings, outputs=outputs, start_time=start_time)
        probing = probe_baseline_url is not None or probe_canary_url is not None
        if probing and (start_time is not None or until_decided):
            raise UsageError("--probe-* judges the window it has just probed: drop --start-time and --until-decided")
        if until_decided and end_time is not None:
            raise UsageError("--until-decided looks until a decision from now on: drop --end-time")
        probe_request: ProbeRequest | None = None
        if not probing and (sample_data is not None or target_column is not None or rps is not None):
            raise UsageError("--sample-data, --target-column and --rps shape the probe traffic: give them with "
                             "--probe-baseline-url and --probe-canary-url")
        if probing:
            if probe_baseline_url is None or probe_canary_url is None:
                raise UsageError("probing needs both --probe-baseline-url and --probe-canary-url")
            if request.source.albs is not None or end_time is not None:
                raise UsageError("--probe-* judges the window it has just probed, from the model namespace: drop "
                                 "--end-time and the load-balancer options")
            probe_request = build_probe_request(
                cfg=cfg, stack=stack, baseline_url=probe_baseline_url, canary_url=probe_canary_url,
                sample_data=sample_data, target_column=target_column, rps=rps, model=request.source.model_name,
                namespace=request.source.model_namespace, baseline_variant=baseline_variant,
                canary_variant=canary_variant, duration=request.config.window_minutes * 60,
                period_seconds=request.config.period_seconds,
                url_options=("--probe-baseline-url", "--probe-canary-url"))
        clients = boto3_clients(resolve_region(region, cfg), endpoint_url)
        pair = outputs.get(out.SERVING_TARGET_GROUPS)
        if not probing and request.source.albs is None and namespace is None and isinstance(pair, dict) and \
                outputs.get(out.SERVING_LOAD_BALANCER):
            resolved = resolve_from_outputs(request, clients, str(outputs[out.SERVING_LOAD_BALANCER]),
                                            [str(v) for v in pair.values()])
            if isinstance(resolved, Report):
                finish(resolved, report)
            request = resolved
        if probe_request is not None:
            from runtime.canary.probe import judge_with_probe

            result = judge_with_probe(request, probe_request, clients)
        elif until_decided:
            from runtime.canary.run import judge_until_decided

            result = judge_until_decided(request, clients)
        else:
            result = run_canary_judge(request, clients)
    finish(result, report)


def build_probe_request(*, cfg: StackConfig | None, stack: str | None, baseline_url: str, canary_url: str,
                        sample_data: Path | None, target_column: str | None, rps: float | None, model: str | None,
                        namespace: str | None, baseline_variant: str, canary_variant: str, duration: int | None,
                        period_seconds: int | None,
                        url_options: tuple[str, str] = ("--baseline-url", "--canary-url")) -> ProbeRequest:
    """The probe from the stack config and the command line; every bad value is a UsageError (exit 2)."""
    from pydantic import ValidationError

    from runtime.canary.probe import ProbeRequest, read_sample, sample_from_payloads, validate_probe
    from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
    from runtime.config.platform import ModelQualityAlarmConfig

    probe_cfg = cfg.serving.canary.probe if cfg else CanaryProbeConfig()
    if rps is not None:
        try:
            probe_cfg = CanaryProbeConfig.model_validate({**probe_cfg.model_dump(mode="json"), "rps": rps})
        except ValidationError as exc:
            raise UsageError(f"--rps {rps:g}: {exc.errors()[0]['msg']}") from None
    judge_cfg = cfg.serving.canary.judge if cfg else CanaryJudgeConfig()
    if period_seconds is not None:
        try:
            judge_cfg = CanaryJudgeConfig.model_validate({**judge_cfg.model_dump(mode="json"),
                                                          "periodSeconds": period_seconds})
        except ValidationError as exc:
            raise UsageError(f"--period-seconds {period_seconds}: {exc.errors()[0]['msg']}") from None
    model_name = model or (cfg.model.name if cfg else None)
    if not model_name:
        raise UsageError("no model name: pass --model NAME or --stack S")
    if target_column is not None and sample_data is None:
        raise UsageError("--target-column names the label column of --sample-data: give the file too")
    if sample_data is not None:
        sample = read_sample(sample_data, target_column)
    elif cfg is not None and cfg.smoke.sample_payloads:
        sample = sample_from_payloads(cfg.smoke.sample_payloads)
    else:
        raise UsageError("no probe payloads: pass --sample-data FILE (Parquet or CSV; --target-column adds the "
                         "quality metric) or set smoke.samplePayloads in the stack")
    alarm = cfg.alarms.model_quality if cfg else ModelQualityAlarmConfig()
    request = ProbeRequest(
        baseline_url=baseline_url, canary_url=canary_url, sample=sample, model_name=model_name,
        namespace=namespace or alarm.namespace, quality_metric=alarm.metric_name,
        baseline_variant=baseline_variant, canary_variant=canary_variant,
        duration_seconds=duration if duration is not None else judge_cfg.window_minutes * 60,
        period_seconds=judge_cfg.period_seconds, config=probe_cfg,
        subject={"model": model_name, "version": cfg.model.version if cfg else None, "stack": stack,
                 "baseline": baseline_variant, "canary": canary_variant})
    return validate_probe(request, url_options)


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
    with usage_errors():
        from runtime.canary.probe import probe_canary
        from runtime.canary.run import boto3_clients

        cfg = load_config(stack, project_dir).config if stack else None
        request = build_probe_request(cfg=cfg, stack=stack, baseline_url=baseline_url, canary_url=canary_url,
                                      sample_data=sample_data, target_column=target_column, rps=rps, model=model,
                                      namespace=namespace, baseline_variant=baseline_variant,
                                      canary_variant=canary_variant, duration=duration,
                                      period_seconds=period_seconds)
        clients = boto3_clients(resolve_region(region, cfg), endpoint_url)
        result = probe_canary(request, clients)
        from runtime.report import Verdict

        if result.report.verdict is Verdict.PASS:
            window = result.report.details["window"]
            minutes = -(-request.duration_seconds // 60)
            err(f"judge this window: mlcicd canary judge {'--stack ' + stack + ' ' if stack else ''}--end-time "
                f"{window['end']} --window-minutes {minutes} --period-seconds {request.period_seconds} ...")
    finish(result.report, report)


def resolve_from_outputs(request: JudgeRequest, clients: Any, load_balancer: str,
                         target_groups: list[str]) -> JudgeRequest | Report:
    """The stack outputs name the load balancer and the target-group pair; the listener's weights say which of
    the two is the canary right now. No canary in progress: an INCONCLUSIVE report."""
    from dataclasses import replace

    from runtime.canary.judge import KIND
    from runtime.canary.metrics_source import AlbTargets, MetricsUnavailable, resolve_canary_target_groups
    from runtime.report import inconclusive

    try:
        baseline, canary = resolve_canary_target_groups(clients("elbv2"), target_groups)
    except MetricsUnavailable as exc:
        result = Report(kind=KIND, subject=dict(request.subject))
        result.add(inconclusive("targets", str(exc)))
        return result
    subject = {**request.subject, "baseline": baseline, "canary": canary}
    return replace(request, source=replace(request.source, albs=AlbTargets(load_balancer, baseline, canary)),
                   subject=subject)
