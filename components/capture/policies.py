"""IAM statements of the inference capture, as pure functions of ARNs (tested on their own and in the graph)."""

from __future__ import annotations

from components.iam import Statement, allow

#: What a serving process may do with the capture stream: put records, nothing else (no describe, no delete).
PUT_ACTIONS = ("firehose:PutRecord", "firehose:PutRecordBatch")


def arn_partition(arn: str) -> str:
    """`aws`, `aws-cn`, `aws-us-gov`: the partition of any ARN (taken from a resource, never hard-coded)."""
    return arn.split(":")[1]


def stream_arn(partition: str, region: str, account_id: str, stream_name: str) -> str:
    return f"arn:{partition}:firehose:{region}:{account_id}:deliverystream/{stream_name}"


def catalog_arn(partition: str, region: str, account_id: str) -> str:
    """The Glue Data Catalog (GetTable is authorised on the catalog, the database and the table)."""
    return f"arn:{partition}:glue:{region}:{account_id}:catalog"


def producer_statements(stream: str) -> list[Statement]:
    """The serving task role / service account: put records to this one stream."""
    return [allow("PutInferenceCaptures", PUT_ACTIONS, [stream])]


def delivery_statements(*, bucket_arn: str, prefixes: list[str], kms_key_arn: str, region: str, dns_suffix: str,
                        glue: list[str], log_stream_arn: str) -> list[Statement]:
    """The Firehose delivery role: write objects under its prefixes only (data and errors), encrypt them with the
    stack key through S3 only, read the Glue table's schema, log delivery errors to its own log stream."""
    return [
        allow("WriteCaptures", ["s3:AbortMultipartUpload", "s3:PutObject"],
              [f"{bucket_arn}/{p}*" for p in prefixes]),
        allow("LocateBucket", ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], [bucket_arn]),
        allow("ListOwnPrefixes", ["s3:ListBucket"], [bucket_arn],
              {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}),
        allow("EncryptCaptures", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn],
              {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"},
               "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]}}),
        allow("ReadCaptureSchema", ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"], glue),
        allow("LogDeliveryErrors", ["logs:PutLogEvents"], [log_stream_arn]),
    ]
