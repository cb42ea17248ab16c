"""Two running request counts published to CloudWatch as they grow: the capture recorder's (sent, dropped) and the
shadow mirror's (sent, failed + dropped), each into the model metric namespace every minute and at shutdown.

Standard library only at import; boto3 is imported when there is a namespace to publish into.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from runtime import metrics

#: Publishes what the two counts grew by (in the order of their metric names).
Publish = Callable[[int, int], None]


def cloudwatch_counts(namespace: str, model_name: str, names: tuple[str, str], region: str = "") -> Publish:
    """Publishes two count deltas as the metrics `names` (dimension ModelName) in `namespace`; a no-op without a
    namespace. Short timeouts and two attempts: a publication must never hold the server up."""
    if not namespace:
        return lambda first, second: None
    import boto3
    from botocore.config import Config

    client = boto3.client("cloudwatch", region_name=region or None,
                          config=Config(connect_timeout=1, read_timeout=3, retries={"total_max_attempts": 2}))
    dimensions = [{"Name": metrics.DIMENSION_MODEL, "Value": model_name}]

    def publish(first: int, second: int) -> None:
        data: list[Any] = [{"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": "Count"}
                           for name, value in zip(names, (first, second), strict=True)]
        client.put_metric_data(Namespace=namespace, MetricData=data)

    return publish


class CountPublisher:
    """Publishes what two running counts grew by since the last publication that succeeded; a failed publication
    is logged as `<what>: ...` and its growth kept for the next."""

    def __init__(self, publish: Publish, what: str, log: logging.Logger) -> None:
        self._publish = publish
        self._what = what
        self._log = log
        self._published = (0, 0)

    def __call__(self, first: int, second: int) -> None:
        delta = (first - self._published[0], second - self._published[1])
        if delta == (0, 0):
            return
        try:
            self._publish(*delta)
            self._published = (first, second)
        except Exception as exc:  # kept for the next publication
            self._log.warning("%s: publishing the %s metrics failed (kept for the next try): %s", self._what,
                              self._what, exc)
