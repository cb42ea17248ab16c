"""ECS backend of `mlcicd:serving:ModelService`: a Fargate service running the MLflow scoring server behind an ALB.

Creates, each part built by its own module with the ModelService as parent:
- `ecs_task.py`: log group, execution and task roles, task definition (image by digest);
- `ecs_load_balancer.py`: security groups, ALB with listeners and target groups, the production listener rule;
- here: the cluster (Container Insights) and the service with its deployment mechanism;
- `ecs_deploy.py`: CodeDeploy (strategy `blue-green`) and autoscaling.

Deployment, one mechanism per service (`strategy`):
- `canary` / `linear`: ECS-native CANARY / LINEAR. Two target groups; a production listener rule forwards to
  them with weights that ECS shifts (through an infrastructure role scoped to these groups, listener and rule).
- `rolling`: ECS ROLLING on one target group.
- `blue-green`: the CODE_DEPLOY controller with a custom CodeDeploy config (canary percent, bake minutes).
The ECS-controlled strategies always have the circuit breaker with rollback and roll back on the canary alarms;
CodeDeploy rolls back on failure and on the same alarms.

Security decisions (see docs/security.md): private subnets, no public IP, ECS Exec off; the task and load balancer
decisions are listed in `ecs_task.py` and `ecs_load_balancer.py`.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import ecs_cluster
from components.required import checked, missing
from components.serving.args import ModelServiceArgs, RollbackAlarms, Strategy
from components.serving.ecs_deploy import build_autoscaling, build_codedeploy
from components.serving.ecs_load_balancer import LoadBalancerParts, build_load_balancer, service_load_balancer
from components.serving.ecs_task import baseline_environment, build_task

#: Arguments the ECS backend cannot run without, beyond those every ModelService needs (`checked` by its builders;
#: `rollback_alarms` is checked by ModelService itself, with the reason).
ECS_REQUIRED = ("image_repository_arn", "account_id", "vpc_id", "vpc_cidr", "private_subnet_ids",
                "log_bucket", "kms_key_arn")


class EcsServiceOutputs(NamedTuple):
    endpoint: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffixes: pulumi.Output[dict[str, str]]
    log_group_name: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    """The load balancer's own DNS name: the target of the DNS record for `args.hostname`."""
    alarms: RollbackAlarms
    deployment_group_name: pulumi.Output[str] | None
    task_security_group_id: pulumi.Output[str]
    """The tasks' security group (a shadow service admits its mirror traffic from it)."""


def build_ecs_service(parent: pulumi.ComponentResource, name: str, args: ModelServiceArgs) -> EcsServiceOutputs:
    absent = missing(args, ECS_REQUIRED)
    if absent:
        raise ValueError(f"ModelService {name} (ecs): missing args {', '.join(absent)}")
    if args.certificate_arn is not None and args.hostname is None:
        raise ValueError(f"ModelService {name} (ecs): args.certificate_arn requires args.hostname, the name the "
                         "certificate covers (no certificate covers the load balancer's own DNS name)")
    strategy, port = args.strategy, args.port
    prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
    child = pulumi.ResourceOptions(parent=parent)

    # Earlier revisions stay registered: a rollback (circuit breaker, alarms, CodeDeploy) starts tasks from the
    # previous revision.
    task = build_task(parent, name, args, prefix=prefix, port=port, environment=baseline_environment(args),
                      descriptions=(f"ECS agent of {prefix}: pull the serving image, write its logs",
                                    f"Model server of {prefix}: publish model metrics, capture"),
                      keep_revisions=True)
    cluster = ecs_cluster(name, parent=parent)
    lb = build_load_balancer(parent, name, args, prefix=prefix, port=port, strategy=strategy)
    groups = list(lb.groups.values())
    alarms = checked(args.rollback_alarms)(lb.alb.arn_suffix, [g.arn_suffix for g in groups])
    load_balancer, lb_policies = service_load_balancer(parent, name, lb, prefix=prefix, port=port)
    service = _service(parent, name, args, strategy=strategy, cluster=cluster, task=task.task_definition, lb=lb,
                       load_balancer=load_balancer, alarms=alarms,
                       # Every policy a task or a deployment needs; the service depends on all (IAM propagation).
                       role_policies=[*task.role_policies, *lb_policies])
    deployment_group = None
    if strategy == "blue-green":
        deployment_group = build_codedeploy(name, args, cluster=cluster, service=service, groups=groups,
                                            listener=lb.listener, alarms=alarms,
                                            pass_roles=[task.task_role, task.execution_role], child=child)
    build_autoscaling(name, args, cluster=cluster, service=service, alb=lb.alb, groups=groups, child=child)

    scheme = "https" if args.certificate_arn is not None else "http"
    host = lb.alb.dns_name if args.hostname is None else pulumi.Output.from_input(args.hostname)
    return EcsServiceOutputs(
        endpoint=host.apply(lambda h: f"{scheme}://{h}"), load_balancer_dns_name=lb.alb.dns_name,
        cluster_name=cluster.name, service_name=service.name, load_balancer_arn_suffix=lb.alb.arn_suffix,
        target_group_arn_suffixes=pulumi.Output.all(*[g.arn_suffix for g in groups]).apply(
            lambda suffixes: dict(zip(["primary", "alternate"], suffixes, strict=False))),
        log_group_name=task.log_group.name, alarms=alarms, deployment_group_name=deployment_group,
        task_security_group_id=lb.task_security_group.id)


