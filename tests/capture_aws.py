"""moto as the capture's AWS: a Firehose stream to an S3 bucket, and readers of what arrived.

moto's `put_record_batch` writes each batch's raw bytes to one S3 object under the stream's prefix (no Parquet
conversion, no prefix expressions), so what arrives here is the JSON the serving process sent: one record a line.
"""

from __future__ import annotations

from typing import Any

from runtime.local.firehose import json_records, write_like_firehose

__all__ = ["aws_env", "client", "create_stream", "delivered", "metric_sum", "write_like_firehose"]

BUCKET = "capture-data"
PREFIX = "inference/"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
               "AWS_REGION": "eu-west-1"}


def aws_env(moto_url: str) -> dict[str, str]:
    """Environment that points every SDK client at moto (botocore reads AWS_ENDPOINT_URL)."""
    return {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_url}


def client(moto_url: str, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=moto_url, region_name="eu-west-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def create_stream(moto_url: str, name: str, *, bucket: str = BUCKET) -> None:
    s3 = client(moto_url, "s3")
    if bucket == BUCKET and BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client(moto_url, "firehose").create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": f"{PREFIX}{name}/"})


def delivered(moto_url: str, stream: str) -> list[dict[str, Any]]:
    """Every record the stream wrote to S3."""
    s3 = client(moto_url, "s3")
    bodies = [s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
              for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}{stream}/")
              for obj in page.get("Contents", [])]
    return json_records(bodies)


def metric_sum(moto_url: str, namespace: str, name: str, model: str) -> float:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    answer = client(moto_url, "cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": "ModelName", "Value": model}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5), Period=3600, Statistics=["Sum"])
    return sum(p["Sum"] for p in answer["Datapoints"])

