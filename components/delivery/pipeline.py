"""`mlcicd:delivery:DeliveryPipeline`: CodePipeline V2 whose CodeBuild actions run the runtime.

Everything is generated from ONE stage list (`components.delivery.stages.delivery_stages`): per build action a
CodeBuild project with its own role and policy (`components.delivery.policies`), its own log group with retention,
an S3 build cache and a buildspec rendered from the definition (`components.delivery.buildspec`). Later actions read
earlier ones' results as pipeline variables (`#{Train.MODEL_VERSION}`, `#{Package.IMAGE_DIGEST}`).

Triggers: one pipeline, one trigger on the source action with two push filters, the data paths and the code paths
of `pipeline.branch` (filters of one trigger are alternatives). A push touching neither (docs, workflows, the stack
files, so also a merged promotion pull request) starts nothing; a push touching both starts ONE execution. Two
pipelines would train twice on such a push and race for the deployed stack; and every stage after Validate is the
same for both kinds of change, while the code-only checks (tests, lint) run beside the data check at no cost on the
critical path. Execution mode SUPERSEDED: a newer candidate replaces an older one at the next stage boundary.

Security decisions (see ../shared/secure-defaults.md): pipeline type V2 set explicitly; artifacts and build output
in the stack's pipeline bucket under the stack's KMS key; one role per action (policies scoped to the stack's ARNs;
`*` only where AWS requires it); secrets reach builds only as Secrets Manager references; the deploy action holds no
deployment rights itself, it assumes `pipeline.deployRoleArn`; privileged mode only for the image build.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_common import partition_of
from components.delivery import buildspec
from components.delivery.policies import Resources, action_statements, artifact_prefix
from components.delivery.stages import Action, PipelineSpec, Stage, build_actions, delivery_stages
from components.iam import allow, assume_role_policy, connection_statements, document

TYPE = "mlcicd:delivery:DeliveryPipeline"

#: CodeStar notification events that reach the alarm topic.
NOTIFY_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)
SOURCE_ARTIFACT = "source"
#: Environment variable each configured secret arrives in.
SECRET_ENV = {"github_token": "GITHUB_TOKEN", "pulumi_token": "PULUMI_ACCESS_TOKEN",
              "pulumi_passphrase": "PULUMI_CONFIG_PASSPHRASE"}


class DeliveryPipelineArgs(TypedDict, total=False):
    spec: PipelineSpec
    """The stage list's inputs (from `StackConfig.pipeline`). Required."""
    region: str
    """Region of the stack. Required."""
    account_id: pulumi.Input[str]
    """This account (roles' confused-deputy conditions, ARNs). Required."""
    buckets: Mapping[str, pulumi.Input[str]]
    """Bucket role (data, models, pipeline) -> bucket name. Required."""
    bucket_arns: Mapping[str, pulumi.Input[str]]
    """Bucket role -> bucket ARN. Required."""
    kms_key_arn: pulumi.Input[str]
    """Stack key: artifacts, build output, bucket objects. Required."""
    ecr_repository_arn: pulumi.Input[str]
    """Serving image repository (the Package action pushes to it). Required."""
    ecr_repository_url: pulumi.Input[str]
    """Its URL. Required."""
    ecr_repository_name: pulumi.Input[str]
    """Its name. Required."""
    tracking_uri: pulumi.Input[str]
    """`MLFLOW_TRACKING_URI` of the tracking actions. Required."""
    tracking_secret_arns: Mapping[str, pulumi.Input[str]]
    """Self-hosted MLflow with basic auth: action name -> the Secrets Manager secret (`username`, `password`) of
    that action's own MLflow user. Every action that talks to MLflow needs one then; no action ever gets the
    admin's. Default: none (SageMaker's MLflow authorises IAM calls instead)."""
    tracking_server_arn: pulumi.Input[str] | None
    """SageMaker MLflow tracking server (IAM-authorised). Default None."""
    secrets: Mapping[str, str]
    """Secret name (github_token, pulumi_token, pulumi_passphrase) -> secret ARN. Required: github_token."""
    deploy_role_arn: str
    """Role the Deploy action assumes. Required."""
    pulumi_backend_url: str | None
    """`PULUMI_BACKEND_URL` of the Deploy action. Default None (Pulumi Cloud)."""
    vpc_id: pulumi.Input[str] | None
    """VPC for the actions reaching private endpoints (MLflow, the deployed load balancer). Default None."""
    vpc_cidr: pulumi.Input[str] | None
    """Its CIDR (HTTP egress to internal endpoints). Default None: HTTPS egress only."""
    subnet_ids: pulumi.Input[Sequence[str]] | None
    """Private subnets for those actions. Default None: no action runs in a VPC."""
    notification_topic_arn: pulumi.Input[str] | None
    """SNS topic for failures and pending approvals. Default None: no notification rule."""
    python_version: str
    """CodeBuild Python runtime. Default "3.11"."""
    build_image: str
    """CodeBuild image. Default aws/codebuild/standard:7.0."""
    compute_type: str
    """Compute type of every action but the heavy one. Default BUILD_GENERAL1_SMALL."""
    train_compute_type: str
    """Compute type of Train. Default BUILD_GENERAL1_LARGE."""
    timeout_minutes: int
    """Build timeout. Default 60."""
    train_timeout_minutes: int
    """Train's build timeout. Default 240."""
    log_retention_days: int
    """Build log retention. Default 30."""


