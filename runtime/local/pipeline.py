"""`mlcicd local run`: the delivery pipeline's step list (`runtime.pipeline.steps`, the one the CodeBuild actions
are rendered from), run stage by stage on one machine against the project it stands in.

    Source -> Validate [DataValidate | UnitTests | Lint] -> Train -> ModelGate -> Package -> Deploy
           -> [Smoke | VerifyRollout] -> LoadTest -> (Approve) -> Promote -> ChampionReference -> (DriftMonitor)

A written promotion makes the candidate the champion (merging the pull request stands in), and the deploy
workflow's reference step follows it (`runtime.local.reference`). With inference capture configured, the scoring
servers capture what they serve and the scheduled drift job (`runtime.pipeline.jobs`) runs last on the canary's
captured traffic (`runtime.local.capture`).

Every action runs its own commands in its own checkout of a snapshot of the project (`runtime.local.actions`):
the team's train, test and lint commands and every `mlcicd` invocation exactly as the buildspec runs them; only
lines that need the cloud go to a stand-in (`runtime.local.standins`): MLflow with a sqlite store in the work dir,
MLflow scoring servers for champion and candidate, a moto server as S3 and CloudWatch, a copy of the repository
for the promotion. The first action that does not PASS stops the run; its verdict is the exit code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.local import capture
from runtime.local import preparation as prep
from runtime.local.actions import Hook, run_action
from runtime.local.deploy import serve_candidate
from runtime.local.faults import Faults, Scenario
from runtime.local.monitor import drift_job_row
from runtime.local.plan import Plan
from runtime.local.processes import ProcessGroup
from runtime.local.progress import Progress
from runtime.local.reference import reference_row
from runtime.local.servers import start_moto
from runtime.local.shellrun import ActionRun
from runtime.local.state import Rehearsal
from runtime.local.summary import StageResult, terminal_table, write_html

#: Work dir entries a rerun replaces; the MLflow store and its artifacts stay (the champion lives there).
REPLACED = ("source", "actions", "reports", "logs", "tmp", "promotion", "aws")
EXIT_CODES = {"PASS": 0, "FAIL": 1, "ERROR": 2, "INCONCLUSIVE": 3}


@dataclass
class LocalRun:
    workdir: Path
    scenario: Scenario
    rows: list[StageResult] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    total_s: float = 0.0

    @property
    def stopped(self) -> StageResult | None:
        return next((r for r in self.rows if r.in_pipeline and r.verdict not in ("PASS", "SKIPPED")), None)

    @property
    def verdict(self) -> str:
        stop = self.stopped
        return stop.verdict if stop is not None else "PASS"


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """MLflow and its dependencies talk a lot on stderr; the run prints its own progress instead."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "mlflow.store.db.utils", "alembic", "urllib3",
                                                    "botocore", "werkzeug")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def make_faults(plan: Plan, scenario: Scenario) -> Faults:
    fairness = plan.target.gates.fairness
    faults = Faults(scenario, plan.spec.training_data_path, plan.target_column,
                    sensitive=fairness.sensitive_column if fairness else None,
                    positive_label=fairness.positive_label if fairness else 1,
                    untested=tuple(plan.target.data.schema_.exclude_from_drift))
    faults.check()
    return faults


def run_local(plan: Plan, scenario: Scenario, workdir: Path, console: Any) -> LocalRun:
    """Run the step list; child processes are stopped whatever happens."""
    faults = make_faults(plan, scenario)
    workdir = workdir.resolve()
    for name in REPLACED:
        shutil.rmtree(workdir / name, ignore_errors=True)
    run = LocalRun(workdir, scenario)
    t0 = time.perf_counter()
    console.print(f"[bold]ml-cicd local run[/]: scenario {scenario}, work dir {workdir}")
    for line in plan.banner():
        console.print(f"  {line}", highlight=False)
    execution = "local-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    progress = Progress(console)
    with quiet_libraries(), ProcessGroup() as group, progress.live():
        state = Rehearsal(plan, workdir, faults, group, execution)
        state.moto = start_moto(group, state.logs / "moto.log")
        try:
            _run_stages(state, run, progress)
        finally:
            state.stop_commands()
        run.facts.update(state.facts)
    done = {r.name for r in run.rows}
    run.rows += [StageResult(a.name, a.name, "SKIPPED") for s in plan.stages for a in s.actions
                 if a.name not in done and a.category != "Source"]
    run.facts.update({"scenario": scenario, "work dir": str(workdir), "tracking": f"sqlite:///{workdir}/mlflow.db",
                      "stack": f"Pulumi.{plan.stack}.yaml"})
    run.total_s = time.perf_counter() - t0
    run.facts["total time"] = f"{run.total_s:.1f} s"
    return run


