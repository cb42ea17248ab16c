"""ECS backend of `mlcicd:serving:ModelService`: a Fargate service running the MLflow scoring server behind an ALB.

Creates: log group, cluster (Container Insights), execution and task roles, task definition (image by digest),
security groups, ALB with listeners and target groups, the service with its deployment mechanism, and autoscaling.

Deployment, one mechanism per service (`strategy`):
- `canary` / `linear`: ECS-native CANARY / LINEAR. Two target groups; a production listener rule forwards to
  them with weights that ECS shifts (through an infrastructure role scoped to these groups, listener and rule).
- `rolling`: ECS ROLLING on one target group.
- `blue-green`: the CODE_DEPLOY controller with a custom CodeDeploy config (canary percent, bake minutes).
The ECS-controlled strategies always have the circuit breaker with rollback and roll back on the canary alarms;
CodeDeploy rolls back on failure and on the same alarms.

Security decisions (see ../shared/secure-defaults.md): image pinned by digest; read-only root filesystem with one
writable scratch volume, non-root user, all Linux capabilities dropped, never privileged; own log group with
retention; separate execution and task roles scoped to this stack's ARNs; private subnets, no public IP, ECS Exec
off; ALB internal by default, invalid headers dropped, access logs, TLS 1.3 when a certificate is given (port 80
only redirects), ingress only from the configured CIDRs / security groups (default: the VPC CIDR).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import allow_in, allow_out, application_load_balancer, ecs_cluster, security_group
from components.iam import assume_role_policy, output_document
from components.serving import ecs_policies
from components.serving.args import ModelServiceArgs, RollbackAlarms, pinned_image
from components.serving.ecs_deploy import build_autoscaling, build_codedeploy
from runtime import metrics
from runtime.config import defaults as cfg_defaults
from runtime.serving import command as serving

CONTAINER = "model"
#: Arguments the ECS backend cannot run without.
REQUIRED = ("model_name", "image_repository_url", "image_repository_arn", "image_digest", "rollback_alarms",
            "region", "account_id", "vpc_id", "vpc_cidr", "private_subnet_ids", "log_bucket", "kms_key_arn",
            "models_bucket_arn")


class EcsServiceOutputs(NamedTuple):
    endpoint: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffixes: pulumi.Output[dict[str, str]]
    log_group_name: pulumi.Output[str]
    alarms: RollbackAlarms
    deployment_group_name: pulumi.Output[str] | None
    task_security_group_id: pulumi.Output[str]
    """The tasks' security group (a shadow service admits its mirror traffic from it)."""


