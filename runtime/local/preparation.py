"""Before the step list runs: the source snapshot (the `Source` action's stand-in), the stand-in services (the
MLflow store, the moto server with the stack's buckets and the reference profile) and the champion (the version
production serves: found in the local registry, or trained once from the project as it is)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from runtime.errors import UsageError
from runtime.local.actions import run_action
from runtime.local.deploy import serve_champion
from runtime.local.plan import WRITTEN_PREFIXES
from runtime.local.servers import MOTO_READY_S
from runtime.local.shellrun import ActionRun
from runtime.local.state import DATA_BUCKET, MODELS_BUCKET, TARGET_DATA_BUCKET, Rehearsal
from runtime.local.summary import StageResult
from runtime.local.workspace import copy_files, project_files, set_keys
from runtime.pipeline.model import Action


def prepare_source(state: Rehearsal) -> StageResult:
    """The project's files as the pipeline's Source action hands them on, with the `local` replacements and the
    scenario's data fault applied to the copy."""
    t0 = time.perf_counter()
    plan = state.plan
    files = project_files(plan.project, exclude=state.workdir)
    copy_files(plan.project, files, state.snapshot)
    by_stack: dict[str, dict[str, object]] = {}
    for r in plan.replacements:
        if r.key.startswith(WRITTEN_PREFIXES):
            by_stack.setdefault(r.stack, {})[r.key] = r.local
    for stack, values in by_stack.items():
        set_keys(state.snapshot / f"Pulumi.{stack}.yaml", values)
    notes = [f"{len(files)} files of {plan.project}"]
    fault = state.faults.on_source(state.snapshot)
    if fault:
        notes.append(f"fault: {fault}")
    return StageResult("Source", "Source", "PASS", time.perf_counter() - t0, "; ".join(notes))


def prepare_services(state: Rehearsal) -> StageResult:
    """The MLflow store and experiment, the buckets (the pipeline stack's data and models, the promotion target's
    data), and the reference profile the data contract reads."""
    t0 = time.perf_counter()
    from mlflow import MlflowClient

    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    experiment = state.plan.model  # MLFLOW_EXPERIMENT_NAME of the training contract
    if client.get_experiment_by_name(experiment) is None:
        client.create_experiment(experiment, artifact_location=state.artifacts.as_uri())
    assert state.moto is not None
    state.moto.wait_ready("/moto-api/", MOTO_READY_S)
    hosting, target = state.plan.hosting.region, state.plan.target.region
    for bucket, region in ((DATA_BUCKET, hosting), (MODELS_BUCKET, hosting), (TARGET_DATA_BUCKET, target)):
        state.aws_clients(region)("s3").create_bucket(Bucket=bucket,
                                                      CreateBucketConfiguration={"LocationConstraint": region})
    reference = write_reference_profile(state)
    from runtime.local.capture import create_stream

    stream = create_stream(state)
    captured = f", Firehose stream {stream} for inference capture" if stream else ""
    return StageResult("Stand-ins", "Stand-ins", "PASS", time.perf_counter() - t0,
                       f"MLflow {state.tracking_uri}; moto {state.moto.url} (S3, CloudWatch{captured}); reference "
                       f"profile from {reference}")


def write_reference_profile(state: Rehearsal) -> str:
    """`mlcicd data profile` of the reference data into the data bucket, where DataValidate downloads it."""
    plan = state.plan
    relative = plan.local.reference_data or plan.spec.training_data_path
    source = plan.project / relative
    if not source.is_file():
        key = "local.referenceData" if plan.local.reference_data else "pipeline.trainingDataPath"
        raise UsageError(f"{key} = {relative}: no such file in {plan.project}")
    out = f"s3://{DATA_BUCKET}/{plan.spec.reference_profile_key}"
    argv = [str(Path(sys.executable).parent / "mlcicd"), "data", "profile", "--reference", str(source), "--out", out,
            "--stack", plan.spec.promote_to, "--project-dir", str(state.snapshot)]
    log = state.logs / "reference-profile.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as fh:
        code = subprocess.run(argv, env={**os.environ, **state.aws_env()}, stdout=fh, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode
    if code != 0:
        raise UsageError(f"cannot profile the reference data {relative} (exit {code}); see {log}")
    return relative


def find_champion(state: Rehearsal) -> str | None:
    """The version with the champion alias in the local registry; its scoring server starts right away."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(state.tracking_uri, state.tracking_uri)
    try:
        version = client.get_model_version_by_alias(state.plan.model, state.plan.target.gates.champion_alias).version
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        return None
    serve_champion(state, str(version))
    return str(version)


def bootstrap_champion(state: Rehearsal, train: Action) -> StageResult:
    """No champion yet: the Train action once on the project as it is, its version aliased as the champion."""
    alias = state.plan.target.gates.champion_alias

    def crown(run: ActionRun) -> str:
        from mlflow import MlflowClient

        version = run.env["MODEL_VERSION"]
        MlflowClient(state.tracking_uri, state.tracking_uri).set_registered_model_alias(state.plan.model, alias,
                                                                                        version)
        serve_champion(state, version)
        return (f"first run: the project as it is trained as version {version}, now @{alias} (stands in for the "
                "version production serves)")

    result, _ = run_action(state, train, name="Champion", after=crown)
    return result


def champion_row(version: str, alias: str) -> StageResult:
    return StageResult("Champion", "Champion", "PASS", 0.0,
                       f"version {version} (@{alias}, promoted by an earlier run) stands in for production's")
