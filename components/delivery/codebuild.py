"""The CodeBuild side of the delivery pipeline: per build action of the step list a project with its own log group,
role and least-privilege policy (`policies.py`), S3 cache and buildspec (`buildspec.py`); and the security group of
the actions that run in the VPC."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.delivery import buildspec
from components.delivery.args import DeliveryPipelineArgs
from components.delivery.policies import Resources, action_statements, artifact_prefix
from components.iam import account_trust_policy, document
from runtime.pipeline.model import Action

#: Environment variable each configured secret arrives in.
SECRET_ENV = {"github_token": "GITHUB_TOKEN", "pulumi_token": "PULUMI_ACCESS_TOKEN",
              "pulumi_passphrase": "PULUMI_CONFIG_PASSPHRASE"}


def build_project(parent: pulumi.Resource, name: str, pipeline_name: str, action: Action, *,
                  cfg: DeliveryPipelineArgs, partition: tuple[str, str],
                  group: aws.ec2.SecurityGroup | None) -> tuple[aws.codebuild.Project, aws.iam.Role]:
    """One build action: log group, role, policy, project. `partition`: the stack region's ARN partition and
    endpoint DNS suffix (`aws`, `amazonaws.com`; `aws-cn`, `amazonaws.com.cn`; ...), from the provider."""
    child = pulumi.ResourceOptions(parent=parent)
    key = f"{name}-{action.name.lower()}"
    project_name = f"{pipeline_name}-{action.name}"
    logs = aws.cloudwatch.LogGroup(f"{key}-logs", name=f"/aws/codebuild/{project_name}",
                                   retention_in_days=cfg.log_retention_days, kms_key_id=cfg.kms_key_arn,
                                   opts=child)
    trust = account_trust_policy("codebuild.amazonaws.com", cfg.account_id)
    role = aws.iam.Role(f"{key}-role", assume_role_policy=trust, opts=child)
    subnets = cfg.subnet_ids if action.access.in_vpc and group is not None else None
    tracking_secret = cfg.tracking_secret_arns.get(action.name) if action.access.tracking != "none" else None
    resolved = pulumi.Output.all(
        cfg.account_id, dict(cfg.bucket_arns), cfg.kms_key_arn, cfg.ecr_repository_arn, tracking_secret,
        cfg.tracking_server_arn, subnets or [], logs.arn,
        group.id if group is not None and subnets is not None else None, cfg.vpc_id)
    policy = aws.iam.RolePolicy(f"{key}-policy", role=role.id, policy=resolved.apply(
        lambda r: document(action_statements(action, _resources(cfg, partition, pipeline_name, r), r[7]))), opts=child)
    extra = cfg.action_policy_arns.get(action.name)
    waits: list[pulumi.Resource] = [policy]
    if extra is not None:
        waits.append(aws.iam.RolePolicyAttachment(f"{key}-extra-policy", role=role.name, policy_arn=extra,
                                                  opts=child))
    project = aws.codebuild.Project(
        key, name=project_name, description=f"{pipeline_name}: {action.name}", service_role=role.arn,
        encryption_key=cfg.kms_key_arn,
        build_timeout=cfg.train_timeout_minutes if action.heavy else cfg.timeout_minutes,
        artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
        source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=buildspec.render(
            action, install_command=cfg.spec.install_command, python_version=cfg.python_version)),
        environment=aws.codebuild.ProjectEnvironmentArgs(
            compute_type=cfg.train_compute_type if action.heavy else cfg.compute_type,
            image=cfg.build_image, type="LINUX_CONTAINER", image_pull_credentials_type="CODEBUILD",
            privileged_mode=action.access.docker, environment_variables=environment(action, cfg)),
        cache=aws.codebuild.ProjectCacheArgs(
            type="S3", location=pulumi.Output.concat(cfg.buckets["pipeline"], f"/cache/{action.name}")),
        logs_config=aws.codebuild.ProjectLogsConfigArgs(
            cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(group_name=logs.name,
                                                                              status="ENABLED"),
            s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
        vpc_config=aws.codebuild.ProjectVpcConfigArgs(vpc_id=group.vpc_id, subnets=subnets,
                                                      security_group_ids=[group.id])
        if group is not None and subnets is not None else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=waits))
    return project, role


def _resources(cfg: DeliveryPipelineArgs, partition: tuple[str, str], pipeline_name: str, r: list[Any]) -> Resources:
    """The ARNs one action's policy may name, from the resolved outputs of `build_project`."""
    account, (arn_partition, dns_suffix), region = r[0], partition, cfg.region
    ec2 = f"arn:{arn_partition}:ec2:{region}:{account}"
    return Resources(
        region=region, account_id=account, buckets=r[1], kms_key_arn=r[2], partition=arn_partition,
        dns_suffix=dns_suffix,
        artifact_prefix=artifact_prefix(pipeline_name), ecr_repository_arn=r[3], deploy_role_arn=cfg.deploy_role_arn,
        secrets=dict(cfg.secrets), tracking_secret_arn=r[4], tracking_server_arn=r[5],
        subnet_arns=tuple(f"{ec2}:subnet/{s}" for s in r[6]),
        security_group_arns=(f"{ec2}:security-group/{r[8]}",) if r[8] else (),
        vpc_arn=f"{ec2}:vpc/{r[9]}" if r[9] else None)


