"""ArtifactStore: the secure defaults of every bucket, asserted on recorded inputs."""

from __future__ import annotations

import pytest

from runtime.graph import Graph
from tests.harness import graph, policy

BUCKET = "aws:s3/bucket:Bucket"
ROLES = ("data", "models", "pipeline", "logs")


def _for_bucket(g: Graph, type_token: str, role: str):
    return g.one(type_token, f"artifacts-{role}-")


def test_four_buckets(production: Graph) -> None:
    names = sorted(r.name for r in production.of_type(BUCKET))
    assert names == ["artifacts-data", "artifacts-logs", "artifacts-models", "artifacts-pipeline"]


@pytest.mark.parametrize("role", ROLES)
def test_public_access_blocked_everywhere(production: Graph, role: str) -> None:
    block = _for_bucket(production, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", role)
    assert {k: block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                         "restrictPublicBuckets")} == dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)


@pytest.mark.parametrize("role", ["data", "models", "pipeline"])
def test_kms_with_bucket_key(production: Graph, role: str) -> None:
    enc = _for_bucket(production, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                  "BucketServerSideEncryptionConfiguration", role)
    rule = enc.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert rule["bucketKeyEnabled"] is True


def test_log_bucket_uses_sse_s3_because_log_delivery_requires_it(production: Graph) -> None:
    enc = _for_bucket(production, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                  "BucketServerSideEncryptionConfiguration", "logs")
    assert enc.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize("role", ROLES)
def test_tls_only_policy(production: Graph, role: str) -> None:
    doc = policy(_for_bucket(production, "aws:s3/bucketPolicy:BucketPolicy", role))
    deny = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert deny == [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::artifacts-{role}", f"arn:aws:s3:::artifacts-{role}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]


def test_log_delivery_scoped_to_account_and_prefix(production: Graph) -> None:
    doc = policy(_for_bucket(production, "aws:s3/bucketPolicy:BucketPolicy", "logs"))
    allows = {s["Sid"]: s for s in doc["Statement"] if s["Effect"] == "Allow"}
    assert allows["S3ServerAccessLogs"]["Resource"] == "arn:aws:s3:::artifacts-logs/s3/*"
    assert allows["S3ServerAccessLogs"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert allows["AlbAccessLogs"]["Resource"] == "arn:aws:s3:::artifacts-logs/alb/AWSLogs/123456789012/*"
    # eu-west-1 predates the log delivery service principal: the regional ELB account is allowed too.
    assert allows["AlbAccessLogsRegionalAccount"]["Principal"] == {"AWS": "arn:aws:iam::156460612806:root"}


@pytest.mark.parametrize("role", ROLES)
def test_acls_off(production: Graph, role: str) -> None:
    own = _for_bucket(production, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", role)
    assert own.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_versioning_on_data_and_models_only(production: Graph) -> None:
    versioned = sorted(r.name for r in production.of_type("aws:s3/bucketVersioning:BucketVersioning"))
    assert versioned == ["artifacts-data-versioning", "artifacts-models-versioning"]
    for r in production.of_type("aws:s3/bucketVersioning:BucketVersioning"):
        assert r.inputs["versioningConfiguration"] == {"status": "Enabled"}


def test_noncurrent_versions_expire_per_stack(production: Graph, staging: Graph) -> None:
    prod = _for_bucket(production, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "data")
    stag = _for_bucket(staging, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "data")
    assert prod.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 365}
    assert stag.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


@pytest.mark.parametrize("role", ["data", "models", "pipeline"])
def test_access_logs_to_log_bucket(production: Graph, role: str) -> None:
    logging = _for_bucket(production, "aws:s3/bucketLogging:BucketLogging", role)
    assert logging.inputs["targetBucket"] == "artifacts-logs"
    assert logging.inputs["targetPrefix"] == f"s3/{role}/"
    # Delivery needs the log bucket's policy: the logging configuration waits for it.
    assert any(u.endswith("::artifacts-logs-policy") for u in logging.property_dependencies["targetBucket"])


def test_force_destroy_off_by_default(production: Graph, staging: Graph) -> None:
    for g in (production, staging):
        assert all(b.inputs["forceDestroy"] is False for b in g.of_type(BUCKET))


def test_force_destroy_opt_in_warns_outside_production() -> None:
    g = graph("staging", {"storage": {"forceDestroy": True}})
    assert all(b.inputs["forceDestroy"] is True for b in g.of_type(BUCKET))
    assert any("storage.forceDestroy" in w for w in g.warnings)


def test_kms_key_rotates(production: Graph) -> None:
    key = production.one("aws:kms/key:Key", "artifacts-key")  # the stack key (the alarm topic has its own)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30


def test_given_kms_key_is_used_and_none_created() -> None:
    arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    g = graph("staging", {"storage": {"kmsKeyArn": arn}})
    assert [k.name for k in g.of_type("aws:kms/key:Key") if k.name.startswith("artifacts")] == []
    enc = _for_bucket(g, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                      "data")
    assert enc.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == arn
