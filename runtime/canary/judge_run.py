"""`mlcicd canary judge` and `mlcicd canary probe` from their options: the requests they describe, built from the
stack config, the stack outputs and the command line (every bad value a UsageError naming the option), then a
preflight, then the run. The CLI (runtime/cli/canary_cmd.py) only parses, calls, prints and exits.

Preflight, before a window is spent: AWS credentials and the CloudWatch endpoint (`runtime.aws.check_aws_access`:
exit 2 without usable credentials, 3 when AWS does not answer) and, when probing, the baseline scoring server
(exit 3 when it does not answer: nothing could be compared against it). The canary's server is not checked: a
canary that does not answer is what the judge is there to fail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from runtime.aws import ClientFactory, boto3_clients, check_aws_access, resolve_region
from runtime.errors import EndpointUnavailable, UsageError
from runtime.report import Report
from runtime.stack_outputs import read_stack_outputs
from runtime.timestamps import parse_time

if TYPE_CHECKING:
    from runtime.canary.probe import ProbeRequest, ProbeResult
    from runtime.canary.run import ActSettings, JudgeRequest
    from runtime.config import StackConfig


@dataclass(frozen=True)
class Target:
    """Which model, which variants, where in AWS: shared by the judge and the probe (None: from the stack)."""

    stack: str | None = None
    model: str | None = None
    namespace: str | None = None
    baseline_variant: str = "baseline"
    canary_variant: str = "canary"
    period_seconds: int | None = None
    region: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class ProbeOptions:
    """The probe traffic: two scoring servers, the rows to send and the rate."""

    baseline_url: str
    canary_url: str
    sample_data: Path | None = None
    target_column: str | None = None
    rps: float | None = None
    duration: int | None = None


@dataclass(frozen=True)
class JudgeOptions:
    """`mlcicd canary judge` as given on the command line (None: from the stack, its outputs or the default)."""

    load_balancer: str | None = None
    baseline_target_group: str | None = None
    canary_target_group: str | None = None
    window_minutes: int | None = None
    end_time: str | None = None
    start_time: str | None = None
    """Deployment start (`--start-time`): judge everything since then; INCONCLUSIVE within the bake extends it."""
    until_decided: bool = False
    """`--until-decided`: look every period until PASS, FAIL or the maximum bake, then act once."""
    percentiles: bool = True
    act: bool = False
    cluster: str | None = None
    service: str | None = None
    stack_outputs: Path | None = None
    previous_task_definition: str | None = None
    deployment_id: str | None = None
    codedeploy_application: str | None = None
    codedeploy_group: str | None = None
    on_inconclusive: str = "rollback"
    probe: ProbeOptions | None = None
    """Probe first (`--probe-baseline-url`/`--probe-canary-url`), then judge the window just probed; with
    `until_decided`, window after window until the data decide or the maximum bake is over."""


def probe_options(baseline_url: str | None, canary_url: str | None, *, sample_data: Path | None = None,
                  target_column: str | None = None, rps: float | None = None) -> ProbeOptions | None:
    """`canary judge`'s `--probe-*` options: None when not probing; UsageError for half a probe."""
    if baseline_url is None and canary_url is None:
        if sample_data is not None or target_column is not None or rps is not None:
            raise UsageError("--sample-data, --target-column and --rps shape the probe traffic: give them with "
                             "--probe-baseline-url and --probe-canary-url")
        return None
    if baseline_url is None or canary_url is None:
        raise UsageError("probing needs both --probe-baseline-url and --probe-canary-url")
    return ProbeOptions(baseline_url, canary_url, sample_data=sample_data, target_column=target_column, rps=rps)


