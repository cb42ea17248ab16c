"""The network side of the ECS model service: security groups, the ALB, its target groups and listeners, and (for
the ECS-native canary and linear strategies) the production listener rule whose weights ECS shifts.

Security decisions (see docs/security.md): security groups start empty, one rule per source and port; clients reach
the load balancer only from the configured CIDRs / security groups (default: the VPC CIDR), the tasks only from
the load balancer, and the tasks send only HTTPS out (AWS APIs). The ALB is internal by default, drops invalid
headers, logs to the log bucket, and with a certificate serves HTTPS with the TLS 1.3 policy while port 80 only
redirects. The ECS infrastructure role may move targets between these two groups and modify this listener and
rule only; the ELB `Describe*` calls are its one `Resource: "*"` (AWS offers no resource-level permission).
"""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import allow_in, allow_out, application_load_balancer, listeners, security_group
from components.iam import assume_role_policy, output_document
from components.required import checked
from components.serving import ecs_policies
from components.serving.args import ModelServiceArgs, Strategy
from components.serving.ecs_task import CONTAINER


class LoadBalancerParts(NamedTuple):
    alb: aws.lb.LoadBalancer
    groups: dict[str, aws.lb.TargetGroup]
    """`blue` (the first primary), and `green` for the strategies that split traffic."""
    listener: aws.lb.Listener
    """The production listener (HTTPS with a certificate, else HTTP)."""
    rule: aws.lb.ListenerRule | None
    """The production rule ECS shifts weights on (canary, linear), else None."""
    task_security_group: aws.ec2.SecurityGroup


def build_load_balancer(parent: pulumi.Resource, name: str, args: ModelServiceArgs, *, prefix: str, port: int,
                        strategy: Strategy) -> LoadBalancerParts:
    lb_sg, task_sg = _security_groups(parent, name, args, prefix=prefix, port=port)
    alb = application_load_balancer(
        name, subnet_ids=checked(args.private_subnet_ids) if args.internal else args.public_subnet_ids,
        security_group=lb_sg, internal=args.internal, deletion_protection=args.deletion_protection,
        log_bucket=checked(args.log_bucket), parent=parent)
    colours = ["blue"] if strategy == "rolling" else ["blue", "green"]
    groups = {colour: _target_group(parent, f"{name}-{colour}", vpc_id=checked(args.vpc_id), port=port)
              for colour in colours}
    production = listeners(name, load_balancer=alb, certificate_arn=args.certificate_arn,
                           actions=[_default_action(strategy, groups["blue"])], parent=parent,
                           # CodeDeploy swaps the listener's default action between the two groups.
                           ignore_action_changes=strategy == "blue-green")[0]
    rule = _production_rule(parent, name, production, groups) if strategy in ("canary", "linear") else None
    return LoadBalancerParts(alb, groups, production, rule, task_sg)


def _security_groups(parent: pulumi.Resource, name: str, args: ModelServiceArgs, *, prefix: str,
                     port: int) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """Load balancer and task groups (empty, then one rule per source): clients -> ALB -> tasks -> HTTPS out."""
    vpc_id = checked(args.vpc_id)
    lb_sg = security_group(f"{name}-lb", vpc_id=vpc_id, parent=parent,
                           description=f"{prefix} load balancer: clients in, tasks out")
    task_sg = security_group(f"{name}-tasks", vpc_id=vpc_id, parent=parent,
                             description=f"{prefix} tasks: load balancer in, AWS APIs out")
    sources = list(args.ingress_security_group_ids)
    cidrs: list[pulumi.Input[str]] = list(args.ingress_cidrs)
    if not cidrs and not sources:
        cidrs = [checked(args.vpc_cidr)]  # nothing configured: clients inside the VPC only
    for listener_port in [443, 80] if args.certificate_arn is not None else [80]:
        allow_in(f"{name}-lb-in-{listener_port}", group=lb_sg, port=listener_port, cidrs=cidrs, sources=sources,
                 description="configured clients", parent=parent)
    allow_out(f"{name}-lb-to-tasks", group=lb_sg, port=port, target=task_sg.id, description="the model tasks only",
              parent=parent)
    allow_in(f"{name}-tasks-from-lb", group=task_sg, port=port, sources=[lb_sg.id],
             description="the load balancer only", parent=parent)
    # HTTPS to AWS APIs (ECR, S3, logs, metrics) through the VPC endpoints or NAT; nothing else leaves.
    allow_out(f"{name}-tasks-https-out", group=task_sg, port=443, cidr="0.0.0.0/0", description="AWS APIs over HTTPS",
              parent=parent)
    return lb_sg, task_sg


