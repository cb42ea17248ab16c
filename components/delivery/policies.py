"""Least-privilege IAM statements of each pipeline action, from its declared `Access` (pure functions).

Every build role gets: its own log group, the pipeline's source artifact (read), its own cache prefix, the stack
key through S3 and Secrets Manager only. Beyond that exactly what `Access` names. `Resource: "*"` appears only for
actions AWS does not scope to a resource, each with a comment saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.iam import Statement, allow, connection_statements
from runtime.pipeline.model import Access, Action, S3Grant

#: MLflow on SageMaker authorises each REST call as an IAM action on the tracking server.
MLFLOW_READ = (
    "sagemaker-mlflow:GetDownloadURIForModelVersionArtifacts", "sagemaker-mlflow:GetExperiment",
    "sagemaker-mlflow:GetExperimentByName", "sagemaker-mlflow:GetLatestModelVersions",
    "sagemaker-mlflow:GetLoggedModel", "sagemaker-mlflow:GetMetricHistory", "sagemaker-mlflow:GetModelVersion",
    "sagemaker-mlflow:GetModelVersionByAlias", "sagemaker-mlflow:GetRegisteredModel", "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:ListArtifacts", "sagemaker-mlflow:ListLoggedModelArtifacts",
    "sagemaker-mlflow:SearchExperiments", "sagemaker-mlflow:SearchLoggedModels",
    "sagemaker-mlflow:SearchModelVersions", "sagemaker-mlflow:SearchRegisteredModels", "sagemaker-mlflow:SearchRuns",
)
MLFLOW_WRITE = ("sagemaker-mlflow:SetModelVersionTag", "sagemaker-mlflow:SetRegisteredModelAlias")
MLFLOW_TRAIN = (
    "sagemaker-mlflow:CreateExperiment", "sagemaker-mlflow:CreateModelVersion",
    "sagemaker-mlflow:CreateRegisteredModel", "sagemaker-mlflow:CreateRun", "sagemaker-mlflow:FinalizeLoggedModel",
    "sagemaker-mlflow:LogBatch", "sagemaker-mlflow:LogInputs", "sagemaker-mlflow:LogLoggedModelParams",
    "sagemaker-mlflow:LogMetric", "sagemaker-mlflow:LogModel", "sagemaker-mlflow:LogOutputs",
    "sagemaker-mlflow:LogParam", "sagemaker-mlflow:SetExperimentTag", "sagemaker-mlflow:SetLoggedModelTags",
    "sagemaker-mlflow:SetTag", "sagemaker-mlflow:UpdateRun",
)

#: Pushing an image: layer upload, manifest, and reading back the digest and the scan findings.
ECR_PUSH = (
    "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage",
    "ecr:UploadLayerPart",
)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
#: Add a tag to a pushed image (the manifest is read and put again; no layer moves, so no registry login).
ECR_TAG = ("ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage")

#: CodeBuild in a VPC inspects the VPC and its network interfaces. The Describe* calls support no resource-level
#: permissions: AWS requires Resource "*" ("Allow CodeBuild access to AWS services required to create a VPC
#: network interface", CodeBuild user guide). Creating and deleting the interfaces is scoped (`vpc_statements`).
VPC_DESCRIBE = (
    "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)

#: MLflow basic-auth grants per tracking access level, beyond the server's default READ: `read` needs none;
#: `write` (tags, aliases) and `train` (new versions) need EDIT on the stack's registered model, MLflow's narrowest
#: permission for either. Experiments a stage creates are its own (MLflow makes their creator MANAGE).
MLFLOW_GRANTS: dict[str, tuple[str, ...]] = {"read": (), "write": ("EDIT",), "train": ("EDIT",)}


@dataclass(frozen=True)
class Resources:
    """The stack's ARNs an action may be granted (resolved values, so the functions stay pure)."""

    region: str
    account_id: str
    buckets: Mapping[str, str]
    """Bucket role (data, models, pipeline) -> bucket ARN."""
    kms_key_arn: str
    artifact_prefix: str
    """Where CodePipeline keeps this pipeline's artifacts in the pipeline bucket (`<name[:20]>/`)."""
    partition: str
    """ARN partition of the stack's region (`aws`, `aws-us-gov`, `aws-cn`), from the provider."""
    dns_suffix: str
    """DNS suffix of regional endpoints (`amazonaws.com`, `amazonaws.com.cn`), from the provider."""
    ecr_repository_arn: str | None = None
    deploy_role_arn: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Secret name of `Access.secrets` (github_token, pulumi_token, pulumi_passphrase) -> secret ARN."""
    tracking_secret_arn: str | None = None
    """This action's own MLflow credentials (self-hosted, basic auth): one secret per stage user, never the
    admin's."""
    tracking_server_arn: str | None = None
    """SageMaker MLflow tracking server."""
    subnet_arns: tuple[str, ...] = ()
    security_group_arns: tuple[str, ...] = ()
    """The builds' security group(s) (network interfaces are created in these only)."""
    vpc_arn: str | None = None
    """The VPC of the builds (network interfaces are deleted in it only)."""
    metrics_namespace: str | None = None
    """The one CloudWatch namespace metric publishers may write to."""
    connection_arn: str | None = None
    """CodeConnections connection of jobs that check the repository out themselves (not pipeline actions)."""


