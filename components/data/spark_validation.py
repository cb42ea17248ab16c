"""`mlcicd:data:SparkValidation`: the data gate's Spark engine on EMR Serverless (`data.engine: spark`).

Creates:
- an EMR Serverless Spark application: starts on the first job, stops after `idleStopMinutes` idle (no cost while
  stopped; a cold start takes about a minute and a half), capped at `maxVcpu` / `maxMemoryGb` (the cost ceiling);
  driver and executor logs to its own CloudWatch log group (retention from the stack) and to the data bucket
  under `spark/logs/`, encrypted with the stack's KMS key;
- the job's execution role, trusted by EMR Serverless from this account only, allowed to read the data prefixes
  it validates (and the entry script and packed environment), to write only under the report and log prefixes,
  to use the stack's key through S3, and to write its own log group;
- the entry script (`spark/entry.py`, KMS-encrypted) and an SSM parameter with the coordinates the runtime needs
  (`runtime.data.emr.parameter_name(model, stack)`);
- a managed policy for whoever submits jobs (the Validate action, the drift job): start, watch and cancel job
  runs of this application only, pass the job role to EMR Serverless only, read the parameter and the reports.

Security decisions: no `Resource: "*"`; PassRole conditioned on `iam:PassedToService`; the trust policy pinned to
the account (confused deputy); logs retained and encrypted; the job role cannot write outside its prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_common import log_group
from components.iam import Statement, account_trust_policy, allow, document
from runtime.config.gates import SparkConfig
from runtime.data.emr import ENTRY_SCRIPT, parameter_name

TYPE = "mlcicd:data:SparkValidation"
ENTRY_KEY = "spark/entry.py"
REPORT_PREFIX = "spark/reports/"
LOG_PREFIX = "spark/logs/"
SERVICE = "emr-serverless.amazonaws.com"


class SparkValidationArgs(TypedDict, total=False):
    config: SparkConfig
    """Release, capacity, idle stop and the environment's key (`ml-cicd:data.spark`). Default: SparkConfig()."""
    model_name: str
    """Registered model name (names the SSM parameter). Required."""
    stack: str
    """Stack name (names the SSM parameter). Required."""
    account_id: pulumi.Input[str]
    """AWS account id (trust policy condition). Required."""
    data_bucket: pulumi.Input[str]
    """Data bucket name: inputs, entry script, environment, reports and logs live there. Required."""
    data_bucket_arn: pulumi.Input[str]
    """Data bucket ARN. Required."""
    kms_key_arn: pulumi.Input[str]
    """The stack's KMS key (bucket encryption). Required."""
    read_prefixes: Sequence[str]
    """Data bucket prefixes the job may read (training data, inference captures, profiles). Required."""
    log_retention_days: int
    """Retention of the job's log group. Default 30."""


def job_statements(bucket_arn: str, key_arn: str, log_group_arn: str, read_prefixes: Sequence[str],
                   environment_key: str) -> list[Statement]:
    reads = sorted({*read_prefixes, ENTRY_KEY, environment_key})
    return [
        allow("ReadInputs", ["s3:GetObject"], [f"{bucket_arn}/{p}*" for p in reads]),
        allow("ListInputs", ["s3:ListBucket"], [bucket_arn], {"StringLike": {"s3:prefix": [f"{p}*" for p in reads]}}),
        allow("WriteReportsAndLogs", ["s3:PutObject"],
              [f"{bucket_arn}/{REPORT_PREFIX}*", f"{bucket_arn}/{LOG_PREFIX}*"]),
        allow("UseStackKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn],
              {"StringEquals": {"kms:ViaService": "s3.amazonaws.com"}}),
        allow("WriteLogs", ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
              [log_group_arn, f"{log_group_arn}:*"]),
    ]


def submit_statements(application_arn: str, role_arn: str, parameter_arn: str, bucket_arn: str,
                      key_arn: str) -> list[Statement]:
    return [
        allow("StartJobRuns", ["emr-serverless:StartJobRun"], [application_arn]),
        allow("WatchJobRuns", ["emr-serverless:CancelJobRun", "emr-serverless:GetJobRun"],
              [f"{application_arn}/jobruns/*"]),
        allow("PassJobRole", ["iam:PassRole"], [role_arn], {"StringEquals": {"iam:PassedToService": SERVICE}}),
        allow("ReadCoordinates", ["ssm:GetParameter"], [parameter_arn]),
        allow("ReadReports", ["s3:GetObject"], [f"{bucket_arn}/{REPORT_PREFIX}*"]),
        allow("ReadReportsKey", ["kms:Decrypt"], [key_arn], {"StringEquals": {"kms:ViaService": "s3.amazonaws.com"}}),
    ]


