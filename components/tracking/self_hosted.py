"""Mode `self-hosted` of `tracking:TrackingServer`: MLflow on ECS Fargate, RDS PostgreSQL, an internal ALB.

Traffic: clients -> ALB (ingress from the VPC CIDR or configured sources only) -> MLflow tasks (from the ALB's
security group only) -> PostgreSQL (from the tasks' security group only). Artifacts are proxied by the server
(`--serve-artifacts`), so clients never need S3 access and only the task role reaches the artifact prefix.

Authentication: `basic` runs `mlflow server --app-name basic-auth`; the admin user is created on first start from
`MLFLOW_AUTH_ADMIN_USERNAME`/`MLFLOW_AUTH_ADMIN_PASSWORD`, the password injected by ECS from the admin secret.
`oidc` puts an `authenticate-oidc` action before every forward of the HTTPS listener.

Database credentials never appear in the task definition: ECS injects `PGUSER`/`PGPASSWORD` from the secret RDS
manages, and libpq reads them, so the store URI carries only host, port and database. The database, the admin
secret and the pipeline stages' user secrets are built in `database.py`; with basic auth and `stage_users`, the
server's container creates those users before `mlflow server` starts (`stage_users.py`).

Security decisions (see docs/security.md): each network hop admits the previous one only; the tasks run without a
public IP as a non-root user with a read-only root filesystem, no capabilities and no ECS Exec; the task role reaches
the artifact prefix only; authentication is never off.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components import aws_common as common
from components import defaults as d
from components.iam import document
from components.required import checked
from components.tracking.args import TrackingServerArgs
from components.tracking.database import admin_secret, database, managed_secret_arn, user_secret
from components.tracking.policies import artifact_statements
from components.tracking.stage_users import BOOTSTRAP_SCRIPT, SCRIPT_ENV, USERS_ENV, StageUser, password_env, users_spec
from runtime.config.tracking import SelfHostedTrackingConfig

CONTAINER = "mlflow"
AUTH_INI = f"{d.SCRATCH_PATH}/basic_auth.ini"
#: MLflow's basic-auth app: authenticated users may read; writes need a grant (MLflow's default permission).
AUTH_DEFAULT_PERMISSION = "READ"

#: A secret ECS injects into the container: environment variable, secret ARN, JSON key in the secret.
Injected = tuple[str, pulumi.Input[str], str]


class SelfHostedOutputs(NamedTuple):
    tracking_uri: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    """The load balancer's own DNS name: the target of the DNS record for `hostname`."""
    admin_secret_arn: pulumi.Output[str | None]
    database_endpoint: pulumi.Output[str | None]
    stage_user_secret_arns: dict[str, pulumi.Output[str]]


class _Secrets(NamedTuple):
    injected: list[Injected]
    admin_secret_arn: pulumi.Output[str | None]
    user_secret_arns: dict[str, pulumi.Output[str]]
    """Stage username -> its secret."""
    values: list[pulumi.Resource]
    """The secret versions: the service waits for them (a task must find its secrets filled)."""


def server_command(auth_mode: str, workers: int, *, stage_users: bool = False) -> list[str]:
    """The container command. `basic` writes the auth app's ini (no secrets in it) to the scratch volume first,
    then (with `stage_users`) creates the pipeline stages' MLflow users (`stage_users.BOOTSTRAP_SCRIPT`)."""
    serve = ["mlflow", "server", "--host", "0.0.0.0", "--port", str(d.TRACKING_PORT),  # noqa: S104 - in the task
             "--workers", str(workers), "--serve-artifacts"]
    if auth_mode != "basic":
        return serve
    serve[2:2] = ["--app-name", "basic-auth"]
    users = f'python -c "${SCRIPT_ENV}" && ' if stage_users else ""
    return ["sh", "-c", f'printf "%s\\n" "$MLCICD_AUTH_INI" > "$MLFLOW_AUTH_CONFIG_PATH" && {users}'
            f"exec {shlex.join(serve)}"]


