"""The model gate's S3 client: it reads the evaluation data and uploads the report, with bounded timeouts and
retries so an unreachable S3 becomes an INCONCLUSIVE check instead of a hang."""

from __future__ import annotations

from typing import Any


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}))
