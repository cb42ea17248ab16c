"""Small AWS building blocks for the ECS-based components: log group, cluster, security groups, the task execution
role, and an application load balancer with our defaults. Plain functions; every resource is parented to the
component that calls them.

Security decisions (docs/security.md lists every default and where it is set):
- Log groups always have a retention and are encrypted with the stack's KMS key; clusters always have Container
  Insights.
- Security groups start empty (no implied egress); each rule is its own resource naming its one source/port and
  saying why it exists (a description is required).
- The execution role may write its own log group, read the listed secrets, decrypt with the listed key only via
  Secrets Manager, and pull from the listed ECR repositories; `ecr:GetAuthorizationToken` is the one `*`.
- Load balancers drop invalid header fields, log to the log bucket (`alb/` prefix), and never listen in plain
  HTTP when a certificate is given (port 80 only redirects to HTTPS with the TLS 1.3 policy).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.iam import Statement, account_trust_policy, allow, document

#: Prefix of ALB access logs in the log bucket (its policy admits `alb/AWSLogs/<account>/*`).
ALB_LOG_PREFIX = "alb"

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)")


def partition_of(parent: pulumi.Resource) -> tuple[str, str]:
    """The ARN partition (`aws`, `aws-us-gov`, `aws-cn`) and the DNS suffix of regional endpoints (`amazonaws.com`,
    `amazonaws.com.cn`) of the provider `parent` uses: never hard-coded, so GovCloud and China stacks work."""
    result = aws.get_partition(opts=pulumi.InvokeOptions(parent=parent))
    return result.partition, result.dns_suffix


def ecr_repository_arn(image: str, partition: str) -> str | None:
    """The ECR repository ARN of an image reference, or None for other registries (e.g. ghcr.io)."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


def log_group(name: str, *, retention_days: int, kms_key_arn: pulumi.Input[str],
              parent: pulumi.Resource) -> aws.cloudwatch.LogGroup:
    """A log group with retention, encrypted with the stack key (whose policy lets CloudWatch Logs use it)."""
    return aws.cloudwatch.LogGroup(name, retention_in_days=retention_days, kms_key_id=kms_key_arn,
                                   opts=pulumi.ResourceOptions(parent=parent))


def ecs_cluster(name: str, *, parent: pulumi.Resource) -> aws.ecs.Cluster:
    return aws.ecs.Cluster(name, settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                           opts=pulumi.ResourceOptions(parent=parent))


def security_group(name: str, *, vpc_id: pulumi.Input[str], description: str,
                   parent: pulumi.Resource) -> aws.ec2.SecurityGroup:
    """An empty security group: the provider removes AWS's default allow-all egress rule."""
    return aws.ec2.SecurityGroup(name, vpc_id=vpc_id, description=description,
                                 opts=pulumi.ResourceOptions(parent=parent))


def allow_in(name: str, *, group: aws.ec2.SecurityGroup, port: int, description: str, parent: pulumi.Resource,
             cidrs: Sequence[pulumi.Input[str]] = (), sources: Sequence[pulumi.Input[str]] = ()) -> None:
    """Ingress on one TCP port from each CIDR and each source security group, one rule resource apiece; the
    description says who they are (a reviewer reads it in the console)."""
    if not description:
        raise ValueError(f"security group rule {name}: a description is required")
    child = pulumi.ResourceOptions(parent=parent)
    for i, cidr in enumerate(cidrs):
        aws.vpc.SecurityGroupIngressRule(f"{name}-cidr{i}", security_group_id=group.id, cidr_ipv4=cidr,
                                         ip_protocol="tcp", from_port=port, to_port=port,
                                         description=description, opts=child)
    for i, source in enumerate(sources):
        aws.vpc.SecurityGroupIngressRule(f"{name}-sg{i}", security_group_id=group.id,
                                         referenced_security_group_id=source, ip_protocol="tcp", from_port=port,
                                         to_port=port, description=description, opts=child)


def allow_out(name: str, *, group: aws.ec2.SecurityGroup, port: int, description: str, parent: pulumi.Resource,
              cidr: str | None = None, target: pulumi.Input[str] | None = None) -> None:
    """Egress on one TCP port to one CIDR or one target security group, with a description of what it reaches."""
    if not description:
        raise ValueError(f"security group rule {name}: a description is required")
    aws.vpc.SecurityGroupEgressRule(name, security_group_id=group.id, cidr_ipv4=cidr,
                                    referenced_security_group_id=target, ip_protocol="tcp", from_port=port,
                                    to_port=port, description=description,
                                    opts=pulumi.ResourceOptions(parent=parent))


