"""moto as the capture's AWS: a Firehose stream to an S3 bucket, and readers of what arrived.

moto's `put_record_batch` writes each batch's raw bytes to one S3 object under the stream's prefix (no Parquet
conversion, no prefix expressions), so what arrives here is the JSON the serving process sent: one record a line.
"""

from __future__ import annotations

import json
from typing import Any

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
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}{stream}/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode()
            records += [json.loads(line) for line in body.splitlines() if line]
    return records


def metric_sum(moto_url: str, namespace: str, name: str, model: str) -> float:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    answer = client(moto_url, "cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": "ModelName", "Value": model}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5), Period=3600, Statistics=["Sum"])
    return sum(p["Sum"] for p in answer["Datapoints"])


#: Glue (Hive) column types -> Arrow, as Firehose's Parquet SerDe writes them.
ARROW_TYPES = {"string": "string", "int": "int32", "bigint": "int64", "double": "float64", "float": "float32",
               "boolean": "bool", "timestamp": "timestamp"}


def write_like_firehose(records: list[dict[str, Any]], columns: list[tuple[str, str]], root: Any, model: str,
                        files_per_day: int = 3) -> list[Any]:
    """What Firehose makes of JSON capture records (moto does not convert): Parquet against the Glue columns
    (fields the table lacks dropped, missing ones null, Hive INT96 timestamps), several small objects per
    `model=<model>/dt=<yyyy-MM-dd>/` partition (dt from each record's arrival time, UTC). Returns the files."""
    from datetime import UTC, datetime
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    def arrow(kind: str) -> pa.DataType:
        name = ARROW_TYPES[kind]
        return pa.timestamp("ms") if name == "timestamp" else pa.type_for_alias(name)

    schema = pa.schema([(name, arrow(kind)) for name, kind in columns])
    by_day: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        day = datetime.fromtimestamp(record["timestamp"] / 1000, UTC).strftime("%Y-%m-%d")
        by_day.setdefault(day, []).append(record)
    written = []
    for day, rows in sorted(by_day.items()):
        folder = Path(root) / f"model={model}" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        for part in range(files_per_day):
            chunk = rows[part::files_per_day]
            if not chunk:
                continue
            values: dict[str, list[Any]] = {name: [r.get(name) for r in chunk] for name, _ in columns}
            values["timestamp"] = [datetime.fromtimestamp(r["timestamp"] / 1000, UTC).replace(tzinfo=None)
                                   for r in chunk]
            path = folder / f"{model}-{day}-{part}.parquet"
            pq.write_table(pa.table(values, schema=schema), path, use_deprecated_int96_timestamps=True)
            written.append(path)
    return written
