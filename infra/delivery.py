"""The delivery half of the program: the pipeline, the drift monitor and batch inference, from the stack config.

Called by `infra.program.run` once storage, registry, tracking and network exist; kept apart so the program stays
short. Everything here reads `cfg.pipeline` and `cfg.monitoring`. Only the stack the pipeline deploys hosts it (the
config refuses it elsewhere); the scheduled jobs of another stack check out `monitoring.source` and retrain through
`monitoring.drift.retrainPipelineArn`.
"""

from __future__ import annotations

import pulumi

from components.data.spark_validation import SparkValidation, SparkValidationArgs
from components.delivery.pipeline import DeliveryPipeline, DeliveryPipelineArgs
from components.delivery.policies import mlflow_grants, mlflow_username
from components.monitoring.batch_inference import BatchInference, BatchInferenceArgs
from components.monitoring.drift_monitor import DriftMonitor, DriftMonitorArgs
from components.monitoring.scheduled_job import JobSettings
from components.network.network import Network
from components.registry.image_repository import ImageRepository, ImageSource
from components.storage.artifact_store import ArtifactStore
from components.tracking.stage_users import StageUser
from components.tracking.tracking_server import TrackingServer
from runtime import stack_outputs as out
from runtime.config import StackConfig
from runtime.config import defaults as cfg_defaults
from runtime.config.delivery import JobSourceConfig, PipelineConfig
from runtime.pipeline.model import Action, PipelineSpec, build_actions
from runtime.pipeline.steps import delivery_stages


def deliver(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore, images: ImageSource,
            repository: ImageRepository | None, tracking: TrackingServer | None, network: Network,
            account_id: pulumi.Input[str], alarm_topic_arn: pulumi.Input[str] | None) -> None:
    """The pipeline this stack hosts (it pushes to `repository` and logs to `tracking`, both this stack's own: the
    config refuses `registry.imageRepositoryArn` and `tracking.mode: external` beside `pipeline`) and the scheduled
    jobs (they run the image from `images`)."""
    source = job_source(cfg)
    if source is None:
        if cfg.monitoring.drift.enabled:
            pulumi.log.warn("the drift monitor is not created: its job runs `mlcicd` from the repository; host the "
                            "`ml-cicd:pipeline` here, set `monitoring.source`, or set `monitoring.drift.enabled: "
                            "false`")
        return
    # `data.engine: spark`: the application the Validate action submits to, with its policy. The drift job reads a
    # bounded time window of captures on its build machine (`mlcicd monitor drift`).
    submit_policy = spark_engine(cfg, opts, store=store, account_id=account_id) \
        if cfg.data.engine == "spark" else None
    pipeline_arn = None
    if cfg.pipeline is not None:
        if repository is None:
            raise pulumi.RunError("ml-cicd:registry.imageRepositoryArn: this stack hosts the pipeline, which pushes "
                                  "to this stack's own repository; remove `imageRepositoryArn`")
        if tracking is None:
            raise pulumi.RunError("ml-cicd:tracking.mode: this stack hosts the pipeline, whose actions use this "
                                  "stack's own MLflow; set `mode: self-hosted` or `mode: sagemaker`")
        pipeline_arn = build_pipeline(cfg, cfg.pipeline, opts, store=store, images=repository, tracking=tracking,
                                      network=network, account_id=account_id, alarm_topic_arn=alarm_topic_arn,
                                      submit_policy_arn=submit_policy).pipeline_arn
    build_monitoring(cfg, opts, job_settings(cfg, source, store=store, account_id=account_id,
                                             alarm_topic_arn=alarm_topic_arn),
                     images=images, alarm_topic_arn=alarm_topic_arn, pipeline_arn=pipeline_arn)


def job_source(cfg: StackConfig) -> JobSourceConfig | None:
    """Where the scheduled jobs check the repository out: the pipeline's when this stack hosts it, else
    `monitoring.source` (None when neither is set)."""
    p = cfg.pipeline
    if p is None:
        return cfg.monitoring.source
    return JobSourceConfig(repository=p.repository, branch=p.branch, connection_arn=p.connection_arn,
                           install_command=p.install_command)


def job_settings(cfg: StackConfig, source: JobSourceConfig, *, store: ArtifactStore, account_id: pulumi.Input[str],
                 alarm_topic_arn: pulumi.Input[str] | None) -> JobSettings:
    """What the scheduled jobs share: the source, and the pipeline's build settings (its defaults in a stack that
    does not host it)."""
    p = cfg.pipeline
    return JobSettings(
        stack=pulumi.get_stack(), region=cfg.region, account_id=account_id, repository=source.repository,
        branch=source.branch, connection_arn=source.connection_arn, install_command=source.install_command,
        kms_key_arn=store.kms_key_arn, buckets=_buckets(store), bucket_arns=_bucket_arns(store),
        python_version=p.python_version if p else cfg_defaults.PYTHON_VERSION,
        build_image=p.build_image if p else cfg_defaults.BUILD_IMAGE,
        compute_type=p.compute_type if p else cfg_defaults.COMPUTE_TYPE,
        timeout_minutes=p.timeout_minutes if p else cfg_defaults.ACTION_TIMEOUT_MINUTES,
        log_retention_days=_build_log_retention(cfg, p), notification_topic_arn=alarm_topic_arn)


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


