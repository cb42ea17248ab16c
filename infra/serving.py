"""The serving half of the program: the model service, the canary alarms it rolls back on and, with
`monitoring.capture.enabled`, the inference capture its servers write to and, with `serving.shadow.enabled`,
the shadow variant they mirror to, from the stack config. Called by
`infra.program.run` once storage, registry and network exist."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.network.network import Network
from components.observability.canary_alarms import CanaryAlarms, CanaryAlarmsArgs
from components.registry.image_repository import ImageSource
from components.serving.model_service import AlarmFactory, ModelService, ModelServiceArgs
from components.storage.artifact_store import ArtifactStore
from infra.capture import build_capture, capture_settings, capture_stream_arn
from infra.shadow import build_shadow, mirror_settings
from runtime import stack_outputs as out
from runtime.config import StackConfig


def serve(cfg: StackConfig, opts: pulumi.ResourceOptions, *, network: Network, store: ArtifactStore,
          images: ImageSource, account_id: pulumi.Output[str]) -> pulumi.Output[str] | None:
    """The model service and the canary alarms it rolls back on (created once the load balancer exists). Returns
    the alarm topic (the delivery pipeline and the drift monitor notify it), or None without canary alarms."""
    serving, lb, canary, scaling = cfg.serving, cfg.serving.load_balancer, cfg.serving.canary, cfg.serving.autoscaling
    assert cfg.model.image_digest is not None  # guaranteed by cfg.serving_enabled
    capture = capture_settings(cfg)
    stream = capture_stream_arn(cfg, store, account_id) if capture is not None else None
    mirror = mirror_settings(cfg, capture)
    service = ModelService("model", ModelServiceArgs(
        backend=serving.backend, model_name=cfg.model.name, model_version=cfg.model.version,
        image_repository_url=images.repository_url, image_repository_arn=images.repository_arn,
        image_digest=cfg.model.image_digest, port=serving.port, cpu=serving.cpu, memory=serving.memory,
        environment={**serving.environment, **(mirror.to_env() if mirror else {})},
        min_capacity=scaling.min_capacity, max_capacity=scaling.max_capacity,
        target_cpu_percent=scaling.target_cpu_percent, target_requests_per_target=scaling.target_requests_per_target,
        strategy=canary.strategy, canary_percent=canary.percent, linear_step_percent=canary.step_percent,
        bake_minutes=canary.bake_minutes, judge=canary.judge, probe=canary.probe,
        rollback_alarms=rollback_alarm_factory(cfg, opts, account_id),
        region=cfg.region, account_id=account_id,
        vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr, private_subnet_ids=network.private_subnet_ids,
        public_subnet_ids=network.public_subnet_ids, internal=lb.internal,
        certificate_arn=lb.certificate_arn if lb.protocol == "HTTPS" else None, hostname=lb.hostname,
        ingress_cidrs=list(lb.ingress_cidrs), ingress_security_group_ids=list(lb.ingress_security_group_ids),
        deletion_protection=cfg.deletion_protection, log_bucket=store.log_bucket,
        log_retention_days=cfg.log_retention_days, kms_key_arn=store.kms_key_arn,
        metrics_namespace=cfg.alarms.model_quality.namespace, eks=serving.eks,
        capture=capture, capture_stream_arn=stream,
        judge_stack_files=_judge_stack_files(cfg) if serving.backend == "eks" else None,
    ), opts)
    topic = export_serving(service)
    if capture is not None:
        build_capture(cfg, capture, opts, store=store, account_id=account_id, alarm_topic_arn=topic)
    if mirror is not None and capture is not None and stream is not None:
        build_shadow(cfg, capture, service, opts, store=store, image_repository_url=images.repository_url,
                     image_repository_arn=images.repository_arn, vpc_id=network.vpc_id,
                     private_subnet_ids=network.private_subnet_ids, account_id=account_id, stream_arn=stream)
    return topic


def rollback_alarm_factory(cfg: StackConfig, opts: pulumi.ResourceOptions,
                           account_id: pulumi.Output[str]) -> AlarmFactory:
    """Creates `CanaryAlarms` (a sibling of the service) once the load balancer's dimensions exist."""
    alarms, quality = cfg.alarms, cfg.alarms.model_quality

    def create(lb_suffix: pulumi.Output[str] | None, group_suffixes: Sequence[pulumi.Output[str]]) -> CanaryAlarms:
        return CanaryAlarms("canary-alarms", CanaryAlarmsArgs(
            model_name=cfg.model.name, account_id=account_id, region=cfg.region,
            load_balancer_arn_suffix=lb_suffix, target_group_arn_suffixes=list(group_suffixes),
            error_rate_percent=alarms.error_rate_percent, min_requests=alarms.min_requests,
            p99_latency_ms=alarms.p99_latency_ms, period_seconds=alarms.period_seconds,
            evaluation_periods=alarms.evaluation_periods, datapoints_to_alarm=alarms.datapoints_to_alarm,
            quality_namespace=quality.namespace, quality_metric_name=quality.metric_name,
            quality_threshold=quality.threshold, quality_comparison=quality.comparison,
            emails=list(alarms.emails)), opts)

    return create


def export_serving(service: ModelService) -> pulumi.Output[str] | None:
    """The service's outputs under the names the runtime reads; returns the alarm topic, if any."""
    pulumi.export(out.MODEL_ENDPOINT, service.endpoint)
    pulumi.export(out.SERVING_CLUSTER, service.cluster_name)
    pulumi.export(out.SERVING_SERVICE, service.service_name)
    if service.load_balancer_arn_suffix is not None:
        pulumi.export(out.SERVING_LOAD_BALANCER, service.load_balancer_arn_suffix)
        pulumi.export(out.SERVING_TARGET_GROUPS, service.target_group_arn_suffixes)
        pulumi.export(out.SERVING_LOG_GROUP, service.log_group_name)
    if service.load_balancer_dns_name is not None:
        pulumi.export(out.SERVING_LOAD_BALANCER_DNS_NAME, service.load_balancer_dns_name)
    if service.deployment_group_name is not None:
        pulumi.export(out.SERVING_DEPLOYMENT_GROUP, service.deployment_group_name)
    if isinstance(service.alarms, CanaryAlarms):
        pulumi.export(out.ROLLBACK_ALARMS, service.alarms.rollback_alarm_names)
        pulumi.export(out.ROLLBACK_COMPOSITE_ALARM, service.alarms.composite_alarm_name)
        pulumi.export(out.ALARM_TOPIC_ARN, service.alarms.topic_arn)
        return service.alarms.topic_arn
    return None


def _judge_stack_files(cfg: StackConfig) -> dict[str, str]:
    """The stack files the EKS canary judge reads: the config this program was built from, rendered (imported
    here so ECS stacks never load pulumi_kubernetes)."""
    from components.serving.eks_specs import judge_stack_files

    return judge_stack_files(cfg, pulumi.get_project(), pulumi.get_stack())
