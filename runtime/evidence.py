"""Where gate evidence lives, so every gate writes it and `mlcicd promote` finds it (design.md section 1).

Each gate report is keyed by registered model name + version + report kind: in the artifacts bucket (and in a
local evidence directory laid out the same way) at `evidence_key(...)`, and on the MLflow model version as the
tags `verdict_tag(kind)` (PASS/FAIL/INCONCLUSIVE) and `report_tag(kind)` (where the full report is).

Beside the reports lies the version's training profile (`training_profile_key`): the profile of the data it was
trained on, which becomes the reference profile when the version becomes the champion (`runtime.reference`).
"""

from __future__ import annotations

#: Report kinds (the `kind` field of a report) of the gates whose evidence promotion reads.
KIND_MODEL_GATE = "model-gate"
KIND_DATA_VALIDATION = "data-validation"
KIND_SMOKE = "smoke"
KIND_LOAD = "load"

#: The training profile's file name: `mlcicd data profile --model-version` of the training data (the Train action).
TRAINING_PROFILE = "training-profile.npz"

#: Short names used in MLflow model-version tags (`mlcicd.<short>.verdict`); kinds not listed use the kind.
TAG_NAMES: dict[str, str] = {KIND_MODEL_GATE: "gate", KIND_DATA_VALIDATION: "data", KIND_SMOKE: "smoke",
                             KIND_LOAD: "load"}


def evidence_prefix(model: str, version: str) -> str:
    """Where one version's evidence lives: `reports/<model>/<version>/` (S3 prefix or directory under a dir)."""
    return f"reports/{model}/{version}/"


def evidence_key(model: str, version: str, kind: str) -> str:
    """Relative key of a gate report: `reports/<model>/<version>/<kind>.json` (S3 key or path under a dir)."""
    return f"{evidence_prefix(model, version)}{kind}.json"


def training_profile_key(model: str, version: str) -> str:
    """Relative key of the profile of the data this version was trained on, beside its gate reports."""
    return f"{evidence_prefix(model, version)}{TRAINING_PROFILE}"


def verdict_tag(kind: str) -> str:
    """MLflow model-version tag holding the verdict of the report of this kind, e.g. `mlcicd.gate.verdict`."""
    return f"mlcicd.{TAG_NAMES.get(kind, kind)}.verdict"


def report_tag(kind: str) -> str:
    """MLflow model-version tag holding where the report of this kind is (an s3:// URI or a path)."""
    return f"mlcicd.{TAG_NAMES.get(kind, kind)}.report"


def digest_tag(kind: str) -> str:
    """MLflow model-version tag holding the serving image digest the report was taken on, e.g.
    `mlcicd.gate.digest` (set only when the gate was given one)."""
    return f"mlcicd.{TAG_NAMES.get(kind, kind)}.digest"
