"""Mode `sagemaker` of `tracking:TrackingServer`: SageMaker's managed MLflow tracking server.

Every call to it is authenticated with IAM (SigV4, the `sagemaker-mlflow` plugin); there is no network listener
of ours to secure. The server's role replaces the "AmazonS3FullAccess" that AWS's documentation suggests with the
artifact prefix of the models bucket, and may manage model package groups only in this account and region.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.aws_common import partition_of
from components.iam import account_trust_policy, document
from components.tracking.args import TrackingServerArgs
from components.tracking.policies import artifact_statements, model_registry_statements
from runtime.config.tracking import SageMakerTrackingConfig


class SageMakerOutputs(NamedTuple):
    tracking_uri: pulumi.Output[str]
    server_arn: pulumi.Output[str | None]


def server_name(project: str, stack: str, name: str) -> str:
    """`<project>-<stack>-<name>`, in SageMaker's alphabet (letters, digits, single hyphens), at most 256."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9-]", "-", f"{project}-{stack}-{name}")).strip("-")[:256]


def build_sagemaker(parent: pulumi.ComponentResource, name: str, args: TrackingServerArgs,
                    settings: SageMakerTrackingConfig) -> SageMakerOutputs:
    config, region = args.config, args.region
    partition, dns_suffix = partition_of(parent)
    child = pulumi.ResourceOptions(parent=parent)
    trust = account_trust_policy("sagemaker.amazonaws.com", args.account_id)
    role = aws.iam.Role(f"{name}-server", assume_role_policy=trust, opts=child)
    register = settings.automatic_model_registration
    policy = aws.iam.RolePolicy(
        f"{name}-server-policy", role=role.id,
        policy=pulumi.Output.all(args.models_bucket_arn, args.kms_key_arn, args.account_id).apply(
            lambda a: document(artifact_statements(a[0], config.artifact_prefix, a[1], region, dns_suffix)
                               + (model_registry_statements(a[2], region, partition) if register else []))),
        opts=child)
    server = aws.sagemaker.MlflowTrackingServer(
        f"{name}-server", tracking_server_name=server_name(pulumi.get_project(), pulumi.get_stack(), name),
        artifact_store_uri=pulumi.Output.concat("s3://", args.models_bucket, "/",
                                                config.artifact_prefix.rstrip("/")),
        role_arn=role.arn, tracking_server_size=settings.server_size, mlflow_version=settings.mlflow_version,
        automatic_model_registration=register,
        weekly_maintenance_window_start=settings.weekly_maintenance_window_start,
        # The role's policy must exist before SageMaker validates access to the artifact store.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]))
    return SageMakerOutputs(tracking_uri=server.tracking_server_url, server_arn=server.arn)
