"""`mlcicd gate shadow`: the captured pairs of a shadow variant and the baseline it copies, judged like a replay.

The baseline's capture layer mirrors each captured request to the shadow with the same inference id, and the
shadow captures its own answer with `variant=shadow`: a pair is the two records of one (inference id, row). The
latencies are each server's own (`latency_ms`, arrival to last byte). Baseline records without a shadow answer
(a mirror copy dropped or failed, or the shadow's record lost) and shadow records of another model version are
counted in the report, not judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.config.replay import ReplayGateConfig
from runtime.errors import ConfigurationError
from runtime.replay import KIND_SHADOW, captures, decide, sample
from runtime.replay.judge import Pairs
from runtime.report import Report, inconclusive
from runtime.serving.records import column_name

if TYPE_CHECKING:
    from runtime.aws import ClientFactory
    from runtime.replay.judge import Task

#: Seconds between reads of the captures while waiting for pairs.
POLL_SECONDS = 60.0


def join(frame: Any, candidate: str | None) -> tuple[Any, dict[str, int]]:
    """One row per (inference id, row) seen by both sides, with `_b` (baseline) and `_s` (shadow) columns; and the
    accounting of what could not be paired."""
    if frame.empty or "variant" not in frame:
        return frame.iloc[0:0], {"baseline_requests": 0, "shadow_requests": 0, "paired_requests": 0,
                                 "other_versions": 0}
    base = frame[frame["variant"] == "baseline"].drop_duplicates(["inference_id", "row"])
    shadow = frame[frame["variant"] == "shadow"].drop_duplicates(["inference_id", "row"])
    other = 0
    if candidate is not None:
        other = int(shadow.loc[shadow["model_version"].astype(str) != candidate, "inference_id"].nunique())
        shadow = shadow[shadow["model_version"].astype(str) == candidate]
    keep = ["inference_id", "row", "status", "latency_ms", "prediction"]
    joined = base.merge(shadow[keep], on=["inference_id", "row"], suffixes=("_b", "_s"))
    return joined, {"baseline_requests": int(base["inference_id"].nunique()),
                    "shadow_requests": int(shadow["inference_id"].nunique()),
                    "paired_requests": int(joined["inference_id"].nunique()), "other_versions": other}


def to_pairs(joined: Any, segment: str | None, labels: dict[tuple[str, int], Any] | None) -> Pairs:
    requests = joined.sort_values(["inference_id", "row"]).groupby("inference_id", sort=True).first()
    both = joined[(joined["status_b"] == 200) & (joined["status_s"] == 200)]
    return Pairs(
        champion_ok=(requests["status_b"] == 200).to_numpy(dtype=bool),
        candidate_ok=(requests["status_s"] == 200).to_numpy(dtype=bool),
        champion_ms=requests["latency_ms_b"].to_numpy(dtype=np.float64),
        candidate_ms=requests["latency_ms_s"].to_numpy(dtype=np.float64),
        champion=sample.as_array([sample.plain(v) for v in both["prediction_b"]]),
        candidate=sample.as_array([sample.plain(v) for v in both["prediction_s"]]),
        segments=sample.as_array([sample.plain(v) for v in both[segment]]) if segment else None,
        labels=sample.as_array([labels.get((str(i), int(r))) for i, r in zip(both["inference_id"], both["row"],
                                                                           strict=True)])
        if labels is not None else None)


def shadow_gate(model: str, uri: str, cfg: ReplayGateConfig, task: Task, window: captures.Window, *,
                candidate: str | None = None, wait_for: int | None = None,
                clients: ClientFactory | None = None, sleep: Callable[[float], None] = time.sleep) -> Report:
    """Judge the pairs captured within `window`. With `wait_for`, read again every POLL_SECONDS until that many
    requests are paired or the window's end has passed."""
    report = Report(kind=KIND_SHADOW, subject={"model": model, "version": candidate, "champion": "baseline"})
    while True:
        now = datetime.now(UTC)
        current = captures.Window(window.start, min(window.end, now))
        table, objects = captures.read_window(uri, model, current, variants=("baseline", "shadow"), clients=clients)
        joined, counts = join(table.to_pandas(), candidate)
        if wait_for is None or counts["paired_requests"] >= wait_for or now >= window.end:
            break
        sleep(min(POLL_SECONDS, max((window.end - now).total_seconds(), 0.0)))
    report.details = {"captures": uri, "window": {"start": current.start.isoformat(), "end": current.end.isoformat()},
                      "objects_read": objects, **counts}
    segment = column_name(cfg.segment_column) if cfg.segment_column else None
    if segment and not joined.empty and segment not in joined.columns:
        raise ConfigurationError(f"gates.replay.segmentColumn {cfg.segment_column!r} (column {segment!r}) is not "
                                 f"captured; columns: {', '.join(map(str, joined.columns))}")
    if joined.empty:
        report.add(inconclusive("captured pairs", f"no baseline request of {model} has a shadow answer"
                                f"{f' from version {candidate}' if candidate else ''} in {current.describe()} "
                                f"({counts['baseline_requests']} baseline and {counts['shadow_requests']} shadow "
                                f"requests captured); needs about {cfg.sample_size}: is serving.shadow on and "
                                "mirroring?"))
        return report.finish()
    labelled = cfg.labels_uri is not None or cfg.label_column is not None
    label_frame = captures.read_labels(cfg.labels_uri, clients) if cfg.labels_uri else None
    labels = sample.label_map(label_frame, joined, cfg.label_column) if labelled else None
    checks, details = decide.decide(to_pairs(joined, segment, labels), cfg, task, segment_column=cfg.segment_column,
                                    labels_expected=labelled)
    report.checks.extend(checks)
    report.details.update(details)
    return report.finish()
