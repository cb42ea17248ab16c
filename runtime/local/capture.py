"""Inference capture in `mlcicd local run`, and the drift job on what was captured.

With `monitoring.capture.enabled` in the deployed stack, both scoring servers capture what they serve into moto's
Firehose with the stack's capture settings (`CaptureSettings.from_stack`, as the program configures the ECS task).
moto's Firehose writes the JSON batches to S3 as they are; `deliver` then does what Firehose does in AWS (Parquet
against the Glue columns, `model=/dt=` partitions under `monitoring.drift.inferencePrefix` of the data bucket) for
the canary's traffic: the smoke and load tests repeat the input example, which is not traffic to judge drift on.
`runtime.local.monitor` then runs the scheduled drift job's commands on them.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Any

from runtime.local.state import DATA_BUCKET, Rehearsal
from runtime.serving.settings import CaptureSettings

STREAM = "mlcicd-local-inference"
#: Where moto's Firehose puts the raw batches (moto expands no prefix expressions).
RAW_BUCKET = "mlcicd-local-firehose"
RAW_PREFIX = "raw/"
#: Seconds between the servers' puts (the cloud's default is 1 s; the rehearsal's canary is short).
FLUSH_SECONDS = 0.5


def settings(state: Rehearsal) -> CaptureSettings | None:
    return CaptureSettings.from_stack(state.plan.deployed, STREAM, flush_seconds=FLUSH_SECONDS)


def server_env(state: Rehearsal) -> dict[str, str]:
    """The capture settings and moto's endpoint for a scoring server; empty without capture."""
    capture = settings(state)
    if capture is None:
        return {}
    aws = state.aws_env()
    return {**capture.to_env(), **{k: aws[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                                        "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_CONFIG_FILE",
                                                        "AWS_SHARED_CREDENTIALS_FILE")}}


def create_stream(state: Rehearsal) -> str | None:
    """moto's delivery stream and its raw bucket; None without capture."""
    if settings(state) is None:
        return None
    clients = state.aws_clients(state.plan.deployed.region)
    region = state.plan.deployed.region
    clients("s3").create_bucket(Bucket=RAW_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    clients("firehose").create_delivery_stream(
        DeliveryStreamName=STREAM, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": f"arn:aws:s3:::{RAW_BUCKET}", "Prefix": RAW_PREFIX})
    return STREAM


def _raw_records(state: Rehearsal) -> list[dict[str, Any]]:
    from runtime.local.firehose import json_records

    s3 = state.aws_clients(state.plan.deployed.region)("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=RAW_BUCKET, Prefix=RAW_PREFIX)
    return json_records(s3.get_object(Bucket=RAW_BUCKET, Key=obj["Key"])["Body"].read()
                        for page in pages for obj in page.get("Contents", []))


def deliver(state: Rehearsal, start: datetime, end: datetime) -> int:
    """Firehose's delivery of the records captured in [start, end] into the data bucket; how many."""
    from runtime.local.firehose import write_like_firehose

    capture = settings(state)
    assert capture is not None
    low, high = start.timestamp() * 1000, end.timestamp() * 1000
    records = [r for r in _raw_records(state) if low <= r.get("timestamp", 0) <= high]
    model = state.plan.model
    prefix = state.plan.deployed.monitoring.drift.inference_prefix
    s3 = state.aws_clients(state.plan.deployed.region)("s3")
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_like_firehose(records, capture.schema(salt=model).glue_columns(), tmp, model):
            s3.upload_file(str(path), DATA_BUCKET, prefix + path.relative_to(tmp).as_posix())
    return len(records)
