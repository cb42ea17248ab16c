"""After the promotion in `mlcicd local run`: the deploy workflow's reference step
(`runtime.pipeline.workflow.reference_step`, the line deploy.yml runs right after `mlcicd champion sync`), run as
written against the stand-ins. The promoted version is the champion by then (merging the pull request stands in),
so its training profile, which the Train action wrote to the models bucket, becomes the reference profile of the
pipeline stack (what the next DataValidate and the drift job read) and of the promotion target."""

from __future__ import annotations

import shutil
from dataclasses import replace

from runtime import stack_outputs as outputs
from runtime.local.actions import run_action
from runtime.local.shellrun import ActionRun
from runtime.local.state import DATA_BUCKET, MODELS_BUCKET, TARGET_DATA_BUCKET, Rehearsal
from runtime.local.summary import StageResult
from runtime.pipeline.workflow import PIPELINE_OUTPUTS, TARGET_OUTPUTS, reference_step


def reference_row(state: Rehearsal) -> StageResult:
    """The step's row: its verdict is the command's (a promoted version without its training profile stops the
    run), its report lands in the work dir's `reports/`."""

    def stack_outputs(run: ActionRun) -> str:
        """Stands in for the workflow's `pulumi stack output --json` of both stacks: the stand-ins' names."""
        state.write_outputs_json(run.cwd / PIPELINE_OUTPUTS, {
            outputs.DATA_BUCKET: DATA_BUCKET, outputs.MODELS_BUCKET: MODELS_BUCKET,
            outputs.TRACKING_URI: state.tracking_uri})
        state.write_outputs_json(run.cwd / TARGET_OUTPUTS, {outputs.DATA_BUCKET: TARGET_DATA_BUCKET})
        return f"version {state.promoted} is the champion (merging the pull request stands in for its rollout)"

    result, _ = run_action(state, reference_step(state.plan.spec), before=stack_outputs)
    report = result.report
    if report is not None and report.exists() and report.parent != state.reports:
        state.reports.mkdir(parents=True, exist_ok=True)
        shutil.copy2(report, state.reports / report.name)
        report = state.reports / report.name
    return replace(result, title="ChampionReference (deploy workflow, after the rollout)", report=report)
