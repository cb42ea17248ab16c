"""`mlcicd gate replay` and `mlcicd gate shadow`: judging a candidate on production traffic (runtime/replay/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer

from runtime.cli.common import UsageError, err, finish, load_config
from runtime.timestamps import parse_time

if TYPE_CHECKING:
    from runtime.config import StackConfig
    from runtime.config.replay import ReplayGateConfig
    from runtime.report import Report

Task = Literal["classification", "regression"]

StackOpt = Annotated[str | None, typer.Option(help="Stack: thresholds from `gates.replay`, the model's features "
                                              "from `monitoring.capture` (default: built-in defaults).")]
ModelOpt = Annotated[str | None, typer.Option(help="Registered model name (default: `model.name` of --stack).")]
CapturesOpt = Annotated[str | None, typer.Option(help="Capture prefix holding model=<name>/dt=.../ (local directory "
                                                 "or s3://); default `gates.replay.capturesUri`.")]
ReportOpt = Annotated[Path, typer.Option(help="Write the JSON report here (the machine contract).")]
HtmlOpt = Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report.")]
TaskOpt = Annotated[str | None, typer.Option(help="classification or regression (default: `gates.replay.task`, "
                                             "else `gates.task`).")]
ProjectOpt = Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")]


def _settings(stack: str | None, project_dir: Path | None, task: str | None) -> tuple[StackConfig | None,
                                                                                      ReplayGateConfig, Task]:
    from runtime.config.replay import ReplayGateConfig

    cfg = load_config(stack, project_dir).config if stack is not None else None
    replay = (cfg.gates.replay if cfg is not None else None) or ReplayGateConfig()
    chosen = task or replay.task or (cfg.gates.task if cfg is not None else "classification")
    if chosen not in ("classification", "regression"):
        raise UsageError(f"--task {chosen!r}: use classification or regression")
    if chosen == "regression" and replay.equivalence_margin is None:
        raise UsageError("a regression replay needs gates.replay.equivalenceMargin (in the model's units) in the "
                         "stack config")
    return cfg, replay, chosen  # type: ignore[return-value]  # checked just above


def _model(model: str | None, cfg: StackConfig | None) -> str:
    found = model or (cfg.model.name if cfg is not None else None)
    if not found:
        raise UsageError("--model is required without --stack")
    return found


def _captures(flag: str | None, replay: ReplayGateConfig) -> str:
    found = flag or replay.captures_uri
    if not found:
        raise UsageError("--captures is required unless gates.replay.capturesUri is set: the prefix holding "
                         "model=<name>/dt=.../, e.g. s3://<data bucket>/inference/")
    return found


def _finish(report: Report, out: Path, html: Path | None) -> NoReturn:
    if html is not None:
        from runtime.html import write

        write(report, html)
        err(f"html: {html}")
    finish(report, out)


def replay(
    *,
    report: ReportOpt,
    candidate_url: Annotated[str | None, typer.Option(help="Scoring endpoint of the candidate.")] = None,
    champion_url: Annotated[str | None, typer.Option(help="Scoring endpoint of the champion.")] = None,
    candidate_model_uri: Annotated[str | None, typer.Option(
        help="Serve the candidate here instead (`models:/NAME/V` or a directory) with the serving command.")] = None,
    champion_model_uri: Annotated[str | None, typer.Option(
        help="Serve the champion here instead. Default without --champion-url: models:/<model>@<gates."
             "championAlias>.")] = None,
    candidate_version: Annotated[str | None, typer.Option(help="Candidate version, for the report.")] = None,
    stack: StackOpt = None,
    model: ModelOpt = None,
    captures: CapturesOpt = None,
    task: TaskOpt = None,
    sample_size: Annotated[int | None, typer.Option(help="Requests to replay (default gates.replay.sampleSize).")]
    = None,
    window_hours: Annotated[float | None, typer.Option(help="Hours of captures (default gates.replay.windowHours).")]
    = None,
    until: Annotated[str | None, typer.Option(help="End of the window, ISO time (default: now).")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI for models:/ URIs (default "
                                                     "$MLFLOW_TRACKING_URI).")] = None,
    html: HtmlOpt = None,
    project_dir: ProjectOpt = None,
) -> None:
    """Replay a stratified sample of captured requests against candidate and champion and judge them paired:
    disagreement (or prediction equivalence), labelled quality, latency p50/p99 ratios, error rate, segments.
    Exit 0 PASS, 1 FAIL, 2 bad input or config, 3 INCONCLUSIVE (too little traffic: the report names how much
    is needed; an endpoint or AWS that does not answer)."""
    from runtime.replay.gate_run import ReplayOptions, replay_candidate

    cfg, settings, chosen = _settings(stack, project_dir, task)
    options = ReplayOptions(candidate_url=candidate_url, champion_url=champion_url,
                            candidate_model_uri=candidate_model_uri, champion_model_uri=champion_model_uri,
                            candidate_version=candidate_version, sample_size=sample_size, window_hours=window_hours,
                            until=until, tracking_uri=tracking_uri)
    result = replay_candidate(_model(model, cfg), _captures(captures, settings), options, cfg, settings=settings,
                              task=chosen)
    _finish(result, report, html)


def shadow(
    *,
    report: ReportOpt,
    stack: StackOpt = None,
    model: ModelOpt = None,
    captures: CapturesOpt = None,
    task: TaskOpt = None,
    candidate_version: Annotated[str | None, typer.Option(
        help="Judge only shadow records of this version (default: `serving.shadow.modelVersion` of --stack).")]
    = None,
    since: Annotated[str | None, typer.Option(help="Start of the window, ISO time (default: now minus "
                                              "serving.shadow.durationMinutes).")] = None,
    wait: Annotated[bool, typer.Option(help="Wait from now up to serving.shadow.durationMinutes for "
                                       "serving.shadow.sampleSize pairs, then judge.")] = False,
    data_bucket: Annotated[str | None, typer.Option(
        help="Read captures from s3://<bucket>/<monitoring.drift.inferencePrefix of --stack> (the stack output "
             "dataBucket), unless --captures is given.")] = None,
    html: HtmlOpt = None,
    project_dir: ProjectOpt = None,
) -> None:
    """Judge the shadow variant on the pairs captured from live traffic (baseline and shadow records of the same
    inference id), with the replay statistics. Exit 0 PASS, 1 FAIL, 2 bad input or config, 3 INCONCLUSIVE (too
    few pairs: the report names how many are needed)."""
    from runtime.config.replay import ShadowConfig
    from runtime.replay.captures import Window
    from runtime.replay.shadow import shadow_gate

    cfg, settings, chosen = _settings(stack, project_dir, task)
    name = _model(model, cfg)
    if captures is None and data_bucket is not None:
        prefix = cfg.monitoring.drift.inference_prefix if cfg is not None else "inference/"
        captures = f"s3://{data_bucket}/{prefix}"
    uri = _captures(captures, settings)
    shadow_cfg = cfg.serving.shadow if cfg is not None else ShadowConfig()
    now = datetime.now(UTC)
    duration = timedelta(minutes=shadow_cfg.duration_minutes)
    start = parse_time(since, "--since") or (now if wait else now - duration)
    window = Window(start, start + duration if wait else now)
    version = candidate_version or shadow_cfg.model_version
    result = shadow_gate(name, uri, settings.model_copy(update={"sample_size": shadow_cfg.sample_size}), chosen,
                         window, candidate=version, wait_for=shadow_cfg.sample_size if wait else None)
    _finish(result, report, html)