def build_ecs_service(parent: pulumi.ComponentResource, name: str, args: ModelServiceArgs) -> EcsServiceOutputs:
    if ("model_name" not in args or "image_repository_url" not in args or "image_repository_arn" not in args
            or "image_digest" not in args or "rollback_alarms" not in args or "region" not in args
            or "account_id" not in args or "vpc_id" not in args or "vpc_cidr" not in args
            or "private_subnet_ids" not in args or "log_bucket" not in args or "kms_key_arn" not in args
            or "models_bucket_arn" not in args):
        missing = [key for key in REQUIRED if key not in args]
        raise ValueError(f"ModelService {name} (ecs): missing args {', '.join(missing)}")
    child = pulumi.ResourceOptions(parent=parent)
    strategy = args.get("strategy", "canary")
    port = args.get("port", cfg_defaults.SERVING_PORT)
    prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"

    # Logs and cluster ----------------------------------------------------------------------------------------
    log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
                                        retention_in_days=args.get("log_retention_days",
                                                                   cfg_defaults.LOG_RETENTION_DAYS_OTHER),
                                        opts=child)
    cluster = ecs_cluster(name, parent=parent)

    # Roles: execution (agent: pull, logs) and task (model: artifacts, metrics), never shared --------------------
    trust = pulumi.Output.from_input(args["account_id"]).apply(
        lambda acct: assume_role_policy("ecs-tasks.amazonaws.com", acct))
    execution_role = aws.iam.Role(f"{name}-execution", assume_role_policy=trust,
                                  description=f"ECS agent of {prefix}: pull the serving image, write its logs",
                                  opts=child)
    aws.iam.RolePolicy(f"{name}-execution", role=execution_role.id, policy=output_document(
        pulumi.Output.all(args["image_repository_arn"], log_group.arn, args["kms_key_arn"]).apply(
            lambda a: ecs_policies.execution_statements(a[0], a[1], a[2]))), opts=child)
    task_role = aws.iam.Role(f"{name}-task", assume_role_policy=trust,
                             description=f"Model server of {prefix}: read model artifacts, publish model metrics",
                             opts=child)
    prefix_in_bucket = args.get("model_artifact_prefix", cfg_defaults.MLFLOW_PREFIX)
    namespace = args.get("metrics_namespace", cfg_defaults.MODEL_METRICS_NAMESPACE)
    aws.iam.RolePolicy(f"{name}-task", role=task_role.id, policy=output_document(
        pulumi.Output.all(args["models_bucket_arn"], args["kms_key_arn"], args.get("capture_stream_arn") or "").apply(
            lambda a: ecs_policies.task_statements(a[0], prefix_in_bucket, a[1], args["region"], namespace,
                                                   capture_stream_arn=a[2] or None))),
        opts=child)

    # Task definition -----------------------------------------------------------------------------------------
    image = pinned_image(args["image_repository_url"], args["image_digest"])
    environment = serving.serving_environment(
        model_name=args["model_name"], model_version=args.get("model_version"), image_digest=args["image_digest"],
        variant=metrics.VARIANT_BASELINE, metrics_namespace=namespace,
        extra={**args.get("environment", {}), **_capture_env(args)})
    argv = serving.serve_argv(port=port, workers=serving.workers_for(args.get("cpu", cfg_defaults.SERVING_CPU)))
    task = aws.ecs.TaskDefinition(
        name, family=prefix, requires_compatibilities=["FARGATE"], network_mode="awsvpc",
        cpu=str(args.get("cpu", cfg_defaults.SERVING_CPU)), memory=str(args.get("memory", cfg_defaults.SERVING_MEMORY)),
        execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX",
                                                                   cpu_architecture="X86_64"),
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=w.volume) for w in serving.WRITABLE_PATHS],
        container_definitions=pulumi.Output.all(image, log_group.name).apply(
            lambda a: container_definitions(a[0], a[1], args["region"], port, environment, argv=argv)),
        # Keep earlier revisions registered: a rollback (circuit breaker, alarms, CodeDeploy) starts tasks from
        # the previous revision.
        skip_destroy=True,
        opts=child)

    # Network: security groups (empty, then one rule per source) and the load balancer --------------------------
    https = args.get("certificate_arn") is not None
    lb_sg = security_group(f"{name}-lb", vpc_id=args["vpc_id"], parent=parent,
                           description=f"{prefix} load balancer: clients in, tasks out")
    task_sg = security_group(f"{name}-tasks", vpc_id=args["vpc_id"], parent=parent,
                             description=f"{prefix} tasks: load balancer in, AWS APIs out")
    sources = list(args.get("ingress_security_group_ids", []))
    cidrs: list[pulumi.Input[str]] = list(args.get("ingress_cidrs", []))
    if not cidrs and not sources:
        cidrs = [args["vpc_cidr"]]  # nothing configured: clients inside the VPC only
    for listener_port in [443, 80] if https else [80]:
        allow_in(f"{name}-lb-in-{listener_port}", group=lb_sg, port=listener_port, cidrs=cidrs, sources=sources,
                 description="configured clients", parent=parent)
    allow_out(f"{name}-lb-to-tasks", group=lb_sg, port=port, target=task_sg.id, description="the model tasks only",
              parent=parent)
    allow_in(f"{name}-tasks-from-lb", group=task_sg, port=port, sources=[lb_sg.id],
             description="the load balancer only", parent=parent)
    # HTTPS to AWS APIs (ECR, S3, logs, metrics) through the VPC endpoints or NAT; nothing else leaves.
    allow_out(f"{name}-tasks-https-out", group=task_sg, port=443, cidr="0.0.0.0/0", description="AWS APIs over HTTPS",
              parent=parent)
    internal = args.get("internal", True)
    alb = application_load_balancer(
        name, subnet_ids=args["private_subnet_ids"] if internal else args.get("public_subnet_ids", []),
        security_group=lb_sg, internal=internal, deletion_protection=args.get("deletion_protection", False),
        log_bucket=args["log_bucket"], parent=parent)
    colours = ["blue"] if strategy == "rolling" else ["blue", "green"]
    groups = {colour: aws.lb.TargetGroup(
        f"{name}-{colour}", port=port, protocol="HTTP", target_type="ip", vpc_id=args["vpc_id"],
        deregistration_delay=d.DEREGISTRATION_DELAY_SECONDS,
        health_check=aws.lb.TargetGroupHealthCheckArgs(path="/ping", matcher="200", interval=15, timeout=5,
                                                       healthy_threshold=2, unhealthy_threshold=3),
        opts=child) for colour in colours}
    production = _listeners(name, alb, groups["blue"], args.get("certificate_arn"), strategy=strategy, child=child)

    alarms = args["rollback_alarms"](alb.arn_suffix, [g.arn_suffix for g in groups.values()])

    # Service and deployment ----------------------------------------------------------------------------------
    min_capacity = args.get("min_capacity", cfg_defaults.SERVING_MIN_CAPACITY)
    load_balancer = aws.ecs.ServiceLoadBalancerArgs(target_group_arn=groups["blue"].arn, container_name=CONTAINER,
                                                    container_port=port)
    deployment: dict[str, object] = {}
    ignore = ["desiredCount"]  # owned by autoscaling after creation
    if strategy in ("canary", "linear"):
        rule = aws.lb.ListenerRule(
            f"{name}-production", listener_arn=production.arn, priority=1,
            conditions=[aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=["/*"]))],
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", forward=aws.lb.ListenerRuleActionForwardArgs(
                target_groups=[aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=groups["blue"].arn, weight=100),
                               aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=groups["green"].arn, weight=0)]))],
            # ECS shifts the weights during every deployment; Pulumi must not shift them back.
            opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["actions"]))
        ecs_role = aws.iam.Role(f"{name}-ecs-load-balancers",
                                assume_role_policy=assume_role_policy("ecs.amazonaws.com"),
                                description=f"ECS shifts {prefix} traffic between its two target groups",
                                opts=child)
        aws.iam.RolePolicy(f"{name}-ecs-load-balancers", role=ecs_role.id, policy=output_document(
            pulumi.Output.all(groups["blue"].arn, groups["green"].arn, production.arn, rule.arn).apply(
                lambda a: ecs_policies.load_balancer_statements(a[0:2], [a[2]], [a[3]]))), opts=child)
        load_balancer = aws.ecs.ServiceLoadBalancerArgs(
            target_group_arn=groups["blue"].arn, container_name=CONTAINER, container_port=port,
            advanced_configuration=aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
                alternate_target_group_arn=groups["green"].arn, production_listener_rule=rule.arn,
                role_arn=ecs_role.arn))
    bake = str(args.get("bake_minutes", cfg_defaults.CANARY_BAKE_MINUTES))
    if strategy == "canary":
        deployment["deployment_configuration"] = aws.ecs.ServiceDeploymentConfigurationArgs(
            strategy="CANARY", bake_time_in_minutes=bake,
            canary_configuration=aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(
                canary_percent=args.get("canary_percent", cfg_defaults.CANARY_PERCENT),
                canary_bake_time_in_minutes=bake))
    elif strategy == "linear":
        deployment["deployment_configuration"] = aws.ecs.ServiceDeploymentConfigurationArgs(
            strategy="LINEAR", bake_time_in_minutes=bake,
            linear_configuration=aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(
                step_percent=args.get("linear_step_percent", cfg_defaults.LINEAR_STEP_PERCENT),
                step_bake_time_in_minutes=bake))
    elif strategy == "rolling":
        deployment["deployment_configuration"] = aws.ecs.ServiceDeploymentConfigurationArgs(strategy="ROLLING")
    if strategy == "blue-green":
        deployment["deployment_controller"] = aws.ecs.ServiceDeploymentControllerArgs(type="CODE_DEPLOY")
        # CodeDeploy owns task definition changes and target group swaps; `pulumi up` registers the revision.
        ignore += ["taskDefinition", "loadBalancers"]
    else:
        deployment["deployment_controller"] = aws.ecs.ServiceDeploymentControllerArgs(type="ECS")
        deployment["deployment_circuit_breaker"] = aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True,
                                                                                             rollback=True)
        deployment["alarms"] = aws.ecs.ServiceAlarmsArgs(alarm_names=alarms.rollback_alarm_names, enable=True,
                                                         rollback=True)
    service = aws.ecs.Service(
        name, cluster=cluster.arn, task_definition=task.arn, desired_count=min_capacity, launch_type="FARGATE",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=args["private_subnet_ids"], security_groups=[task_sg.id], assign_public_ip=False),
        load_balancers=[load_balancer], enable_execute_command=False,
        health_check_grace_period_seconds=d.HEALTH_CHECK_GRACE_SECONDS,
        propagate_tags="SERVICE", enable_ecs_managed_tags=True,
        **deployment,  # type: ignore[arg-type]  # typed *Args above; one mechanism per strategy
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=ignore))

    deployment_group = None
    if strategy == "blue-green":
        deployment_group = build_codedeploy(name, args, cluster=cluster, service=service, groups=list(groups.values()),
                                            listener=production, alarms=alarms,
                                            pass_roles=[task_role, execution_role], child=child)
    build_autoscaling(name, args, cluster=cluster, service=service, alb=alb, groups=list(groups.values()),
                      child=child)

    scheme = "https" if https else "http"
    return EcsServiceOutputs(
        endpoint=alb.dns_name.apply(lambda dns: f"{scheme}://{dns}"),
        cluster_name=cluster.name, service_name=service.name, load_balancer_arn_suffix=alb.arn_suffix,
        target_group_arn_suffixes=pulumi.Output.all(*[g.arn_suffix for g in groups.values()]).apply(
            lambda suffixes: dict(zip(["primary", "alternate"], suffixes, strict=False))),
        log_group_name=log_group.name, alarms=alarms, deployment_group_name=deployment_group,
        task_security_group_id=task_sg.id)


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
    capture = args.get("capture")
    if capture is None or args.get("capture_stream_arn") is None:
        return {}
    return capture.to_env()


