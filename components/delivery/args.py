"""Arguments of `mlcicd:delivery:DeliveryPipeline`, with every default beside its field, shared by the component
(`pipeline.py`) and its CodeBuild builder (`codebuild.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from runtime.config import defaults as cfg_defaults
from runtime.pipeline.model import PipelineSpec


@dataclass(frozen=True, kw_only=True)
class DeliveryPipelineArgs:
    """What the pipeline is built from. Each default is set here, once, beside its field; a field without one
    is required (the constructor names a missing one)."""

    spec: PipelineSpec
    """The stage list's inputs (from `StackConfig.pipeline`). Required."""
    region: str
    """Region of the stack. Required."""
    account_id: pulumi.Input[str]
    """This account (roles' confused-deputy conditions, ARNs). Required."""
    buckets: Mapping[str, pulumi.Input[str]]
    """Bucket role (data, models, pipeline) -> bucket name. Required."""
    bucket_arns: Mapping[str, pulumi.Input[str]]
    """Bucket role -> bucket ARN. Required."""
    kms_key_arn: pulumi.Input[str]
    """Stack key: artifacts, build output, bucket objects. Required."""
    ecr_repository_arn: pulumi.Input[str]
    """Serving image repository (the Package action pushes to it). Required."""
    ecr_repository_url: pulumi.Input[str]
    """Its URL. Required."""
    ecr_repository_name: pulumi.Input[str]
    """Its name. Required."""
    tracking_uri: pulumi.Input[str]
    """`MLFLOW_TRACKING_URI` of the tracking actions. Required."""
    tracking_secret_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Self-hosted MLflow with basic auth: action name -> the Secrets Manager secret (`username`, `password`) of
    that action's own MLflow user. Every action that talks to MLflow needs one then; no action ever gets the
    admin's. Default: none (SageMaker's MLflow authorises IAM calls instead)."""
    tracking_server_arn: pulumi.Input[str] | None = None
    """SageMaker MLflow tracking server (IAM-authorised). Default None."""
    secrets: Mapping[str, str]
    """Secret name (github_token, pulumi_token, pulumi_passphrase) -> secret ARN. Required: github_token."""
    deploy_role_arn: str
    """Role the Deploy action assumes. Required."""
    pulumi_backend_url: str | None = None
    """`PULUMI_BACKEND_URL` of the Deploy action. Default None (Pulumi Cloud)."""
    vpc_id: pulumi.Input[str] | None = None
    """VPC for the actions reaching private endpoints (MLflow, the deployed load balancer). Default None."""
    vpc_cidr: pulumi.Input[str] | None = None
    """Its CIDR (HTTP egress to internal endpoints). Default None: HTTPS egress only."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Private subnets for those actions. Default None: no action runs in a VPC."""
    notification_topic_arn: pulumi.Input[str] | None = None
    """SNS topic for failures and pending approvals. Default None: no notification rule."""
    python_version: str = cfg_defaults.PYTHON_VERSION
    """CodeBuild Python runtime. Default "3.11"."""
    build_image: str = cfg_defaults.BUILD_IMAGE
    """CodeBuild image. Default aws/codebuild/standard:7.0."""
    compute_type: str = cfg_defaults.COMPUTE_TYPE
    """Compute type of every action but the heavy one. Default BUILD_GENERAL1_SMALL."""
    train_compute_type: str = cfg_defaults.TRAIN_COMPUTE_TYPE
    """Compute type of Train. Default BUILD_GENERAL1_LARGE."""
    timeout_minutes: int = cfg_defaults.ACTION_TIMEOUT_MINUTES
    """Build timeout. Default 60."""
    train_timeout_minutes: int = cfg_defaults.TRAIN_TIMEOUT_MINUTES
    """Train's build timeout. Default 240."""
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    """Build log retention. Default 30."""
    action_policy_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Action name -> a managed policy attached to that action's role before its project is created (the Spark
    engine's submit policy on DataValidate with `data.engine: spark`). Default: none."""
