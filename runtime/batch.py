"""The summary report of a batch-inference run: did every input file get a prediction for every row?

The batch job (`monitoring:BatchInference`) scores each CSV file under the input prefix with the pinned serving
image (`mlflow models predict`, one JSON file `{"predictions": [...]}` per input) and then calls
`batch_summary(inputs, predictions)`, which returns a Report of kind "batch-inference": FAIL when a file was not
scored, its predictions do not match its rows, or a prediction is not finite; INCONCLUSIVE when there was nothing
to score. The details carry per-file counts and a summary of the predictions.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from runtime.report import Report, failed, inconclusive, passed

KIND = "batch-inference"
#: Distinct labels listed in the details (the rest are summed as "(other)").
TOP_LABELS = 20


def csv_rows(path: Path) -> int:
    """Data rows of a CSV file with a header line."""
    with path.open(newline="", encoding="utf-8") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def read_predictions(path: Path) -> list[Any]:
    """`mlflow models predict` output: `{"predictions": [...]}` (or a bare list). ValueError when it is neither."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("predictions"), list):
        return data["predictions"]
    if isinstance(data, list):
        return data
    raise ValueError("expected {\"predictions\": [...]}")


def _flat(value: Any) -> Any:
    """A prediction row reduced to one value (multi-output rows: their first value)."""
    if isinstance(value, dict):
        return _flat(next(iter(value.values()), None))
    if isinstance(value, list):
        return _flat(value[0]) if value else None
    return value


def summarize_predictions(values: list[Any]) -> dict[str, Any]:
    flat = [_flat(v) for v in values]
    numbers = [float(v) for v in flat if isinstance(v, int | float) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(flat) and len(set(numbers)) > TOP_LABELS:
        return {"type": "numeric", "count": len(numbers), "min": min(numbers), "max": max(numbers),
                "mean": sum(numbers) / len(numbers)}
    counts = Counter(str(v) for v in flat)
    top = dict(counts.most_common(TOP_LABELS))
    other = sum(counts.values()) - sum(top.values())
    if other:
        top["(other)"] = other
    return {"type": "labels", "count": len(flat), "counts": top}


def batch_summary(inputs: Path, predictions: Path) -> Report:
    report = Report(kind=KIND, subject={"inputs": str(inputs), "predictions": str(predictions)})
    files = sorted(inputs.glob("*.csv")) if inputs.is_dir() else []
    if not files:
        report.add(inconclusive("inputs", f"no CSV files in {inputs}: nothing was scored"))
        return report.finish()
    every: list[Any] = []
    per_file: list[dict[str, Any]] = []
    for path in files:
        rows = csv_rows(path)
        out = predictions / f"{path.stem}.json"
        entry: dict[str, Any] = {"file": path.name, "rows": rows, "output": out.name}
        per_file.append(entry)
        if not out.is_file():
            report.add(failed(f"scored:{path.name}", None, f"{rows} predictions", f"no predictions file {out.name}: "
                              "scoring failed (see the job log)"))
            continue
        try:
            values = read_predictions(out)
        except (OSError, ValueError) as exc:
            report.add(failed(f"scored:{path.name}", None, f"{rows} predictions", f"{out.name}: unreadable ({exc})"))
            continue
        entry["predictions"] = len(values)
        every.extend(values)
        if len(values) != rows:
            report.add(failed(f"scored:{path.name}", len(values), f"{rows} predictions",
                              f"{len(values)} predictions for {rows} rows"))
        else:
            report.add(passed(f"scored:{path.name}", len(values), f"{rows} predictions", "every row scored"))
    flat = [_flat(v) for v in every]
    bad = sum(1 for v in flat if v is None or (isinstance(v, float) and not math.isfinite(v)))
    check = failed if bad else passed
    report.add(check("predictions.finite", bad, "0", f"{bad} of {len(flat)} predictions missing or not finite"))
    report.details.update({"files": per_file, "rows": sum(e["rows"] for e in per_file),
                           "predictions": len(every), "summary": summarize_predictions(every)})
    return report.finish()
