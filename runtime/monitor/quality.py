"""Live model quality: late ground-truth labels joined to captures on the inference id, scored per model version
and per variant over a window.

Labels are CSV files under `monitoring.quality.labelsPrefix` with columns `inference_id,label` (and `row` for
requests of several rows; default 0), in any number of files, arriving whenever they are known. A label is matched
to the capture with the same (inference_id, row); labels that match no capture in the window and served captures
without a label are counted and published (`QualityUnmatchedLabels`, `QualityUnlabeledCaptures`), never dropped
silently. A version or variant with fewer than `minLabels` labelled captures is INCONCLUSIVE.

Published (namespace `alarms.modelQuality.namespace`): the configured metric as `alarms.modelQuality.metricName`
per variant (ModelName, Variant: the model-quality alarm watches Variant=canary) and per version (ModelName,
ModelVersion).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime import metrics as m
from runtime.errors import UsageError
from runtime.monitor.window import Window, filesystem
from runtime.report import Report, inconclusive, passed

KIND = "quality-monitor"
CLASSIFICATION_METRICS = ("accuracy", "f1")
REGRESSION_METRICS = ("mae", "rmse")


def read_labels(location: str) -> Any:
    """Every label file (CSV) under `location` as one table: inference_id (string), row (int64), label (string)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from pyarrow import fs as pafs

    filesystem_, root = filesystem(location)
    try:
        infos = filesystem_.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise UsageError(f"cannot list labels under {location}: {exc}") from None
    tables = []
    for info in sorted((i for i in infos if i.type == pafs.FileType.File), key=lambda i: i.path):
        with filesystem_.open_input_stream(info.path) as stream:
            try:
                table = pacsv.read_csv(stream, convert_options=pacsv.ConvertOptions(
                    column_types={"inference_id": pa.string(), "label": pa.string(), "row": pa.int64()}))
            except pa.ArrowInvalid as exc:
                raise UsageError(f"{info.path}: not a label CSV ({str(exc).splitlines()[0]})") from None
        if not {"inference_id", "label"} <= set(table.column_names):
            raise UsageError(f"{info.path}: has columns {table.column_names}; a label file needs inference_id and "
                             "label (and optionally row)")
        rows = table["row"] if "row" in table.column_names else pa.array([0] * table.num_rows, pa.int64())
        tables.append(pa.table({"inference_id": table["inference_id"], "row": pc.fill_null(rows, 0),
                                "label": table["label"]}))
    if not tables:
        return pa.table({"inference_id": pa.array([], pa.string()), "row": pa.array([], pa.int64()),
                         "label": pa.array([], pa.string())})
    return pa.concat_tables(tables)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _same(prediction: Any, label: Any) -> bool:
    a, b = _number(prediction), _number(label)
    return a == b if a is not None and b is not None else str(prediction) == str(label)


def score(pairs: Sequence[tuple[Any, Any]], metric: str, positive: Any = 1) -> float:
    """`metric` over (prediction, label) pairs."""
    if metric == "accuracy":
        return sum(_same(p, y) for p, y in pairs) / len(pairs)
    if metric == "f1":
        tp = sum(_same(p, positive) and _same(y, positive) for p, y in pairs)
        predicted = sum(_same(p, positive) for p, _ in pairs)
        actual = sum(_same(y, positive) for _, y in pairs)
        return 2 * tp / (predicted + actual) if predicted + actual else 0.0
    errors = [(_number(p) or 0.0) - (_number(y) or 0.0) for p, y in pairs]
    if metric == "mae":
        return sum(abs(e) for e in errors) / len(errors)
    if metric == "rmse":
        return math.sqrt(sum(e * e for e in errors) / len(errors))
    raise UsageError(f"unknown quality metric {metric!r}; use one of accuracy, f1, mae, rmse")


@dataclass
class QualityOutcome:
    report: Report
    by_version: dict[str, float] = field(default_factory=dict)
    by_variant: dict[str, float] = field(default_factory=dict)
    unmatched_labels: int = 0
    unlabeled_captures: int = 0


def quality_window(window: Window, labels: Any, *, model: str, metric: str, min_labels: int,
                   positive: Any = 1) -> QualityOutcome:
    """Join, count the unmatched, score per version and per variant."""
    served = window.served
    report = Report(kind=KIND, subject={"model": model, "window": window.describe(), "metric": metric})
    outcome = QualityOutcome(report)
    captured: dict[tuple[str, int], dict[str, Any]] = {}
    if served.num_rows:
        for rec in served.select(["inference_id", "row", "model_version", "variant", "prediction"]).to_pylist():
            captured[(str(rec["inference_id"]), int(rec["row"]))] = rec
    joined: list[tuple[dict[str, Any], str]] = []
    seen: set[tuple[str, int]] = set()
    for label in labels.to_pylist():
        key = (str(label["inference_id"]), int(label["row"]))
        if key in captured and key not in seen:
            seen.add(key)
            joined.append((captured[key], label["label"]))
        elif key not in captured:
            outcome.unmatched_labels += 1
    outcome.unlabeled_captures = len(captured) - len(seen)
    report.details.update(served_captures=len(captured), labels=labels.num_rows, matched=len(joined),
                          unmatched_labels=outcome.unmatched_labels, unlabeled_captures=outcome.unlabeled_captures)
    if not joined:
        report.add(inconclusive("labels", f"no label matches a served capture of {model} in {window.describe()} "
                                f"({len(captured)} captures, {labels.num_rows} labels, {outcome.unmatched_labels} "
                                "unmatched): labels may not have arrived yet", observed=0,
                                threshold=f">= {min_labels}"))
        return outcome
    for dimension, target in (("model_version", outcome.by_version), ("variant", outcome.by_variant)):
        for value in sorted({str(rec[dimension]) for rec, _ in joined}):
            pairs = [(rec["prediction"], y) for rec, y in joined if str(rec[dimension]) == value]
            name = f"{metric} {'v' if dimension == 'model_version' else ''}{value}"
            if len(pairs) < min_labels:
                report.add(inconclusive(name, f"{len(pairs)} labelled captures, fewer than minLabels {min_labels}",
                                        observed=len(pairs), threshold=f">= {min_labels}"))
                continue
            target[value] = score(pairs, metric, positive)
            report.add(passed(name, round(target[value], 6), None,
                              f"{metric} {target[value]:.4f} over {len(pairs)} labelled captures"))
    return outcome


def publish(outcome: QualityOutcome, cloudwatch: Any, *, namespace: str, model: str, metric_name: str,
            now: datetime | None = None) -> list[dict[str, Any]]:
    stamp = now or datetime.now(UTC)
    model_dim = {"Name": m.DIMENSION_MODEL, "Value": model}
    data: list[dict[str, Any]] = []
    for dim, values in ((m.DIMENSION_VERSION, outcome.by_version), (m.DIMENSION_VARIANT, outcome.by_variant)):
        data += [{"MetricName": metric_name, "Dimensions": [model_dim, {"Name": dim, "Value": key}],
                  "Timestamp": stamp, "Value": value, "Unit": "None"} for key, value in sorted(values.items())]
    data += [{"MetricName": name, "Dimensions": [model_dim], "Timestamp": stamp, "Value": float(count),
              "Unit": "Count"} for name, count in ((m.QUALITY_UNMATCHED_LABELS, outcome.unmatched_labels),
                                                   (m.QUALITY_UNLABELED_CAPTURES, outcome.unlabeled_captures))]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
    return data
