"""The delivery half of the program: the pipeline, the drift monitor and batch inference, from the stack config.

Called by `infra.program.run` once storage, registry, tracking and network exist; kept apart so the program stays
short. Everything here reads `cfg.pipeline` and `cfg.monitoring`. Only the stack the pipeline deploys hosts it (the
config refuses it elsewhere); the scheduled jobs of another stack check out `monitoring.source` and retrain through
`monitoring.drift.retrainPipelineArn`.
"""

from __future__ import annotations

import pulumi

from components.delivery.pipeline import DeliveryPipeline, DeliveryPipelineArgs
from components.delivery.policies import mlflow_grants, mlflow_username
from components.delivery.stages import Action, PipelineSpec, build_actions, delivery_stages
from components.monitoring.batch_inference import BatchInference, BatchInferenceArgs
from components.monitoring.drift_monitor import DriftMonitor, DriftMonitorArgs
from components.monitoring.scheduled_job import JobSettings
from components.network.network import Network
from components.registry.image_repository import ImageRepository
from components.storage.artifact_store import ArtifactStore
from components.tracking.stage_users import StageUser
from components.tracking.tracking_server import TrackingServer
from infra import outputs as out
from runtime.config import StackConfig
from runtime.config.delivery import (
    ACTION_TIMEOUT_MINUTES,
    BUILD_IMAGE,
    COMPUTE_TYPE,
    PYTHON_VERSION,
    JobSourceConfig,
)


def tracking_actions(cfg: StackConfig, stack: str) -> list[Action]:
    """The pipeline's actions that talk to a self-hosted MLflow with basic auth (each gets its own MLflow user);
    none without a pipeline or with another tracking mode."""
    hosted = cfg.tracking.self_hosted
    if cfg.pipeline is None or cfg.tracking.mode != "self-hosted" or hosted is None or hosted.auth.mode != "basic":
        return []
    stages = delivery_stages(PipelineSpec.from_config(cfg, stack))
    return [action for _, action in build_actions(stages) if action.access.tracking != "none"]


def stage_users(cfg: StackConfig, stack: str) -> list[StageUser]:
    """The MLflow users the tracking server creates for the pipeline's stages, each with its least grants."""
    return [StageUser(mlflow_username(a), mlflow_grants(a, cfg.model.name)) for a in tracking_actions(cfg, stack)]


def deliver(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore, images: ImageRepository,
            tracking: TrackingServer, network: Network, account_id: pulumi.Input[str],
            alarm_topic_arn: pulumi.Input[str] | None) -> None:
    pipeline_cfg = cfg.pipeline
    stack = pulumi.get_stack()
    source = cfg.monitoring.source
    if pipeline_cfg is not None:
        source = JobSourceConfig(repository=pipeline_cfg.repository, branch=pipeline_cfg.branch,
                                 connection_arn=pipeline_cfg.connection_arn,
                                 install_command=pipeline_cfg.install_command)
    if source is None:
        if cfg.monitoring.drift.enabled:
            pulumi.log.warn("the drift monitor is not created: its job runs `mlcicd` from the repository; host the "
                            "`ml-cicd:pipeline` here, set `monitoring.source`, or set `monitoring.drift.enabled: "
                            "false`")
        return
    buckets = {"data": store.data_bucket, "models": store.models_bucket, "pipeline": store.pipeline_bucket}
    bucket_arns = {"data": store.data_bucket_arn, "models": store.models_bucket_arn,
                   "pipeline": store.pipeline_bucket_arn}
    retention = (pipeline_cfg.log_retention_days if pipeline_cfg else None) or cfg.log_retention_days
    pipeline_arn = None
    if pipeline_cfg is not None:
        pipeline_arn = _pipeline(cfg, opts, stack=stack, store=store, images=images, tracking=tracking,
                                 network=network, account_id=account_id, alarm_topic_arn=alarm_topic_arn,
                                 buckets=buckets, bucket_arns=bucket_arns, retention=retention)

    # Scheduled monitoring jobs --------------------------------------------------------------------------------
    # Build settings: the pipeline's, or the pipeline's defaults in a stack that does not host it.
    python_version, build_image, compute_type, timeout = (
        (pipeline_cfg.python_version, pipeline_cfg.build_image, pipeline_cfg.compute_type, pipeline_cfg.timeout_minutes)
        if pipeline_cfg else (PYTHON_VERSION, BUILD_IMAGE, COMPUTE_TYPE, ACTION_TIMEOUT_MINUTES))
    settings = JobSettings(
        stack=stack, region=cfg.region, account_id=account_id, repository=source.repository,
        branch=source.branch, connection_arn=source.connection_arn, install_command=source.install_command,
        kms_key_arn=store.kms_key_arn, buckets=buckets, bucket_arns=bucket_arns, python_version=python_version,
        build_image=build_image, compute_type=compute_type, timeout_minutes=timeout, log_retention_days=retention,
        notification_topic_arn=alarm_topic_arn)
    drift = cfg.monitoring.drift
    if drift.enabled:
        retrain = (pipeline_arn or drift.retrain_pipeline_arn) if drift.retrain_on_drift else None
        monitor = DriftMonitor("drift", DriftMonitorArgs(
            settings=settings, model_name=cfg.model.name, schedule=drift.schedule,
            inference_prefix=drift.inference_prefix, reference_profile_key=drift.reference_profile_key,
            alarm_threshold=drift.alarm_threshold, namespace=cfg.alarms.model_quality.namespace,
            alarm_topic_arn=alarm_topic_arn, retrain_pipeline_arn=retrain,
        ), opts)
        pulumi.export(out.DRIFT_ALARM, monitor.alarm_name)
    batch = cfg.monitoring.batch
    if batch.enabled and cfg.model.image_digest is not None:
        job = BatchInference("batch", BatchInferenceArgs(
            settings=settings, image=pulumi.Output.concat(images.repository_url, "@", cfg.model.image_digest),
            ecr_repository_arn=images.repository_arn, schedule=batch.schedule, input_prefix=batch.input_prefix,
            output_prefix=batch.output_prefix,
        ), opts)
        pulumi.export(out.BATCH_JOB, job.project_name)


