"""The scheduled monitoring jobs as data (pure): the same `Action` definitions and buildspec renderer as the
delivery pipeline, so a job's commands, access and buildspec are written once, and `mlcicd local run` runs the
drift job's commands as the cloud does.

In the cloud the jobs check the repository out through the pipeline's CodeConnections connection, install it
(`mlcicd`) and run on a schedule (`components.monitoring.scheduled_job`).
"""

from __future__ import annotations

from runtime.pipeline.model import Access, Action, Mlcicd, S3Grant

#: Where the drift and quality jobs keep their reports in the data bucket (one folder per run).
DRIFT_REPORTS_PREFIX = "monitoring/drift/"
QUALITY_REPORTS_PREFIX = "monitoring/quality/"
QUALITY_REPORT = "reports/quality-monitor.json"
DRIFT_REPORT = "reports/drift-monitor.json"


def drift_job(*, stack: str, reference_profile_key: str, inference_prefix: str) -> Action:
    """`mlcicd monitor drift`: each model version's captures of the last `monitoring.drift.windowHours` (every
    object of the overlapping `dt=` partitions under `inference_prefix`) against the reference profile; publishes
    the drift share per version, the largest as the alarm's `DriftScore`, and `DriftWindowInconclusive`. A drifted
    version (exit 1) is the job's result, not its failure: the metric and the alarm carry it. An undecidable window
    (exit 3: empty or too few rows) or a bad input fails the job (and notifies), after its metric is published."""
    return Action(
        name="DriftMonitor",
        commands=(
            "mkdir -p reports",
            Mlcicd(("monitor", "drift", "--stack", stack, "--report", DRIFT_REPORT), ok_exit_codes=(1,)),
        ),
        finally_commands=(f'if [ -d reports ]; then aws s3 cp reports "s3://$DATA_BUCKET/{DRIFT_REPORTS_PREFIX}'
                          '$(date -u +%Y/%m/%d/%H%M%S)/" --recursive; fi',),
        access=Access(s3=(S3Grant("data", reference_profile_key), S3Grant("data", inference_prefix),
                          S3Grant("data", DRIFT_REPORTS_PREFIX, write=True)), metrics=True))


def quality_job(*, stack: str, inference_prefix: str, labels_prefix: str) -> Action:
    """`mlcicd monitor quality`: late labels under `labels_prefix` joined to the window's captures; the metric per
    version and variant published (the model-quality alarm watches it). Too few labels (exit 3) fails the job and
    notifies; unmatched labels and unlabelled captures are published as counts."""
    return Action(
        name="QualityMonitor",
        commands=("mkdir -p reports", Mlcicd(("monitor", "quality", "--stack", stack, "--report", QUALITY_REPORT))),
        finally_commands=(f'if [ -d reports ]; then aws s3 cp reports "s3://$DATA_BUCKET/{QUALITY_REPORTS_PREFIX}'
                          '$(date -u +%Y/%m/%d/%H%M%S)/" --recursive; fi',),
        access=Access(s3=(S3Grant("data", inference_prefix), S3Grant("data", labels_prefix),
                          S3Grant("data", QUALITY_REPORTS_PREFIX, write=True)), metrics=True))


def batch_job(*, input_prefix: str, output_prefix: str) -> Action:
    """Score every CSV under `input_prefix` with the pinned serving image (no network inside the container), then
    summarise; predictions and `summary.json` go to `<output_prefix><run id>/`."""
    score = (
        'for f in batch/input/*.csv; do [ -e "$f" ] || continue; '
        'docker run --rm --network none --volume "$PWD/batch:/batch" --entrypoint mlflow "$SERVING_IMAGE" '
        'models predict --model-uri /opt/ml/model --input-path "/batch/input/$(basename "$f")" '
        '--output-path "/batch/output/$(basename "$f" .csv).json" --content-type csv --env-manager local '
        '|| echo "scoring failed: $f"; done'
    )
    return Action(
        name="BatchInference",
        commands=(
            "mkdir -p batch/input batch/output && chmod a+rwx batch/output",
            'RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)" && export RUN_ID',
            f'aws s3 cp "s3://$DATA_BUCKET/{input_prefix}" batch/input --recursive --exclude "*" --include "*.csv"',
            'aws ecr get-login-password | docker login --username AWS --password-stdin "${SERVING_IMAGE%%/*}"',
            'docker pull "$SERVING_IMAGE"',
            score,
            Mlcicd(("monitor", "batch-summary", "--inputs", "batch/input", "--predictions", "batch/output",
                    "--report", "batch/output/summary.json")),
        ),
        finally_commands=(f'if [ -d batch/output ]; then aws s3 cp batch/output '
                          f'"s3://$DATA_BUCKET/{output_prefix}$RUN_ID/" --recursive; fi',),
        access=Access(s3=(S3Grant("data", input_prefix), S3Grant("data", output_prefix, write=True)), ecr="pull",
                      docker=True))
