"""`data.engine: spark` on EMR Serverless: the SparkValidation component on the real stack file, the pipeline's
Validate action submitting with `--emr`, and the runtime's submit / wait / report against a real
moto server (job states moto cannot produce, FAILED and a timeout, through botocore's Stubber)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber

from components.data.spark_validation import ENTRY_KEY, REPORT_PREFIX, TYPE
from components.delivery.buildspec import render
from runtime.config.gates import DataValidationConfig
from runtime.config.loader import validate_config
from runtime.data import emr
from runtime.pipeline.jobs import drift_job
from runtime.pipeline.model import PipelineSpec
from runtime.pipeline.steps import delivery_stages
from runtime.report import Verdict
from tests.harness import graph, policy, stack_config, use_fake_aws

REGION = "eu-west-1"
SPARK = {"data": {"engine": "spark"}}
APP = "aws:emrserverless/application:Application"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def sids(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in doc["Statement"]}


# Component and wiring -------------------------------------------------------------------------------------------
def test_spark_engine_resources_on_the_staging_stack() -> None:
    g = graph("staging", SPARK)
    app = g.one(APP)
    assert app.inputs["releaseLabel"] == "emr-7.8.0"
    assert app.inputs["type"] == "spark"
    assert app.inputs["autoStopConfiguration"] == {"enabled": True, "idleTimeoutMinutes": 15}
    assert app.inputs["maximumCapacity"] == {"cpu": "64 vCPU", "memory": "256 GB"}
    assert app.inputs["monitoringConfiguration"]["cloudwatchLoggingConfiguration"]["enabled"] is True
    assert g.one(TYPE).name == "data-spark"
    role = g.one("aws:iam/role:Role", "data-spark-job-role")
    trust = policy(role, "assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    job = sids(policy(g.one(ROLE_POLICY, "data-spark-job-policy")))
    reads = job["ReadInputs"]["Resource"]
    assert any(r.endswith("/training/*") for r in reads)
    assert any(r.endswith("/inference/*") for r in reads)
    assert any(r.endswith(f"/{ENTRY_KEY}*") for r in reads)
    assert all("*" not in r.split(":::")[-1].split("/")[0] for r in reads)  # scoped to the bucket, never "*"
    assert job["WriteReportsAndLogs"]["Action"] == ["s3:PutObject"]
    submit = sids(policy(g.one("aws:iam/policy:Policy", "data-spark-submit")))
    assert submit["PassJobRole"]["Condition"] == {"StringEquals": {"iam:PassedToService":
                                                                   "emr-serverless.amazonaws.com"}}
    assert submit["WatchJobRuns"]["Resource"][0].endswith("/jobruns/*")
    # The Validate action's role holds the submit policy before its project exists (the drift job reads a bounded
    # window of captures on its build machine).
    submit_urn = g.one("aws:iam/policy:Policy", "data-spark-submit").urn
    attached = [a for a in g.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if submit_urn in a.property_dependencies.get("policyArn", [])]
    assert sorted(a.name for a in attached) == ["delivery-datavalidate-extra-policy"]
    for project in ("delivery-datavalidate",):
        assert {a.urn for a in attached} & set(g.one("aws:codebuild/project:Project", project).dependencies)
    parameter = g.one("aws:ssm/parameter:Parameter", "data-spark")
    model = stack_config("staging")["model"]["name"]
    assert parameter.inputs["name"] == emr.parameter_name(model, "staging")
    assert not graph("staging").of_type(APP)  # the local engine creates nothing


def test_validate_action_submits_with_emr() -> None:
    cfg = validate_config(stack_config("staging", SPARK), "staging").config
    stages = delivery_stages(PipelineSpec.from_config(cfg, "staging"))
    action = next(a for s in stages for a in s.actions if a.name == "DataValidate")
    text = render(action, install_command="pip install .", python_version="3.11")
    assert "--emr" in text
    assert "s3://$DATA_BUCKET/training/" in text
    job = drift_job(stack="staging", reference_profile_key="profiles/reference.npz", inference_prefix="inference/")
    assert "--emr" not in render(job, install_command="pip install .", python_version="3.11")


# Runtime: submit, wait, report ------------------------------------------------------------------------------------
@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_fake_aws(monkeypatch, REGION, moto_url)
    session = boto3.Session(region_name=REGION)
    s3 = session.client("s3")
    if "data" not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:  # one moto server per module
        s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": REGION})
    app = session.client("emr-serverless").create_application(name="data", releaseLabel="emr-7.8.0", type="SPARK")
    coords = {"application_id": app["applicationId"], "job_role_arn": "arn:aws:iam::123456789012:role/job",
              "log_group": "/aws/emr/data", "entry_point": f"s3://data/{ENTRY_KEY}",
              "environment": "s3://data/spark/env.tar.gz", "report_prefix": f"s3://data/{REPORT_PREFIX}"}
    session.client("ssm").put_parameter(Name=emr.parameter_name("m", "staging"), Value=json.dumps(coords),
                                        Type="String", Overwrite=True)
    return session


def _files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    paths = []
    for side in ("r", "c"):
        paths.append(tmp_path / f"{side}.parquet")
        pq.write_table(pa.table({"x": rng.normal(size=3000), "c": rng.choice(list("abc"), 3000)}), paths[-1])
    return paths[0], paths[1]


def test_submit_wait_and_read_the_jobs_report(aws: Any, tmp_path: Path) -> None:
    """The job's entry (`job_main`, here with the local engine's data files) writes the report where the
    submitter looks for it; the submitter sends the stack's thresholds and reads the verdict back."""
    coords = emr.coordinates(aws.client("ssm"), "m", "staging")
    client = aws.client("emr-serverless")
    config = DataValidationConfig.model_validate({"drift": {"ksAlpha": 0.02}})
    job_id, report_uri = emr.submit(client, coords, reference="s3://data/ref.parquet",
                                    current="s3://data/cur.parquet", config=config, timeout_minutes=30, run_id="r1")
    driver = client.get_job_run(applicationId=coords.application_id, jobRunId=job_id)["jobRun"]["jobDriver"]
    args = driver["sparkSubmit"]["entryPointArguments"]
    assert args[:3] == ["s3://data/ref.parquet", "s3://data/cur.parquet", report_uri]
    assert "spark.archives=s3://data/spark/env.tar.gz#environment" in driver["sparkSubmit"]["sparkSubmitParameters"]
    ref, cur = _files(tmp_path)
    from runtime.data import validate

    real = validate.validate_data
    def validate_local(r: Any, c: Any, cfg: Any, engine: str) -> Any:  # the Spark engine is tested elsewhere
        return real(r, c, cfg, engine="local")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validate, "validate_data", validate_local)
        assert emr.job_main([str(ref), str(cur), report_uri, args[3]]) == 0
    assert emr.wait(client, coords.application_id, job_id, timeout_s=60) == ("SUCCESS", "")
    from runtime.data.sources import read_bytes

    report = emr.report_from_dict(json.loads(read_bytes(report_uri)))
    assert report.verdict is Verdict.PASS
    assert report.details["alpha"] == 0.02


