"""Least-privilege IAM statements of each pipeline action, from its declared `Access` (pure functions).

Every build role gets: its own log group, the pipeline's source artifact (read), its own cache prefix, the stack
key through S3 and Secrets Manager only. Beyond that exactly what `Access` names. `Resource: "*"` appears only for
actions AWS does not scope to a resource, each with a comment saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.delivery.stages import Access, Action, S3Grant
from components.iam import Statement, allow

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

#: CodeBuild in a VPC creates and inspects its network interfaces. AWS requires Resource "*" for these (the
#: Describe* calls support no resource-level permissions; see "Allow CodeBuild access to AWS services required to
#: create a VPC network interface" in the CodeBuild user guide).
VPC_DESCRIBE = (
    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
)


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
    ecr_repository_arn: str | None = None
    deploy_role_arn: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Secret name of `Access.secrets` (github_token, pulumi_token, pulumi_passphrase) -> secret ARN."""
    tracking_secret_arn: str | None = None
    """Self-hosted MLflow credentials (basic auth)."""
    tracking_server_arn: str | None = None
    """SageMaker MLflow tracking server."""
    subnet_arns: tuple[str, ...] = ()
    metrics_namespace: str | None = None
    """The one CloudWatch namespace metric publishers may write to."""
    connection_arn: str | None = None
    """CodeConnections connection of jobs that check the repository out themselves (not pipeline actions)."""


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


def external_read_statements(access: Access, region: str) -> list[Statement]:
    """Read on prefixes of other stacks' buckets (list limited to the prefix), and decrypt with their keys through
    S3 only."""
    out: list[Statement] = []
    for i, uri in enumerate(access.read_uris):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        arn = f"arn:aws:s3:::{bucket}"
        out.append(allow(f"ListExternalPrefix{i}", ["s3:ListBucket"], [arn], {"StringLike": {"s3:prefix": [
            f"{prefix}*"]}}))
        out.append(allow(f"ReadExternalPrefix{i}", ["s3:GetObject"], [f"{arn}/{prefix}*"]))
    if access.read_kms_keys:
        out.append(allow("DecryptExternalViaS3", ["kms:Decrypt"], sorted(access.read_kms_keys),
                         {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}))
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
    return [
        allow("VpcNetworkInterfaces", VPC_DESCRIBE, ["*"]),  # AWS requires "*" (see VPC_DESCRIBE)
        allow("VpcNetworkInterfacePermission", ["ec2:CreateNetworkInterfacePermission"],
              [f"arn:aws:ec2:{res.region}:{res.account_id}:network-interface/*"],
              {"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
               "ArnEquals": {"ec2:Subnet": list(res.subnet_arns)}}),
    ]


def source_statements(res: Resources) -> list[Statement]:
    """The source: the pipeline's artifact, or (scheduled jobs) the repository through the connection."""
    if res.connection_arn is not None:
        return [allow("CheckOutThroughConnection", [
            "codeconnections:GetConnection", "codeconnections:GetConnectionToken", "codeconnections:UseConnection",
            "codestar-connections:GetConnection", "codestar-connections:GetConnectionToken",
            "codestar-connections:UseConnection"], [res.connection_arn])]
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
              {"StringEquals": {"kms:ViaService": [f"s3.{res.region}.amazonaws.com",
                                                   f"secretsmanager.{res.region}.amazonaws.com"]}}),
    ]


def cache_prefix(action: Action) -> str:
    return f"cache/{action.name}/"


def action_statements(action: Action, res: Resources, log_group_arn: str) -> list[Statement]:
    """The whole policy of one build action's role."""
    access: Access = action.access
    out = base_statements(action, res, log_group_arn)
    out += s3_statements(access.s3, res.buckets)
    out += external_read_statements(access, res.region)
    if access.ecr != "none":
        if res.ecr_repository_arn is None:
            raise ValueError(f"{action.name}: uses images but no ECR repository was given")
        out.append(allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]))  # AWS requires "*" for the token
        out.append(allow("PushServingImage", ECR_PUSH, [res.ecr_repository_arn]) if access.ecr == "push"
                   else allow("PullServingImage", ECR_PULL, [res.ecr_repository_arn]))
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
        ecs = f"arn:aws:ecs:{res.region}:{res.account_id}"
        out.append(allow("InspectDeployedService", ["ecs:DescribeServices", "ecs:DescribeTasks", "ecs:ListTasks"],
                         [f"{ecs}:service/*", f"{ecs}:task/*", f"{ecs}:container-instance/*"]))
        # Neither call accepts a resource-level permission (AWS requires "*"); both only read.
        out.append(allow("InspectTaskDefinitionsAndAlarms", ["cloudwatch:DescribeAlarms",
                                                             "ecs:DescribeTaskDefinition"], ["*"]))
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
