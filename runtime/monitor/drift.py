"""The drift job on captured traffic: a window of captures per model version against the reference profile.

Each version's served rows (status 200) in the window are checked by the data gate itself (`runtime.data`'s public
`validate_data`, the same statistics and thresholds as `mlcicd data validate`), so drift in production is judged
exactly as drift in training data is; only the duplicate-row limit, which is about training data, does not apply
to served traffic (`served_config`). A version with fewer than `minWindowRows` rows, or a window with none, is
INCONCLUSIVE (never PASS) and sets `DriftWindowInconclusive` to 1.

Published (namespace `alarms.modelQuality.namespace`): `DriftScore` per version (ModelName, ModelVersion); the
largest decided share as `DriftScore` (ModelName), which the drift alarm watches; `DriftWindowInconclusive`
(ModelName). Nothing is published as a drift score that was not decided.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime import metrics as m
from runtime.report import Check, Report, Verdict, failed, inconclusive, passed
from runtime.serving.records import RESERVED

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig
    from runtime.monitor.window import Window

KIND = "drift-monitor"


@dataclass
class DriftOutcome:
    report: Report
    shares: dict[str, float] = field(default_factory=dict)
    """Decided drift share per model version."""
    inconclusive: bool = False


def feature_table(window: Window, version: str) -> Any:
    """One version's served rows, feature columns only (the capture fields and the prediction removed)."""
    import pyarrow.dataset as ds

    rows = window.served.filter(ds.field("model_version") == version)
    return rows.drop_columns([c for c in rows.column_names if c in RESERVED])


def drift_window(window: Window, reference: str | Path, config: DataValidationConfig, *, model: str,
                 min_rows: int, alarm_threshold: float) -> DriftOutcome:
    """Validate each version's window against the reference; one check per version, the full data-validation
    report of each in `details.versions`."""
    from runtime.data.validate import validate_data
    from runtime.publish import NoDriftScore, drift_score

    report = Report(kind=KIND, subject={"model": model, "window": window.describe()})
    outcome = DriftOutcome(report)
    served = window.served
    report.details.update(files=window.files, rows=window.table.num_rows, served_rows=served.num_rows,
                          versions={})
    if served.num_rows == 0:
        outcome.inconclusive = True
        report.add(inconclusive("window", f"no served capture of {model} in {window.describe()} ({window.files} "
                                f"objects): nothing to compare; check that capture is on and traffic flows",
                                observed=0, threshold=f">= {min_rows} rows"))
        return outcome
    for version in sorted({str(v) for v in served["model_version"].to_pylist()}):
        table = feature_table(window, version)
        name = f"drift v{version}"
        if table.num_rows < min_rows:
            outcome.inconclusive = True
            report.add(inconclusive(name, f"{table.num_rows} served rows of version {version} in the window, "
                                    f"fewer than minWindowRows {min_rows}: {min_rows - table.num_rows} more needed",
                                    observed=table.num_rows, threshold=f">= {min_rows} rows"))
            continue
        result = _validate(validate_data, reference, table, served_config(config))
        report.details["versions"][version] = result.to_dict()
        try:
            share = drift_score(result.to_dict(), f"version {version}")
        except NoDriftScore as exc:
            outcome.inconclusive = True
            report.add(inconclusive(name, str(exc), observed=table.num_rows))
            continue
        outcome.shares[version] = share
        report.add(_share_check(name, share, alarm_threshold, table.num_rows, result.verdict))
    return outcome


def served_config(config: DataValidationConfig) -> DataValidationConfig:
    """The data contract as it applies to served traffic: no duplicate-row limit (callers send the same request
    again, and a canary or replay repeats rows on purpose; the limit is about training data). Every other check,
    and drift above all, as configured."""
    quality = config.quality.model_copy(update={"max_duplicate_rate": 1.0})
    return config.model_copy(update={"quality": quality})


def _validate(validate_data: Any, reference: str | Path, table: Any, config: DataValidationConfig) -> Report:
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="mlcicd-window-") as tmp:
        current = Path(tmp) / "window.parquet"
        pq.write_table(table, current)
        return validate_data(reference, current, config)


def _share_check(name: str, share: float, threshold: float, rows: int, verdict: Verdict) -> Check:
    reason = f"{share:.1%} of columns drifted over {rows} served rows (data gate verdict {verdict.value})"
    if share >= threshold:
        return failed(name, share, f"< {threshold:g}", reason)
    return passed(name, share, f"< {threshold:g}", reason)


def publish(outcome: DriftOutcome, cloudwatch: Any, *, namespace: str, model: str,
            now: datetime | None = None) -> list[dict[str, Any]]:
    """Publish what the outcome decided (see module doc); returns the datapoints."""
    stamp = now or datetime.now(UTC)
    model_dim = {"Name": m.DIMENSION_MODEL, "Value": model}
    data: list[dict[str, Any]] = [
        {"MetricName": m.DRIFT_SCORE, "Dimensions": [model_dim, {"Name": m.DIMENSION_VERSION, "Value": version}],
         "Timestamp": stamp, "Value": share, "Unit": "None"} for version, share in sorted(outcome.shares.items())]
    if outcome.shares:
        data.append({"MetricName": m.DRIFT_SCORE, "Dimensions": [model_dim], "Timestamp": stamp,
                     "Value": max(outcome.shares.values()), "Unit": "None"})
    data.append({"MetricName": m.DRIFT_INCONCLUSIVE, "Dimensions": [model_dim], "Timestamp": stamp,
                 "Value": 1.0 if outcome.inconclusive else 0.0, "Unit": "None"})
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])
    return data