def _run_stages(state: Rehearsal, run: LocalRun, progress: Progress) -> None:
    def record(result: StageResult) -> bool:
        run.rows.append(result)
        progress.done(result)
        return result.verdict == "PASS"

    progress.stage("Source", ["snapshot", "stand-ins"])
    if not record(prep.prepare_source(state)) or not record(prep.prepare_services(state)):
        return
    alias = state.plan.target.gates.champion_alias
    champion = prep.find_champion(state)
    if champion is not None:
        record(prep.champion_row(champion, alias))
    hooks = _hooks(state)
    for stage in state.plan.stages:
        if stage.name == "Source":
            continue
        if stage.name == "Train" and champion is None:
            progress.stage("Champion", ["Train (the project as it is)"])
            progress.start("Champion")
            if not record(prep.bootstrap_champion(state, stage.actions[0])):
                return
        progress.stage(stage.name, [a.name for a in stage.actions])
        for order in sorted({a.run_order for a in stage.actions}):
            actions = [a for a in stage.actions if a.run_order == order]
            results = _run_parallel(state, actions, hooks, progress)
            if not all([record(r) for r in results]):  # noqa: C419 - record every result
                return
    if state.promoted is not None:
        progress.stage("Deploy workflow", ["ChampionReference"])
        progress.start("ChampionReference")
        if not record(reference_row(state)):
            return
    if state.canary_window is not None and capture.settings(state) is not None:
        progress.stage("Monitor", ["DriftMonitor"])
        progress.start("DriftMonitor")
        record(drift_job_row(state, capture.deliver(state, *state.canary_window)))


def _run_parallel(state: Rehearsal, actions: list[Any], hooks: dict[str, tuple[Hook | None, Hook | None]],
                  progress: Progress) -> list[StageResult]:
    def one(action: Any) -> StageResult:
        progress.start(action.name)
        if action.category == "Approval":
            return StageResult(action.name, action.name, "PASS", 0.0, "approved by the local run (in the cloud "
                               "CodePipeline waits here for a person)")
        before, after = hooks.get(action.name, (None, None))
        return run_action(state, action, before=before, after=after)[0]

    # Side by side as in CodePipeline, except actions that send traffic to the endpoint: on one machine their
    # latency would include the other actions' work, so they run alone.
    if len(actions) == 1 or any(a.access.network for a in actions):
        return [one(a) for a in actions]
    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        try:
            return list(pool.map(one, actions))
        except BaseException:  # interrupted: stop the other threads' commands, or the pool would wait for them
            state.stop_commands()
            raise


def _hooks(state: Rehearsal) -> dict[str, tuple[Hook | None, Hook | None]]:
    """What the rehearsal adds around actions: the label and model faults, and promotion's outcome."""

    def before_training(run: ActionRun) -> str | None:
        fault = state.faults.before_training(run.cwd)
        return f"fault: {fault}" if fault else None

    def after_training(run: ActionRun) -> str:
        version = run.env["MODEL_VERSION"]
        fault = state.faults.after_training(state.tracking_uri, state.plan.model, version)
        serve_candidate(state, version)  # starts now; Deploy waits for it (start-up overlaps gate, package)
        note = (f"version {version} registered by `{state.plan.spec.train_command}`; training contract kept "
                "(metrics, signature, input example)")
        return note + (f"; fault: {fault}" if fault else "")

    def after_promotion(run: ActionRun) -> str | None:
        return publish_promotion(state, run)

    return {"Train": (before_training, after_training), "Promote": (None, after_promotion)}


def publish_promotion(state: Rehearsal, run: ActionRun) -> str | None:
    """Copy the diff, the pull-request body and the edited stack file to `promotion/`; a promotion that was
    written makes the candidate the champion (what merging the pull request does)."""
    from runtime.local.summary import load_json

    out = state.workdir / "promotion"
    out.mkdir(parents=True, exist_ok=True)
    target = f"Pulumi.{state.plan.spec.promote_to}.yaml"
    copies: list[tuple[str, str]] = [("promotion.diff", "promotion.diff"), ("pr.md", "pull-request.md"),
                                     (f"promotion/{target}", target)]
    for source, name in copies:
        if (run.cwd / source).is_file():
            shutil.copyfile(run.cwd / source, out / name)
    report = load_json(run.report) or {}
    if not (report.get("details") or {}).get("written"):
        return None
    from mlflow import MlflowClient

    version = run.env["MODEL_VERSION"]
    alias = state.plan.target.gates.champion_alias
    MlflowClient(state.tracking_uri, state.tracking_uri).set_registered_model_alias(state.plan.model, alias, version)
    state.promoted = version
    state.facts["promotion"] = f"version {version} pinned in {out / target}; now @{alias} locally"
    return f"version {version} pinned in a copy of {target} ({out}); merging the pull request stands in: @{alias}"


# Summary --------------------------------------------------------------------------------------------------------
def finish(run: LocalRun, console: Any) -> int:
    stop = run.stopped
    html_path = write_html(run.workdir / "report.html", run.rows, run.verdict, run.facts)
    summary = {"verdict": run.verdict, "scenario": run.scenario, "stopped_at": stop.name if stop else None,
               "reason": stop.reason if stop else "", "report": str(html_path), "total_s": round(run.total_s, 1),
               "stages": [{"name": r.name, "verdict": r.verdict, "duration_s": round(r.duration_s, 2),
                           "reason": r.reason, "report": str(r.report) if r.report else None,
                           "in_pipeline": r.in_pipeline} for r in run.rows]}
    (run.workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(terminal_table(run.rows, run.verdict, f"ml-cicd local run: scenario {run.scenario}"))
    if stop is not None:
        console.print(f"[bold]stopped at {stop.title}[/]: {stop.reason}", highlight=False)
    console.print(f"HTML report: {html_path}")
    return EXIT_CODES[run.verdict]