def build_self_hosted(parent: pulumi.ComponentResource, name: str, args: TrackingServerArgs) -> SelfHostedOutputs:
    hosted = args.config.self_hosted
    if hosted is None:
        raise ValueError(f"TrackingServer {name}: mode `self-hosted` requires config.self_hosted")
    if hosted.hostname is None:
        raise ValueError(f"TrackingServer {name}: mode `self-hosted` requires config.self_hosted.hostname, the name "
                         "its certificate covers (no certificate covers the load balancer's own DNS name)")
    production, subnet_ids = args.production, checked(args.private_subnet_ids)
    alb_sg, task_sg, db_sg = _security_groups(parent, name, args, hosted)
    db = database(parent, name, hosted, production, subnet_ids=subnet_ids, db_sg=db_sg, kms_key_arn=args.kms_key_arn)
    alb, target, listeners = _load_balancer(parent, name, args, hosted, production=production, alb_sg=alb_sg)

    users: list[StageUser] = list(args.stage_users) if hosted.auth.mode == "basic" else []
    secrets = _secrets(parent, name, args, hosted, db=db, users=users)
    task, role_policies = _task_definition(parent, name, args, hosted,
                                           environment=_environment(args, hosted, db, alb, users),
                                           secrets=secrets.injected)
    # The service starts tasks at once: their secrets filled and both roles' policies in place (IAM propagation).
    waits: list[pulumi.Resource] = [*listeners, *secrets.values, *role_policies]
    cluster = common.ecs_cluster(f"{name}-cluster", parent=parent)
    aws.ecs.Service(
        f"{name}-service", cluster=cluster.arn, task_definition=task.arn, desired_count=hosted.desired_count,
        launch_type="FARGATE", platform_version="LATEST",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=subnet_ids, security_groups=[task_sg.id], assign_public_ip=False),
        load_balancers=[aws.ecs.ServiceLoadBalancerArgs(target_group_arn=target.arn, container_name=CONTAINER,
                                                        container_port=d.TRACKING_PORT)],
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
        health_check_grace_period_seconds=120, enable_execute_command=False, propagate_tags="SERVICE",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits))
    scheme = "https" if hosted.certificate_arn else "http"
    return SelfHostedOutputs(tracking_uri=pulumi.Output.from_input(f"{scheme}://{hosted.hostname}"),
                             load_balancer_dns_name=alb.dns_name, admin_secret_arn=secrets.admin_secret_arn,
                             database_endpoint=db.endpoint, stage_user_secret_arns=secrets.user_secret_arns)


def _secrets(parent: pulumi.Resource, name: str, args: TrackingServerArgs, hosted: SelfHostedTrackingConfig, *,
             db: aws.rds.Instance, users: list[StageUser]) -> _Secrets:
    """The database's (managed by RDS) and, for basic auth, the admin's and one per pipeline stage user (generated,
    write-only): the server task sets each stage user's password, that stage's build uses it."""
    db_secret_arn = db.master_user_secrets.apply(managed_secret_arn)
    injected: list[Injected] = [("PGUSER", db_secret_arn, "username"), ("PGPASSWORD", db_secret_arn, "password")]
    admin_secret_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
    user_secret_arns: dict[str, pulumi.Output[str]] = {}
    values: list[pulumi.Resource] = []
    if hosted.auth.mode == "basic":
        admin, admin_value = admin_secret(parent, name, hosted.auth.admin_username, args.kms_key_arn)
        admin_secret_arn = admin.arn
        values.append(admin_value)
        injected += [("MLFLOW_AUTH_ADMIN_PASSWORD", admin.arn, "password"),
                     ("MLFLOW_FLASK_SERVER_SECRET_KEY", admin.arn, "flaskSecretKey")]
        for i, user in enumerate(users):
            secret, value = user_secret(parent, name, user.username, args.kms_key_arn)
            user_secret_arns[user.username] = secret.arn
            values.append(value)
            injected.append((password_env(i), secret.arn, "password"))
    return _Secrets(injected, admin_secret_arn, user_secret_arns, values)


