"""The training contract: what the Train action hands the team's training command, in ONE place.

The Train action (`runtime.pipeline.steps.train_action`) starts with `export_line(spec)`, so the cloud build and
`mlcicd local run` (which runs the same line) give the command exactly these variables. What the command must do in
return, and what happens when it does not, is docs/training-contract.md; the checks afterwards are
`runtime.candidate.check_training`.

Besides these, the command finds `MLFLOW_TRACKING_URI` (and the tracking server's credentials) set by the action's
environment, and MLflow itself reads `MLFLOW_EXPERIMENT_NAME`.
"""

from __future__ import annotations

import shlex

from runtime.pipeline.model import PipelineSpec

#: Registered model name the command must register exactly one new version of (`model.name`).
MODEL_NAME = "MLCICD_MODEL_NAME"
#: Training data in the repository (`pipeline.trainingDataPath`, relative to the repository root = the cwd).
TRAINING_DATA = "MLCICD_TRAINING_DATA"
#: Held-out evaluation data the model gate scores the candidate on (`gates.evaluation.path`); empty when unset.
EVALUATION_DATA = "MLCICD_EVALUATION_DATA"
#: Label column of both data sets (`gates.evaluation.targetColumn`); empty when unset.
TARGET_COLUMN = "MLCICD_TARGET_COLUMN"
#: An empty directory the command may write to (scratch files, plots); absolute path.
WORK_DIR = "MLCICD_WORK_DIR"
#: The stack hosting the pipeline (for tags; the command must not branch on it).
STACK = "MLCICD_STACK"
#: MLflow's own variable: the experiment runs go to (named after the model). Set by the action, read by MLflow.
EXPERIMENT = "MLFLOW_EXPERIMENT_NAME"

#: Where the work dir is, relative to the action's checkout.
WORK_DIR_PATH = "build/train"


def training_environment(spec: PipelineSpec) -> tuple[tuple[str, str], ...]:
    """(variable, value as a shell word) in the order they are exported. Values may name the action's variables
    (`$MODEL_NAME`, `$STACK_NAME`), which every build action has."""
    q = shlex.quote
    return (
        (MODEL_NAME, '"$MODEL_NAME"'),
        (TRAINING_DATA, q(spec.training_data_path)),
        (EVALUATION_DATA, q(spec.evaluation_path or "")),
        (TARGET_COLUMN, q(spec.target_column or "")),
        (WORK_DIR, f'"$PWD/{WORK_DIR_PATH}"'),
        (STACK, '"$STACK_NAME"'),
        (EXPERIMENT, '"$MODEL_NAME"'),
    )


def export_line(spec: PipelineSpec) -> str:
    """The Train action's first command: export the contract's variables and create the (empty) work dir."""
    assignments = " ".join(f"{name}={value}" for name, value in training_environment(spec))
    return f'export {assignments} && rm -rf "${WORK_DIR}" && mkdir -p "${WORK_DIR}"'
