"""A CodeBuild project started on a schedule: the shared body of the monitoring components.

Why CodeBuild and not an ECS task: the jobs run the runtime from the repository (no image of it exists), CodeBuild
checks the repository out through the pipeline's connection, bills per minute with nothing running in between,
brings its log group and Docker (batch scoring runs the pinned serving image), and EventBridge Scheduler starts it
with one scoped permission.

Resources (children of the calling component): log group with retention, the job's role and policy
(`components.delivery.policies`, the same least-privilege statements as the pipeline's actions), the project, the
scheduler's role (`codebuild:StartBuild` on this project only) and the schedule, and a notification rule for failed
runs when a topic is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws_common import partition_of
from components.delivery import buildspec
from components.delivery.policies import Resources, action_statements
from components.iam import account_trust_policy, allow, document
from runtime.config import defaults as cfg_defaults
from runtime.pipeline.model import Action

#: A missed start is retried this many times within this many seconds.
RETRY_ATTEMPTS = 3
RETRY_MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class JobSettings:
    """What every scheduled job of a stack shares: source, build environment, the stack's buckets and key."""

    stack: str
    region: str
    account_id: pulumi.Input[str]
    repository: str
    branch: str
    connection_arn: str
    install_command: str
    kms_key_arn: pulumi.Input[str]
    buckets: Mapping[str, pulumi.Input[str]]
    """Bucket role -> name (data, pipeline: the cache lives in the pipeline bucket)."""
    bucket_arns: Mapping[str, pulumi.Input[str]]
    python_version: str = cfg_defaults.PYTHON_VERSION
    build_image: str = cfg_defaults.BUILD_IMAGE
    compute_type: str = cfg_defaults.COMPUTE_TYPE
    timeout_minutes: int = cfg_defaults.ACTION_TIMEOUT_MINUTES
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    notification_topic_arn: pulumi.Input[str] | None = None
    extra_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def scheduled_job(parent: pulumi.Resource, name: str, job: Action, settings: JobSettings, *, schedule: str,
                  metrics_namespace: str | None = None, ecr_repository_arn: pulumi.Input[str] | None = None,
                  policy_arns: Sequence[pulumi.Input[str]] = ()) -> aws.codebuild.Project:
    """The job's project and schedule; `policy_arns`: managed policies attached to its role before the project is
    created (the Spark engine's submit policy)."""
    project = _project(parent, name, job, settings, metrics_namespace=metrics_namespace,
                       ecr_repository_arn=ecr_repository_arn, policy_arns=policy_arns)
    _schedule(parent, name, project, settings, schedule=schedule)
    if settings.notification_topic_arn is not None:
        aws.codestarnotifications.NotificationRule(
            f"{name}-failures", name=_project_name(name, settings), resource=project.arn, detail_type="BASIC",
            event_type_ids=["codebuild-project-build-state-failed"],
            targets=[aws.codestarnotifications.NotificationRuleTargetArgs(
                address=settings.notification_topic_arn, type="SNS")],
            opts=pulumi.ResourceOptions(parent=parent))
    return project


def _project_name(name: str, settings: JobSettings) -> str:
    return f"{pulumi.get_project()}-{settings.stack}-{name}"


