"""`mlcicd:monitoring:DriftMonitor`: a scheduled drift check of served data, its metric, alarm and retrain trigger.

Creates:
- the drift job (`runtime.pipeline.jobs.drift_job` on `scheduled_job`): EventBridge Scheduler starts a
  CodeBuild project that runs `mlcicd monitor drift` on a time window of captures under the inference prefix, per
  model version, against the training reference profile (metric `DriftScore`, dimension `ModelName`, in the
  stack's model-metric namespace, plus per-version scores and `DriftWindowInconclusive`);
- with `quality_labels_prefix`, the live-quality job on the same schedule (`mlcicd monitor quality`: late labels
  joined to the window's captures, the model-quality metric per version and variant);
- the drift alarm on that metric (threshold `monitoring.drift.alarmThreshold`), to the alarm topic;
- when `retrainOnDrift`: an EventBridge rule on the alarm entering ALARM that starts the delivery pipeline, through
  a role allowed `codepipeline:StartPipelineExecution` on that pipeline only.

Decisions: the alarm period is the schedule's interval (capped at a day), one datapoint decides; missing data is
`ignore` (the job publishes once per interval, so a quiet period keeps the last verdict instead of flapping to OK or
INSUFFICIENT_DATA); a job that fails to publish notifies through its own failure notification instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import account_trust_policy, allow, document
from components.monitoring.scheduled_job import JobSettings, scheduled_job
from runtime import metrics as m
from runtime.config import defaults as cfg_defaults
from runtime.pipeline.jobs import drift_job, quality_job

TYPE = "mlcicd:monitoring:DriftMonitor"
#: CloudWatch alarm periods above a day cannot be evaluated over one period; cron schedules count as daily.
MAX_PERIOD_SECONDS = 86_400
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}


def schedule_period_seconds(expression: str) -> int:
    """The alarm period for a schedule: its interval for `rate(...)` (at least a minute, at most a day), a day for
    `cron(...)`."""
    match = _RATE.match(expression)
    if match is None:
        return MAX_PERIOD_SECONDS
    seconds = int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")]
    return max(60, min(seconds, MAX_PERIOD_SECONDS))


def alarm_event_pattern(alarm_arn: str) -> str:
    """EventBridge pattern: this alarm entering ALARM."""
    return json.dumps({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
                       "resources": [alarm_arn], "detail": {"state": {"value": ["ALARM"]}}}, sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class DriftMonitorArgs:
    """What the drift monitor is built from: each default beside its field; a field without one is required."""

    settings: JobSettings
    """Source, build environment, buckets and key shared by the scheduled jobs. Required."""
    model_name: str
    """Registered model name (metric dimension ModelName). Required."""
    schedule: str = cfg_defaults.DRIFT_SCHEDULE
    """EventBridge Scheduler expression. Default `rate(1 day)`."""
    inference_prefix: str = cfg_defaults.DRIFT_INFERENCE_PREFIX
    """Prefix of the inference captures in the data bucket. Default `inference/`."""
    reference_profile_key: str = cfg_defaults.DRIFT_REFERENCE_PROFILE_KEY
    """Key of the reference profile in the data bucket. Default `profiles/reference.npz`."""
    alarm_threshold: float = cfg_defaults.DRIFT_ALARM_THRESHOLD
    """Drift score at or above which the alarm fires. Default 0.2."""
    namespace: str = cfg_defaults.MODEL_METRICS_NAMESPACE
    """CloudWatch namespace of the model metrics. Default `MLCICD/Model`."""
    alarm_topic_arn: pulumi.Input[str] | None = None
    """Topic for the alarm's ALARM and OK transitions. Default None: no alarm actions."""
    retrain_pipeline_arn: pulumi.Input[str] | None = None
    """Delivery pipeline to start when the alarm fires. Default None: no retrain trigger."""
    quality_labels_prefix: str | None = None
    """Also run the live-quality job (`mlcicd monitor quality`) on the same schedule, reading labels under this
    prefix of the data bucket. Default None: no quality job."""


