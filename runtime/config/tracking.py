"""Config sections for the experiment tracking server (`ml-cicd:tracking`): self-hosted MLflow (Fargate, RDS
PostgreSQL, its own load balancer and authentication), SageMaker's managed MLflow, or no server of the stack's own
(`external`: the MLflow of the stack hosting the pipeline).

Every default is a named constant in `runtime.config.defaults`; the docstring under each field is its reference
documentation (rendered into docs/config-reference.md and the JSON Schema), and states the effective default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator

from runtime.config import defaults as d
from runtime.config.base import ConfigModel
from runtime.config.platform import AcmCertificateArn, Cidr, Hostname

HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]


class OidcConfig(ConfigModel):
    issuer: HttpsUrl
    """Identity provider issuer URL."""
    authorization_endpoint: HttpsUrl
    token_endpoint: HttpsUrl
    user_info_endpoint: HttpsUrl
    client_id: Annotated[str, StringConstraints(min_length=1)]
    client_secret: SecretStr
    """Set with `pulumi config set --secret --path tracking.selfHosted.auth.oidc.clientSecret ...`; never plain
    text in the stack file. Handed to the load balancer as a Pulumi secret."""
    scope: str = "openid"
    """Scopes requested from the identity provider. Default `openid`."""
    session_timeout_seconds: int = Field(default=d.OIDC_SESSION_SECONDS, ge=60, le=604800)
    """How long the load balancer's session cookie stays valid. Default 3600 (one hour; AWS default is 7 days)."""


class TrackingAuthConfig(ConfigModel):
    mode: Literal["basic", "oidc"] = "basic"
    """`basic`: MLflow's basic-auth app, admin credentials generated into Secrets Manager. `oidc`: ALB
    authenticates every request against the identity provider below (needs an HTTPS certificate). There is no
    `none`: a tracking server is never reachable without authentication."""
    admin_username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")] = (
        d.TRACKING_ADMIN_USER)
    """Mode `basic`: the admin user MLflow creates on first start. Default `admin`. Its password is generated
    into the stack's admin secret (Secrets Manager); rotate it with MLflow's update-password API."""
    oidc: OidcConfig | None = None
    """Mode `oidc` only: the identity provider."""


