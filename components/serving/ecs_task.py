"""The task side of the ECS model service: its log group, its two roles and its task definition. The shadow service
(shadow.py) builds its own log group, roles and task definition with the same builders, so both variants get the
same permissions and run the same container.

Security decisions (see docs/security.md): the image runs pinned by digest; the serving command
(runtime/serving/command.py: its argv, its non-root user, its writable paths as ephemeral volumes) on a read-only
root filesystem, every Linux capability dropped, never privileged; the log group has a retention and is encrypted
with the stack key; the execution role (the ECS agent: pull, logs; the key only through ECR) and the task role (the
model: its metric namespace, with capture its one Firehose stream; nothing in S3, the model is in the image) are
separate and scoped to this stack's ARNs, and the service starts no task before their policies exist.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import partition_of
from components.iam import account_trust_policy, output_document
from components.required import checked
from components.serving import ecs_policies
from components.serving.args import ModelServiceArgs, pinned_image
from components.serving.shadow_args import ShadowServiceArgs
from runtime import metrics
from runtime.serving import command as serving

#: The one container of the task (also the load balancer's and the log stream's name for it).
CONTAINER = "model"
#: The args the log group and the roles read: the model service's, or its shadow's (the same fields; their ECS
#: backends check the ones only ECS needs).
TaskArgs = ModelServiceArgs | ShadowServiceArgs


class TaskParts(NamedTuple):
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    task_role: aws.iam.Role
    task_definition: aws.ecs.TaskDefinition
    role_policies: list[aws.iam.RolePolicy]
    """The roles' policies: the service starting tasks depends on them (IAM propagation)."""


def build_task(parent: pulumi.Resource, name: str, args: TaskArgs, *, prefix: str, port: int,
               environment: dict[str, str], descriptions: tuple[str, str], keep_revisions: bool) -> TaskParts:
    """Log group, roles and task definition of the service `name` (`prefix` names them in AWS; `descriptions` are
    the execution and task roles' own): the model service's and its shadow's, nothing shared between them."""
    log_group = task_log_group(parent, name, args)
    execution_role, task_role, policies = task_roles(parent, name, args, log_group=log_group,
                                                     descriptions=descriptions)
    task = serving_task_definition(parent, name, args, prefix=prefix, port=port, environment=environment,
                                   log_group=log_group, roles=(execution_role, task_role),
                                   keep_revisions=keep_revisions)
    return TaskParts(log_group, execution_role, task_role, task, policies)


def task_log_group(parent: pulumi.Resource, name: str, args: TaskArgs) -> aws.cloudwatch.LogGroup:
    """The tasks' own log group, `/<project>/<stack>/<name>`: retention, encrypted with the stack key."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs", name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
        retention_in_days=args.log_retention_days, kms_key_id=checked(args.kms_key_arn),
        opts=pulumi.ResourceOptions(parent=parent))


def task_roles(parent: pulumi.Resource, name: str, args: TaskArgs, *, log_group: aws.cloudwatch.LogGroup,
               descriptions: tuple[str, str]) -> tuple[aws.iam.Role, aws.iam.Role, list[aws.iam.RolePolicy]]:
    """Execution (agent: pull, logs) and task (model: metrics, capture) roles, never shared, and their
    policies; `descriptions` are the two roles' own."""
    child = pulumi.ResourceOptions(parent=parent)
    _, dns_suffix = partition_of(parent)
    key_arn = checked(args.kms_key_arn)
    trust = account_trust_policy("ecs-tasks.amazonaws.com", checked(args.account_id))
    execution_role = aws.iam.Role(f"{name}-execution", assume_role_policy=trust, description=descriptions[0],
                                  opts=child)
    execution_policy = aws.iam.RolePolicy(f"{name}-execution", role=execution_role.id, policy=output_document(
        pulumi.Output.all(checked(args.image_repository_arn), log_group.arn, key_arn).apply(
            lambda a: ecs_policies.execution_statements(a[0], a[1], a[2], args.region, dns_suffix))),
        opts=child)
    task_role = aws.iam.Role(f"{name}-task", assume_role_policy=trust, description=descriptions[1], opts=child)
    task_policy = aws.iam.RolePolicy(f"{name}-task", role=task_role.id, policy=output_document(
        pulumi.Output.from_input(args.capture_stream_arn or "").apply(
            lambda stream: ecs_policies.task_statements(args.metrics_namespace, capture_stream_arn=stream or None))),
        opts=child)
    return execution_role, task_role, [execution_policy, task_policy]


def baseline_environment(args: ModelServiceArgs) -> dict[str, str]:
    """The baseline's environment: the serving variables, the service's extra ones, capture when on."""
    return serving.serving_environment(
        model_name=args.model_name, model_version=args.model_version, image_digest=args.image_digest,
        variant=metrics.VARIANT_BASELINE, metrics_namespace=args.metrics_namespace,
        extra={**args.environment, **_capture_env(args)})


def serving_task_definition(parent: pulumi.Resource, name: str, args: TaskArgs, *, prefix: str, port: int,
                            environment: dict[str, str], log_group: aws.cloudwatch.LogGroup,
                            roles: tuple[aws.iam.Role, aws.iam.Role], keep_revisions: bool) -> aws.ecs.TaskDefinition:
    """A Fargate task definition (family `prefix`) running the serving command with `environment`, the image by
    digest, the (execution, task) `roles`; `keep_revisions` leaves replaced revisions registered (otherwise
    Pulumi deregisters them). The model service and its shadow both run it."""
    execution_role, task_role = roles
    image = pinned_image(args.image_repository_url, args.image_digest)
    argv = serving.serve_argv(port=port, workers=serving.workers_for(args.cpu))
    return aws.ecs.TaskDefinition(
        name, family=prefix, requires_compatibilities=["FARGATE"], network_mode="awsvpc",
        cpu=str(args.cpu), memory=str(args.memory),
        execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX",
                                                                   cpu_architecture="X86_64"),
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=w.volume) for w in serving.WRITABLE_PATHS],
        container_definitions=pulumi.Output.all(image, log_group.name).apply(
            lambda a: container_definitions(a[0], a[1], args.region, port, environment, argv=argv)),
        skip_destroy=True if keep_revisions else None,
        opts=pulumi.ResourceOptions(parent=parent))


def container_definitions(image: str, log_group: str, region: str, port: int, environment: dict[str, str], *,
                          argv: list[str]) -> str:
    """The one container: the serving command (runtime/serving/command.py: its argv, user and writable paths),
    read-only root filesystem, health-checked on /ping."""
    probe = (f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/ping', timeout=4)")
    container = {
        "name": CONTAINER, "image": image, "essential": True,
        "portMappings": [{"containerPort": port, "protocol": "tcp", "name": "http"}],
        "entryPoint": argv, "user": serving.user(), "privileged": False, "readonlyRootFilesystem": True,
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "mountPoints": [{"sourceVolume": w.volume, "containerPath": w.path, "readOnly": False}
                        for w in serving.WRITABLE_PATHS],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        # The scoring image always has Python; it may not have curl.
        "healthCheck": {"command": ["CMD", "python", "-c", probe], "interval": 15, "timeout": 5, "retries": 3,
                        "startPeriod": d.HEALTH_CHECK_GRACE_SECONDS},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER}},
        "stopTimeout": 30,
    }
    return json.dumps([container], sort_keys=True)


def _capture_env(args: ModelServiceArgs) -> dict[str, str]:
    """The capture settings for the server, when capture is on (it needs both the settings and the stream)."""
    capture = args.capture
    if capture is None or args.capture_stream_arn is None:
        return {}
    return capture.to_env()
