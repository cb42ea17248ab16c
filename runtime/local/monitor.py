"""The scheduled drift job in `mlcicd local run`: its commands (`runtime.pipeline.jobs.drift_job`, the definition
the `DriftMonitor` component renders into its CodeBuild project) run as written on the canary's captured traffic
that `runtime.local.capture` delivered, after the pipeline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from runtime.local.actions import run_action
from runtime.local.state import DATA_BUCKET, Rehearsal
from runtime.local.summary import StageResult, load_json


def drift_job_row(state: Rehearsal, delivered: int) -> StageResult:
    """The scheduled drift job (its commands as the cloud's CodeBuild project runs them) on the delivered window;
    the row carries the job's verdict (PASS no version drifted, FAIL one did, INCONCLUSIVE too few rows to
    decide) and, as the cloud's scheduled job, is not part of the pipeline's verdict."""
    from runtime.pipeline.jobs import DRIFT_REPORT, drift_job

    deployed = state.plan.deployed
    job = drift_job(stack=state.plan.spec.deploy_stack, reference_profile_key=deployed.monitoring.drift
                    .reference_profile_key, inference_prefix=deployed.monitoring.drift.inference_prefix)
    result, run = run_action(state, job)
    result = replace(result, title="DriftMonitor (scheduled job, after the pipeline)", in_pipeline=False)
    report = load_json(run.cwd / DRIFT_REPORT)
    if report is None:  # the job stopped before it wrote its report: the action's own reason
        return result
    verdict = str(report.get("verdict"))
    checks = "; ".join(f"{c.get('name')}: {c.get('verdict')}, {c.get('reason', '')}"
                       for c in report.get("checks", []))
    return replace(result, verdict=verdict if verdict in ("PASS", "FAIL", "INCONCLUSIVE") else "ERROR",
                   report=state.reports / Path(DRIFT_REPORT).name,
                   reason=f"{delivered} captured canary requests (moto Firehose, delivered as Parquet under "
                          f"s3://{DATA_BUCKET}/{deployed.monitoring.drift.inference_prefix}): {checks}")