class DatabaseConfig(ConfigModel):
    instance_class: Annotated[str, StringConstraints(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = d.RDS_INSTANCE_CLASS
    """RDS instance class. Default `db.t4g.small`."""
    allocated_storage_gb: int = Field(default=d.RDS_STORAGE_GB, ge=20, le=65536)
    """Storage (GiB). Default 20; storage autoscaling may grow it to 4x."""
    engine_version: str = d.RDS_ENGINE_VERSION
    """PostgreSQL MAJOR version, e.g. `16`. Default `16`. Minor versions are upgraded automatically by RDS
    (`autoMinorVersionUpgrade` is on), so a pinned minor is refused: after AWS upgrades it, `pulumi up` would try a
    downgrade and fail. A major upgrade is a deliberate change of this value."""

    @field_validator("engine_version")
    @classmethod
    def _major_only(cls, value: str) -> str:
        if not value.isdigit():
            major = value.split(".", 1)[0]
            hint = f"`{major}`" if major.isdigit() else "e.g. `16`"
            raise ValueError(f"give the major version only ({hint}): RDS upgrades minor versions automatically, and "
                             "a pinned minor makes `pulumi up` try a downgrade once AWS has upgraded it")
        return value
    backup_retention_days: int = Field(default=d.RDS_BACKUP_DAYS, ge=7, le=35)
    """Automated backups (at least 7 days). Default 7."""
    multi_az: bool | None = None
    """Standby in a second AZ. Default: on in production, off elsewhere; off in production warns."""
    deletion_protection: bool | None = None
    """Default: on in production (with a final snapshot). Turning it off in production warns."""


class SelfHostedTrackingConfig(ConfigModel):
    image: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@sha256:[0-9a-f]{64}$")]
    """MLflow server image pinned by digest (`repo:tag@sha256:...`), e.g. the official
    `ghcr.io/mlflow/mlflow` image or one built into the stack's ECR repository. Required: a tag alone can move.
    The image needs `psycopg2` and `boto3` (PostgreSQL store, S3 artifacts)."""
    cpu: int = Field(default=d.TRACKING_CPU, ge=256, le=16384)
    """Fargate CPU units of the MLflow task. Default 1024."""
    memory: int = Field(default=d.TRACKING_MEMORY, ge=512, le=122880)
    """Fargate memory (MiB) of the MLflow task. Default 2048."""
    desired_count: int = Field(default=1, ge=1, le=10)
    """MLflow tasks behind the load balancer. Default 1."""
    database: DatabaseConfig = DatabaseConfig()
    auth: TrackingAuthConfig = TrackingAuthConfig()
    certificate_arn: AcmCertificateArn | None = None
    """ACM certificate of the tracking ALB: HTTPS on 443 with a TLS 1.3 policy, port 80 only redirects. Required:
    both auth modes put credentials on the wire (basic auth sends the password with every request, OIDC a session
    cookie and tokens), and credentials never travel over plain HTTP, not even inside the VPC."""
    ingress_cidrs: list[Cidr] = []
    """CIDRs allowed to reach the tracking load balancer. Default: the VPC CIDR."""
    ingress_security_group_ids: list[SecurityGroupId] = []
    """Security groups allowed to reach the tracking load balancer (e.g. CodeBuild's). Default: none."""
    hostname: Hostname | None = None
    """DNS name clients use: a record of your domain that you point at the load balancer (alias or CNAME to the
    `trackingLoadBalancerDnsName` output), covered by `certificateArn`. Required: no ACM certificate covers the
    load balancer's own DNS name (`*.elb.amazonaws.com`), so TLS verification of it fails in every MLflow client.
    The tracking URI is `https://<hostname>`, and MLflow accepts it and the load balancer's own DNS name as Host
    header, nothing else (DNS-rebinding protection)."""


class SageMakerTrackingConfig(ConfigModel):
    server_size: Literal["Small", "Medium", "Large"] = "Small"
    """Tracking server size. Default `Small`."""
    mlflow_version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")] = d.SAGEMAKER_MLFLOW_VERSION
    """MLflow version of the managed server. Default `3.0`."""
    automatic_model_registration: bool = True
    """Mirror registered MLflow models into the SageMaker Model Registry. Default true (the server's role may
    then manage model package groups and packages in this account and region only)."""
    weekly_maintenance_window_start: Annotated[str, StringConstraints(
        pattern=r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d$")] | None = None
    """Maintenance window start in UTC, e.g. `Tue:03:30`. Default: chosen by SageMaker."""


class ExternalTrackingConfig(ConfigModel):
    uri: str
    """The `https://` URL of the MLflow this stack uses instead of running one: the tracking server of the stack
    hosting the pipeline, `pulumi stack output trackingUri --stack <that stack>`. Required. Exported unchanged as
    this stack's `trackingUri`."""


class TrackingConfig(ConfigModel):
    mode: Literal["self-hosted", "sagemaker", "external"] = "self-hosted"
    """`self-hosted`: MLflow on Fargate + RDS PostgreSQL behind an internal ALB. `sagemaker`: SageMaker's
    managed MLflow tracking server (IAM/SigV4 authentication). `external`: no tracking server in this stack; it
    uses the one of the stack hosting the pipeline (`external.uri`), where the pipeline registers, gates and
    promotes every version and the champion moves. Refused in the stack hosting the pipeline."""
    artifact_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9/_-]*/$")] = d.MLFLOW_PREFIX
    """Prefix in the models bucket for MLflow artifacts; the server's role is scoped to it. Default `mlflow/`.
    Not with mode `external` (the server's stack sets its own)."""
    self_hosted: SelfHostedTrackingConfig | None = None
    """Settings for mode `self-hosted` (required there: at least `image`)."""
    sagemaker: SageMakerTrackingConfig | None = None
    """Settings for mode `sagemaker`. Default: all defaults below."""
    external: ExternalTrackingConfig | None = None
    """Settings for mode `external` (required there: `uri`)."""
