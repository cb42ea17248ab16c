"""`mlcicd monitor drift|quality`: the jobs that read a window of captured traffic (runtime/monitor/)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from runtime.cli.common import UsageError, err, finish, load_config
from runtime.timestamps import parse_time

Stack = Annotated[str, typer.Option(help="Stack whose config (window, thresholds, model, namespace) applies.")]
Captures = Annotated[str | None, typer.Option(help="Capture location: s3://bucket/prefix/ or a directory. Default: "
                                              "s3://$DATA_BUCKET/<monitoring.drift.inferencePrefix>.")]
WindowHours = Annotated[float | None, typer.Option(help="Window length (default: the stack's).")]
End = Annotated[str | None, typer.Option(help="Window end, ISO 8601 (default: now).")]
ReportOut = Annotated[Path, typer.Option(help="Write the report here.")]
Publish = Annotated[bool, typer.Option(help="Publish the metrics to CloudWatch.")]
Region = Annotated[str | None, typer.Option(help="AWS region (default: the stack's).")]
ProjectDir = Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")]


def _bucket_uri(key: str) -> str:
    bucket = os.environ.get("DATA_BUCKET")
    if not bucket:
        raise UsageError(f"no location given and DATA_BUCKET is not set: pass s3://<data bucket>/{key} explicitly")
    return f"s3://{bucket}/{key}"


def _end(value: str | None) -> datetime:
    return parse_time(value, "--end") or datetime.now(UTC)


def _cloudwatch(region: str) -> Any:
    import boto3

    return boto3.client("cloudwatch", region_name=region)


def drift(*, stack: Stack, report: ReportOut, captures: Captures = None,
          reference: Annotated[str | None, typer.Option(help="Reference profile or data. Default: s3://$DATA_BUCKET/"
                                                        "<monitoring.drift.referenceProfileKey>.")] = None,
          window_hours: WindowHours = None, end: End = None, publish: Publish = True, region: Region = None,
          project_dir: ProjectDir = None) -> None:
    """Drift of each model version's captured traffic in the window against the reference. Exit 0 no version
    drifted, 1 one did, 3 the window could not decide (empty, too few rows), 2 bad input."""
    from runtime.data.validate import data_config
    from runtime.monitor.drift import drift_window
    from runtime.monitor.drift import publish as publish_drift
    from runtime.monitor.window import bounds, read_window

    cfg = load_config(stack, project_dir).config
    settings = cfg.monitoring.drift
    start, stop = bounds(window_hours or settings.window_hours, _end(end))
    features = [f.name for f in cfg.monitoring.capture.input_schema]
    window = read_window(captures or _bucket_uri(settings.inference_prefix), cfg.model.name, start, stop,
                         features)
    # data_config: the label column (the model gate's target) is optional in label-free served data.
    outcome = drift_window(window, reference or _bucket_uri(settings.reference_profile_key), data_config(cfg),
                           model=cfg.model.name, min_rows=settings.min_window_rows,
                           alarm_threshold=settings.alarm_threshold)
    if publish:
        _publish(lambda: publish_drift(outcome, _cloudwatch(region or cfg.region),
                                       namespace=cfg.alarms.model_quality.namespace, model=cfg.model.name),
                 outcome.report)
    finish(outcome.report, report)


def quality(*, stack: Stack, report: ReportOut, captures: Captures = None,
            labels: Annotated[str | None, typer.Option(help="Label files: s3://bucket/prefix/ or a directory. "
                                                       "Default: s3://$DATA_BUCKET/<monitoring.quality."
                                                       "labelsPrefix>.")] = None,
            window_hours: WindowHours = None, end: End = None, publish: Publish = True, region: Region = None,
            project_dir: ProjectDir = None) -> None:
    """Live quality: late labels joined to the window's captures, the metric per version and variant. Exit 0
    scored, 3 too few labels to score, 2 bad input. Unmatched labels and unlabelled captures are counted."""
    from runtime.monitor.quality import publish as publish_quality
    from runtime.monitor.quality import quality_window, read_labels
    from runtime.monitor.window import bounds, read_window

    cfg = load_config(stack, project_dir).config
    settings = cfg.monitoring.quality
    start, stop = bounds(window_hours or settings.window_hours, _end(end))
    features = [f.name for f in cfg.monitoring.capture.input_schema]
    window = read_window(captures or _bucket_uri(cfg.monitoring.drift.inference_prefix), cfg.model.name, start,
                         stop, features)
    outcome = quality_window(window, read_labels(labels or _bucket_uri(settings.labels_prefix)),
                             model=cfg.model.name, metric=settings.metric, min_labels=settings.min_labels,
                             positive=cfg.gates.fairness.positive_label if cfg.gates.fairness else 1)
    if publish:
        _publish(lambda: publish_quality(outcome, _cloudwatch(region or cfg.region),
                                         namespace=cfg.alarms.model_quality.namespace, model=cfg.model.name,
                                         metric_name=cfg.alarms.model_quality.metric_name), outcome.report)
    finish(outcome.report, report)


def _publish(send: Any, report: Any) -> None:
    """Publish; a CloudWatch failure is an INCONCLUSIVE check of the report (the job's result was not delivered)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from runtime.report import inconclusive

    try:
        data = send()
    except (ClientError, BotoCoreError) as exc:
        report.add(inconclusive("publish", f"CloudWatch did not take the metrics: {exc}"))
        return
    report.details["published"] = [{"metric": d["MetricName"], "dimensions": d["Dimensions"], "value": d["Value"]}
                                   for d in data]
    err(f"published {len(data)} datapoints")
