"""Publishing the drift score of a data-validation report as a CloudWatch metric (the drift monitor's last step).

The score is the report's `drift.share` check: the share of tested columns that drifted (0..1), published as
`runtime.metrics.DRIFT_SCORE` with dimension `ModelName`. The drift alarm of `monitoring:DriftMonitor` watches it.

Fail closed: a report without a decided drift share (no current rows, every column inconclusive, NaN) publishes
nothing and raises `NoDriftScore` (exit 3); a file that is not a data-validation report raises `InvalidValue`
(exit 2). Publishing a made-up 0 would tell the alarm that all is well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runtime import metrics as m
from runtime.errors import InvalidValue, NotEnoughEvidence
from runtime.report import load_report

#: The data-validation check holding the drift score, and the report kind it belongs to.
DRIFT_SHARE_CHECK = "drift.share"
DATA_VALIDATION_KIND = "data-validation"
#: CloudWatch rejects datapoints older than two weeks; older reports are published with the current time.
MAX_METRIC_AGE = timedelta(days=14)


class NoDriftScore(NotEnoughEvidence):
    """The report decided no drift share: nothing is published (exit 3)."""

    default_hint = ("nothing published: a drift score is published only when the report decided one, so the drift "
                    "alarm sees no datapoint (exit 3, INCONCLUSIVE)")


@dataclass(frozen=True)
class Published:
    namespace: str
    metric: str
    model: str
    value: float
    timestamp: datetime


def drift_score(report: dict[str, Any], source: str = "report") -> float:
    """The decided drift share of a data-validation report, or NoDriftScore / InvalidValue (see module doc)."""
    if report.get("kind") != DATA_VALIDATION_KIND:
        raise InvalidValue(f"{source}: is a {report.get('kind')!r} report; the drift score comes from a "
                         f"{DATA_VALIDATION_KIND!r} report (`mlcicd data validate --report ...`)")
    checks = [c for c in report.get("checks", []) if isinstance(c, dict) and c.get("name") == DRIFT_SHARE_CHECK]
    if not checks:
        raise NoDriftScore(f"{source}: has no {DRIFT_SHARE_CHECK!r} check: drift was not tested")
    check = checks[0]
    if check.get("verdict") not in ("PASS", "FAIL"):
        raise NoDriftScore(f"{source}: drift share is {check.get('verdict')}: {check.get('reason', 'no reason')}")
    value = check.get("observed")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NoDriftScore(f"{source}: drift share {value!r} is not a number")
    if not 0.0 <= value <= 1.0:
        raise InvalidValue(f"{source}: drift share {value} is outside 0..1")
    return float(value)


def report_time(report: dict[str, Any], now: datetime | None = None) -> datetime:
    """When the report was taken (its `started_at`), or now when absent, unparsable or too old for CloudWatch."""
    now = now or datetime.now(UTC)
    try:
        started = datetime.fromisoformat(str(report["started_at"]))
    except (KeyError, ValueError):
        return now
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return started if now - MAX_METRIC_AGE < started <= now else now


def publish_drift_score(report_path: str | Path, namespace: str, model: str, cloudwatch_client: Any) -> Published:
    """Read the report, publish its drift score (dimension ModelName=model), return what was published."""
    report = load_report(Path(report_path))
    value = drift_score(report, str(report_path))
    timestamp = report_time(report)
    cloudwatch_client.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": m.DRIFT_SCORE,
        "Dimensions": [{"Name": m.DIMENSION_MODEL, "Value": model}],
        "Timestamp": timestamp,
        "Value": value,
        "Unit": "None",
    }])
    return Published(namespace=namespace, metric=m.DRIFT_SCORE, model=model, value=value, timestamp=timestamp)
