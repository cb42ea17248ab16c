"""Arguments of `mlcicd:tracking:TrackingServer`, shared by both modes (`self_hosted.py`, `sagemaker.py`), with
every default beside its field.

Kept in their own module so the component imports its mode builders and the builders import the args, with no
import loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components import defaults as d
from components.tracking.stage_users import StageUser
from runtime.config import defaults as cfg_defaults
from runtime.config.tracking import TrackingConfig


@dataclass(frozen=True, kw_only=True)
class TrackingServerArgs:
    """What the tracking server is built from. Each default is set here, once, beside its field; a field without
    one is required (the constructor names a missing one), a field "Required for `self-hosted`" is checked by the
    component in that mode."""

    config: TrackingConfig
    """The stack's `tracking` section. Required."""
    production: bool = d.PRODUCTION_PROTECTIONS
    """Production protections (RDS deletion protection + final snapshot, multi-AZ, ALB deletion protection,
    Pulumi `protect` on the database). Default False."""
    account_id: pulumi.Input[str]
    """Account of the stack (trust-policy conditions, SageMaker resource ARNs). Required."""
    region: str
    """Region of the stack. Required."""
    models_bucket: pulumi.Input[str]
    """Bucket holding MLflow artifacts under `config.artifact_prefix`. Required."""
    models_bucket_arn: pulumi.Input[str]
    """ARN of the models bucket: the server's role is scoped to the artifact prefix in it. Required."""
    kms_key_arn: pulumi.Input[str]
    """Stack KMS key: encrypts the bucket objects, the database, and the secrets. Required."""
    log_bucket: pulumi.Input[str] | None = None
    """Bucket for ALB access logs (prefix `alb/`). Required for `self-hosted`."""
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    """Retention of the server's log group. Default 30."""
    vpc_id: pulumi.Input[str] | None = None
    """VPC of the server and database. Required for `self-hosted`."""
    vpc_cidr: pulumi.Input[str] | None = None
    """Default ingress source of the tracking load balancer. Required for `self-hosted`."""
    private_subnet_ids: pulumi.Input[list[str]] | None = None
    """Subnets of the tasks, the internal load balancer and the database (two AZs at least). Required for
    `self-hosted`."""
    stage_users: list[StageUser] = field(default_factory=list)
    """MLflow users of the pipeline stages, each with its own generated secret and least grants (self-hosted with
    basic auth; see `stage_users.py`). Default []: no stage users."""