def _listeners(name: str, alb: aws.lb.LoadBalancer, primary: aws.lb.TargetGroup, certificate_arn: str | None, *,
               strategy: str, child: pulumi.ResourceOptions) -> aws.lb.Listener:
    """The production listener (HTTPS with TLS 1.3 when a certificate is given, else HTTP) and the redirect."""
    opts = child
    if strategy in ("canary", "linear"):
        # Traffic goes through the production rule (whose weights ECS shifts); anything else is a 404.
        default = aws.lb.ListenerDefaultActionArgs(type="fixed-response", fixed_response=aws.lb
                                                   .ListenerDefaultActionFixedResponseArgs(
                                                       content_type="text/plain", status_code="404"))
    else:
        default = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=primary.arn)
        if strategy == "blue-green":
            # CodeDeploy swaps the listener's default action between the two groups.
            opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["defaultActions"]))
    if certificate_arn is None:
        return aws.lb.Listener(f"{name}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                               default_actions=[default], opts=opts)
    aws.lb.Listener(f"{name}-http-redirect", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                    default_actions=[aws.lb.ListenerDefaultActionArgs(
                        type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            port="443", protocol="HTTPS", status_code="HTTP_301"))],
                    opts=child)
    return aws.lb.Listener(f"{name}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
                           ssl_policy=d.TLS_POLICY, certificate_arn=certificate_arn, default_actions=[default],
                           opts=opts)
