"""IAM statements of the tracking server's roles, as pure functions (tested on their own)."""

from __future__ import annotations

from components.iam import Statement, allow

#: What MLflow does with artifacts: list, read, write, and delete (run deletion and garbage collection).
ARTIFACT_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")

#: What SageMaker's automatic model registration does with model package groups and packages.
MODEL_REGISTRY_ACTIONS = (
    "sagemaker:AddTags", "sagemaker:CreateModelPackage", "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup", "sagemaker:UpdateModelPackage",
)


def artifact_statements(bucket_arn: str, prefix: str, kms_key_arn: str, region: str,
                        dns_suffix: str) -> list[Statement]:
    """Objects under `prefix` of the models bucket, listing limited to that prefix, and the bucket key through
    S3 only (`dns_suffix`: `amazonaws.com`, or `amazonaws.com.cn` in China)."""
    return [
        allow("ListArtifactPrefix", ["s3:ListBucket"], [bucket_arn],
              {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}),
        allow("ReadWriteArtifacts", ARTIFACT_OBJECT_ACTIONS, [f"{bucket_arn}/{prefix}*"]),
        allow("UseBucketKeyViaS3", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn],
              {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"}}),
    ]


def model_registry_statements(account_id: str, region: str, partition: str) -> list[Statement]:
    """Model package groups and packages of this account and region (SageMaker names the groups after the
    registered models, so no narrower name is known in advance)."""
    return [allow("MirrorRegisteredModels", MODEL_REGISTRY_ACTIONS, [
        f"arn:{partition}:sagemaker:{region}:{account_id}:model-package-group/*",
        f"arn:{partition}:sagemaker:{region}:{account_id}:model-package/*",
    ])]