def build_pipeline(cfg: StackConfig, pipeline_cfg: PipelineConfig, opts: pulumi.ResourceOptions, *,
                   store: ArtifactStore, images: ImageRepository, tracking: TrackingServer, network: Network,
                   account_id: pulumi.Input[str], alarm_topic_arn: pulumi.Input[str] | None,
                   submit_policy_arn: pulumi.Output[str] | None = None) -> DeliveryPipeline:
    """The delivery pipeline this stack hosts, and its exports. `submit_policy_arn`: the Spark engine's, for the
    Validate action."""
    stack = pulumi.get_stack()
    secrets = {"github_token": pipeline_cfg.github_token_secret_arn}
    if pipeline_cfg.pulumi_access_token_secret_arn:
        secrets["pulumi_token"] = pipeline_cfg.pulumi_access_token_secret_arn
    if pipeline_cfg.pulumi_passphrase_secret_arn:
        secrets["pulumi_passphrase"] = pipeline_cfg.pulumi_passphrase_secret_arn

    # MLflow credentials (self-hosted with basic auth): each action its own stage user, never the admin ---------
    user_secrets: dict[str, pulumi.Input[str]] = {
        a.name: tracking.stage_user_secret_arns[mlflow_username(a)] for a in tracking_actions(cfg, stack)}

    delivery = DeliveryPipeline("delivery", DeliveryPipelineArgs(
        spec=PipelineSpec.from_config(cfg, stack), region=cfg.region, account_id=account_id,
        buckets=_buckets(store), bucket_arns=_bucket_arns(store), kms_key_arn=store.kms_key_arn,
        ecr_repository_arn=images.repository_arn, ecr_repository_url=images.repository_url,
        ecr_repository_name=images.repository_name, tracking_uri=tracking.tracking_uri,
        tracking_secret_arns=user_secrets,
        tracking_server_arn=_present(tracking.server_arn, "tracking server ARN")
        if cfg.tracking.mode == "sagemaker" else None,
        secrets=secrets, deploy_role_arn=pipeline_cfg.deploy_role_arn,
        pulumi_backend_url=pipeline_cfg.pulumi_backend_url, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
        subnet_ids=network.private_subnet_ids, notification_topic_arn=alarm_topic_arn,
        python_version=pipeline_cfg.python_version, build_image=pipeline_cfg.build_image,
        compute_type=pipeline_cfg.compute_type, train_compute_type=pipeline_cfg.train_compute_type,
        timeout_minutes=pipeline_cfg.timeout_minutes, train_timeout_minutes=pipeline_cfg.train_timeout_minutes,
        log_retention_days=_build_log_retention(cfg, pipeline_cfg),
        action_policy_arns={"DataValidate": submit_policy_arn} if submit_policy_arn is not None else {},
    ), opts)
    pulumi.export(out.PIPELINE_NAME, delivery.pipeline_name)
    pulumi.export(out.PIPELINE_DEPLOY_ROLE_ARN, delivery.deploy_action_role_arn)
    return delivery


def build_monitoring(cfg: StackConfig, opts: pulumi.ResourceOptions, settings: JobSettings, *,
                     images: ImageSource, alarm_topic_arn: pulumi.Input[str] | None,
                     pipeline_arn: pulumi.Output[str] | None) -> None:
    """The scheduled drift monitor and batch inference jobs, and their exports. The drift alarm retrains through
    this stack's pipeline (`pipeline_arn`) or the one another stack hosts (`retrainPipelineArn`)."""
    drift = cfg.monitoring.drift
    if drift.enabled:
        retrain = (pipeline_arn or drift.retrain_pipeline_arn) if drift.retrain_on_drift else None
        monitor = DriftMonitor("drift", DriftMonitorArgs(
            settings=settings, model_name=cfg.model.name, schedule=drift.schedule,
            inference_prefix=drift.inference_prefix, reference_profile_key=drift.reference_profile_key,
            alarm_threshold=drift.alarm_threshold, namespace=cfg.alarms.model_quality.namespace,
            alarm_topic_arn=alarm_topic_arn, retrain_pipeline_arn=retrain,
            quality_labels_prefix=cfg.monitoring.quality.labels_prefix if cfg.monitoring.quality.enabled else None,
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


def _buckets(store: ArtifactStore) -> dict[str, pulumi.Input[str]]:
    return {"data": store.data_bucket, "models": store.models_bucket, "pipeline": store.pipeline_bucket}


def _bucket_arns(store: ArtifactStore) -> dict[str, pulumi.Input[str]]:
    return {"data": store.data_bucket_arn, "models": store.models_bucket_arn, "pipeline": store.pipeline_bucket_arn}


def _build_log_retention(cfg: StackConfig, pipeline_cfg: PipelineConfig | None) -> int:
    """Build logs of the pipeline and the jobs: `pipeline.logRetentionDays`, else the stack's retention."""
    return (pipeline_cfg.log_retention_days if pipeline_cfg else None) or cfg.log_retention_days



def spark_engine(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore,
                 account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The data gate's EMR Serverless application and its exports; returns the policy of whoever submits to it."""
    drift = cfg.monitoring.drift
    spark = SparkValidation("data-spark", SparkValidationArgs(
        config=cfg.data.spark, model_name=cfg.model.name, stack=pulumi.get_stack(), account_id=account_id,
        data_bucket=store.data_bucket, data_bucket_arn=store.data_bucket_arn, kms_key_arn=store.kms_key_arn,
        log_retention_days=_build_log_retention(cfg, cfg.pipeline),
        read_prefixes=[cfg.data.spark.training_data_key, drift.inference_prefix, drift.reference_profile_key],
    ), opts)
    pulumi.export(out.DATA_SPARK_APPLICATION, spark.application_id)
    return spark.submit_policy_arn


def _present(value: pulumi.Output[str | None], what: str) -> pulumi.Output[str]:
    """An output the tracking mode guarantees (the component sets it in that mode)."""
    def check(v: str | None) -> str:
        if v is None:
            raise ValueError(f"{what} is missing although the tracking mode provides it")
        return v
    return value.apply(check)
