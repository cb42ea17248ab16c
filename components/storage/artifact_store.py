"""`mlcicd:storage:ArtifactStore`: the stack's S3 buckets.

Creates four buckets: `data` (training and inference data, drift profiles), `models` (MLflow artifacts, gate
reports), `pipeline` (CodePipeline artifacts) and `logs` (S3 server access logs and ALB access logs), plus a
customer-managed KMS key unless one is given.

Security decisions (docs/security.md lists every default and where it is set):
- Block Public Access, all four flags, on every bucket: no opt-out.
- The created key's policy lets the account administer it through IAM and CloudWatch Logs encrypt this account's
  log groups with it (encryption-context condition): every log group of the stack is encrypted with it.
- SSE-KMS with a bucket key on data, models and pipeline; the log bucket uses SSE-S3 because S3 server access
  logs and ALB access logs can only be delivered to SSE-S3 buckets (AWS requirement).
- A bucket policy denying any request without TLS; ACLs off (BucketOwnerEnforced).
- Versioning with expiry of noncurrent versions on data and models; pipeline artifacts expire.
- Access logs of every bucket go to the log bucket.
- `force_destroy` false unless asked; `protect` on data and models in production.
- `log_bucket` resolves only once the log bucket's policy exists: a load balancer or bucket that delivers logs to
  it depends on the policy, so a first `pulumi up` cannot fail with Access Denied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import partition_of
from components.iam import deny_insecure_transport, stack_key_policy
from runtime.config import defaults as cfg_defaults

TYPE = "mlcicd:storage:ArtifactStore"

#: Bucket roles, in the order they are created.
BUCKETS = ("data", "models", "pipeline")


@dataclass(frozen=True, kw_only=True)
class ArtifactStoreArgs:
    """What the buckets are built from: each default beside its field; a field without one is required."""

    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key for the buckets and every log group of the stack (its policy must then let
    `logs.<region>.amazonaws.com` use it for this account's log groups). Default None: a key is created (rotation on)
    whose policy has that grant."""
    force_destroy: bool = cfg_defaults.FORCE_DESTROY
    """Allow deleting non-empty buckets. Default False (security decision)."""
    protect: bool = d.PRODUCTION_PROTECTIONS
    """Pulumi `protect` on data and models buckets and the key. Default False; the program sets it in
    production."""
    noncurrent_version_days: int = cfg_defaults.NONCURRENT_VERSION_DAYS
    """Days noncurrent versions stay in data and models. Default 90."""
    access_log_days: int = cfg_defaults.ACCESS_LOG_DAYS
    """Days access logs stay in the log bucket. Default 365."""
    account_id: pulumi.Input[str]
    """Account that may deliver logs into the log bucket (confused-deputy condition). Required."""
    elb_account_arn: pulumi.Input[str] | None = None
    """Regional ELB account allowed to write ALB access logs (older regions). Default: none; the log delivery
    service principal is always allowed."""


class ArtifactStore(pulumi.ComponentResource):
    data_bucket: pulumi.Output[str]
    data_bucket_arn: pulumi.Output[str]
    models_bucket: pulumi.Output[str]
    models_bucket_arn: pulumi.Output[str]
    pipeline_bucket: pulumi.Output[str]
    pipeline_bucket_arn: pulumi.Output[str]
    log_bucket: pulumi.Output[str]
    log_bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        key_arn = args.kms_key_arn
        if key_arn is None:
            key_arn = _key(self, name, protected, account_id=args.account_id)
        self.kms_key_arn = pulumi.Output.from_input(key_arn)
        logs, log_bucket = _log_bucket(self, name, args)
        made = {role: _data_bucket(self, f"{name}-{role}", role, args, key_arn=key_arn, log_bucket=log_bucket,
                                   protected=protected)
                for role in BUCKETS}

        self.data_bucket, self.data_bucket_arn = made["data"].bucket, made["data"].arn
        self.models_bucket, self.models_bucket_arn = made["models"].bucket, made["models"].arn
        self.pipeline_bucket, self.pipeline_bucket_arn = made["pipeline"].bucket, made["pipeline"].arn
        self.log_bucket, self.log_bucket_arn = log_bucket, logs.arn
        self.register_outputs({
            "dataBucket": self.data_bucket, "modelsBucket": self.models_bucket,
            "pipelineBucket": self.pipeline_bucket, "logBucket": self.log_bucket, "kmsKeyArn": self.kms_key_arn,
        })