def mlflow_username(action: Action) -> str:
    """The MLflow user of one pipeline action (self-hosted MLflow with basic auth)."""
    return f"pipeline-{action.name.lower()}"


def mlflow_grants(action: Action, model_name: str) -> tuple[tuple[str, str, str], ...]:
    """The action's MLflow grants: (resource type, name, permission), beyond the server's default READ."""
    return tuple(("registered_model", model_name, p) for p in MLFLOW_GRANTS.get(action.access.tracking, ()))


def artifact_prefix(pipeline_name: str) -> str:
    """CodePipeline stores artifacts under the pipeline name truncated to 20 characters."""
    return f"{pipeline_name[:20]}/"


def _object_arn(bucket_arn: str, prefix: str) -> str:
    return f"{bucket_arn}/{prefix}*" if prefix.endswith("/") else f"{bucket_arn}/{prefix}"


def s3_statements(grants: tuple[S3Grant, ...], buckets: Mapping[str, str]) -> list[Statement]:
    """Read (get + list under the prefix) and write (put) on exactly the named prefixes."""
    out: list[Statement] = []
    for bucket in sorted({g.bucket for g in grants}):
        arn = buckets[bucket]
        mine = [g for g in grants if g.bucket == bucket]
        title = bucket.capitalize()
        prefixes = sorted({g.prefix for g in mine})
        out.append(allow(f"List{title}Prefixes", ["s3:ListBucket"], [arn],
                         {"StringLike": {"s3:prefix": [f"{p}*" if p.endswith("/") else p for p in prefixes]}}))
        out.append(allow(f"Read{title}", ["s3:GetObject"], [_object_arn(arn, p) for p in prefixes]))
        written = sorted({g.prefix for g in mine if g.write})
        if written:
            out.append(allow(f"Write{title}", ["s3:PutObject"], [_object_arn(arn, p) for p in written]))
    return out


def external_read_statements(access: Access, res: Resources) -> list[Statement]:
    """Read on prefixes of other stacks' buckets (list limited to the prefix), and decrypt with their keys through
    S3 only."""
    out: list[Statement] = []
    for i, uri in enumerate(access.read_uris):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        arn = f"arn:{res.partition}:s3:::{bucket}"
        out.append(allow(f"ListExternalPrefix{i}", ["s3:ListBucket"], [arn], {"StringLike": {"s3:prefix": [
            f"{prefix}*"]}}))
        out.append(allow(f"ReadExternalPrefix{i}", ["s3:GetObject"], [f"{arn}/{prefix}*"]))
    if access.read_kms_keys:
        out.append(allow("DecryptExternalViaS3", ["kms:Decrypt"], sorted(access.read_kms_keys),
                         {"StringEquals": {"kms:ViaService": f"s3.{res.region}.{res.dns_suffix}"}}))
    return out


def tracking_statements(level: str, res: Resources) -> list[Statement]:
    if level == "none":
        return []
    out: list[Statement] = []
    if res.tracking_secret_arn:
        out.append(allow("ReadTrackingCredentials", ["secretsmanager:GetSecretValue"], [res.tracking_secret_arn]))
    if res.tracking_server_arn:
        actions = MLFLOW_READ + (MLFLOW_WRITE if level in ("write", "train") else ()) + (
            MLFLOW_TRAIN if level == "train" else ())
        out.append(allow("UseTrackingServer", actions, [res.tracking_server_arn]))
    return out


def vpc_statements(res: Resources) -> list[Statement]:
    """Network interfaces of the builds: created only in the builds' subnets with their security group, deleted
    only in their VPC, handed to CodeBuild only in those subnets (CodeBuild user guide, "Allow CodeBuild access to
    AWS services required to create a VPC network interface")."""
    interfaces = f"arn:{res.partition}:ec2:{res.region}:{res.account_id}:network-interface/*"
    if not res.subnet_arns or not res.security_group_arns or res.vpc_arn is None:
        raise ValueError("builds in a VPC need its subnets, security group and VPC to scope their network interfaces")
    return [
        allow("DescribeVpc", VPC_DESCRIBE, ["*"]),  # AWS requires "*" (see VPC_DESCRIBE)
        allow("CreateNetworkInterfaces", ["ec2:CreateNetworkInterface"],
              [interfaces, *res.subnet_arns, *res.security_group_arns]),
        allow("DeleteNetworkInterfaces", ["ec2:DeleteNetworkInterface"], [interfaces],
              {"ArnEquals": {"ec2:Vpc": res.vpc_arn}}),
        allow("VpcNetworkInterfacePermission", ["ec2:CreateNetworkInterfacePermission"], [interfaces],
              {"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
               "ArnEquals": {"ec2:Subnet": list(res.subnet_arns)}}),
    ]


