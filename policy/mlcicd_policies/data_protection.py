"""Encryption everywhere data rests or travels, and the settings the audit found missing: log groups under the
stack's key, KMS use only through the service that needs it, TLS 1.2+ listeners, an RDS engine that minor
upgrades can never make `pulumi up` downgrade."""

from __future__ import annotations

import re

from pulumi_policy import ResourceValidationArgs

from .common import as_list, get, known, parse_json, resource_policy

#: TLS policies of the load balancers that negotiate nothing below TLS 1.2 (ELB user guide, "Security policies").
TLS_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)")
KMS_USE = frozenset({"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                     "kms:GenerateDataKeyWithoutPlaintext"})


def unencrypted(args: ResourceValidationArgs) -> list[str]:
    """What the resource stores or sends unencrypted, per resource type."""
    props = args.props
    checks: dict[str, list[tuple[bool, str]]] = {
        "aws:cloudwatch/logGroup:LogGroup": [
            (bool(props.get("kmsKeyId")), "log group not encrypted with a customer-managed key (kmsKeyId)")],
        "aws:rds/instance:Instance": [
            (props.get("storageEncrypted") is True, "database storage not encrypted (storageEncrypted)")],
        "aws:sns/topic:Topic": [(bool(props.get("kmsMasterKeyId")), "topic not encrypted (kmsMasterKeyId)")],
        "aws:secretsmanager/secret:Secret": [(bool(props.get("kmsKeyId")), "secret not under the stack's key")],
        "aws:ecr/repository:Repository": [
            (any(c.get("encryptionType") in ("KMS", "KMS_DSSE") for c in as_list(
                props.get("encryptionConfigurations"))), "image repository not encrypted with KMS")],
        "aws:codebuild/project:Project": [(bool(props.get("encryptionKey")), "build output not under the "
                                                                             "stack's key (encryptionKey)")],
        "aws:codepipeline/pipeline:Pipeline": [
            (all(get(s, "encryptionKey.id") for s in as_list(props.get("artifactStores"))),
             "pipeline artifacts not under the stack's key")],
        "aws:kms/key:Key": [(props.get("enableKeyRotation") is True, "key rotation off (enableKeyRotation)")],
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
            (all(get(r, "applyServerSideEncryptionByDefault.sseAlgorithm") in ("aws:kms", "aws:kms:dsse", "AES256")
                 for r in as_list(props.get("rules"))) and bool(as_list(props.get("rules"))),
             "bucket without default encryption")],
        "aws:lb/listener:Listener": [
            (props.get("protocol") != "HTTPS" or bool(TLS_POLICY.match(str(props.get("sslPolicy", "")))),
             f"HTTPS listener with policy {props.get('sslPolicy')!r}: use a TLS 1.2+ policy (TLS 1.3 preferred)")],
    }
    return [message for ok, message in checks.get(args.resource_type, []) if not ok]


encryption_on = resource_policy(
    name="encryption-on",
    description="Data at rest under KMS (buckets, log groups, database, secrets, topic, images, build and pipeline "
                "artifacts, rotating keys) and HTTPS listeners on TLS 1.2+ policies.",
    problems=unencrypted)


def direct_kms_use(args: ResourceValidationArgs) -> list[str]:
    """A role uses a KMS key only through the service that needs it (`kms:ViaService`), never directly."""
    if args.resource_type != "aws:iam/rolePolicy:RolePolicy":
        return []
    document = parse_json(args.props.get("policy")) or {}
    problems = []
    for statement in as_list(document.get("Statement")):
        actions = set(as_list(statement.get("Action")))
        if statement.get("Effect") == "Allow" and actions & KMS_USE:
            conditions = statement.get("Condition") or {}
            if not any("kms:ViaService" in block for block in conditions.values() if isinstance(block, dict)):
                problems.append(f"statement {statement.get('Sid', '?')} lets the role use a KMS key directly: add a "
                                "`kms:ViaService` condition naming the service that needs it")
    return problems


kms_via_service = resource_policy(
    name="kms-only-via-service",
    description="Role policies use KMS keys only through a named service (kms:ViaService condition).",
    problems=direct_kms_use)


def pinned_minor_engine(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type != "aws:rds/instance:Instance":
        return []
    version = args.props.get("engineVersion")
    if known(version) and args.props.get("autoMinorVersionUpgrade") is not False and "." in str(version):
        return [f"engineVersion {version} pins a minor version while RDS upgrades minors automatically: after an "
                "upgrade `pulumi up` tries a downgrade and fails. Pin the major only (e.g. `16`)."]
    return []


rds_engine_major_only = resource_policy(
    name="rds-engine-major-only",
    description="With automatic minor upgrades the database pins its major engine version only.",
    problems=pinned_minor_engine)
