"""Running one action of the step list as its CodeBuild build would: a fresh checkout, the build's environment,
then every command, rendered by the same function as the buildspec, in one shell session (exports carry over from
line to line), then the post-build commands whatever happened. Lines that talk to the cloud go to their stand-in
(`runtime.local.standins`); everything else (the team's commands, every `mlcicd` invocation, `aws s3` against
moto, file moves) runs in bash exactly as written (`runtime.local.shellrun`).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from runtime.errors import UsageError
from runtime.local import standins
from runtime.local.shellrun import ActionRun, CommandFailed
from runtime.local.state import DATA_BUCKET, MODELS_BUCKET, ONE_THREAD, Rehearsal, StandInFailed
from runtime.local.summary import StageResult, load_json
from runtime.local.workspace import checkout
from runtime.pipeline.model import Action

#: Variables of the user's environment a build must not see (their own cloud credentials and MLflow).
_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
          "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_REGISTRY_URI",
          "MLFLOW_EXPERIMENT_ID", "VIRTUAL_ENV", "PYTHONPATH")


def build_env(state: Rehearsal, action: Action, cwd: Path) -> dict[str, str]:
    """What CodeBuild's project environment and the pipeline's action variables give this action, pointed at the
    stand-ins (`components.delivery.pipeline.environment` is the cloud side)."""
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    binaries = str(Path(sys.executable).parent)
    env.update({k: env.get(k, v) for k, v in ONE_THREAD.items()})
    env.update(state.aws_env())
    env.update({"PATH": f"{binaries}{os.pathsep}{env.get('PATH', '')}", "STACK_NAME": state.plan.stack,
                "MODEL_NAME": state.plan.model, "PIPELINE_EXECUTION_ID": state.execution_id,
                "DATA_BUCKET": DATA_BUCKET, "MODELS_BUCKET": MODELS_BUCKET,
                "MLFLOW_TRACKING_URI": state.tracking_uri, "CODEBUILD_SRC_DIR": str(cwd),
                "CODEBUILD_BUILD_NUMBER": "1", "PYTHONUNBUFFERED": "1"})
    for name in action.inputs[1:]:
        if name not in state.outputs:
            raise CommandFailed("ERROR", f"{action.name} reads the artifact {name!r}, which no earlier action made")
        env[f"CODEBUILD_SRC_DIR_{name}"] = str(state.outputs[name])
    for name, reference in action.variables:
        namespace, _, variable = reference.removeprefix("#{").removesuffix("}").partition(".")
        value = state.exports.get(namespace, {}).get(variable)
        if value is None:
            raise CommandFailed("ERROR", f"{action.name} reads {reference}, which no earlier action exported")
        env[name] = value
    return env


Hook = Callable[[ActionRun], str | None]


def run_action(state: Rehearsal, action: Action, *, name: str | None = None, before: Hook | None = None,
               after: Hook | None = None) -> tuple[StageResult, ActionRun]:
    """Run `action` in a fresh checkout: `before` after the checkout (faults), the commands, `after` once they
    passed (faults, notes), then the post-build commands. The result row (named `name`, default the action's) and
    the finished run."""
    title = name or action.name
    t0 = time.perf_counter()
    cwd = state.checkout_dir(title)
    run = ActionRun(action, cwd, {}, state.logs / f"{title}.log")
    verdict, reason = "PASS", ""
    try:
        checkout(state.snapshot, cwd)
        run.env = build_env(state, action, cwd)
        for hook, commands in ((before, action.commands), (after, ())):
            note = hook(run) if hook is not None else None
            if note:
                run.notes.append(note)
            for command in commands:
                standins.run_command(state, run, command)
    except (CommandFailed, StandInFailed) as exc:
        verdict, reason = exc.verdict, exc.reason
        run.report = exc.report or run.report
    except UsageError as exc:
        verdict, reason = "ERROR", str(exc)
    except Exception as exc:  # a stand-in that could not finish is never a PASS: the run stops, with the reason
        verdict, reason = "INCONCLUSIVE", f"{type(exc).__name__}: {exc}"
    for line in action.finally_commands:
        try:
            standins.run_command(state, run, line)
        except (CommandFailed, StandInFailed) as exc:
            if verdict == "PASS":
                verdict, reason = exc.verdict, f"post-build: {exc.reason}"
    if verdict == "PASS" and action.output:
        state.outputs[action.output] = cwd / action.output
    if verdict == "PASS" and action.namespace:
        state.exports[action.namespace] = {var: run.env[var] for var in action.exports if var in run.env}
    collected = collect_reports(state, run)
    if verdict == "PASS":
        reason = "; ".join([*run.notes, _pass_note(collected)] if collected else run.notes) or "every command passed"
    result = StageResult(name=title, title=title, verdict=verdict, duration_s=time.perf_counter() - t0,
                         reason=reason, report=collected, extra_links={"log": run.log})
    return result, run


def collect_reports(state: Rehearsal, run: ActionRun) -> Path | None:
    """Copy the action's reports into the work dir's `reports/`; the main one's new path."""
    found = run.cwd / "reports"
    state.reports.mkdir(parents=True, exist_ok=True)
    if found.is_dir():
        for path in found.iterdir():
            if path.is_file():
                shutil.copy2(path, state.reports / path.name)
    if run.report is None:
        return None
    copied = state.reports / run.report.name
    return copied if copied.exists() else (run.report if run.report.exists() else None)


def _pass_note(report: Path) -> str:
    data = load_json(report) or {}
    checks = data.get("checks", [])
    notes = "; ".join(str(c.get("reason", "")) for c in checks[:2])
    return f"{len(checks)} check{'s' * (len(checks) != 1)} passed: {notes}"
