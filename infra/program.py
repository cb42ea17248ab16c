"""The program: load and validate the stack config, build the providers, compose the components, export.

Config is validated before anything is registered: an invalid stack fails with every bad key path listed and
creates nothing.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.defaults import ELB_LEGACY_LOG_REGIONS
from components.registry.image_repository import ImageRepository, ImageRepositoryArgs
from components.storage.artifact_store import ArtifactStore, ArtifactStoreArgs
from infra import outputs as out
from runtime.config import ConfigError, LoadedConfig, load_from_pulumi

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

    # Exports (names shared with the runtime through infra/outputs.py) ----------------------------------------
    pulumi.export(out.DATA_BUCKET, store.data_bucket)
    pulumi.export(out.MODELS_BUCKET, store.models_bucket)
    pulumi.export(out.PIPELINE_BUCKET, store.pipeline_bucket)
    pulumi.export(out.LOG_BUCKET, store.log_bucket)
    pulumi.export(out.KMS_KEY_ARN, store.kms_key_arn)
    pulumi.export(out.IMAGE_REPOSITORY_URL, images.repository_url)
    pulumi.export(out.MODEL_NAME, cfg.model.name)
    pulumi.export(out.MODEL_VERSION, cfg.model.version)
    pulumi.export(out.IMAGE_DIGEST, cfg.model.image_digest)