def _security_groups(parent: pulumi.Resource, name: str, args: TrackingServerArgs, hosted: SelfHostedTrackingConfig
                     ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """Clients -> ALB -> tasks -> database, each hop from the previous group only."""
    vpc_id = checked(args.vpc_id)
    alb_sg = common.security_group(f"{name}-alb", vpc_id=vpc_id, description="MLflow load balancer", parent=parent)
    task_sg = common.security_group(f"{name}-task", vpc_id=vpc_id, description="MLflow tasks", parent=parent)
    db_sg = common.security_group(f"{name}-db", vpc_id=vpc_id, description="MLflow database", parent=parent)
    cidrs: list[pulumi.Input[str]] = list(hosted.ingress_cidrs) or [checked(args.vpc_cidr)]
    for port in (443, 80) if hosted.certificate_arn else (80,):
        common.allow_in(f"{name}-alb-in-{port}", group=alb_sg, port=port, cidrs=cidrs,
                        sources=hosted.ingress_security_group_ids, description="tracking clients", parent=parent)
    common.allow_out(f"{name}-alb-to-task", group=alb_sg, port=d.TRACKING_PORT, target=task_sg.id,
                     description="the MLflow tasks only", parent=parent)
    common.allow_in(f"{name}-task-from-alb", group=task_sg, port=d.TRACKING_PORT, sources=[alb_sg.id],
                    description="the MLflow load balancer only", parent=parent)
    common.allow_out(f"{name}-task-to-db", group=task_sg, port=d.POSTGRES_PORT, target=db_sg.id,
                     description="the MLflow database only", parent=parent)
    # AWS APIs (ECR, S3, Secrets Manager, logs) through VPC endpoints or NAT: their addresses are not ours to pin.
    common.allow_out(f"{name}-task-https", group=task_sg, port=443, cidr="0.0.0.0/0",
                     description="AWS APIs over HTTPS (VPC endpoints or NAT)", parent=parent)
    common.allow_in(f"{name}-db-from-task", group=db_sg, port=d.POSTGRES_PORT, sources=[task_sg.id],
                    description="the MLflow tasks only", parent=parent)
    return alb_sg, task_sg, db_sg


def _load_balancer(parent: pulumi.Resource, name: str, args: TrackingServerArgs, hosted: SelfHostedTrackingConfig,
                   *, production: bool, alb_sg: aws.ec2.SecurityGroup
                   ) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup, list[aws.lb.Listener]]:
    """The internal ALB, its target group and its listeners (every one authenticates or redirects)."""
    alb = common.application_load_balancer(f"{name}-alb", subnet_ids=checked(args.private_subnet_ids),
                                           security_group=alb_sg, internal=True, deletion_protection=production,
                                           log_bucket=checked(args.log_bucket), parent=parent)
    target = aws.lb.TargetGroup(
        f"{name}-tg", port=d.TRACKING_PORT, protocol="HTTP", target_type="ip", vpc_id=checked(args.vpc_id),
        deregistration_delay=d.DEREGISTRATION_DELAY_SECONDS,
        # /health is the one route MLflow's auth app and host check leave open: nothing else answers unauthenticated.
        health_check=aws.lb.TargetGroupHealthCheckArgs(path="/health", matcher="200", interval=30, timeout=5,
                                                       healthy_threshold=2, unhealthy_threshold=3),
        opts=pulumi.ResourceOptions(parent=parent))
    listeners = common.listeners(f"{name}-listener", load_balancer=alb, certificate_arn=hosted.certificate_arn,
                                 actions=_listener_actions(hosted, target), parent=parent)
    return alb, target, listeners


def _listener_actions(hosted: SelfHostedTrackingConfig,
                      target: aws.lb.TargetGroup) -> list[aws.lb.ListenerDefaultActionArgs]:
    """`oidc`: authenticate, then forward. `basic`: forward to the basic-auth app. Never a bare forward to an
    unauthenticated server."""
    oidc = hosted.auth.oidc
    if hosted.auth.mode != "oidc":
        return [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target.arn)]
    if oidc is None:
        raise ValueError("tracking.selfHosted.auth.oidc is required for auth mode `oidc`")
    return [
        aws.lb.ListenerDefaultActionArgs(
            type="authenticate-oidc", order=1, authenticate_oidc=aws.lb.ListenerDefaultActionAuthenticateOidcArgs(
                issuer=oidc.issuer, authorization_endpoint=oidc.authorization_endpoint,
                token_endpoint=oidc.token_endpoint, user_info_endpoint=oidc.user_info_endpoint,
                client_id=oidc.client_id, client_secret=pulumi.Output.secret(oidc.client_secret.get_secret_value()),
                scope=oidc.scope, session_timeout=oidc.session_timeout_seconds,
                on_unauthenticated_request="authenticate")),
        aws.lb.ListenerDefaultActionArgs(type="forward", order=2, target_group_arn=target.arn),
    ]