def test_a_missing_report_or_a_failed_job_is_inconclusive(aws: Any) -> None:
    config = DataValidationConfig()
    report = emr.run_on_emr(reference="s3://data/ref.parquet", current="s3://data/cur.parquet", config=config,
                           model="m", stack="staging", session=aws, poll_s=0.01)
    assert report.verdict is Verdict.INCONCLUSIVE  # moto runs nothing: no report was written
    assert "NO REPORT" in report.checks[0].reason
    with pytest.raises(emr.DataInputError, match="must be in S3"):
        emr.run_on_emr(reference="ref.parquet", current="s3://data/c", config=config, model="m", stack="staging",
                       session=aws)
    with pytest.raises(emr.DataInputError, match=r"deploy the stack with `data\.engine: spark`"):
        emr.run_on_emr(reference="s3://data/r", current="s3://data/c", config=config, model="m", stack="other",
                       session=aws)


def test_wait_reports_failures_and_cancels_past_the_timeout() -> None:
    client = boto3.client("emr-serverless", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    ids = {"applicationId": "app", "jobRunId": "job"}

    def run(state: str, details: str = "") -> dict[str, Any]:
        arn = "arn:aws:emr-serverless:eu-west-1:123456789012:/applications/app/jobruns/job"
        return {"jobRun": {"applicationId": "app", "jobRunId": "job", "arn": arn,
                           "createdBy": "arn:aws:iam::123456789012:user/ci", "createdAt": 0, "updatedAt": 0,
                           "executionRole": "arn:aws:iam::123456789012:role/job", "state": state,
                           "stateDetails": details or "running", "releaseLabel": "emr-7.8.0",
                           "jobDriver": {"sparkSubmit": {"entryPoint": "s3://x"}}}}

    stub.add_response("get_job_run", run("RUNNING"), ids)
    stub.add_response("get_job_run", run("FAILED", "Job failed: OutOfMemory"), ids)
    with stub:
        assert emr.wait(client, "app", "job", timeout_s=100, sleep=lambda _: None) == ("FAILED",
                                                                                    "Job failed: OutOfMemory")
    now = [0.0]
    stub.add_response("get_job_run", run("PENDING"), ids)
    stub.add_response("get_job_run", run("RUNNING"), ids)
    stub.add_response("cancel_job_run", {"applicationId": "app", "jobRunId": "job"}, ids)
    with stub:
        state, details = emr.wait(client, "app", "job", timeout_s=60, clock=lambda: now[0],
                                  sleep=lambda s: now.__setitem__(0, now[0] + 70))
    assert state == "TIMEOUT"
    assert "cancelled" in details
    coords = emr.Coordinates("app", "role", "/logs", "s3://d/e.py", "s3://d/env", "s3://d/r/")
    report = emr.failed_run(coords, "job", state, details, {"reference": "r", "current": "c"})
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "/logs" in report.checks[0].reason
