"""`mlcicd gate replay` from its options: the two sides (each an endpoint, or a model served on this machine; the
champion by default the version `gates.championAlias` points at), the window and the sample, then the gate. The CLI
(runtime/cli/replay_cmd.py) only parses, calls, prints and exits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from runtime.errors import UsageError
from runtime.report import Report, inconclusive, passed
from runtime.timestamps import parse_time

if TYPE_CHECKING:
    from runtime.config import StackConfig
    from runtime.config.replay import ReplayGateConfig
    from runtime.replay.judge import Task


@dataclass(frozen=True)
class ReplayOptions:
    """`mlcicd gate replay` as given on the command line (None: from the stack, the registry or the default)."""

    candidate_url: str | None = None
    """The candidate's scoring endpoint; or `candidate_model_uri`, a model served here (exactly one of the two)."""
    candidate_model_uri: str | None = None
    champion_url: str | None = None
    """The champion's endpoint; or `champion_model_uri`, served here; neither: the version `gates.championAlias`
    points at."""
    champion_model_uri: str | None = None
    candidate_version: str | None = None
    """The candidate's version, for the report."""
    sample_size: int | None = None
    window_hours: float | None = None
    until: str | None = None
    """End of the window, ISO time (default: now)."""
    tracking_uri: str | None = None
    """MLflow tracking URI for models:/ URIs (default: $MLFLOW_TRACKING_URI)."""


def replay_candidate(model: str, captures_uri: str, options: ReplayOptions, cfg: StackConfig | None, *,
                     settings: ReplayGateConfig, task: Task) -> Report:
    """Replay the window's sample of `captures_uri` against candidate and champion, serving either side here when
    given as a model URI; without a champion yet, the report of that alone (nothing is replayed). UsageError for a
    side given twice or not at all, or a bad --until."""
    from runtime.replay.captures import Window
    from runtime.replay.gate import ReplayTarget, replay_gate

    if (options.candidate_url is None) == (options.candidate_model_uri is None):
        raise UsageError("give the candidate as exactly one of --candidate-url and --candidate-model-uri")
    if options.champion_url is not None and options.champion_model_uri is not None:
        raise UsageError("give the champion as --champion-url or --champion-model-uri, not both")
    updates: dict[str, Any] = {k: v for k, v in (("sample_size", options.sample_size),
                                                 ("window_hours", options.window_hours)) if v is not None}
    settings = settings.model_copy(update=updates)
    window = Window.last_hours(settings.window_hours, parse_time(options.until, "--until"))
    capture = cfg.monitoring.capture if cfg is not None else None
    target = ReplayTarget(model=model, captures=captures_uri, champion_url="", candidate_url="",
                          candidate=options.candidate_version,
                          features=tuple(f.name for f in capture.input_schema) if capture else (),
                          unusable=(*capture.drop_fields, *capture.hash_fields) if capture else ())
    roles = _roles(model, cfg, options)
    if not isinstance(roles, dict):
        return roles
    from runtime.replay.servers import serve_models

    with serve_models({r: v for r, (kind, v) in roles.items() if kind == "model"}, model) as served:
        urls = {**{r: v for r, (kind, v) in roles.items() if kind == "url"}, **served}
        return replay_gate(replace(target, champion_url=urls["champion"], candidate_url=urls["candidate"],
                                   champion=roles["champion"][1]), settings, task, window=window)


def _roles(model: str, cfg: StackConfig | None, options: ReplayOptions) -> dict[str, tuple[str, str]] | Report:
    """Role -> ("url", endpoint) or ("model", URI to serve) from each side's URL or model URI; or a finished report
    when there is no champion yet. Without a champion given, it is the version `gates.championAlias` points at."""
    from runtime.replay import KIND_REPLAY

    candidate_url, candidate_uri = options.candidate_url, options.candidate_model_uri
    champion_url, champion_uri = options.champion_url, options.champion_model_uri
    tracking_uri = options.tracking_uri
    roles = {"candidate": ("url", candidate_url) if candidate_url else ("model", str(candidate_uri))}
    if tracking_uri is not None:
        os.environ["MLFLOW_TRACKING_URI"] = tracking_uri  # the served models:/ URIs read it
    if champion_url is not None or champion_uri is not None:
        roles["champion"] = ("url", champion_url) if champion_url else ("model", str(champion_uri))
        return roles
    from runtime.replay.servers import champion_version
    from runtime.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    alias = cfg.gates.champion_alias if cfg is not None else "champion"
    version = champion_version(uri, model, alias)
    if version is not None:
        roles["champion"] = ("model", f"models:/{model}/{version}")
        return roles
    allowed = cfg.gates.allow_no_champion if cfg is not None else True
    report = Report(kind=KIND_REPLAY, subject={"model": model, "champion": None})
    report.add(passed("champion", None, f"@{alias}", f"{model} has no @{alias} yet: nothing to compare against "
                      "(gates.allowNoChampion)") if allowed else
               inconclusive("champion", f"{model} has no @{alias} and gates.allowNoChampion is false"))
    return report