def source_statements(res: Resources) -> list[Statement]:
    """The source: the pipeline's artifact, or (scheduled jobs) the repository through the connection."""
    if res.connection_arn is not None:
        return connection_statements("CheckOutThroughConnection",
                                     ["GetConnection", "GetConnectionToken", "UseConnection"], res.connection_arn)
    return [allow("ReadSourceArtifact", ["s3:GetObject", "s3:GetObjectVersion"],
                  [f"{res.buckets['pipeline']}/{res.artifact_prefix}*"])]


def base_statements(action: Action, res: Resources, log_group_arn: str) -> list[Statement]:
    """What every build needs: its logs, its source, its cache, the key via S3/Secrets Manager."""
    pipeline = res.buckets["pipeline"]
    return [
        allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
        *source_statements(res),
        allow("OwnBuildCache", ["s3:GetObject", "s3:PutObject"], [f"{pipeline}/{cache_prefix(action)}*"]),
        allow("PipelineBucketLocation", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [pipeline]),
        allow("UseStackKeyViaS3AndSecrets", ["kms:Decrypt", "kms:GenerateDataKey"], [res.kms_key_arn],
              {"StringEquals": {"kms:ViaService": [f"s3.{res.region}.{res.dns_suffix}",
                                                   f"secretsmanager.{res.region}.{res.dns_suffix}"]}}),
    ]


def cache_prefix(action: Action) -> str:
    return f"cache/{action.name}/"


def ecr_statements(action: str, use: str, repository_arn: str | None) -> list[Statement]:
    """The pipeline repository, as the action uses it: pull or push through a registry login, or tag by the API."""
    if repository_arn is None:
        raise ValueError(f"{action}: uses images but no ECR repository was given")
    if use == "tag":
        return [allow("TagPromotedImage", ECR_TAG, [repository_arn])]
    return [allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),  # AWS requires "*" for the token
            allow("PushServingImage", ECR_PUSH, [repository_arn]) if use == "push"
            else allow("PullServingImage", ECR_PULL, [repository_arn])]


def action_statements(action: Action, res: Resources, log_group_arn: str) -> list[Statement]:
    """The whole policy of one build action's role."""
    access: Access = action.access
    out = base_statements(action, res, log_group_arn)
    out += s3_statements(access.s3, res.buckets)
    out += external_read_statements(access, res)
    if access.ecr != "none":
        out += ecr_statements(action.name, access.ecr, res.ecr_repository_arn)
    if access.metrics:
        if res.metrics_namespace is None:
            raise ValueError(f"{action.name}: publishes metrics but no namespace was given")
        # PutMetricData has no resource-level permissions (AWS requires "*"); the namespace condition scopes it.
        out.append(allow("PublishModelMetrics", ["cloudwatch:PutMetricData"], ["*"],
                         {"StringEquals": {"cloudwatch:namespace": res.metrics_namespace}}))
    secrets = [res.secrets[s] for s in access.secrets if s in res.secrets]
    if len(secrets) != len(access.secrets):
        missing = sorted(set(access.secrets) - set(res.secrets))
        raise ValueError(f"{action.name}: needs secrets {missing} that the stack does not configure")
    if secrets:
        out.append(allow("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], sorted(secrets)))
    out += tracking_statements(access.tracking, res)
    if access.inspect_service:
        ecs = f"arn:{res.partition}:ecs:{res.region}:{res.account_id}"
        out.append(allow("InspectDeployedService", ["ecs:DescribeServices", "ecs:DescribeTasks", "ecs:ListTasks"],
                         [f"{ecs}:service/*", f"{ecs}:task/*", f"{ecs}:container-instance/*"]))
        # Alarms of this account and region only: `mlcicd verify rollout` also finds the service's alarms by their
        # model and target-group dimensions, whatever their names, so no name prefix narrows this further.
        out.append(allow("DescribeAlarms", ["cloudwatch:DescribeAlarms"],
                         [f"arn:{res.partition}:cloudwatch:{res.region}:{res.account_id}:alarm:*"]))
        # DescribeTaskDefinition accepts no resource-level permission (AWS requires "*"); it only reads.
        out.append(allow("InspectTaskDefinitions", ["ecs:DescribeTaskDefinition"], ["*"]))
    if action.output:
        out.append(allow("WriteOutputArtifact", ["s3:PutObject"],
                         [f"{res.buckets['pipeline']}/{res.artifact_prefix}*"]))
    if access.assume_deploy_role:
        if res.deploy_role_arn is None:
            raise ValueError(f"{action.name}: assumes the deploy role but none was given")
        out.append(allow("AssumeDeployRole", ["sts:AssumeRole"], [res.deploy_role_arn]))
    if access.assume_roles:
        out.append(allow("AssumeOtherStackRoles", ["sts:AssumeRole"], sorted(access.assume_roles)))
    if access.in_vpc and res.subnet_arns:
        out += vpc_statements(res)
    return out
