"""The program: load and validate the stack config, build the providers, compose the components, export.

Config is validated before anything is registered: an invalid stack fails with every bad key path listed and
creates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.defaults import ELB_LEGACY_LOG_REGIONS
from components.network.network import Network, NetworkArgs
from components.observability.canary_alarms import CanaryAlarms, CanaryAlarmsArgs
from components.registry.image_repository import ImageRepository, ImageRepositoryArgs
from components.serving.model_service import ModelService, ModelServiceArgs
from components.storage.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.tracking.tracking_server import TrackingServer, TrackingServerArgs
from infra import outputs as out
from infra.capture import build_capture, capture_settings, capture_stream_arn
from infra.delivery import deliver
from infra.shadow import build_shadow, mirror_settings
from runtime.config import ConfigError, LoadedConfig, StackConfig, load_from_pulumi

#: Sections whose secret values the program keeps secret (SecretStr fields are wrapped where they are used).
SECRET_AWARE_SECTIONS = frozenset({"tags", "tracking"})


def load_config() -> LoadedConfig:
    try:
        loaded = load_from_pulumi()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from exc
    for advice in loaded.advice:
        pulumi.log.warn(f"security default overridden: {advice.render()}")
    for key in sorted(loaded.secret_keys - SECRET_AWARE_SECTIONS):
        pulumi.log.warn(f"ml-cicd:{key} is stored as a secret, but none of its values is secret by nature: they "
                        "appear in resource inputs as plain text. Store it without --secret.")
    return loaded


def aws_provider(loaded: LoadedConfig) -> aws.Provider:
    cfg = loaded.config
    tags: pulumi.Input[dict[str, str]] = {**cfg.tags, "ml-cicd:stack": pulumi.get_stack(),
                                          "ml-cicd:environment": cfg.environment}
    if "tags" in loaded.secret_keys:
        tags = pulumi.Output.secret(tags)
    return aws.Provider("aws", region=cfg.region,  # type: ignore[arg-type]  # region is a str-valued enum input
                        default_tags=aws.ProviderDefaultTagsArgs(tags=tags))


def run() -> None:
    loaded = load_config()
    cfg = loaded.config
    provider = aws_provider(loaded)
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    elb_account_arn = (aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(provider=provider)).arn
                       if cfg.region in ELB_LEGACY_LOG_REGIONS else None)

    # Network (before everything that needs subnets) -------------------------------------------------------------
    net = cfg.network
    network = Network("network", NetworkArgs(
        mode=net.mode, cidr=net.cidr, az_count=net.az_count, egress=net.egress, region=cfg.region,
        private_subnet_ids=list(net.private_subnet_ids), public_subnet_ids=list(net.public_subnet_ids),
        public_subnets=not cfg.serving.load_balancer.internal,
        **({"vpc_id": net.vpc_id} if net.vpc_id else {}),
    ), opts)

    # Storage and registry ------------------------------------------------------------------------------------
    store = ArtifactStore("artifacts", ArtifactStoreArgs(
        force_destroy=cfg.storage.force_destroy,
        protect=cfg.is_production,
        noncurrent_version_days=cfg.storage.noncurrent_version_days,
        access_log_days=cfg.storage.access_log_days,
        account_id=identity.account_id,
        elb_account_arn=elb_account_arn,
        **({"kms_key_arn": cfg.storage.kms_key_arn} if cfg.storage.kms_key_arn else {}),
    ), opts)
    images = ImageRepository("serving-images", ImageRepositoryArgs(
        kms_key_arn=store.kms_key_arn,
        mutable_tags=cfg.registry.mutable_tags,
        scan_on_push=cfg.registry.scan_on_push,
        untagged_expiry_days=cfg.registry.untagged_expiry_days,
        max_tagged_images=cfg.registry.max_tagged_images,
        protect=cfg.is_production,
    ), opts)

    # MLflow tracking server ------------------------------------------------------------------------------------
    tracking = TrackingServer("tracking", TrackingServerArgs(
        config=cfg.tracking, production=cfg.is_production, account_id=identity.account_id, region=cfg.region,
        models_bucket=store.models_bucket, models_bucket_arn=store.models_bucket_arn, kms_key_arn=store.kms_key_arn,
        log_bucket=store.log_bucket, log_retention_days=cfg.log_retention_days, vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr, private_subnet_ids=network.private_subnet_ids,
    ), opts)
    pulumi.export(out.TRACKING_URI, tracking.tracking_uri)
    hosted = cfg.tracking.self_hosted
    if hosted is not None and hosted.auth.mode == "basic":
        pulumi.export(out.TRACKING_ADMIN_SECRET_ARN, tracking.admin_secret_arn)
    if cfg.tracking.mode == "sagemaker":
        pulumi.export(out.TRACKING_SERVER_ARN, tracking.server_arn)

    # Serving and its rollback alarms ---------------------------------------------------------------------------
    alarm_topic = None
    if cfg.serving_enabled:
        alarm_topic = serve(cfg, opts, network=network, store=store, images=images, account_id=identity.account_id)
    else:
        pulumi.log.warn("serving is not created: `ml-cicd:model.imageDigest` is not set. Pin the serving image "
                        "digest (the pipeline's package stage prints it) to create the model service.")

    # Delivery pipeline, drift monitor, batch inference ---------------------------------------------------------
    deliver(cfg, opts, store=store, images=images, tracking=tracking, network=network,
            account_id=identity.account_id, alarm_topic_arn=alarm_topic)

    # Exports (names shared with the runtime through infra/outputs.py) ----------------------------------------
    pulumi.export(out.VPC_ID, network.vpc_id)
    pulumi.export(out.PRIVATE_SUBNET_IDS, network.private_subnet_ids)
    pulumi.export(out.DATA_BUCKET, store.data_bucket)
    pulumi.export(out.MODELS_BUCKET, store.models_bucket)
    pulumi.export(out.PIPELINE_BUCKET, store.pipeline_bucket)
    pulumi.export(out.LOG_BUCKET, store.log_bucket)
    pulumi.export(out.KMS_KEY_ARN, store.kms_key_arn)
    pulumi.export(out.IMAGE_REPOSITORY_URL, images.repository_url)
    pulumi.export(out.MODEL_NAME, cfg.model.name)
    pulumi.export(out.MODEL_VERSION, cfg.model.version)
    pulumi.export(out.IMAGE_DIGEST, cfg.model.image_digest)


def serve(cfg: StackConfig, opts: pulumi.ResourceOptions, *, network: Network, store: ArtifactStore,
          images: ImageRepository, account_id: pulumi.Output[str]) -> pulumi.Output[str] | None:
    """The model service and the canary alarms it rolls back on (created once the load balancer exists). Returns
    the alarm topic (the delivery pipeline and the drift monitor notify it), or None without canary alarms."""
    serving, alarms = cfg.serving, cfg.alarms
    lb, canary, scaling = serving.load_balancer, serving.canary, serving.autoscaling
    assert cfg.model.image_digest is not None  # guaranteed by cfg.serving_enabled

    def rollback_alarms(lb_suffix: pulumi.Output[str] | None,
                        group_suffixes: Sequence[pulumi.Output[str]]) -> CanaryAlarms:
        quality = alarms.model_quality
        return CanaryAlarms("canary-alarms", CanaryAlarmsArgs(
            model_name=cfg.model.name, account_id=account_id, region=cfg.region,
            load_balancer_arn_suffix=lb_suffix, target_group_arn_suffixes=list(group_suffixes),
            error_rate_percent=alarms.error_rate_percent, min_requests=alarms.min_requests,
            p99_latency_ms=alarms.p99_latency_ms, period_seconds=alarms.period_seconds,
            evaluation_periods=alarms.evaluation_periods, datapoints_to_alarm=alarms.datapoints_to_alarm,
            quality_namespace=quality.namespace, quality_metric_name=quality.metric_name,
            quality_threshold=quality.threshold, quality_comparison=quality.comparison,
            emails=list(alarms.emails)), opts)

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
        rollback_alarms=rollback_alarms,
        region=cfg.region, account_id=account_id,
        vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr, private_subnet_ids=network.private_subnet_ids,
        public_subnet_ids=network.public_subnet_ids, internal=lb.internal,
        certificate_arn=lb.certificate_arn if lb.protocol == "HTTPS" else None,
        ingress_cidrs=list(lb.ingress_cidrs), ingress_security_group_ids=list(lb.ingress_security_group_ids),
        deletion_protection=cfg.deletion_protection, log_bucket=store.log_bucket,
        log_retention_days=cfg.log_retention_days, kms_key_arn=store.kms_key_arn,
        models_bucket_arn=store.models_bucket_arn, model_artifact_prefix=cfg.tracking.artifact_prefix,
        metrics_namespace=alarms.model_quality.namespace, eks=serving.eks,
        capture=capture, capture_stream_arn=stream,
    ), opts)
    topic = service.alarms.topic_arn if isinstance(service.alarms, CanaryAlarms) else None
    if capture is not None:
        build_capture(cfg, capture, opts, store=store, account_id=account_id, alarm_topic_arn=topic)
    if mirror is not None and capture is not None and stream is not None:
        build_shadow(cfg, capture, service, opts, store=store, image_repository_url=images.repository_url,
                     image_repository_arn=images.repository_arn, vpc_id=network.vpc_id,
                     private_subnet_ids=network.private_subnet_ids, account_id=account_id, stream_arn=stream)

    pulumi.export(out.MODEL_ENDPOINT, service.endpoint)
    pulumi.export(out.SERVING_CLUSTER, service.cluster_name)
    pulumi.export(out.SERVING_SERVICE, service.service_name)
    if service.load_balancer_arn_suffix is not None:
        pulumi.export(out.SERVING_LOAD_BALANCER, service.load_balancer_arn_suffix)
        pulumi.export(out.SERVING_TARGET_GROUPS, service.target_group_arn_suffixes)
        pulumi.export(out.SERVING_LOG_GROUP, service.log_group_name)
    if service.deployment_group_name is not None:
        pulumi.export(out.SERVING_DEPLOYMENT_GROUP, service.deployment_group_name)
    if isinstance(service.alarms, CanaryAlarms):
        pulumi.export(out.ROLLBACK_ALARMS, service.alarms.rollback_alarm_names)
        pulumi.export(out.ROLLBACK_COMPOSITE_ALARM, service.alarms.composite_alarm_name)
        pulumi.export(out.ALARM_TOPIC_ARN, service.alarms.topic_arn)
        return service.alarms.topic_arn
    return None
