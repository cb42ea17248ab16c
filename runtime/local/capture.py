"""Inference capture in `mlcicd local run`: the scoring servers capture what they serve (smoke, load and canary
traffic) into moto's Firehose (moto S3 behind it), and the last stage runs the drift job on what they captured.

moto's Firehose writes the servers' JSON records to S3 as they are; `runtime.local.firehose` stands in for the
Parquet conversion and the `model=/dt=` prefix Firehose performs in AWS, so the drift job reads exactly the layout
it reads in a stack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from runtime.config import StackConfig
from runtime.report import Report
from runtime.serving.settings import CaptureSettings

STREAM = "mlcicd-local-inference"
BUCKET = "mlcicd-local-captures"
#: Where moto's Firehose puts the raw batches (moto does not expand prefix expressions).
RAW_PREFIX = "firehose/"
#: moto's fixed credentials: never the user's real ones.
MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def settings_for(cfg: StackConfig, model_uri: str) -> CaptureSettings:
    """Capture of every request (the local traffic is small), columns from the candidate's signature."""
    from runtime.capture.schema import from_model

    schema = from_model(model_uri)
    return CaptureSettings(stream=STREAM, region=cfg.region, features=schema.features,
                           prediction_type=schema.prediction_type,
                           metrics_namespace=cfg.alarms.model_quality.namespace, flush_seconds=0.5)


def server_environment(settings: CaptureSettings, moto_url: str) -> dict[str, str]:
    return {**settings.to_env(), **MOTO_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url, "AWS_REGION": settings.region}


def create_stream(clients: Callable[[str], Any], region: str) -> None:
    clients("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    clients("firehose").create_delivery_stream(
        DeliveryStreamName=STREAM, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": f"arn:aws:s3:::{BUCKET}", "Prefix": RAW_PREFIX})


def captured_records(clients: Callable[[str], Any]) -> list[dict[str, Any]]:
    from runtime.local.firehose import json_records

    s3 = clients("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=RAW_PREFIX)
    return json_records(s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
                        for page in pages for obj in page.get("Contents", []))


def drift_on_captures(records: list[dict[str, Any]], settings: CaptureSettings, *, cfg: StackConfig, model: str,
                      reference: pd.DataFrame, workdir: Path, since: datetime) -> Report:
    """Firehose's layout under `workdir/captures/`, then the drift job's window from `since` (the canary's start:
    the smoke and load tests repeat a few sample rows, which is not traffic to judge drift on) to now."""
    from runtime.local.firehose import write_like_firehose
    from runtime.monitor.drift import drift_window
    from runtime.monitor.window import read_window

    root = workdir / "captures" / "inference"
    write_like_firehose(records, settings.schema(salt=model).glue_columns(), root, model)
    reference_path = workdir / "captures" / "reference-features.parquet"
    reference[[name for name, _ in settings.features]].to_parquet(reference_path, index=False)
    window = read_window(str(root), model, since, datetime.now(UTC), features=[n for n, _ in settings.features])
    drift = cfg.monitoring.drift
    outcome = drift_window(window, reference_path, cfg.data, model=model, min_rows=drift.min_window_rows,
                           alarm_threshold=drift.alarm_threshold)
    outcome.report.details["captured_records"] = len(records)
    return outcome.report