def _service(parent: pulumi.Resource, name: str, args: ModelServiceArgs, *, strategy: Strategy,
             cluster: aws.ecs.Cluster, task: aws.ecs.TaskDefinition, lb: LoadBalancerParts,
             load_balancer: aws.ecs.ServiceLoadBalancerArgs, alarms: RollbackAlarms,
             role_policies: list[aws.iam.RolePolicy]) -> aws.ecs.Service:
    deployment, ignore = deployment_settings(strategy, args, alarms)
    return aws.ecs.Service(
        name, cluster=cluster.arn, task_definition=task.arn,
        desired_count=args.min_capacity, launch_type="FARGATE",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=checked(args.private_subnet_ids), security_groups=[lb.task_security_group.id],
            assign_public_ip=False),
        load_balancers=[load_balancer], enable_execute_command=False,
        health_check_grace_period_seconds=d.HEALTH_CHECK_GRACE_SECONDS,
        propagate_tags="SERVICE", enable_ecs_managed_tags=True,
        **deployment,  # typed *Args below; one mechanism per strategy
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=ignore, depends_on=role_policies))


def deployment_settings(strategy: Strategy, args: ModelServiceArgs,
                        alarms: RollbackAlarms) -> tuple[dict[str, Any], list[str]]:
    """The service's deployment arguments for `strategy`, and the properties Pulumi must leave to their owner."""
    ignore = ["desiredCount"]  # owned by autoscaling after creation
    if strategy == "blue-green":
        # CodeDeploy owns task definition changes and target group swaps; `pulumi up` registers the revision.
        return ({"deployment_controller": aws.ecs.ServiceDeploymentControllerArgs(type="CODE_DEPLOY")},
                [*ignore, "taskDefinition", "loadBalancers"])
    return {
        "deployment_configuration": _deployment_configuration(strategy, args),
        "deployment_controller": aws.ecs.ServiceDeploymentControllerArgs(type="ECS"),
        "deployment_circuit_breaker": aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        "alarms": aws.ecs.ServiceAlarmsArgs(alarm_names=alarms.rollback_alarm_names, enable=True, rollback=True),
    }, ignore


def _deployment_configuration(strategy: Literal["canary", "linear", "rolling"],
                              args: ModelServiceArgs) -> aws.ecs.ServiceDeploymentConfigurationArgs:
    """ECS's own deployment strategy: ROLLING replaces tasks; CANARY (a canary share, then the rest) and LINEAR
    (equal steps) shift the listener rule's weights, baking after each shift."""
    if strategy == "rolling":
        return aws.ecs.ServiceDeploymentConfigurationArgs(strategy="ROLLING")
    bake = str(args.bake_minutes)
    canary = linear = None
    if strategy == "canary":
        canary = aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(
            canary_percent=args.canary_percent, canary_bake_time_in_minutes=bake)
    else:
        linear = aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(
            step_percent=args.linear_step_percent, step_bake_time_in_minutes=bake)
    return aws.ecs.ServiceDeploymentConfigurationArgs(strategy=strategy.upper(), bake_time_in_minutes=bake,
                                                      canary_configuration=canary, linear_configuration=linear)
