"""The scheduled monitoring jobs as data (pure): the same `Action` definitions and buildspec renderer as the
delivery pipeline, so a job's commands, access and buildspec are written once.

Both jobs check the repository out through the pipeline's CodeConnections connection, install it (`mlcicd`) and
run on a schedule (`components.monitoring.scheduled_job`).
"""

from __future__ import annotations

from runtime.pipeline.model import Access, Action, Mlcicd, S3Grant

#: Where the drift job keeps its reports in the data bucket (one folder per run).
DRIFT_REPORTS_PREFIX = "monitoring/drift/"
DRIFT_REPORT = "reports/data-validation.json"


def drift_job(*, stack: str, reference_profile_key: str, inference_prefix: str, emr: bool = False) -> Action:
    """Validate the newest capture under `inference_prefix` against the reference profile and publish the drift
    share. A drifted capture (exit 1) is the job's result, not its failure: the metric and the alarm carry it.
    No capture, no decided drift share, a bad input: the job fails (and notifies). `emr`: the validation runs as
    an EMR Serverless job (`data.engine: spark`)."""
    return Action(
        name="DriftMonitor",
        commands=(
            "mkdir -p reports",
            # `aws s3 ls` lists every page; its lines start with a sortable timestamp, the key from column 32.
            f'CURRENT_KEY="$(aws s3 ls "s3://$DATA_BUCKET/{inference_prefix}" --recursive | sort | tail -n 1 '
            '| cut -c32-)" && export CURRENT_KEY',
            f'[ -n "$CURRENT_KEY" ] || {{ echo "no inference capture under s3://$DATA_BUCKET/{inference_prefix}"; '
            "false; }",
            Mlcicd(("data", "validate", "--reference", f"s3://$DATA_BUCKET/{reference_profile_key}",
                    "--current", "s3://$DATA_BUCKET/$CURRENT_KEY", "--stack", stack, "--report", DRIFT_REPORT,
                    "--html", "reports/data-validation.html", *(("--emr",) if emr else ())), ok_exit_codes=(1,)),
            Mlcicd(("monitor", "publish-drift", "--report", DRIFT_REPORT, "--stack", stack)),
        ),
        finally_commands=(f'if [ -d reports ]; then aws s3 cp reports "s3://$DATA_BUCKET/{DRIFT_REPORTS_PREFIX}'
                          '$(date -u +%Y/%m/%d/%H%M%S)/" --recursive; fi',),
        access=Access(s3=(S3Grant("data", reference_profile_key), S3Grant("data", inference_prefix),
                          S3Grant("data", DRIFT_REPORTS_PREFIX, write=True)), metrics=True))


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
