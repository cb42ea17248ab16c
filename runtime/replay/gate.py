"""`mlcicd gate replay`: captured production requests replayed against candidate and champion, judged paired.

Steps, one module each: read the window of captures (`captures.py`), draw the stratified sample and rebuild the
requests (`sample.py`), send each to both endpoints (`send.py`), decide (`decide.py`, statistics in `judge.py` and
`stats.py`). No captured traffic in the window is INCONCLUSIVE with a report, never a PASS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.config.replay import ReplayGateConfig
from runtime.replay import KIND_REPLAY, captures, decide, sample, send
from runtime.report import Report, inconclusive
from runtime.serving.records import column_name

if TYPE_CHECKING:
    from runtime.aws import ClientFactory
    from runtime.replay.judge import Task



@dataclass(frozen=True)
class ReplayTarget:
    """What is compared, on which traffic."""

    model: str
    captures: str
    """Prefix holding `model=<name>/dt=.../` (local directory or s3://)."""
    champion_url: str
    candidate_url: str
    candidate: str | None = None
    """Candidate version (the report's subject), when known."""
    champion: str | None = None
    features: tuple[str, ...] = ()
    """The model's input features (`monitoring.capture.inputSchema`); empty: every non-capture column."""
    unusable: tuple[str, ...] = field(default=())
    """Features captures hold no value of (dropped or hashed)."""


def subject(target: ReplayTarget) -> dict[str, Any]:
    return {"model": target.model, "version": target.candidate, "champion": target.champion,
            "candidate_url": target.candidate_url, "champion_url": target.champion_url}


def replay_gate(target: ReplayTarget, cfg: ReplayGateConfig, task: Task, *, window: captures.Window | None = None,
                clients: ClientFactory | None = None) -> Report:
    report = Report(kind=KIND_REPLAY, subject=subject(target))
    window = window or captures.Window.last_hours(cfg.window_hours)
    table, objects = captures.read_window(target.captures, target.model, window, variants=tuple(cfg.variants),
                                          clients=clients)
    rows, drawn = sample.draw(table, cfg.sample_size, cfg.stratify_by, cfg.seed)
    report.details = {"captures": target.captures, "window": {"start": window.start.isoformat(),
                                                              "end": window.end.isoformat()},
                      "objects_read": objects, "records_in_window": table.num_rows,
                      "requests_available": drawn.available, "sample_size": cfg.sample_size,
                      "strata": {k: {"available": a, "drawn": d} for k, (a, d) in drawn.strata.items()}}
    if drawn.available == 0:
        report.add(inconclusive("captured traffic", f"no request answered with 200 was captured for "
                                f"{target.model} in {window.describe()} under {target.captures} ({objects} objects "
                                f"read); needs at least {cfg.sample_size} requests: widen gates.replay.windowHours "
                                "or check monitoring.capture"))
        return report.finish()
    columns = sample.feature_columns(rows, target.features, cfg.label_column, target.unusable)
    labelled = cfg.labels_uri is not None or cfg.label_column is not None
    label_frame = captures.read_labels(cfg.labels_uri, clients) if cfg.labels_uri else None
    labels = sample.label_map(label_frame, rows, cfg.label_column) if labelled else None
    segment = column_name(cfg.segment_column) if cfg.segment_column else None
    requests = sample.build_requests(rows, columns, segment=segment, labels=labels)
    answers = send.replay(requests, target.champion_url, target.candidate_url, concurrency=cfg.concurrency,
                          timeout_s=cfg.timeout_seconds)
    pairs = send.pairs(requests, answers, segments=cfg.segment_column is not None, labels=labelled)
    checks, details = decide.decide(pairs, cfg, task, segment_column=cfg.segment_column, labels_expected=labelled)
    report.checks.extend(checks)
    report.details.update(details)
    report.details["requests_replayed"] = len(requests)
    failures = [a.problem for c, d in answers for a in (c, d) if not a.ok and a.problem]
    if failures:
        report.details["failure_examples"] = sorted(set(failures))[:5]
    return report.finish()
