"""Arguments of `mlcicd:delivery:DeliveryPipeline` and their validated form with every default applied, shared by
the component (`pipeline.py`) and its CodeBuild builder (`codebuild.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pulumi

from runtime.config import defaults as cfg_defaults
from runtime.pipeline.model import PipelineSpec


class DeliveryPipelineArgs(TypedDict, total=False):
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
    tracking_secret_arns: Mapping[str, pulumi.Input[str]]
    """Self-hosted MLflow with basic auth: action name -> the Secrets Manager secret (`username`, `password`) of
    that action's own MLflow user. Every action that talks to MLflow needs one then; no action ever gets the
    admin's. Default: none (SageMaker's MLflow authorises IAM calls instead)."""
    tracking_server_arn: pulumi.Input[str] | None
    """SageMaker MLflow tracking server (IAM-authorised). Default None."""
    secrets: Mapping[str, str]
    """Secret name (github_token, pulumi_token, pulumi_passphrase) -> secret ARN. Required: github_token."""
    deploy_role_arn: str
    """Role the Deploy action assumes. Required."""
    pulumi_backend_url: str | None
    """`PULUMI_BACKEND_URL` of the Deploy action. Default None (Pulumi Cloud)."""
    vpc_id: pulumi.Input[str] | None
    """VPC for the actions reaching private endpoints (MLflow, the deployed load balancer). Default None."""
    vpc_cidr: pulumi.Input[str] | None
    """Its CIDR (HTTP egress to internal endpoints). Default None: HTTPS egress only."""
    subnet_ids: pulumi.Input[Sequence[str]] | None
    """Private subnets for those actions. Default None: no action runs in a VPC."""
    notification_topic_arn: pulumi.Input[str] | None
    """SNS topic for failures and pending approvals. Default None: no notification rule."""
    python_version: str
    """CodeBuild Python runtime. Default "3.11"."""
    build_image: str
    """CodeBuild image. Default aws/codebuild/standard:7.0."""
    compute_type: str
    """Compute type of every action but the heavy one. Default BUILD_GENERAL1_SMALL."""
    train_compute_type: str
    """Compute type of Train. Default BUILD_GENERAL1_LARGE."""
    timeout_minutes: int
    """Build timeout. Default 60."""
    train_timeout_minutes: int
    """Train's build timeout. Default 240."""
    log_retention_days: int
    """Build log retention. Default 30."""
    action_policy_arns: Mapping[str, pulumi.Input[str]]
    """Action name -> a managed policy attached to that action's role before its project is created (the Spark
    engine's submit policy on DataValidate with `data.engine: spark`). Default: none."""


#: Keys `of` refuses to run without (the fields of PipelineSettings without a default).
REQUIRED = ("spec", "region", "account_id", "buckets", "bucket_arns", "kms_key_arn", "ecr_repository_arn",
            "ecr_repository_url", "ecr_repository_name", "tracking_uri", "secrets", "deploy_role_arn")


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """The args after validation with every default applied (each default is declared here, once): what the
    builders read, every field typed as present.

    Its fields are the keys of `DeliveryPipelineArgs` (documented there) plus `partition`. Both declare them: Python
    derives neither a TypedDict of optional keys from a dataclass nor the reverse, and the program passes a TypedDict
    like every component's args while the builders read attributes that are never missing. `of` hands every given
    key to the constructor, so a key without a field fails at once; tests/test_delivery_pipeline.py checks that
    the names and the defaults agree."""

    spec: PipelineSpec
    region: str
    account_id: pulumi.Output[str]
    buckets: Mapping[str, pulumi.Input[str]]
    bucket_arns: Mapping[str, pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    ecr_repository_arn: pulumi.Input[str]
    ecr_repository_url: pulumi.Input[str]
    ecr_repository_name: pulumi.Input[str]
    tracking_uri: pulumi.Input[str]
    tracking_secret_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    tracking_server_arn: pulumi.Input[str] | None = None
    secrets: Mapping[str, str]
    deploy_role_arn: str
    pulumi_backend_url: str | None = None
    vpc_id: pulumi.Input[str] | None = None
    vpc_cidr: pulumi.Input[str] | None = None
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    notification_topic_arn: pulumi.Input[str] | None = None
    python_version: str = cfg_defaults.PYTHON_VERSION
    build_image: str = cfg_defaults.BUILD_IMAGE
    compute_type: str = cfg_defaults.COMPUTE_TYPE
    train_compute_type: str = cfg_defaults.TRAIN_COMPUTE_TYPE
    timeout_minutes: int = cfg_defaults.ACTION_TIMEOUT_MINUTES
    train_timeout_minutes: int = cfg_defaults.TRAIN_TIMEOUT_MINUTES
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    action_policy_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    partition: tuple[str, str]
    """ARN partition and endpoint DNS suffix of the stack's region (`aws`, `amazonaws.com`; `aws-cn`,
    `amazonaws.com.cn`; ...), from the provider."""

    @classmethod
    def of(cls, name: str, args: DeliveryPipelineArgs, partition: tuple[str, str]) -> PipelineSettings:
        """Validate `args` (every required key given) and apply the defaults of the keys left out."""
        missing = [k for k in REQUIRED if k not in args]
        if missing:
            raise ValueError(f"DeliveryPipeline {name}: args {', '.join(missing)} required")
        given: dict[str, Any] = dict(args)
        given["account_id"] = pulumi.Output.from_input(given["account_id"])
        return cls(**given, partition=partition)
