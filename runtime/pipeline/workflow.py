"""The deploy workflow's step that makes the reference profiles follow the champion, as data (pure).

`.github/workflows/deploy.yml` (and the copy `mlcicd init` writes) runs this command line in its production job,
right after `mlcicd champion sync` and in the same step, with `pulumi stack output --json` of both stacks saved
under the file names below; `mlcicd local run` runs the same line after the promotion (`runtime.local.reference`).
tests/test_workflows.py checks that the workflow runs exactly this line.
"""

from __future__ import annotations

from runtime.pipeline.model import Action, Mlcicd, PipelineSpec
from runtime.pipeline.shell import STACK_OUTPUTS

#: `pulumi stack output --json` of the stack hosting the pipeline (registry, models bucket, its data bucket) and of
#: the promotion target (its data bucket), as the deploy workflow's production job saves them.
PIPELINE_OUTPUTS = "pipeline-stack-outputs.json"
TARGET_OUTPUTS = STACK_OUTPUTS
REFERENCE_REPORT = "reference-profile.json"


def reference_step(spec: PipelineSpec) -> Action:
    """`mlcicd champion reference`: the champion of the promotion target's model, read in the pipeline stack's
    registry; its training profile, from that stack's models bucket, becomes the reference profile of the pipeline
    stack (the data gate's) and of the promotion target (its drift job's)."""
    return Action(
        name="ChampionReference",
        commands=(Mlcicd(("champion", "reference", "--stack", spec.promote_to, "--stack-outputs", PIPELINE_OUTPUTS,
                          "--target", f"{spec.stack}={PIPELINE_OUTPUTS}",
                          "--target", f"{spec.promote_to}={TARGET_OUTPUTS}", "--report", REFERENCE_REPORT)),))
