"""The delivery half of the program: the pipeline, the drift monitor and batch inference, from the stack config.

Called by `infra.program.run` once storage, registry, tracking and network exist; kept apart so the program stays
short. Everything here reads `cfg.pipeline` and `cfg.monitoring`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.data.spark_validation import SparkValidation, SparkValidationArgs
from components.delivery.pipeline import DeliveryPipeline, DeliveryPipelineArgs
from components.delivery.stages import PipelineSpec
from components.monitoring.batch_inference import BatchInference, BatchInferenceArgs
from components.monitoring.drift_monitor import DriftMonitor, DriftMonitorArgs
from components.monitoring.scheduled_job import JobSettings
from components.network.network import Network
from components.registry.image_repository import ImageRepository
from components.storage.artifact_store import ArtifactStore
from components.tracking.tracking_server import TrackingServer
from infra import outputs as out
from runtime.config import StackConfig


def deliver(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore, images: ImageRepository,
            tracking: TrackingServer, network: Network, account_id: pulumi.Input[str],
            alarm_topic_arn: pulumi.Input[str] | None) -> None:
    pipeline_cfg = cfg.pipeline
    if pipeline_cfg is None:
        if cfg.monitoring.drift.enabled:
            pulumi.log.warn("the drift monitor is not created: its job runs `mlcicd` from the repository in "
                            "`ml-cicd:pipeline`; configure `pipeline` or set `monitoring.drift.enabled: false`")
        return
    stack = pulumi.get_stack()
    buckets = {"data": store.data_bucket, "models": store.models_bucket, "pipeline": store.pipeline_bucket}
    bucket_arns = {"data": store.data_bucket_arn, "models": store.models_bucket_arn,
                   "pipeline": store.pipeline_bucket_arn}
    retention = pipeline_cfg.log_retention_days or cfg.log_retention_days
    secrets = {"github_token": pipeline_cfg.github_token_secret_arn}
    if pipeline_cfg.pulumi_access_token_secret_arn:
        secrets["pulumi_token"] = pipeline_cfg.pulumi_access_token_secret_arn
    if pipeline_cfg.pulumi_passphrase_secret_arn:
        secrets["pulumi_passphrase"] = pipeline_cfg.pulumi_passphrase_secret_arn

    # MLflow credentials (self-hosted with basic auth: the admin secret's JSON keys) ------------------------------
    hosted = cfg.tracking.self_hosted
    credentials: dict[str, pulumi.Input[str]] = {}
    secret_arn = None
    if cfg.tracking.mode == "self-hosted" and hosted is not None and hosted.auth.mode == "basic":
        secret_arn = _present(tracking.admin_secret_arn, "tracking admin secret")
        credentials = {"MLFLOW_TRACKING_USERNAME": pulumi.Output.concat(secret_arn, ":username"),
                       "MLFLOW_TRACKING_PASSWORD": pulumi.Output.concat(secret_arn, ":password")}

    delivery = DeliveryPipeline("delivery", DeliveryPipelineArgs(
        spec=PipelineSpec.from_config(cfg, stack), region=cfg.region, account_id=account_id, buckets=buckets,
        bucket_arns=bucket_arns, kms_key_arn=store.kms_key_arn, ecr_repository_arn=images.repository_arn,
        ecr_repository_url=images.repository_url, ecr_repository_name=images.repository_name,
        tracking_uri=tracking.tracking_uri, tracking_credentials=credentials, tracking_secret_arn=secret_arn,
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

    # Scheduled monitoring jobs --------------------------------------------------------------------------------
    settings = JobSettings(
        stack=stack, region=cfg.region, account_id=account_id, repository=pipeline_cfg.repository,
        branch=pipeline_cfg.branch, connection_arn=pipeline_cfg.connection_arn,
        install_command=pipeline_cfg.install_command, kms_key_arn=store.kms_key_arn, buckets=buckets,
        bucket_arns=bucket_arns, python_version=pipeline_cfg.python_version, build_image=pipeline_cfg.build_image,
        compute_type=pipeline_cfg.compute_type, timeout_minutes=pipeline_cfg.timeout_minutes,
        log_retention_days=retention, notification_topic_arn=alarm_topic_arn)
    drift = cfg.monitoring.drift
    submitters = [delivery.role_arns["DataValidate"]]  # roles that submit to the Spark engine, when it is on
    if drift.enabled:
        monitor = DriftMonitor("drift", DriftMonitorArgs(
            settings=settings, model_name=cfg.model.name, schedule=drift.schedule,
            inference_prefix=drift.inference_prefix, reference_profile_key=drift.reference_profile_key,
            alarm_threshold=drift.alarm_threshold, namespace=cfg.alarms.model_quality.namespace,
            alarm_topic_arn=alarm_topic_arn,
            retrain_pipeline_arn=delivery.pipeline_arn if drift.retrain_on_drift else None,
            emr=cfg.data.engine == "spark",
        ), opts)
        pulumi.export(out.DRIFT_ALARM, monitor.alarm_name)
        submitters.append(monitor.job_role_arn)
    if cfg.data.engine == "spark":
        spark_engine(cfg, opts, store=store, account_id=account_id, retention=retention, submitters=submitters)
    batch = cfg.monitoring.batch
    if batch.enabled and cfg.model.image_digest is not None:
        job = BatchInference("batch", BatchInferenceArgs(
            settings=settings, image=pulumi.Output.concat(images.repository_url, "@", cfg.model.image_digest),
            ecr_repository_arn=images.repository_arn, schedule=batch.schedule, input_prefix=batch.input_prefix,
            output_prefix=batch.output_prefix,
        ), opts)
        pulumi.export(out.BATCH_JOB, job.project_name)


def spark_engine(cfg: StackConfig, opts: pulumi.ResourceOptions, *, store: ArtifactStore,
                 account_id: pulumi.Input[str], retention: int, submitters: list[pulumi.Output[str]]) -> None:
    """The data gate's EMR Serverless application; the roles that submit to it get its submit policy."""
    drift = cfg.monitoring.drift
    spark = SparkValidation("data-spark", SparkValidationArgs(
        config=cfg.data.spark, model_name=cfg.model.name, stack=pulumi.get_stack(), account_id=account_id,
        data_bucket=store.data_bucket, data_bucket_arn=store.data_bucket_arn,
        kms_key_arn=store.kms_key_arn, log_retention_days=retention,
        read_prefixes=[cfg.data.spark.training_data_key, drift.inference_prefix, drift.reference_profile_key],
    ), opts)
    for i, role_arn in enumerate(submitters):
        aws.iam.RolePolicyAttachment(f"data-spark-submitter-{i}", policy_arn=spark.submit_policy_arn,
                                     role=role_arn.apply(lambda arn: arn.split("/")[-1]), opts=opts)
    pulumi.export(out.DATA_SPARK_APPLICATION, spark.application_id)


def _present(value: pulumi.Output[str | None], what: str) -> pulumi.Output[str]:
    """An output the tracking mode guarantees (the component sets it in that mode)."""
    def check(v: str | None) -> str:
        if v is None:
            raise ValueError(f"{what} is missing although the tracking mode provides it")
        return v
    return value.apply(check)