def canary_judge(target: Target, options: JudgeOptions, cfg: StackConfig | None) -> Report:
    """Build the judge (and probe) request, check AWS (and the baseline), judge; the report is not finished."""
    from runtime import stack_outputs as out

    outputs = read_stack_outputs(options.stack_outputs)
    if options.on_inconclusive not in ("rollback", "hold"):
        raise UsageError(f"--on-inconclusive {options.on_inconclusive!r}: use `rollback` or `hold`")
    request = build_request(target, options, cfg, outputs, act_settings(target, options, cfg, outputs))
    if options.until_decided and options.end_time is not None:
        raise UsageError("--until-decided looks until a decision from now on: drop --end-time")
    probe_request = None
    if options.probe is not None:
        request, probe_request = probe_judge_requests(target, options, cfg, request, options.probe)
    clients = boto3_clients(resolve_region(target.region, cfg), target.endpoint_url)
    check_aws_access(clients, "canary judge", metrics_namespace=request.source.model_namespace)
    pair = outputs.get(out.SERVING_TARGET_GROUPS)
    if probe_request is None and request.source.albs is None and target.namespace is None and \
            isinstance(pair, dict) and outputs.get(out.SERVING_LOAD_BALANCER):
        resolved = resolve_from_outputs(request, clients, str(outputs[out.SERVING_LOAD_BALANCER]),
                                        [str(v) for v in pair.values()])
        if isinstance(resolved, Report):
            return resolved
        request = resolved
    if probe_request is not None:
        from runtime.canary.probe_judge import judge_with_probe

        check_baseline(probe_request)
        return judge_with_probe(request, probe_request, clients)
    from runtime.canary.run import judge_until_decided, run_canary_judge

    return judge_until_decided(request, clients) if options.until_decided else run_canary_judge(request, clients)


def probe_judge_requests(target: Target, options: JudgeOptions, cfg: StackConfig | None, request: JudgeRequest,
                         probe: ProbeOptions) -> tuple[JudgeRequest, ProbeRequest]:
    """The judge and probe requests of `canary judge --probe-*`: windows of `windowMinutes`, the judge's periods;
    a bake of one window, or with `--until-decided` of the maximum bake (whose probe `maxRequests` must cover)."""
    from runtime.canary.probe_judge import check_bake

    if options.start_time is not None:
        raise UsageError("--probe-* starts its bake with the first window it probes: drop --start-time")
    if request.source.albs is not None or options.end_time is not None:
        raise UsageError("--probe-* judges the windows it has just probed, from the model namespace: drop "
                         "--end-time and the load-balancer options")
    cfg_judge = request.config
    probe_request = build_probe_request(target, replace(probe, duration=cfg_judge.window_minutes * 60), cfg,
                                        model=request.source.model_name, namespace=request.source.model_namespace,
                                        period_seconds=cfg_judge.period_seconds,
                                        url_options=("--probe-baseline-url", "--probe-canary-url"))
    if not options.until_decided:
        request = replace(request, max_bake_minutes=cfg_judge.window_minutes)
    check_bake(request, probe_request)
    return request, probe_request


def canary_probe(target: Target, options: ProbeOptions, cfg: StackConfig | None) -> ProbeResult:
    """Build the probe, check AWS and the baseline, send the traffic and publish what both sides served."""
    from runtime.canary.probe import probe_canary

    request = build_probe_request(target, options, cfg)
    clients = boto3_clients(resolve_region(target.region, cfg), target.endpoint_url)
    check_aws_access(clients, "canary probe", metrics_namespace=request.namespace)
    check_baseline(request)
    return probe_canary(request, clients)


def check_baseline(request: ProbeRequest) -> None:
    """One GET /ping to the baseline: any HTTP answer will do; none at all is EndpointUnavailable (exit 3)."""
    import httpx

    url = f"{request.baseline_url.rstrip('/')}/ping"
    try:
        httpx.get(url, timeout=request.config.request_timeout_seconds, trust_env=False)  # no proxies, as the probe
    except httpx.TransportError as exc:
        raise EndpointUnavailable(f"the baseline at {request.baseline_url} did not answer GET /ping "
                                  f"({type(exc).__name__}: {exc}): nothing to compare the canary against, so no "
                                  "probe traffic was sent") from exc