class DriftMonitor(pulumi.ComponentResource):
    project_name: pulumi.Output[str]
    alarm_name: pulumi.Output[str]
    alarm_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DriftMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        prefix = f"{pulumi.get_project()}-{args.settings.stack}-{name}"
        project = _jobs(self, name, args)
        alarm = _alarm(self, name, args, alarm_name=prefix)
        if args.retrain_pipeline_arn is not None:
            _retrain_trigger(self, name, args, rule_name=f"{prefix}-retrain", alarm=alarm,
                             pipeline_arn=args.retrain_pipeline_arn)

        self.project_name = project.name
        self.alarm_name = alarm.name
        self.alarm_arn = alarm.arn
        self.register_outputs({"projectName": self.project_name, "alarmName": self.alarm_name})


def _jobs(parent: pulumi.Resource, name: str, args: DriftMonitorArgs) -> aws.codebuild.Project:
    """The drift job and, with `quality_labels_prefix`, the live-quality job on the same schedule; returns the
    drift job's project."""
    settings = args.settings
    job = drift_job(stack=settings.stack, inference_prefix=args.inference_prefix,
                    reference_profile_key=args.reference_profile_key)
    project = scheduled_job(parent, f"{name}-job", job, settings, schedule=args.schedule,
                            metrics_namespace=args.namespace)
    if args.quality_labels_prefix is not None:
        scheduled_job(parent, f"{name}-quality-job", quality_job(
            stack=settings.stack, inference_prefix=args.inference_prefix, labels_prefix=args.quality_labels_prefix),
            settings, schedule=args.schedule, metrics_namespace=args.namespace)
    return project


def _alarm(parent: pulumi.Resource, name: str, args: DriftMonitorArgs, *,
           alarm_name: str) -> aws.cloudwatch.MetricAlarm:
    """The drift alarm: the drift score at or above the threshold, one datapoint per schedule interval."""
    model = args.model_name
    actions = [args.alarm_topic_arn] if args.alarm_topic_arn is not None else []
    return aws.cloudwatch.MetricAlarm(
        f"{name}-alarm", name=alarm_name,
        alarm_description=f"Share of drifted columns in served data of {model} at or above the threshold "
                          "(published by the drift job).",
        namespace=args.namespace, metric_name=m.DRIFT_SCORE, dimensions={m.DIMENSION_MODEL: model},
        statistic="Maximum", period=schedule_period_seconds(args.schedule), evaluation_periods=1,
        datapoints_to_alarm=1, comparison_operator="GreaterThanOrEqualToThreshold", threshold=args.alarm_threshold,
        # One datapoint per schedule interval: between them the last verdict stands (see module doc).
        treat_missing_data="ignore",
        actions_enabled=True, alarm_actions=actions, ok_actions=actions, opts=pulumi.ResourceOptions(parent=parent))


def _retrain_trigger(parent: pulumi.Resource, name: str, args: DriftMonitorArgs, *, rule_name: str,
                     alarm: aws.cloudwatch.MetricAlarm, pipeline_arn: pulumi.Input[str]) -> None:
    """An EventBridge rule on `alarm` entering ALARM that starts the delivery pipeline, through a role allowed to
    start that pipeline only."""
    child = pulumi.ResourceOptions(parent=parent)
    trust = account_trust_policy("events.amazonaws.com", pulumi.Output.from_input(args.settings.account_id))
    role = aws.iam.Role(f"{name}-retrain-role", assume_role_policy=trust, opts=child)
    policy = aws.iam.RolePolicy(f"{name}-retrain-policy", role=role.id, policy=pulumi.Output.from_input(
        pipeline_arn).apply(lambda arn: document([
            allow("StartDeliveryPipeline", ["codepipeline:StartPipelineExecution"], [arn])])), opts=child)
    rule = aws.cloudwatch.EventRule(
        f"{name}-retrain", name=rule_name,
        description=f"Retrain {args.model_name}: start the delivery pipeline when the drift alarm fires",
        event_pattern=alarm.arn.apply(alarm_event_pattern), opts=child)
    aws.cloudwatch.EventTarget(f"{name}-retrain-target", rule=rule.name, arn=pipeline_arn, role_arn=role.arn,
                               opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]))