_REQUIRED = ("spec", "region", "account_id", "buckets", "bucket_arns", "kms_key_arn", "ecr_repository_arn",
             "ecr_repository_url", "ecr_repository_name", "tracking_uri", "secrets", "deploy_role_arn")


@dataclass(frozen=True)
class _Settings:
    """The args after validation, defaults applied (one place for every default)."""

    spec: PipelineSpec
    region: str
    account_id: pulumi.Output[str]
    buckets: Mapping[str, pulumi.Input[str]]
    bucket_arns: Mapping[str, pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    ecr_repository_arn: pulumi.Input[str]
    ecr_repository_url: pulumi.Input[str]
    ecr_repository_name: pulumi.Input[str]
    tracking_uri: pulumi.Input[str]
    tracking_secret_arns: Mapping[str, pulumi.Input[str]]
    tracking_server_arn: pulumi.Input[str] | None
    secrets: Mapping[str, str]
    deploy_role_arn: str
    pulumi_backend_url: str | None
    vpc_id: pulumi.Input[str] | None
    vpc_cidr: pulumi.Input[str] | None
    subnet_ids: pulumi.Input[Sequence[str]] | None
    notification_topic_arn: pulumi.Input[str] | None
    python_version: str
    build_image: str
    compute_type: str
    train_compute_type: str
    timeout_minutes: int
    train_timeout_minutes: int
    log_retention_days: int
    partition: tuple[str, str]
    """ARN partition and endpoint DNS suffix of the stack's region (`aws`, `amazonaws.com`; `aws-cn`,
    `amazonaws.com.cn`; ...), from the provider."""

    @classmethod
    def of(cls, name: str, args: DeliveryPipelineArgs, partition: tuple[str, str]) -> _Settings:
        missing = [k for k in _REQUIRED if k not in args]
        if missing:
            raise ValueError(f"DeliveryPipeline {name}: args {', '.join(missing)} required")
        a: dict[str, Any] = dict(args)
        return cls(
            spec=a["spec"], region=a["region"], account_id=pulumi.Output.from_input(a["account_id"]),
            buckets=a["buckets"], bucket_arns=a["bucket_arns"], kms_key_arn=a["kms_key_arn"],
            ecr_repository_arn=a["ecr_repository_arn"], ecr_repository_url=a["ecr_repository_url"],
            ecr_repository_name=a["ecr_repository_name"], tracking_uri=a["tracking_uri"],
            tracking_secret_arns=a.get("tracking_secret_arns", {}),
            tracking_server_arn=a.get("tracking_server_arn"), secrets=a["secrets"],
            deploy_role_arn=a["deploy_role_arn"], pulumi_backend_url=a.get("pulumi_backend_url"),
            vpc_id=a.get("vpc_id"), vpc_cidr=a.get("vpc_cidr"), subnet_ids=a.get("subnet_ids"),
            notification_topic_arn=a.get("notification_topic_arn"), python_version=a.get("python_version", "3.11"),
            build_image=a.get("build_image", "aws/codebuild/standard:7.0"),
            compute_type=a.get("compute_type", "BUILD_GENERAL1_SMALL"),
            train_compute_type=a.get("train_compute_type", "BUILD_GENERAL1_LARGE"),
            timeout_minutes=a.get("timeout_minutes", 60), train_timeout_minutes=a.get("train_timeout_minutes", 240),
            log_retention_days=a.get("log_retention_days", 30), partition=partition)


class DeliveryPipeline(pulumi.ComponentResource):
    pipeline_name: pulumi.Output[str]
    pipeline_arn: pulumi.Output[str]
    project_names: dict[str, pulumi.Output[str]]
    role_arns: dict[str, pulumi.Output[str]]
    deploy_action_role_arn: pulumi.Output[str]
    """Add this principal to the trust policy of `pipeline.deployRoleArn`."""

    def __init__(self, name: str, args: DeliveryPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        cfg = _Settings.of(name, args, partition_of(self))
        stages = delivery_stages(cfg.spec)
        missing = [a.name for _, a in build_actions(stages) if a.access.tracking != "none"
                   and cfg.tracking_secret_arns and a.name not in cfg.tracking_secret_arns]
        if missing:
            raise ValueError(f"DeliveryPipeline {name}: actions {', '.join(missing)} talk to MLflow but have no "
                             "MLflow user secret in args.tracking_secret_arns")
        child = pulumi.ResourceOptions(parent=self)
        pipeline_name = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        group = None
        if cfg.vpc_id is not None and cfg.subnet_ids is not None:
            group = _build_security_group(name, cfg.vpc_id, cfg.vpc_cidr, child)

        # One CodeBuild project per build action ----------------------------------------------------------------
        projects: dict[str, aws.codebuild.Project] = {}
        self.role_arns = {}
        for _, action in build_actions(stages):
            project, role = self._project(name, pipeline_name, action, cfg=cfg, group=group)
            projects[action.name] = project
            self.role_arns[action.name] = role.arn
        self.project_names = {k: p.name for k, p in projects.items()}

        # The pipeline and its role -------------------------------------------------------------------------------
        role = aws.iam.Role(f"{name}-pipeline-role", assume_role_policy=cfg.account_id.apply(
            lambda a: assume_role_policy("codepipeline.amazonaws.com", a)), opts=child)
        role_policy = aws.iam.RolePolicy(f"{name}-pipeline-policy", role=role.id, policy=pulumi.Output.all(
            cfg.bucket_arns["pipeline"], cfg.kms_key_arn, [p.arn for p in projects.values()]).apply(
            lambda a: pipeline_policy(a[0], a[1], a[2], connection_arn=cfg.spec.connection_arn,
                                      pipeline_name=pipeline_name, region=cfg.region,
                                      dns_suffix=cfg.partition[1])),
            opts=child)
        pipeline = aws.codepipeline.Pipeline(
            name, name=pipeline_name, pipeline_type="V2", execution_mode="SUPERSEDED", role_arn=role.arn,
            artifact_stores=[aws.codepipeline.PipelineArtifactStoreArgs(
                location=cfg.buckets["pipeline"], type="S3",
                encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(id=cfg.kms_key_arn,
                                                                                       type="KMS"))],
            triggers=[trigger(cfg.spec)],
            stages=[_stage_args(stage, projects, cfg.spec) for stage in stages],
            # CodePipeline checks at creation that its role can reach the artifact store (IAM propagation).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
        if cfg.notification_topic_arn is not None:
            aws.codestarnotifications.NotificationRule(
                f"{name}-notifications", name=pipeline_name, resource=pipeline.arn, detail_type="FULL",
                event_type_ids=list(NOTIFY_EVENTS),
                targets=[aws.codestarnotifications.NotificationRuleTargetArgs(address=cfg.notification_topic_arn,
                                                                              type="SNS")],
                opts=child)

        self.pipeline_name = pipeline.name
        self.pipeline_arn = pipeline.arn
        self.deploy_action_role_arn = self.role_arns["Deploy"]
        self.register_outputs({"pipelineName": self.pipeline_name, "pipelineArn": self.pipeline_arn,
                               "deployActionRoleArn": self.deploy_action_role_arn})

    def _project(self, name: str, pipeline_name: str, action: Action, *, cfg: _Settings,
                 group: aws.ec2.SecurityGroup | None) -> tuple[aws.codebuild.Project, aws.iam.Role]:
        """One build action: log group, role, policy, project."""
        child = pulumi.ResourceOptions(parent=self)
        key = f"{name}-{action.name.lower()}"
        project_name = f"{pipeline_name}-{action.name}"
        logs = aws.cloudwatch.LogGroup(f"{key}-logs", name=f"/aws/codebuild/{project_name}",
                                       retention_in_days=cfg.log_retention_days, kms_key_id=cfg.kms_key_arn,
                                       opts=child)
        role = aws.iam.Role(f"{key}-role", assume_role_policy=cfg.account_id.apply(
            lambda a: assume_role_policy("codebuild.amazonaws.com", a)), opts=child)
        subnets = cfg.subnet_ids if action.access.in_vpc and group is not None else None
        tracking_secret = cfg.tracking_secret_arns.get(action.name) if action.access.tracking != "none" else None
        resolved = pulumi.Output.all(
            cfg.account_id, dict(cfg.bucket_arns), cfg.kms_key_arn, cfg.ecr_repository_arn, tracking_secret,
            cfg.tracking_server_arn, subnets or [], logs.arn,
            group.id if group is not None and subnets is not None else None, cfg.vpc_id)
        policy = aws.iam.RolePolicy(f"{key}-policy", role=role.id, policy=resolved.apply(
            lambda r: document(action_statements(action, _resources(cfg, pipeline_name, r), r[7]))), opts=child)
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        return project, role


def _resources(cfg: _Settings, pipeline_name: str, r: list[Any]) -> Resources:
    """The ARNs one action's policy may name, from the resolved outputs of `_project`."""
    account, (partition, dns_suffix), region = r[0], cfg.partition, cfg.region
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    return Resources(
        region=region, account_id=account, buckets=r[1], kms_key_arn=r[2], partition=partition, dns_suffix=dns_suffix,
        artifact_prefix=artifact_prefix(pipeline_name), ecr_repository_arn=r[3], deploy_role_arn=cfg.deploy_role_arn,
        secrets=dict(cfg.secrets), tracking_secret_arn=r[4], tracking_server_arn=r[5],
        subnet_arns=tuple(f"{ec2}:subnet/{s}" for s in r[6]),
        security_group_arns=(f"{ec2}:security-group/{r[8]}",) if r[8] else (),
        vpc_arn=f"{ec2}:vpc/{r[9]}" if r[9] else None)


EnvVar = aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs


def environment(action: Action, cfg: _Settings) -> list[EnvVar]:
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


def trigger(spec: PipelineSpec) -> aws.codepipeline.PipelineTriggerArgs:
    """One trigger, two push filters (alternatives): data paths or code paths on the pipeline branch."""
    gc = aws.codepipeline

    def push(paths: Sequence[str]) -> aws.codepipeline.PipelineTriggerGitConfigurationPushArgs:
        return gc.PipelineTriggerGitConfigurationPushArgs(
            branches=gc.PipelineTriggerGitConfigurationPushBranchesArgs(includes=[spec.branch]),
            file_paths=gc.PipelineTriggerGitConfigurationPushFilePathsArgs(includes=list(paths)))

    return gc.PipelineTriggerArgs(provider_type="CodeStarSourceConnection",
                                  git_configuration=gc.PipelineTriggerGitConfigurationArgs(
                                      source_action_name="Source",
                                      pushes=[push(spec.data_paths), push(spec.code_paths)]))


def action_variables(action: Action) -> str:
    """CodePipeline `EnvironmentVariables` of a build action: the execution id and earlier actions' outputs."""
    pairs = [("PIPELINE_EXECUTION_ID", "#{codepipeline.PipelineExecutionId}"), *action.variables]
    return json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in pairs])


def _stage_args(stage: Stage, projects: Mapping[str, aws.codebuild.Project],
                spec: PipelineSpec) -> aws.codepipeline.PipelineStageArgs:
    actions = []
    for action in stage.actions:
        common: dict[str, Any] = {"name": action.name, "owner": "AWS", "version": "1", "run_order": action.run_order}
        if action.namespace:
            common["namespace"] = action.namespace
        if action.category == "Source":
            actions.append(aws.codepipeline.PipelineStageActionArgs(
                category="Source", provider="CodeStarSourceConnection", output_artifacts=[SOURCE_ARTIFACT],
                configuration=dict(action.configuration), **common))
        elif action.category == "Approval":
            actions.append(aws.codepipeline.PipelineStageActionArgs(
                category="Approval", provider="Manual", configuration=dict(action.configuration),
                timeout_in_minutes=spec.approval_timeout_minutes, **common))
        else:
            configuration: dict[str, Any] = {"ProjectName": projects[action.name].name,
                                             "EnvironmentVariables": action_variables(action)}
            if len(action.inputs) > 1:
                configuration["PrimarySource"] = action.inputs[0]
            actions.append(aws.codepipeline.PipelineStageActionArgs(
                category="Build", provider="CodeBuild", input_artifacts=list(action.inputs),
                output_artifacts=[action.output] if action.output else None, configuration=configuration,
                **common))
    return aws.codepipeline.PipelineStageArgs(name=stage.name, actions=actions)


def pipeline_policy(bucket_arn: str, kms_key_arn: str, project_arns: list[str], *, connection_arn: str,
                    pipeline_name: str, region: str, dns_suffix: str) -> str:
    """The pipeline's own role: its artifacts, its key via S3, its connection, its projects."""
    prefix = artifact_prefix(pipeline_name)
    return document([
        allow("Artifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [f"{bucket_arn}/{prefix}*"]),
        allow("ArtifactBucket", ["s3:GetBucketLocation", "s3:GetBucketVersioning"], [bucket_arn]),
        allow("ArtifactKeyViaS3", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn],
              {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"}}),
        *connection_statements("UseConnection", ["UseConnection"], connection_arn),
        allow("RunBuilds", ["codebuild:BatchGetBuilds", "codebuild:StartBuild"], sorted(project_arns)),
    ])


def _build_security_group(name: str, vpc_id: pulumi.Input[str], cidr: pulumi.Input[str] | None,
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
