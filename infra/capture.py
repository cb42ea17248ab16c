"""Inference capture in the program: the stream's settings for the model service, then the InferenceCapture.

Order: the ModelService needs the stream (its role may put to it, its servers are told its name) and the capture's
alarms need the alarm topic the ModelService's alarm factory creates. The stream's name is therefore fixed here
(`stream_name`) and its ARN derived from it; `InferenceCapture` is created after the service with that name.
"""

from __future__ import annotations

import pulumi

from components.capture.inference_capture import InferenceCapture, InferenceCaptureArgs
from components.capture.policies import arn_partition, stream_arn
from components.defaults import CAPTURE_ERROR_PREFIX
from components.storage.artifact_store import ArtifactStore
from runtime import stack_outputs as out
from runtime.config import StackConfig
from runtime.serving.settings import CaptureSettings


def stream_name() -> str:
    """`<project>-<stack>-inference` (Firehose: at most 64 of [A-Za-z0-9_.-])."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}-inference"[:64]


def capture_settings(cfg: StackConfig) -> CaptureSettings | None:
    """What the serving processes are told (`MLCICD_CAPTURE`), or None without capture."""
    return CaptureSettings.from_stack(cfg, stream_name())


def capture_stream_arn(cfg: StackConfig, store: ArtifactStore,
                       account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The stream's ARN before it exists (partition from the data bucket's ARN, never hard-coded)."""
    return pulumi.Output.all(store.data_bucket_arn, account_id).apply(
        lambda a: stream_arn(arn_partition(a[0]), cfg.region, a[1], stream_name()))


def build_capture(cfg: StackConfig, settings: CaptureSettings, opts: pulumi.ResourceOptions, *,
                  store: ArtifactStore, account_id: pulumi.Input[str],
                  alarm_topic_arn: pulumi.Input[str] | None) -> InferenceCapture:
    capture = cfg.monitoring.capture
    component = InferenceCapture("capture", InferenceCaptureArgs(
        stream_name=settings.stream, model_name=cfg.model.name,
        columns=settings.schema(salt=cfg.model.name).glue_columns(), region=cfg.region, account_id=account_id,
        data_bucket=store.data_bucket, data_bucket_arn=store.data_bucket_arn, kms_key_arn=store.kms_key_arn,
        prefix=cfg.monitoring.drift.inference_prefix, error_prefix=CAPTURE_ERROR_PREFIX,
        buffer_seconds=capture.delivery_buffer_seconds, buffer_mib=capture.delivery_buffer_mib,
        log_retention_days=cfg.log_retention_days, metrics_namespace=cfg.alarms.model_quality.namespace,
        alarm_topic_arn=alarm_topic_arn), opts)
    pulumi.export(out.CAPTURE_STREAM, component.stream_name)
    pulumi.export(out.CAPTURE_TABLE, pulumi.Output.concat(component.database_name, ".", component.table_name))
    pulumi.export(out.CAPTURE_ALARMS, component.alarm_names)
    return component