def _target_group(parent: pulumi.Resource, name: str, *, vpc_id: pulumi.Input[str], port: int) -> aws.lb.TargetGroup:
    return aws.lb.TargetGroup(
        name, port=port, protocol="HTTP", target_type="ip", vpc_id=vpc_id,
        deregistration_delay=d.DEREGISTRATION_DELAY_SECONDS,
        health_check=aws.lb.TargetGroupHealthCheckArgs(path="/ping", matcher="200", interval=15, timeout=5,
                                                       healthy_threshold=2, unhealthy_threshold=3),
        opts=pulumi.ResourceOptions(parent=parent))


def _default_action(strategy: Strategy, primary: aws.lb.TargetGroup) -> aws.lb.ListenerDefaultActionArgs:
    if strategy in ("canary", "linear"):
        # Traffic goes through the production rule (whose weights ECS shifts); anything else is a 404.
        return aws.lb.ListenerDefaultActionArgs(type="fixed-response", fixed_response=aws.lb
                                                .ListenerDefaultActionFixedResponseArgs(
                                                    content_type="text/plain", status_code="404"))
    return aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=primary.arn)


def _production_rule(parent: pulumi.Resource, name: str, listener: aws.lb.Listener,
                     groups: dict[str, aws.lb.TargetGroup]) -> aws.lb.ListenerRule:
    """`/*` forwarded to both groups, weights 100/0 at creation; ECS owns the weights afterwards."""
    forward = aws.lb.ListenerRuleActionForwardArgs(target_groups=[
        aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=groups["blue"].arn, weight=100),
        aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=groups["green"].arn, weight=0)])
    return aws.lb.ListenerRule(
        f"{name}-production", listener_arn=listener.arn, priority=1,
        conditions=[aws.lb.ListenerRuleConditionArgs(
            path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=["/*"]))],
        actions=[aws.lb.ListenerRuleActionArgs(type="forward", forward=forward)],
        # ECS shifts the weights during every deployment; Pulumi must not shift them back.
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["actions"]))


def service_load_balancer(
        parent: pulumi.Resource, name: str, parts: LoadBalancerParts, *, prefix: str,
        port: int) -> tuple[aws.ecs.ServiceLoadBalancerArgs, list[aws.iam.RolePolicy]]:
    """How the service registers with the load balancer; with a production rule, also the alternate group and the
    infrastructure role ECS shifts traffic with, whose policy the service must depend on (IAM propagation)."""
    blue = parts.groups["blue"]
    if parts.rule is None:
        return aws.ecs.ServiceLoadBalancerArgs(target_group_arn=blue.arn, container_name=CONTAINER,
                                               container_port=port), []
    child = pulumi.ResourceOptions(parent=parent)
    green = parts.groups["green"]
    ecs_role = aws.iam.Role(f"{name}-ecs-load-balancers", assume_role_policy=assume_role_policy("ecs.amazonaws.com"),
                            description=f"ECS shifts {prefix} traffic between its two target groups", opts=child)
    policy = aws.iam.RolePolicy(f"{name}-ecs-load-balancers", role=ecs_role.id, policy=output_document(
        pulumi.Output.all(blue.arn, green.arn, parts.listener.arn, parts.rule.arn).apply(
            lambda a: ecs_policies.load_balancer_statements(a[0:2], [a[2]], [a[3]]))), opts=child)
    return aws.ecs.ServiceLoadBalancerArgs(
        target_group_arn=blue.arn, container_name=CONTAINER, container_port=port,
        advanced_configuration=aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
            alternate_target_group_arn=green.arn, production_listener_rule=parts.rule.arn,
            role_arn=ecs_role.arn)), [policy]