def _project(parent: pulumi.Resource, name: str, job: Action, settings: JobSettings, *,
             metrics_namespace: str | None, ecr_repository_arn: pulumi.Input[str] | None,
             policy_arns: Sequence[pulumi.Input[str]]) -> aws.codebuild.Project:
    """Log group, role and policy (the job's declared access only), and the CodeBuild project."""
    child = pulumi.ResourceOptions(parent=parent)
    project_name = _project_name(name, settings)
    account = pulumi.Output.from_input(settings.account_id)
    partition, dns_suffix = partition_of(parent)
    logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/codebuild/{project_name}",
                                   retention_in_days=settings.log_retention_days, kms_key_id=settings.kms_key_arn,
                                   opts=child)
    trust = account_trust_policy("codebuild.amazonaws.com", account)
    role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, opts=child)
    policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=pulumi.Output.all(
        account, dict(settings.bucket_arns), settings.kms_key_arn, ecr_repository_arn, logs.arn).apply(
        lambda r: document(action_statements(job, Resources(
            region=settings.region, account_id=r[0], buckets=r[1], kms_key_arn=r[2], artifact_prefix="",
            partition=partition, dns_suffix=dns_suffix, ecr_repository_arn=r[3], metrics_namespace=metrics_namespace,
            connection_arn=settings.connection_arn), r[4]))), opts=child)
    waits: list[pulumi.Resource] = [policy, *(
        aws.iam.RolePolicyAttachment(f"{name}-extra-policy-{i}", role=role.name, policy_arn=arn, opts=child)
        for i, arn in enumerate(policy_arns))]
    env = {"STACK_NAME": settings.stack, **{f"{b.upper()}_BUCKET": settings.buckets[b]
                                            for b in sorted({g.bucket for g in job.access.s3})},
           **settings.extra_env}
    return aws.codebuild.Project(
        name, name=project_name, description=f"{project_name}: scheduled {job.name}", service_role=role.arn,
        encryption_key=settings.kms_key_arn, build_timeout=settings.timeout_minutes,
        source=aws.codebuild.ProjectSourceArgs(
            type="GITHUB", location=f"https://github.com/{settings.repository}.git", git_clone_depth=1,
            auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=settings.connection_arn),
            buildspec=buildspec.render(job, install_command=settings.install_command,
                                       python_version=settings.python_version)),
        source_version=settings.branch,
        artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
        environment=aws.codebuild.ProjectEnvironmentArgs(
            compute_type=settings.compute_type, image=settings.build_image, type="LINUX_CONTAINER",
            image_pull_credentials_type="CODEBUILD", privileged_mode=job.access.docker,
            environment_variables=[aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(
                name=k, value=v, type="PLAINTEXT") for k, v in env.items()]),
        cache=aws.codebuild.ProjectCacheArgs(
            type="S3", location=pulumi.Output.concat(settings.buckets["pipeline"], f"/cache/{job.name}")),
        logs_config=aws.codebuild.ProjectLogsConfigArgs(
            cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(group_name=logs.name, status="ENABLED"),
            s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits))


def _schedule(parent: pulumi.Resource, name: str, project: aws.codebuild.Project, settings: JobSettings, *,
              schedule: str) -> None:
    """The schedule and the one permission it needs (`codebuild:StartBuild` on this project)."""
    child = pulumi.ResourceOptions(parent=parent)
    project_name = _project_name(name, settings)
    trust = account_trust_policy("scheduler.amazonaws.com", settings.account_id)
    scheduler_role = aws.iam.Role(f"{name}-scheduler-role", assume_role_policy=trust, opts=child)
    scheduler_policy = aws.iam.RolePolicy(f"{name}-scheduler-policy", role=scheduler_role.id, policy=project.arn.apply(
        lambda arn: document([allow("StartThisJob", ["codebuild:StartBuild"], [arn])])), opts=child)
    aws.scheduler.Schedule(
        f"{name}-schedule", name=project_name, description=f"Start {project_name}",
        schedule_expression=schedule, schedule_expression_timezone="UTC",
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
        # CodeBuild StartBuild is one of EventBridge Scheduler's *templated* targets: the target is the project's
        # ARN and no input is needed ("Using templated targets in EventBridge Scheduler",
        # https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html). No universal
        # `aws-sdk` target, whose input would have to spell CodeBuild's own parameter names.
        target=aws.scheduler.ScheduleTargetArgs(
            arn=project.arn, role_arn=scheduler_role.arn,
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_retry_attempts=RETRY_ATTEMPTS, maximum_event_age_in_seconds=RETRY_MAX_AGE_SECONDS)),
        # The schedule's first start must find its role allowed to start the build (IAM propagation).
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[scheduler_policy]))
