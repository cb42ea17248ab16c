"""The data gate as an EMR Serverless job: submit, wait (with a timeout), read the report back.

The stack's `mlcicd:data:SparkValidation` component publishes where everything is in one SSM parameter
(`parameter_name(model, stack)`): the application, the job role, the log group, the entry script and the packed
Python environment in the data bucket, and the prefix the job writes its report under. `run_on_emr` starts a job
whose entry script calls `job_main`: the Spark engine (runtime.data.spark) computes the summaries, the shared
`compare` decides, and the report goes to S3, from where the submitter reads it. A job that fails, is cancelled
or outlives the timeout (it is then cancelled) gives an INCONCLUSIVE report naming the job, its state and its
logs: the pipeline fails closed, and a crash is never read as drift.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.data.sources import DataInputError, read_bytes, write_bytes
from runtime.report import Check, Report, Verdict

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig

TERMINAL = ("SUCCESS", "FAILED", "CANCELLED")
POLL_SECONDS = 10.0


def parameter_name(model: str, stack: str) -> str:
    """The SSM parameter holding the Spark engine's coordinates (written by the component, read here)."""
    return f"/mlcicd/{model}/{stack}/data-spark"


@dataclass(frozen=True)
class Coordinates:
    application_id: str
    job_role_arn: str
    log_group: str
    entry_point: str
    """s3:// URI of the job's entry script."""
    environment: str
    """s3:// URI of the packed Python environment (venv-pack of `pip install ml-cicd[spark]`)."""
    report_prefix: str
    """s3://bucket/prefix/ under which each job writes <job id>/data-validation.json."""

    @classmethod
    def from_json(cls, text: str, source: str) -> Coordinates:
        try:
            raw = json.loads(text)
            return cls(**{k: str(raw[k]) for k in cls.__dataclass_fields__})
        except (ValueError, KeyError, TypeError) as exc:
            raise DataInputError(f"{source}: not the Spark engine's coordinates ({exc}); deploy the stack with "
                                 "`data.engine: spark` to create them") from exc


def coordinates(ssm: Any, model: str, stack: str) -> Coordinates:
    from botocore.exceptions import BotoCoreError, ClientError

    name = parameter_name(model, stack)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except (ClientError, BotoCoreError) as exc:
        raise DataInputError(f"SSM parameter {name}: cannot read it ({exc}); deploy the stack with `data.engine: "
                             "spark` (it creates the EMR Serverless application and this parameter)") from exc
    return Coordinates.from_json(value, f"SSM parameter {name}")


def spark_parameters(environment: str) -> str:
    """spark-submit options: run driver and executors in the packed environment."""
    python = "./environment/bin/python"
    return (f"--conf spark.archives={environment}#environment "
            f"--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON={python} "
            f"--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON={python} "
            f"--conf spark.executorEnv.PYSPARK_PYTHON={python}")


def submit(emr: Any, coords: Coordinates, *, reference: str, current: str, config: DataValidationConfig,
           timeout_minutes: int, run_id: str) -> tuple[str, str]:
    """Start the job; returns (job run id, report URI)."""
    report_uri = f"{coords.report_prefix.rstrip('/')}/{run_id}/data-validation.json"
    response = emr.start_job_run(
        applicationId=coords.application_id, executionRoleArn=coords.job_role_arn, name=f"data-validate-{run_id}",
        clientToken=run_id, executionTimeoutMinutes=timeout_minutes,
        jobDriver={"sparkSubmit": {
            "entryPoint": coords.entry_point,
            "entryPointArguments": [reference, current, report_uri, config.model_dump_json(by_alias=True)],
            "sparkSubmitParameters": spark_parameters(coords.environment)}},
        configurationOverrides={"monitoringConfiguration": {"cloudWatchLoggingConfiguration": {
            "enabled": True, "logGroupName": coords.log_group, "logStreamNamePrefix": "data-validate"}}})
    return response["jobRunId"], report_uri


def wait(emr: Any, application_id: str, job_id: str, *, timeout_s: float, poll_s: float = POLL_SECONDS,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> tuple[str, str]:
    """Poll until the job ends; cancel it past the timeout. Returns (state, details)."""
    deadline = clock() + timeout_s
    while True:
        run = emr.get_job_run(applicationId=application_id, jobRunId=job_id)["jobRun"]
        state = run["state"]
        if state in TERMINAL:
            return state, run.get("stateDetails", "")
        if clock() >= deadline:
            emr.cancel_job_run(applicationId=application_id, jobRunId=job_id)
            return "TIMEOUT", f"still {state} after {timeout_s / 60:g} minutes; cancelled"
        sleep(poll_s)


def failed_run(coords: Coordinates, job_id: str, state: str, details: str, subject: dict[str, str]) -> Report:
    report = Report(kind="data-validation", subject=subject)
    report.add(Check("engine.spark", Verdict.INCONCLUSIVE, state, "SUCCESS",
                     f"EMR Serverless job {job_id} on application {coords.application_id} ended {state}"
                     f"{': ' + details if details else ''}; driver logs in CloudWatch log group "
                     f"{coords.log_group} (stream prefix data-validate); no data verdict"))
    return report


def run_on_emr(*, reference: str, current: str, config: DataValidationConfig, model: str, stack: str,
               session: Any | None = None, poll_s: float = POLL_SECONDS) -> Report:
    """Submit the validation to the stack's EMR Serverless application, wait, and return its report."""
    for side, path in (("reference", reference), ("current", current)):
        if not path.startswith("s3://"):
            raise DataInputError(f"{path}: the {side} data must be in S3 (s3://...) for the EMR Serverless job")
    import boto3

    aws = session if session is not None else boto3.Session()
    coords = coordinates(aws.client("ssm"), model, stack)
    emr = aws.client("emr-serverless")
    run_id = uuid.uuid4().hex[:16]
    job_id, report_uri = submit(emr, coords, reference=reference, current=current, config=config,
                                timeout_minutes=config.spark.timeout_minutes, run_id=run_id)
    state, details = wait(emr, coords.application_id, job_id, timeout_s=config.spark.timeout_minutes * 60,
                          poll_s=poll_s)
    subject = {"reference": reference, "current": current}
    if state != "SUCCESS":
        return failed_run(coords, job_id, state, details, subject)
    try:
        raw = json.loads(read_bytes(report_uri))
    except (DataInputError, ValueError) as exc:
        return failed_run(coords, job_id, "NO REPORT", f"{report_uri}: {exc}", subject)
    return report_from_dict(raw)


def report_from_dict(raw: dict[str, Any]) -> Report:
    report = Report(kind=raw["kind"], subject=raw["subject"], started_at=raw["started_at"],
                    duration_s=raw["duration_s"], details=raw.get("details", {}))
    for c in raw["checks"]:
        report.add(Check(c["name"], Verdict(c["verdict"]), c["observed"], c["threshold"], c["reason"]))
    return report


def job_main(argv: list[str]) -> int:
    """The entry script's body, inside the EMR Serverless job: REFERENCE CURRENT REPORT_URI CONFIG_JSON."""
    from runtime.config.gates import DataValidationConfig
    from runtime.data.validate import validate_data

    reference, current, report_uri, config_json = argv
    config = DataValidationConfig.model_validate_json(config_json)
    report = validate_data(reference, current, config, engine="spark")
    write_bytes(report_uri, report.to_json().encode("utf-8"))
    return 0


#: The entry script the component uploads (the package itself comes with the packed environment).
ENTRY_SCRIPT = """import sys

from runtime.data.emr import job_main

sys.exit(job_main(sys.argv[1:]))
"""