def task_execution_role(name: str, *, account_id: pulumi.Input[str], log_group_arn: pulumi.Input[str],
                        secret_arns: Sequence[pulumi.Input[str]] = (),
                        kms_key_arn: pulumi.Input[str] | None = None, region: pulumi.Input[str] | None = None,
                        ecr_repository_arns: Sequence[str] = (),
                        parent: pulumi.Resource) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The role ECS uses to start a task: pull its image, write its log group, inject its secrets. Nothing else.
    Returns the role and its policy: a service starting tasks must depend on the policy (IAM propagation)."""
    child = pulumi.ResourceOptions(parent=parent)
    _, dns_suffix = partition_of(parent)
    role = aws.iam.Role(name, assume_role_policy=account_trust_policy("ecs-tasks.amazonaws.com", account_id),
                        opts=child)
    statements: list[pulumi.Input[Statement]] = [
        pulumi.Output.from_input(log_group_arn).apply(
            lambda arn: allow("WriteOwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{arn}:*"])),
    ]
    if ecr_repository_arns:
        # ecr:GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
        statements.append(allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]))
        statements.append(allow("PullImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                              "ecr:GetDownloadUrlForLayer"], list(ecr_repository_arns)))
    if secret_arns:
        statements.append(pulumi.Output.all(*secret_arns).apply(
            lambda arns: allow("ReadInjectedSecrets", ["secretsmanager:GetSecretValue"], sorted(arns))))
        if kms_key_arn is not None and region is not None:
            statements.append(pulumi.Output.all(kms_key_arn, region).apply(
                lambda a: allow("DecryptSecrets", ["kms:Decrypt"], [a[0]],
                                {"StringEquals": {"kms:ViaService": f"secretsmanager.{a[1]}.{dns_suffix}"}})))
    policy = pulumi.Output.all(*statements).apply(document)
    return role, aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)


def ecs_task_role(name: str, *, account_id: pulumi.Input[str], parent: pulumi.Resource) -> aws.iam.Role:
    """A task role with no permissions yet; the caller attaches its scoped `RolePolicy`."""
    return aws.iam.Role(name, assume_role_policy=account_trust_policy("ecs-tasks.amazonaws.com", account_id),
                        opts=pulumi.ResourceOptions(parent=parent))


def application_load_balancer(name: str, *, subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
                              security_group: aws.ec2.SecurityGroup, internal: bool, deletion_protection: bool,
                              log_bucket: pulumi.Input[str], parent: pulumi.Resource) -> aws.lb.LoadBalancer:
    return aws.lb.LoadBalancer(
        name, load_balancer_type="application", internal=internal, subnets=subnet_ids,
        security_groups=[security_group.id], drop_invalid_header_fields=True,
        enable_deletion_protection=deletion_protection, desync_mitigation_mode="strictest",
        access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=log_bucket, prefix=ALB_LOG_PREFIX, enabled=True),
        opts=pulumi.ResourceOptions(parent=parent))


def listeners(name: str, *, load_balancer: aws.lb.LoadBalancer, certificate_arn: str | None,
              actions: Sequence[aws.lb.ListenerDefaultActionArgs], parent: pulumi.Resource,
              ignore_action_changes: bool = False) -> list[aws.lb.Listener]:
    """The listener running `actions` first, then the redirect if any. With a certificate: HTTPS 443 running
    `actions` with the TLS 1.3 policy, and 80 redirecting to it. Without: HTTP 80 running `actions` (internal load
    balancers only; the caller decides). `ignore_action_changes`: something else (CodeDeploy) owns the actions."""
    child = pulumi.ResourceOptions(parent=parent)
    serving = pulumi.ResourceOptions(parent=parent, ignore_changes=["defaultActions"]) if ignore_action_changes \
        else child
    if certificate_arn is None:
        return [aws.lb.Listener(f"{name}-http", load_balancer_arn=load_balancer.arn, port=80, protocol="HTTP",
                                default_actions=list(actions), opts=serving)]
    https = aws.lb.Listener(f"{name}-https", load_balancer_arn=load_balancer.arn, port=443, protocol="HTTPS",
                            ssl_policy=d.TLS_POLICY, certificate_arn=certificate_arn, default_actions=list(actions),
                            opts=serving)
    redirect = aws.lb.Listener(
        f"{name}-http-redirect", load_balancer_arn=load_balancer.arn, port=80, protocol="HTTP",
        default_actions=[aws.lb.ListenerDefaultActionArgs(
            type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                port="443", protocol="HTTPS", status_code="HTTP_301"))],
        opts=child)
    return [https, redirect]