def _environment(args: TrackingServerArgs, hosted: SelfHostedTrackingConfig, db: aws.rds.Instance,
                 alb: aws.lb.LoadBalancer, users: list[StageUser]) -> dict[str, pulumi.Input[str]]:
    """The server's plain environment (secrets are injected separately): stores, allowed hosts, auth app, and the
    stage users to create (no secrets in it)."""
    prefix = args.config.artifact_prefix
    store_uri = db.address.apply(
        lambda address: f"postgresql://{address}:{d.POSTGRES_PORT}/{d.TRACKING_DB_NAME}?sslmode=require")
    environment: dict[str, pulumi.Input[str]] = {
        "AWS_DEFAULT_REGION": args.region,
        "HOME": d.SCRATCH_PATH,
        "MLFLOW_ARTIFACTS_DESTINATION": pulumi.Output.concat("s3://", args.models_bucket, "/", prefix.rstrip("/")),
        "MLFLOW_BACKEND_STORE_URI": store_uri,
        "MLFLOW_SERVER_ALLOWED_HOSTS": pulumi.Output.all(alb.dns_name, hosted.hostname or "").apply(
            lambda h: ",".join(x for x in (h[0], f"{h[0]}:*", h[1]) if x)),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    if hosted.auth.mode == "basic":
        environment |= {
            "MLFLOW_AUTH_ADMIN_USERNAME": hosted.auth.admin_username,
            "MLFLOW_AUTH_CONFIG_PATH": AUTH_INI,
            "MLCICD_AUTH_INI": store_uri.apply(lambda uri: (
                f"[mlflow]\ndefault_permission = {AUTH_DEFAULT_PERMISSION}\ndatabase_uri = {uri}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth")),
        }
        if users:
            environment |= {USERS_ENV: users_spec(users), SCRIPT_ENV: BOOTSTRAP_SCRIPT}
    return environment


def _task_definition(parent: pulumi.Resource, name: str, args: TrackingServerArgs, hosted: SelfHostedTrackingConfig,
                     *, environment: dict[str, pulumi.Input[str]],
                     secrets: list[Injected]) -> tuple[aws.ecs.TaskDefinition, list[aws.iam.RolePolicy]]:
    """Log group, execution role (start the task, inject the secrets), task role (artifacts only), definition; and
    the two roles' policies (the service waits for them)."""
    child = pulumi.ResourceOptions(parent=parent)
    kms_key_arn, region, prefix = args.kms_key_arn, args.region, args.config.artifact_prefix
    partition, dns_suffix = common.partition_of(parent)
    logs = common.log_group(f"{name}-logs", parent=parent, kms_key_arn=kms_key_arn,
                            retention_days=args.log_retention_days)
    ecr_arn = common.ecr_repository_arn(hosted.image, partition)
    execution, execution_policy = common.task_execution_role(
        f"{name}-execution", account_id=args.account_id, log_group_arn=logs.arn,
        secret_arns=list(dict.fromkeys(arn for _, arn, _ in secrets)), kms_key_arn=kms_key_arn, region=region,
        ecr_repository_arns=[ecr_arn] if ecr_arn else [], parent=parent)
    task_role = common.ecs_task_role(f"{name}-task", account_id=args.account_id, parent=parent)
    task_policy = aws.iam.RolePolicy(f"{name}-task-artifacts", role=task_role.id, policy=pulumi.Output.all(
        args.models_bucket_arn, kms_key_arn).apply(lambda a: document(
            artifact_statements(a[0], prefix, a[1], region, dns_suffix))), opts=child)
    container = pulumi.Output.all(
        env=pulumi.Output.all(**environment),
        secrets=pulumi.Output.all(*[pulumi.Output.concat(arn, f":{key}::") for _, arn, key in secrets]),
        log_group=logs.name,
    ).apply(lambda a: json.dumps([_container(
        hosted, a["env"], secret_names=[s[0] for s in secrets], secret_refs=a["secrets"], log_group=a["log_group"],
        region=region)], sort_keys=True))
    task = aws.ecs.TaskDefinition(
        f"{name}-task", family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}", cpu=str(hosted.cpu),
        memory=str(hosted.memory), network_mode="awsvpc", requires_compatibilities=["FARGATE"],
        execution_role_arn=execution.arn, task_role_arn=task_role.arn, container_definitions=container,
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="scratch")],
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(operating_system_family="LINUX",
                                                                   cpu_architecture="X86_64"),
        opts=child)
    return task, [execution_policy, task_policy]


def _container(hosted: SelfHostedTrackingConfig, env: dict[str, str], *, secret_names: list[str],
               secret_refs: list[str], log_group: str, region: str) -> dict[str, Any]:
    return {
        "name": CONTAINER, "image": hosted.image, "essential": True,
        "command": server_command(hosted.auth.mode, max(1, hosted.cpu // 512), stage_users=USERS_ENV in env),
        "portMappings": [{"containerPort": d.TRACKING_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "secrets": sorted(({"name": n, "valueFrom": ref} for n, ref in zip(secret_names, secret_refs, strict=True)),
                          key=lambda s: s["name"]),
        "user": d.TRACKING_CONTAINER_USER, "readonlyRootFilesystem": True, "privileged": False,
        "linuxParameters": {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True},
        "mountPoints": [{"sourceVolume": "scratch", "containerPath": d.SCRATCH_PATH, "readOnly": False}],
        "healthCheck": {"command": ["CMD", "python", "-c", "import urllib.request as u; u.urlopen("
                                    f"'http://127.0.0.1:{d.TRACKING_PORT}/health', timeout=4)"],
                        "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 90},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER}},
        "stopTimeout": 30,
    }
