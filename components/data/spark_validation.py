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
from dataclasses import dataclass, field
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.aws_common import log_group
from components.iam import Statement, account_trust_policy, allow, document
from runtime.config import defaults as cfg_defaults
from runtime.config.gates import SparkConfig
from runtime.data.emr import ENTRY_SCRIPT, parameter_name

TYPE = "mlcicd:data:SparkValidation"
ENTRY_KEY = "spark/entry.py"
REPORT_PREFIX = "spark/reports/"
LOG_PREFIX = "spark/logs/"
SERVICE = "emr-serverless.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class SparkValidationArgs:
    """What the Spark engine is built from: each default beside its field; a field without one is required."""

    config: SparkConfig = field(default_factory=SparkConfig)
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
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
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
        prefix = f"{pulumi.get_project()}-{args.stack}-{name}"
        job = _job_role(self, name, args)
        app = _application(self, name, args, prefix=prefix, logs=job.logs)
        aws.s3.BucketObjectv2(f"{name}-entry", bucket=args.data_bucket, key=ENTRY_KEY, content=ENTRY_SCRIPT,
                              server_side_encryption="aws:kms", kms_key_id=args.kms_key_arn,
                              opts=pulumi.ResourceOptions(parent=self))
        self.parameter_name = parameter_name(args.model_name, args.stack)
        parameter = _coordinates(self, name, args, ssm_name=self.parameter_name, app=app, job=job)
        submit = _submit_policy(self, name, args, prefix=prefix, app=app, job=job, parameter=parameter)

        self.application_id = app.id
        self.job_role_arn = job.role.arn
        self.submit_policy_arn = submit.arn
        self.register_outputs({"applicationId": self.application_id, "jobRoleArn": self.job_role_arn,
                               "submitPolicyArn": self.submit_policy_arn, "parameterName": self.parameter_name})


class _JobRole(NamedTuple):
    logs: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    """The role's policy: the coordinates are published once it exists."""


def _job_role(parent: pulumi.Resource, name: str, args: SparkValidationArgs) -> _JobRole:
    """The job's log group and its role, trusted by EMR Serverless from this account only, with `job_statements`."""
    key, reads = args.kms_key_arn, args.read_prefixes
    child = pulumi.ResourceOptions(parent=parent)
    logs = log_group(f"{name}-logs", kms_key_arn=key, parent=parent, retention_days=args.log_retention_days)
    role = aws.iam.Role(f"{name}-job-role", assume_role_policy=account_trust_policy(SERVICE, args.account_id),
                        opts=child)
    policy = aws.iam.RolePolicy(f"{name}-job-policy", role=role.id, policy=pulumi.Output.all(
        args.data_bucket_arn, key, logs.arn).apply(lambda v: document(job_statements(
            v[0], v[1], v[2], reads, args.config.environment_key))), opts=child)
    return _JobRole(logs, role, policy)


def _application(parent: pulumi.Resource, name: str, args: SparkValidationArgs, *, prefix: str,
                 logs: aws.cloudwatch.LogGroup) -> aws.emrserverless.Application:
    """The Spark application (https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/applications.html):
    starts on a job, stops when idle, capped at the configured capacity, logs to `logs` and under LOG_PREFIX."""
    cfg = args.config
    return aws.emrserverless.Application(
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
                log_uri=pulumi.Output.concat("s3://", args.data_bucket, f"/{LOG_PREFIX}"),
                encryption_key_arn=args.kms_key_arn)),
        opts=pulumi.ResourceOptions(parent=parent))


def _coordinates(parent: pulumi.Resource, name: str, args: SparkValidationArgs, *, ssm_name: str,
                 app: aws.emrserverless.Application, job: _JobRole) -> aws.ssm.Parameter:
    """The SSM parameter `ssm_name` with what a submitter needs: application, job role, log group, entry script,
    environment and report prefix."""
    coordinates = pulumi.Output.all(app.id, job.role.arn, job.logs.name, args.data_bucket).apply(
        lambda v: json.dumps({
            "application_id": v[0], "job_role_arn": v[1], "log_group": v[2],
            "entry_point": f"s3://{v[3]}/{ENTRY_KEY}", "environment": f"s3://{v[3]}/{args.config.environment_key}",
            "report_prefix": f"s3://{v[3]}/{REPORT_PREFIX}"}, sort_keys=True))
    # Published once the job role may do its work: a submitter reading it can start a job at once.
    return aws.ssm.Parameter(f"{name}-coordinates", name=ssm_name, type="String", value=coordinates,
                             opts=pulumi.ResourceOptions(parent=parent, depends_on=[job.policy]))


def _submit_policy(parent: pulumi.Resource, name: str, args: SparkValidationArgs, *, prefix: str,
                   app: aws.emrserverless.Application, job: _JobRole, parameter: aws.ssm.Parameter) -> aws.iam.Policy:
    """The managed policy for whoever submits jobs (`submit_statements`)."""
    return aws.iam.Policy(f"{name}-submit", description=f"Submit and watch data validation jobs on {prefix}",
                          policy=pulumi.Output.all(app.arn, job.role.arn, parameter.arn, args.data_bucket_arn,
                                                   args.kms_key_arn).apply(
                              lambda v: document(submit_statements(v[0], v[1], v[2], v[3], v[4]))),
                          opts=pulumi.ResourceOptions(parent=parent))