def _pipeline(cfg: StackConfig, opts: pulumi.ResourceOptions, *, stack: str, store: ArtifactStore,
              images: ImageRepository, tracking: TrackingServer, network: Network, account_id: pulumi.Input[str],
              alarm_topic_arn: pulumi.Input[str] | None, buckets: dict[str, pulumi.Output[str]],
              bucket_arns: dict[str, pulumi.Output[str]], retention: int) -> pulumi.Output[str]:
    """The delivery pipeline this stack hosts; returns its ARN."""
    pipeline_cfg = cfg.pipeline
    assert pipeline_cfg is not None  # the caller checked
    secrets = {"github_token": pipeline_cfg.github_token_secret_arn}
    if pipeline_cfg.pulumi_access_token_secret_arn:
        secrets["pulumi_token"] = pipeline_cfg.pulumi_access_token_secret_arn
    if pipeline_cfg.pulumi_passphrase_secret_arn:
        secrets["pulumi_passphrase"] = pipeline_cfg.pulumi_passphrase_secret_arn

    # MLflow credentials (self-hosted with basic auth): each action its own stage user, never the admin ---------
    user_secrets: dict[str, pulumi.Input[str]] = {
        a.name: tracking.stage_user_secret_arns[mlflow_username(a)] for a in tracking_actions(cfg, stack)}

    delivery = DeliveryPipeline("delivery", DeliveryPipelineArgs(
        spec=PipelineSpec.from_config(cfg, stack), region=cfg.region, account_id=account_id, buckets=buckets,
        bucket_arns=bucket_arns, kms_key_arn=store.kms_key_arn, ecr_repository_arn=images.repository_arn,
        ecr_repository_url=images.repository_url, ecr_repository_name=images.repository_name,
        tracking_uri=tracking.tracking_uri, tracking_secret_arns=user_secrets,
        tracking_server_arn=_present(tracking.server_arn, "tracking server ARN")
        if cfg.tracking.mode == "sagemaker" else None,
        secrets=secrets, deploy_role_arn=pipeline_cfg.deploy_role_arn,
        pulumi_backend_url=pipeline_cfg.pulumi_backend_url, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
        subnet_ids=network.private_subnet_ids, notification_topic_arn=alarm_topic_arn,
        python_version=pipeline_cfg.python_version, build_image=pipeline_cfg.build_image,
        compute_type=pipeline_cfg.compute_type, train_compute_type=pipeline_cfg.train_compute_type,
        timeout_minutes=pipeline_cfg.timeout_minutes, train_timeout_minutes=pipeline_cfg.train_timeout_minutes,
        log_retention_days=retention,
    ), opts)
    pulumi.export(out.PIPELINE_NAME, delivery.pipeline_name)
    pulumi.export(out.PIPELINE_DEPLOY_ROLE_ARN, delivery.deploy_action_role_arn)
    return delivery.pipeline_arn


def _present(value: pulumi.Output[str | None], what: str) -> pulumi.Output[str]:
    """An output the tracking mode guarantees (the component sets it in that mode)."""
    def check(v: str | None) -> str:
        if v is None:
            raise ValueError(f"{what} is missing although the tracking mode provides it")
        return v
    return value.apply(check)
