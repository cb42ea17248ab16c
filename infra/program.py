"""The program: load and validate the stack config, build the providers, compose the components, export.

The serving half lives in `infra/serving.py`, the delivery half (pipeline, monitoring jobs) in `infra/delivery.py`.

Config is validated before anything is registered: an invalid stack fails with every bad key path listed and
creates nothing.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.defaults import ELB_LEGACY_LOG_REGIONS
from components.network.network import Network, NetworkArgs
from components.registry.image_repository import (
    ImageRepository,
    ImageRepositoryArgs,
    ImageSource,
    pipeline_repository,
)
from components.storage.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.tracking.tracking_server import TrackingServer, TrackingServerArgs
from infra.delivery import deliver, stage_users
from infra.serving import serve
from runtime import stack_outputs as out
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
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id

    network = build_network(cfg, opts)
    store = build_storage(cfg, opts, provider=provider, account_id=account_id)
    repository, images = build_registry(cfg, opts, store=store, provider=provider)
    tracking = build_tracking(cfg, opts, store=store, network=network, account_id=account_id)
    alarm_topic = None
    if cfg.serving_enabled:
        alarm_topic = serve(cfg, opts, network=network, store=store, images=images, account_id=account_id)
    else:
        pulumi.log.warn("serving is not created: `ml-cicd:model.imageDigest` is not set. Pin the serving image "
                        "digest (the pipeline's package stage prints it) to create the model service.")
    deliver(cfg, opts, store=store, images=images, repository=repository, tracking=tracking, network=network,
            account_id=account_id, alarm_topic_arn=alarm_topic)

    # Exports (names shared with the runtime through runtime/stack_outputs.py) --------------------------------
    pulumi.export(out.VPC_ID, network.vpc_id)
    pulumi.export(out.PRIVATE_SUBNET_IDS, network.private_subnet_ids)
    pulumi.export(out.DATA_BUCKET, store.data_bucket)
    pulumi.export(out.MODELS_BUCKET, store.models_bucket)
    pulumi.export(out.PIPELINE_BUCKET, store.pipeline_bucket)
    pulumi.export(out.LOG_BUCKET, store.log_bucket)
    pulumi.export(out.KMS_KEY_ARN, store.kms_key_arn)
    pulumi.export(out.IMAGE_REPOSITORY_URL, images.repository_url)
    pulumi.export(out.IMAGE_REPOSITORY_ARN, images.repository_arn)
    pulumi.export(out.MODEL_NAME, cfg.model.name)
    pulumi.export(out.MODEL_VERSION, cfg.model.version)
    pulumi.export(out.IMAGE_DIGEST, cfg.model.image_digest)


def build_network(cfg: StackConfig, opts: pulumi.ResourceOptions) -> Network:
    """The VPC and subnets (before everything that needs subnets)."""
    net = cfg.network
    return Network("network", NetworkArgs(
        mode=net.mode, cidr=net.cidr, az_count=net.az_count, egress=net.egress, region=cfg.region,
        private_subnet_ids=list(net.private_subnet_ids), public_subnet_ids=list(net.public_subnet_ids),
        public_subnets=not cfg.serving.load_balancer.internal, vpc_id=net.vpc_id,
    ), opts)


def build_storage(cfg: StackConfig, opts: pulumi.ResourceOptions, *, provider: aws.Provider,
                  account_id: pulumi.Output[str]) -> ArtifactStore:
    """The buckets with their key."""
    elb_account_arn = (aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(provider=provider)).arn
                       if cfg.region in ELB_LEGACY_LOG_REGIONS else None)
    return ArtifactStore("artifacts", ArtifactStoreArgs(
        force_destroy=cfg.storage.force_destroy,
        protect=cfg.is_production or cfg.pipeline is not None,  # the pipeline's: evidence and champion records
        noncurrent_version_days=cfg.storage.noncurrent_version_days,
        access_log_days=cfg.storage.access_log_days,
        account_id=account_id,
        elb_account_arn=elb_account_arn,
        kms_key_arn=cfg.storage.kms_key_arn,
    ), opts)


def build_registry(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore,
                   provider: aws.Provider) -> tuple[ImageRepository | None, ImageSource]:
    """The serving image repository this stack creates (the pipeline pushes there when this stack hosts it), or
    none when `registry.imageRepositoryArn` names the pipeline stack's; and where the serving image comes from."""
    arn = cfg.registry.image_repository_arn
    if arn is not None:
        partition = aws.get_partition(opts=pulumi.InvokeOptions(provider=provider))
        return None, pipeline_repository(arn, partition.dns_suffix)
    repository = ImageRepository("serving-images", ImageRepositoryArgs(
        kms_key_arn=store.kms_key_arn,
        mutable_tags=cfg.registry.mutable_tags,
        scan_on_push=cfg.registry.scan_on_push,
        untagged_expiry_days=cfg.registry.untagged_expiry_days,
        max_tagged_images=cfg.registry.max_tagged_images,
        protect=cfg.is_production or cfg.pipeline is not None,  # the pipeline's holds what production serves
    ), opts)
    return repository, repository.source()


def build_tracking(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore, network: Network,
                   account_id: pulumi.Output[str]) -> TrackingServer | None:
    """The MLflow tracking server and its exports; none in mode `external`, which uses the pipeline stack's server
    and exports its URI as this stack's `trackingUri` (the config refuses that mode beside `pipeline`)."""
    if cfg.tracking.mode == "external":
        if cfg.tracking.external is None:
            raise pulumi.RunError("ml-cicd:tracking.external: mode `external` requires `external.uri`, the URL of "
                                  "the pipeline stack's MLflow")
        pulumi.export(out.TRACKING_URI, cfg.tracking.external.uri)
        return None
    tracking = TrackingServer("tracking", TrackingServerArgs(
        config=cfg.tracking, production=cfg.is_production, account_id=account_id, region=cfg.region,
        models_bucket=store.models_bucket, models_bucket_arn=store.models_bucket_arn, kms_key_arn=store.kms_key_arn,
        log_bucket=store.log_bucket, log_retention_days=cfg.log_retention_days, vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr, private_subnet_ids=network.private_subnet_ids,
        stage_users=stage_users(cfg, pulumi.get_stack()),
    ), opts)
    pulumi.export(out.TRACKING_URI, tracking.tracking_uri)
    hosted = cfg.tracking.self_hosted
    if hosted is not None:
        pulumi.export(out.TRACKING_LOAD_BALANCER_DNS_NAME, tracking.load_balancer_dns_name)
    if hosted is not None and hosted.auth.mode == "basic":
        pulumi.export(out.TRACKING_ADMIN_SECRET_ARN, tracking.admin_secret_arn)
    if cfg.tracking.mode == "sagemaker":
        pulumi.export(out.TRACKING_SERVER_ARN, tracking.server_arn)
    return tracking