def act_settings(target: Target, options: JudgeOptions, cfg: StackConfig | None,
                 outputs: dict[str, Any]) -> ActSettings | None:
    """What `--act` does, from the stack config, its outputs and the command line (None without `--act`)."""
    if not options.act:
        return None
    from runtime import stack_outputs as out
    from runtime.canary.run import ActSettings
    from runtime.config.defaults import MODEL_METRICS_NAMESPACE

    serving = cfg.serving if cfg else None
    on_inconclusive: Literal["rollback", "hold"] = "hold" if options.on_inconclusive == "hold" else "rollback"
    settings = ActSettings(
        verdict_namespace=target.namespace or (cfg.alarms.model_quality.namespace if cfg else MODEL_METRICS_NAMESPACE),
        model_name=target.model or (cfg.model.name if cfg else "") or str(outputs.get(out.MODEL_NAME, "")),
        backend=serving.backend if serving else "ecs",
        strategy=serving.canary.strategy if serving else "canary",
        cluster=options.cluster or outputs.get(out.SERVING_CLUSTER),
        service=options.service or outputs.get(out.SERVING_SERVICE),
        previous_task_definition=options.previous_task_definition, deployment_id=options.deployment_id,
        # The stack names the CodeDeploy application and its deployment group alike.
        codedeploy_application=options.codedeploy_application or outputs.get(out.SERVING_DEPLOYMENT_GROUP),
        codedeploy_group=options.codedeploy_group or outputs.get(out.SERVING_DEPLOYMENT_GROUP),
        on_inconclusive=on_inconclusive)
    if not settings.model_name:
        raise UsageError("--act needs the model name: pass --model NAME or --stack S")
    return settings


def _override(model: Any, values: dict[str, Any], options: dict[str, str]) -> Any:
    """`model` (a config section) with command-line values, validated like the stack file; UsageError naming the
    option otherwise."""
    from pydantic import ValidationError

    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return model
    try:
        return type(model).model_validate({**model.model_dump(mode="json"), **given})
    except ValidationError as exc:
        first = exc.errors()[0]
        option, value = options[str(first["loc"][0])], first["input"]
        raise UsageError(f"{option} {value:g}: {first['msg']}" if isinstance(value, float) else
                         f"{option} {value!r}: {first['msg']}") from None


def build_request(target: Target, options: JudgeOptions, cfg: StackConfig | None, outputs: dict[str, Any],
                  act: ActSettings | None) -> JudgeRequest:
    from runtime import stack_outputs as out
    from runtime.canary.judge import QualityRule
    from runtime.canary.metrics_source import AlbTargets, MetricSource
    from runtime.canary.run import JudgeRequest
    from runtime.config.checks import CanaryJudgeConfig
    from runtime.config.defaults import MODEL_METRICS_NAMESPACE, MODEL_QUALITY_METRIC

    model_name = target.model or (cfg.model.name if cfg else None) or outputs.get(out.MODEL_NAME)
    if not model_name:
        raise UsageError("no model name: pass --model NAME or --stack S")
    baseline_tg, canary_tg = options.baseline_target_group, options.canary_target_group
    load_balancer = options.load_balancer or (outputs.get(out.SERVING_LOAD_BALANCER) if (baseline_tg or canary_tg)
                                              else None)
    alb = {"--load-balancer": load_balancer, "--baseline-target-group": baseline_tg,
           "--canary-target-group": canary_tg}
    given = [k for k, v in alb.items() if v]
    if given and target.namespace:
        raise UsageError(f"choose one source: {', '.join(given)} (load balancer) or --namespace (custom metrics)")
    if given and len(given) < len(alb):
        missing = [k for k, v in alb.items() if not v]
        raise UsageError(f"the load-balancer source needs {', '.join(missing)} too (target group and load "
                         "balancer arn suffixes, e.g. targetgroup/name/0123456789abcdef)")
    judge = _override(cfg.serving.canary.judge if cfg else CanaryJudgeConfig(),
                      {"windowMinutes": options.window_minutes, "periodSeconds": target.period_seconds},
                      {"windowMinutes": "--window-minutes", "periodSeconds": "--period-seconds"})
    alarm = cfg.alarms.model_quality if cfg else None
    quality = QualityRule.from_alarm(alarm) if alarm else QualityRule()
    albs = AlbTargets(load_balancer, baseline_tg, canary_tg) if (load_balancer and baseline_tg and canary_tg) else None
    source = MetricSource(model_name=model_name, albs=albs, percentiles=options.percentiles,
                          baseline_variant=target.baseline_variant, canary_variant=target.canary_variant,
                          model_namespace=target.namespace or (alarm.namespace if alarm else MODEL_METRICS_NAMESPACE),
                          quality_metric=alarm.metric_name if alarm else MODEL_QUALITY_METRIC)
    subject = {"model": model_name, "version": cfg.model.version if cfg else None, "stack": target.stack,
               "baseline": baseline_tg or target.baseline_variant, "canary": canary_tg or target.canary_variant}
    start, end = parse_time(options.start_time, "--start-time"), parse_time(options.end_time, "--end-time")
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--start-time {options.start_time} is not before --end-time {options.end_time}")
    bake = judge.bake_limit_minutes(cfg.serving.canary.bake_minutes if cfg else 0)
    return JudgeRequest(source=source, config=judge, quality=quality, end=end, subject=subject, act=act, start=start,
                        max_bake_minutes=bake)