class SparkValidation(pulumi.ComponentResource):
    application_id: pulumi.Output[str]
    job_role_arn: pulumi.Output[str]
    submit_policy_arn: pulumi.Output[str]
    parameter_name: str

    def __init__(self, name: str, args: SparkValidationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        model, stack, account = args.get("model_name"), args.get("stack"), args.get("account_id")
        bucket, bucket_arn, key = args.get("data_bucket"), args.get("data_bucket_arn"), args.get("kms_key_arn")
        reads = args.get("read_prefixes")
        given = {"model_name": model, "stack": stack, "account_id": account, "data_bucket": bucket,
                 "data_bucket_arn": bucket_arn, "kms_key_arn": key, "read_prefixes": reads}
        missing = [k for k, v in given.items() if v is None]
        if (model is None or stack is None or account is None or bucket is None or bucket_arn is None or key is None
                or reads is None):
            raise ValueError(f"SparkValidation {name}: args {', '.join(missing)} are required")
        cfg = args.get("config", SparkConfig())
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{pulumi.get_project()}-{stack}-{name}"

        # Logs and the job role ------------------------------------------------------------------------------------
        logs = log_group(f"{name}-logs", retention_days=args.get("log_retention_days", 30), kms_key_arn=key,
                         parent=self)
        role = aws.iam.Role(f"{name}-job-role", assume_role_policy=account_trust_policy(SERVICE, account), opts=child)
        job_policy = aws.iam.RolePolicy(f"{name}-job-policy", role=role.id, policy=pulumi.Output.all(
            bucket_arn, key, logs.arn).apply(lambda v: document(job_statements(
                v[0], v[1], v[2], reads, cfg.environment_key))), opts=child)

        # The application (https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/applications.html) ------
        app = aws.emrserverless.Application(
            name, name=prefix[:64], release_label=cfg.release_label, type="spark",
            auto_start_configuration=aws.emrserverless.ApplicationAutoStartConfigurationArgs(enabled=True),
            auto_stop_configuration=aws.emrserverless.ApplicationAutoStopConfigurationArgs(
                enabled=True, idle_timeout_minutes=cfg.idle_stop_minutes),
            maximum_capacity=aws.emrserverless.ApplicationMaximumCapacityArgs(
                cpu=f"{cfg.max_vcpu} vCPU", memory=f"{cfg.max_memory_gb} GB"),
            monitoring_configuration=aws.emrserverless.ApplicationMonitoringConfigurationArgs(
                cloudwatch_logging_configuration=aws.emrserverless
                .ApplicationMonitoringConfigurationCloudwatchLoggingConfigurationArgs(
                    enabled=True, log_group_name=logs.name),
                s3_monitoring_configuration=aws.emrserverless
                .ApplicationMonitoringConfigurationS3MonitoringConfigurationArgs(
                    log_uri=pulumi.Output.concat("s3://", bucket, f"/{LOG_PREFIX}"), encryption_key_arn=key)),
            opts=child)

        # Entry script, coordinates, the submitters' policy --------------------------------------------------------
        aws.s3.BucketObjectv2(f"{name}-entry", bucket=bucket, key=ENTRY_KEY, content=ENTRY_SCRIPT,
                              server_side_encryption="aws:kms", kms_key_id=key, opts=child)
        self.parameter_name = parameter_name(model, stack)
        coordinates = pulumi.Output.all(app.id, role.arn, logs.name, bucket).apply(lambda v: json.dumps({
            "application_id": v[0], "job_role_arn": v[1], "log_group": v[2],
            "entry_point": f"s3://{v[3]}/{ENTRY_KEY}", "environment": f"s3://{v[3]}/{cfg.environment_key}",
            "report_prefix": f"s3://{v[3]}/{REPORT_PREFIX}"}, sort_keys=True))
        # Published once the job role may do its work: a submitter reading it can start a job at once.
        parameter = aws.ssm.Parameter(f"{name}-coordinates", name=self.parameter_name, type="String",
                                      value=coordinates, opts=pulumi.ResourceOptions(parent=self,
                                                                                    depends_on=[job_policy]))
        submit = aws.iam.Policy(f"{name}-submit", description=f"Submit and watch data validation jobs on {prefix}",
                                policy=pulumi.Output.all(app.arn, role.arn, parameter.arn, bucket_arn, key).apply(
                                    lambda v: document(submit_statements(v[0], v[1], v[2], v[3], v[4]))),
                                opts=child)

        self.application_id = app.id
        self.job_role_arn = role.arn
        self.submit_policy_arn = submit.arn
        self.register_outputs({"applicationId": self.application_id, "jobRoleArn": self.job_role_arn,
                               "submitPolicyArn": self.submit_policy_arn, "parameterName": self.parameter_name})