EnvVar = aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs


def environment(action: Action, cfg: DeliveryPipelineArgs) -> list[EnvVar]:
    """The project's environment: the stack and model always, then only what the action's access names."""
    spec, access = cfg.spec, action.access
    plain: list[tuple[str, pulumi.Input[str]]] = [("STACK_NAME", spec.stack), ("MODEL_NAME", spec.model_name)]
    secret: list[tuple[str, pulumi.Input[str]]] = []
    for bucket in sorted({g.bucket for g in access.s3}):
        plain.append((f"{bucket.upper()}_BUCKET", cfg.buckets[bucket]))
    if access.ecr != "none":
        plain += [("ECR_REPOSITORY_URL", cfg.ecr_repository_url), ("ECR_REPOSITORY_NAME", cfg.ecr_repository_name)]
    if access.tracking != "none":
        plain.append(("MLFLOW_TRACKING_URI", cfg.tracking_uri))
        user_secret = cfg.tracking_secret_arns.get(action.name)
        if user_secret is not None:  # this action's own MLflow user (MLflow reads these two variables)
            secret += [("MLFLOW_TRACKING_PASSWORD", pulumi.Output.concat(user_secret, ":password")),
                       ("MLFLOW_TRACKING_USERNAME", pulumi.Output.concat(user_secret, ":username"))]
    secret += [(SECRET_ENV[s], cfg.secrets[s]) for s in access.secrets]
    if access.assume_deploy_role:
        plain.append(("DEPLOY_ROLE_ARN", cfg.deploy_role_arn))
        if cfg.pulumi_backend_url:
            plain.append(("PULUMI_BACKEND_URL", cfg.pulumi_backend_url))
    return ([EnvVar(name=k, value=v, type="PLAINTEXT") for k, v in plain]
            + [EnvVar(name=k, value=v, type="SECRETS_MANAGER") for k, v in secret])


def build_security_group(name: str, vpc_id: pulumi.Input[str], cidr: pulumi.Input[str] | None,
                          child: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """Builds in the VPC: no ingress; HTTPS out (AWS APIs, package indexes, GitHub) and HTTP to the VPC only."""
    group = aws.ec2.SecurityGroup(f"{name}-builds", vpc_id=vpc_id,
                                  description="ml-cicd pipeline builds: egress only", opts=child)
    aws.vpc.SecurityGroupEgressRule(f"{name}-builds-https", security_group_id=group.id, ip_protocol="tcp",
                                    from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0",
                                    description="HTTPS: AWS APIs, package indexes, GitHub", opts=child)
    if cidr is not None:
        aws.vpc.SecurityGroupEgressRule(f"{name}-builds-http-vpc", security_group_id=group.id, ip_protocol="tcp",
                                        from_port=80, to_port=80, cidr_ipv4=cidr,
                                        description="HTTP to internal load balancers (MLflow, the model)",
                                        opts=child)
    return group