def build_probe_request(target: Target, options: ProbeOptions, cfg: StackConfig | None, *,
                        model: str | None = None, namespace: str | None = None, period_seconds: int | None = None,
                        url_options: tuple[str, str] = ("--baseline-url", "--canary-url")) -> ProbeRequest:
    """The probe from the stack config and the command line; every bad value is a UsageError (exit 2)."""
    from runtime.canary.probe import ProbeRequest, read_sample, sample_from_payloads, validate_probe
    from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
    from runtime.config.platform import ModelQualityAlarmConfig

    probe_cfg = _override(cfg.serving.canary.probe if cfg else CanaryProbeConfig(), {"rps": options.rps},
                          {"rps": "--rps"})
    judge_cfg = _override(cfg.serving.canary.judge if cfg else CanaryJudgeConfig(),
                          {"periodSeconds": period_seconds or target.period_seconds},
                          {"periodSeconds": "--period-seconds"})
    model_name = model or target.model or (cfg.model.name if cfg else None)
    if not model_name:
        raise UsageError("no model name: pass --model NAME or --stack S")
    if options.target_column is not None and options.sample_data is None:
        raise UsageError("--target-column names the label column of --sample-data: give the file too")
    if options.target_column is not None and cfg is not None and cfg.gates.task == "regression":
        raise UsageError(f"--target-column {options.target_column!r}: the probe's quality metric is the share of "
                         "predictions equal to the label (classification); gates.task is regression, where that "
                         "share is meaningless: drop --target-column (errors, latency and predictions are judged)")
    if options.sample_data is not None:
        sample = read_sample(options.sample_data, options.target_column)
    elif cfg is not None and cfg.smoke.sample_payloads:
        sample = sample_from_payloads(cfg.smoke.sample_payloads)
    else:
        raise UsageError("no probe payloads: pass --sample-data FILE (Parquet or CSV; --target-column adds the "
                         "quality metric) or set smoke.samplePayloads in the stack")
    alarm = cfg.alarms.model_quality if cfg else ModelQualityAlarmConfig()
    request = ProbeRequest(
        baseline_url=options.baseline_url, canary_url=options.canary_url, sample=sample, model_name=model_name,
        namespace=namespace or target.namespace or alarm.namespace, quality_metric=alarm.metric_name,
        baseline_variant=target.baseline_variant, canary_variant=target.canary_variant,
        duration_seconds=options.duration if options.duration is not None else judge_cfg.window_minutes * 60,
        period_seconds=judge_cfg.period_seconds, config=probe_cfg,
        subject={"model": model_name, "version": cfg.model.version if cfg else None, "stack": target.stack,
                 "baseline": target.baseline_variant, "canary": target.canary_variant})
    return validate_probe(request, url_options)


def resolve_from_outputs(request: JudgeRequest, clients: ClientFactory, load_balancer: str,
                         target_groups: list[str]) -> JudgeRequest | Report:
    """The stack outputs name the load balancer and the target-group pair; the listener's weights say which of
    the two is the canary right now. No canary in progress: an INCONCLUSIVE report."""
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
