"""Publishing what the canary probe's sides served as the per-variant datums the judge reads: request, error,
latency and prediction metrics (`runtime.canary.publish`) plus, for a labelled sample, the per-period accuracy
as the model-quality metric, all with ModelName and Variant dimensions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from runtime import metrics as m
from runtime.canary.probe_replay import Served
from runtime.canary.probe_request import SIDES, ProbeRequest
from runtime.canary.publish import observations_metric_data, put_metric_data, score_bin


def quality_metric_data(served: Sequence[Served], metric_name: str, *, model_name: str, variant: str,
                        period_seconds: int) -> list[dict[str, Any]]:
    """Accuracy of the served predictions against the sample's labels, per period: the model-quality metric."""
    by_period: dict[int, list[bool]] = {}
    for one in served:
        if one.correct is not None:
            stamp = int(one.observation.timestamp.timestamp())
            by_period.setdefault(stamp - stamp % period_seconds, []).append(one.correct)
    dims = [{"Name": m.DIMENSION_MODEL, "Value": model_name}, {"Name": m.DIMENSION_VARIANT, "Value": variant}]
    resolution = {"StorageResolution": 1} if period_seconds < 60 else {}
    return [{"MetricName": metric_name, "Dimensions": dims, "Timestamp": datetime.fromtimestamp(start, tz=UTC),
             "Unit": "None", "Value": sum(hits) / len(hits), **resolution}
            for start, hits in sorted(by_period.items())]


def variant_metric_data(served: Sequence[Served], *, model_name: str, variant: str, period_seconds: int,
                        quality_metric: str | None) -> list[dict[str, Any]]:
    """Everything one side served, as the datums the judge reads (quality only with `quality_metric`)."""
    data = observations_metric_data([s.observation for s in served], model_name=model_name, variant=variant,
                                    period_seconds=period_seconds)
    if quality_metric is not None:
        data += quality_metric_data(served, quality_metric, model_name=model_name, variant=variant,
                                    period_seconds=period_seconds)
    return data


def publish_sides(cloudwatch: Any, request: ProbeRequest, served: Mapping[str, Sequence[Served]], *,
                  start: datetime, end: datetime, quality_metric: str | None) -> tuple[int, dict[str, int]]:
    """Put both sides' datums into `request.namespace`: the number of datums, and the requests per side inside
    [start, end). CloudWatch's errors (botocore's ClientError, BotoCoreError) propagate."""
    datums = 0
    in_window = dict.fromkeys(SIDES, 0)
    for side in SIDES:
        data = variant_metric_data(served[side], model_name=request.model_name, variant=request.variant(side),
                                   period_seconds=request.period_seconds, quality_metric=quality_metric)
        put_metric_data(cloudwatch, request.namespace, data)
        datums += len(data)
        in_window[side] = sum(1 for s in served[side] if start <= s.observation.timestamp < end)
    return datums, in_window


def published_bins(served: Mapping[str, Sequence[Served]]) -> list[str]:
    """The prediction histogram bins the answered requests of either side were published under."""
    return sorted({score_bin(p) for side in SIDES for s in served[side] if s.observation.status < 400
                   for p in s.observation.predictions})