def _key(parent: pulumi.Resource, name: str, protected: pulumi.ResourceOptions, *,
         account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The stack key (rotation on, the longest deletion window, CloudWatch Logs may use it) and its alias."""
    partition, dns_suffix = partition_of(parent)
    region = aws.get_region(opts=pulumi.InvokeOptions(parent=parent)).region
    key = aws.kms.Key(f"{name}-key", description=f"ml-cicd {name}: S3 and log encryption",
                      enable_key_rotation=True, deletion_window_in_days=d.KMS_DELETION_WINDOW_DAYS,
                      policy=pulumi.Output.from_input(account_id).apply(
                          lambda acct: stack_key_policy(acct, region, partition, dns_suffix)),
                      opts=protected)
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
                  target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=parent))
    return key.arn


def _log_bucket(parent: pulumi.Resource, name: str,
                args: ArtifactStoreArgs) -> tuple[aws.s3.Bucket, pulumi.Output[str]]:
    """The log bucket (SSE-S3: the only encryption log delivery supports), its expiry, and who may deliver; with
    its name as every deliverer sees it: only once its policy lets them write (ALBs check at creation)."""
    child = pulumi.ResourceOptions(parent=parent)
    logs = _secure_bucket(f"{name}-logs", sse=d.LOG_BUCKET_SSE_ALGORITHM, kms_key_arn=None,
                          force_destroy=args.force_destroy, versioned=False, opts=child)
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-logs-lifecycle", bucket=logs.id,
        rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-logs", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.access_log_days),
            abort_incomplete_multipart_upload=_abort_multipart())],
        opts=child)
    log_policy = aws.s3.BucketPolicy(
        f"{name}-logs-policy", bucket=logs.id,
        policy=pulumi.Output.all(logs.arn, args.account_id, args.elb_account_arn).apply(
            lambda a: _log_bucket_policy(a[0], a[1], a[2])),
        opts=child)
    return logs, pulumi.Output.all(logs.bucket, log_policy.id).apply(lambda a: a[0])


def _data_bucket(parent: pulumi.Resource, name: str, role: str, args: ArtifactStoreArgs, *,
                 key_arn: pulumi.Input[str], log_bucket: pulumi.Input[str],
                 protected: pulumi.ResourceOptions) -> aws.s3.Bucket:
    """Data and models keep their history (versioned, protected in production); pipeline artifacts expire."""
    child = pulumi.ResourceOptions(parent=parent)
    keep_history = role != "pipeline"
    bucket = _secure_bucket(name, sse=d.SSE_ALGORITHM, kms_key_arn=key_arn, force_destroy=args.force_destroy,
                            versioned=keep_history, opts=protected if keep_history else child)
    aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id,
                        policy=bucket.arn.apply(lambda arn: json.dumps(
                            {"Version": "2012-10-17", "Statement": [deny_insecure_transport(arn)]}, sort_keys=True)),
                        opts=child)
    aws.s3.BucketLogging(f"{name}-logging", bucket=bucket.id, target_bucket=log_bucket, target_prefix=f"s3/{role}/",
                         opts=child)
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id,
        rules=[_noncurrent_rule(args.noncurrent_version_days) if keep_history
               else _expire_rule(d.PIPELINE_ARTIFACT_DAYS)],
        opts=child)
    return bucket


def _secure_bucket(name: str, *, sse: str, kms_key_arn: pulumi.Input[str] | None, force_destroy: bool,
                   versioned: bool, opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
    """A bucket with public access blocked, ACLs off, default encryption and (optionally) versioning."""
    bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=opts)
    child = pulumi.ResourceOptions(parent=opts.parent)
    aws.s3.BucketPublicAccessBlock(f"{name}-public-access", bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True,
                                   restrict_public_buckets=True, opts=child)
    aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                   rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                                   opts=child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3
            .BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm=sse, kms_master_key_id=kms_key_arn),
            bucket_key_enabled=sse == d.SSE_ALGORITHM)],
        opts=child)
    if versioned:
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                                    status="Enabled"),
                                opts=child)
    return bucket


def _abort_multipart() -> aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs:
    return aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
        days_after_initiation=d.ABORT_MULTIPART_DAYS)


def _noncurrent_rule(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-noncurrent-versions", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=days),
        abort_incomplete_multipart_upload=_abort_multipart())


def _expire_rule(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-objects", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
        abort_incomplete_multipart_upload=_abort_multipart())


def _log_bucket_policy(bucket_arn: str, account_id: str, elb_account_arn: str | None) -> str:
    """TLS only; S3 server access logs and ALB access logs may write, from this account only."""
    statements: list[dict[str, Any]] = [
        deny_insecure_transport(bucket_arn),
        {"Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/s3/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}},
        {"Sid": "AlbAccessLogs", "Effect": "Allow",
         "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/alb/AWSLogs/{account_id}/*"},
    ]
    if elb_account_arn:
        statements.append({"Sid": "AlbAccessLogsRegionalAccount", "Effect": "Allow",
                           "Principal": {"AWS": elb_account_arn}, "Action": "s3:PutObject",
                           "Resource": f"{bucket_arn}/alb/AWSLogs/{account_id}/*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
