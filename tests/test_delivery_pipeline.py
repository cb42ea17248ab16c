"""DeliveryPipeline on the real stack files: structure, triggers, per-action projects and least-privilege roles, and
every `mlcicd` command line checked by the CLI's own parser."""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from typing import Any

import click
import pytest
import typer.main
from typer._click.exceptions import UsageError as TyperUsageError
from typer.core import TyperGroup

from components.delivery import buildspec as bs
from components.delivery.args import DeliveryPipelineArgs
from runtime.cli.main import app
from runtime.config import load_stack
from runtime.graph import MOCK_ACCOUNT, Graph, Resource, mock_outputs
from runtime.pipeline.model import Mlcicd, PipelineSpec, build_actions
from runtime.pipeline.steps import delivery_stages
from tests.harness import PIPELINE_REPOSITORY_ARN, ROOT, graph, policy, stack_config

PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REGION = "eu-west-1"
#: The stacks hosting the pipeline: only staging (the stack it deploys); production is promoted to by pull request.
STACKS = ("staging",)
BUILD_ACTIONS = ("DataValidate", "UnitTests", "Lint", "Train", "ModelGate", "Package", "Deploy", "Smoke",
                 "VerifyRollout", "LoadTest", "Promote")
#: Actions AWS authorises only on Resource "*" (each a documented exception in components/delivery/policies.py).
STAR_ACTIONS = {"ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                "ec2:DescribeVpcs", "cloudwatch:PutMetricData"}


def pipeline(g: Graph) -> dict[str, Any]:
    return g.one(PIPELINE, "delivery").inputs


def stage(g: Graph, name: str) -> dict[str, Any]:
    return next(s for s in pipeline(g)["stages"] if s["name"] == name)


def project(g: Graph, action: str) -> Resource:
    return g.one(PROJECT, f"delivery-{action.lower()}")


def role_policy(g: Graph, action: str) -> dict[str, Any]:
    return policy(g.one(ROLE_POLICY, f"delivery-{action.lower()}-policy"))


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["Statement"]


def actions_granted(doc: dict[str, Any]) -> set[str]:
    return {a for s in statements(doc) for a in s["Action"]}


def env(g: Graph, action: str) -> dict[str, tuple[str, str]]:
    variables = project(g, action).inputs["environment"]["environmentVariables"]
    return {v["name"]: (v["value"], v["type"]) for v in variables}


# The arguments --------------------------------------------------------------------------------------------------
def test_the_args_require_the_stack_wiring_and_default_everything_else() -> None:
    """One declaration: the fields without a default are the wiring only the program knows; leaving one out fails
    at construction naming it."""
    required = {f.name for f in fields(DeliveryPipelineArgs)
                if f.default is MISSING and f.default_factory is MISSING}
    assert required == {"spec", "region", "account_id", "buckets", "bucket_arns", "kms_key_arn",
                        "ecr_repository_arn", "ecr_repository_url", "ecr_repository_name", "tracking_uri",
                        "secrets", "deploy_role_arn"}
    with pytest.raises(TypeError, match="deploy_role_arn"):
        DeliveryPipelineArgs(**dict.fromkeys(required - {"deploy_role_arn"}))  # type: ignore[arg-type]


# The pipeline ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_pipeline_is_v2_with_artifacts_in_the_encrypted_pipeline_bucket(stack: str) -> None:
    p = pipeline(graph(stack))
    assert p["pipelineType"] == "V2"
    assert p["executionMode"] == "SUPERSEDED"
    assert p["artifactStores"] == [{"location": "artifacts-pipeline", "type": "S3", "encryptionKey": {
        "id": f"arn:aws:kms:{REGION}:{MOCK_ACCOUNT}:key/artifacts-key-key-id", "type": "KMS"}}]


def test_source_is_the_configured_connection_repository_and_branch(staging: Graph) -> None:
    (source,) = stage(staging, "Source")["actions"]
    cfg = load_stack("staging", ROOT).config.pipeline
    assert cfg is not None
    assert (source["category"], source["provider"], source["outputArtifacts"]) == (
        "Source", "CodeStarSourceConnection", ["source"])
    assert source["configuration"]["ConnectionArn"] == cfg.connection_arn
    assert source["configuration"]["FullRepositoryId"] == "acme/churn-model"
    assert source["configuration"]["BranchName"] == "main"


def test_one_trigger_whose_two_push_filters_are_the_data_and_the_code_paths() -> None:
    g = graph("staging", {"pipeline": {"branch": "release", "dataPaths": ["datasets/**"],
                                       "codePaths": ["model/**", "requirements.txt"]}})
    (trigger,) = pipeline(g)["triggers"]
    assert trigger["providerType"] == "CodeStarSourceConnection"
    assert trigger["gitConfiguration"]["sourceActionName"] == "Source"
    assert trigger["gitConfiguration"]["pushes"] == [
        {"branches": {"includes": ["release"]}, "filePaths": {"includes": ["datasets/**"]}},
        {"branches": {"includes": ["release"]}, "filePaths": {"includes": ["model/**", "requirements.txt"]}}]


@pytest.mark.parametrize("stack", STACKS)
def test_stages_in_order(stack: str) -> None:
    assert [s["name"] for s in pipeline(graph(stack))["stages"]] == [
        "Source", "Validate", "Train", "Gate", "Package", "DeployStaging", "VerifyStaging", "Promote"]


def test_independent_actions_run_in_parallel(staging: Graph) -> None:
    def orders(name: str) -> dict[str, int]:
        return {a["name"]: a["runOrder"] for a in stage(staging, name)["actions"]}

    assert orders("Validate") == {"DataValidate": 1, "UnitTests": 1, "Lint": 1}
    # Load after smoke: no load test on a broken endpoint, and smoke latency is not measured under load.
    assert orders("VerifyStaging") == {"Smoke": 1, "VerifyRollout": 1, "LoadTest": 2}
    for name in ("Train", "Gate", "Package", "DeployStaging"):
        assert len(orders(name)) == 1


@pytest.mark.parametrize("approval", [False, True])
def test_manual_approval_exactly_when_config_asks(approval: bool) -> None:
    g = graph("staging", {"pipeline": {"manualApproval": approval}})
    promote = {a["name"]: a for a in stage(g, "Promote")["actions"]}
    assert ("Approve" in promote) is approval
    if approval:
        assert (promote["Approve"]["category"], promote["Approve"]["provider"]) == ("Approval", "Manual")
        assert promote["Approve"]["runOrder"] == 1
        assert promote["Promote"]["runOrder"] == 2
        assert promote["Approve"]["timeoutInMinutes"] == 4320
    else:
        assert promote["Promote"]["runOrder"] == 1


def test_one_pipeline_owns_delivery_hosted_by_the_stack_it_deploys(staging: Graph, production: Graph) -> None:
    """Staging hosts the only pipeline (no approval: production changes only by a reviewed pull request)."""
    assert [a["name"] for a in stage(staging, "Promote")["actions"]] == ["Promote"]
    assert production.of_type(PIPELINE) == []
    assert production.of_type(PROJECT) == [r for r in production.of_type(PROJECT) if "delivery" not in r.name]


def test_variables_carry_version_digest_and_endpoint_between_stages(staging: Graph) -> None:
    exported: dict[str, set[str]] = {"codepipeline": {"PipelineExecutionId"}}
    for s in pipeline(staging)["stages"]:
        for action in s["actions"]:
            if action["category"] != "Build":
                continue
            for var in json.loads(action["configuration"]["EnvironmentVariables"]):
                for ns, name in re.findall(r"#\{(\w+)\.(\w+)\}", var["value"]):
                    assert name in exported.get(ns, set()), f"{action['name']} reads #{{{ns}.{name}}} too early"
        for action in s["actions"]:
            if action["category"] == "Build" and "namespace" in action:
                exported[action["namespace"]] = set(_exports(action["name"]))
    assert exported["Train"] == {"MODEL_VERSION"}
    assert exported["Package"] == {"IMAGE_DIGEST"}
    assert exported["Deploy"] == {"ENDPOINT_URL"}


def _exports(action_name: str) -> tuple[str, ...]:
    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    return next(a for _, a in build_actions(delivery_stages(spec)) if a.name == action_name).exports


def test_verify_and_promote_read_what_deploy_deployed(staging: Graph) -> None:
    """Smoke and load reports name the deployed candidate (the stack file Deploy pinned), as promotion requires."""
    deploy = stage(staging, "DeployStaging")["actions"][0]
    assert deploy["outputArtifacts"] == ["deployed"]
    readers = {a["name"]: a for s in pipeline(staging)["stages"] for a in s["actions"]
               if "deployed" in a.get("inputArtifacts", [])}
    assert sorted(readers) == ["LoadTest", "Promote", "Smoke", "VerifyRollout"]
    assert all(a["configuration"]["PrimarySource"] == "source" for a in readers.values())


# One project, role, log group per action ---------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_one_project_with_its_own_role_per_build_action(stack: str) -> None:
    g = graph(stack)
    projects = {r.name: r for r in g.of_type(PROJECT) if r.name.startswith("delivery-")}
    assert sorted(projects) == sorted(f"delivery-{a.lower()}" for a in BUILD_ACTIONS)
    roles = {p.inputs["serviceRole"] for p in projects.values()}
    assert len(roles) == len(BUILD_ACTIONS)
    for action in BUILD_ACTIONS:
        assert project(g, action).inputs["serviceRole"] == (
            f"arn:aws:iam::{MOCK_ACCOUNT}:role/delivery-{action.lower()}-role")


@pytest.mark.parametrize(("overrides", "days"), [({}, 30), ({"pipeline": {"logRetentionDays": 365}}, 365)])
def test_each_action_logs_to_its_own_encrypted_group_with_retention(overrides: dict[str, Any], days: int) -> None:
    g = graph("staging", overrides)
    for action in BUILD_ACTIONS:
        group = g.one("aws:cloudwatch/logGroup:LogGroup", f"delivery-{action.lower()}-logs")
        assert group.inputs["retentionInDays"] == days
        assert group.inputs["kmsKeyId"] == f"arn:aws:kms:{REGION}:{MOCK_ACCOUNT}:key/artifacts-key-key-id"
        assert group.inputs["name"] == f"/aws/codebuild/ml-cicd-staging-delivery-{action}"
        logs = project(g, action).inputs["logsConfig"]
        assert logs["cloudwatchLogs"] == {"groupName": group.inputs["name"], "status": "ENABLED"}
        assert role_policy(g, action)["Statement"][0] == {
            "Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"arn:aws:logs:{REGION}:{MOCK_ACCOUNT}:log-group:{group.inputs['name']}:*"]}


def test_cache_per_action_in_the_pipeline_bucket(staging: Graph) -> None:
    for action in BUILD_ACTIONS:
        assert project(staging, action).inputs["cache"] == {"type": "S3",
                                                            "location": f"artifacts-pipeline/cache/{action}"}
        cache = next(s for s in statements(role_policy(staging, action)) if s["Sid"] == "OwnBuildCache")
        assert cache["Resource"] == [f"arn:aws:s3:::artifacts-pipeline/cache/{action}/*"]


def test_project_buildspec_is_rendered_from_the_stage_definition(staging: Graph) -> None:
    cfg = load_stack("staging", ROOT).config
    assert cfg.pipeline is not None
    for _, action in build_actions(delivery_stages(PipelineSpec.from_config(cfg, "staging"))):
        assert project(staging, action.name).inputs["source"]["buildspec"] == bs.render(
            action, install_command=cfg.pipeline.install_command, python_version=cfg.pipeline.python_version)


def test_environment_comes_from_config_and_only_what_each_action_uses(staging: Graph) -> None:
    for action in BUILD_ACTIONS:
        e = env(staging, action)
        assert e["STACK_NAME"] == ("staging", "PLAINTEXT")
        assert e["MODEL_NAME"] == ("churn-classifier", "PLAINTEXT")
    tracking = {a for a in BUILD_ACTIONS if "MLFLOW_TRACKING_URI" in env(staging, a)}
    # Smoke and LoadTest read the candidate's input example (training contract) from the registry.
    assert tracking == {"Train", "ModelGate", "Package", "Smoke", "LoadTest", "Promote"}
    for action in tracking:  # each its own MLflow user's secret, never the admin's
        secret = f"arn:aws:secretsmanager:{REGION}:{MOCK_ACCOUNT}:secret:tracking-user-pipeline-{action.lower()}"
        e = env(staging, action)
        assert e["MLFLOW_TRACKING_USERNAME"] == (f"{secret}-AbCdEf:username", "SECRETS_MANAGER")
        assert e["MLFLOW_TRACKING_PASSWORD"] == (f"{secret}-AbCdEf:password", "SECRETS_MANAGER")
    assert {a for a in BUILD_ACTIONS if "GITHUB_TOKEN" in env(staging, a)} == {"Promote"}
    assert {a for a in BUILD_ACTIONS if "PULUMI_ACCESS_TOKEN" in env(staging, a)} == {"Deploy"}
    assert env(staging, "Deploy")["DEPLOY_ROLE_ARN"] == (
        "arn:aws:iam::123456789012:role/ml-cicd-staging-deploy", "PLAINTEXT")
    assert env(staging, "Package")["ECR_REPOSITORY_NAME"] == ("serving-images", "PLAINTEXT")


def test_only_the_image_build_is_privileged(staging: Graph) -> None:
    privileged = {a for a in BUILD_ACTIONS if project(staging, a).inputs["environment"]["privilegedMode"]}
    assert privileged == {"Package"}


def test_compute_and_timeouts_from_config() -> None:
    g = graph("staging", {"pipeline": {"trainComputeType": "BUILD_GENERAL1_2XLARGE", "trainTimeoutMinutes": 600,
                                       "timeoutMinutes": 30}})
    assert project(g, "Train").inputs["environment"]["computeType"] == "BUILD_GENERAL1_2XLARGE"
    assert project(g, "Train").inputs["buildTimeout"] == 600
    assert project(g, "Lint").inputs["environment"]["computeType"] == "BUILD_GENERAL1_SMALL"
    assert project(g, "Lint").inputs["buildTimeout"] == 30


def test_only_actions_reaching_private_endpoints_run_in_the_vpc(staging: Graph) -> None:
    in_vpc = {a for a in BUILD_ACTIONS if project(staging, a).inputs.get("vpcConfig")}
    assert in_vpc == {"Train", "ModelGate", "Package", "Promote", "Smoke", "LoadTest"}
    vpc = project(staging, "Smoke").inputs["vpcConfig"]
    assert vpc["subnets"] == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    group = staging.one("aws:ec2/securityGroup:SecurityGroup", "delivery-builds")
    egress = {r.inputs["fromPort"]: r.inputs["cidrIpv4"]
              for r in staging.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
              if r.name.startswith("delivery-builds")}
    assert egress.keys() == {80, 443}
    assert egress[443] == "0.0.0.0/0"
    assert egress[80].startswith("10."), "plain HTTP only inside the VPC (the model endpoint; MLflow is HTTPS)"
    ingress = staging.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert all(r.inputs.get("securityGroupId") != f"{group.name}-id" for r in ingress)


# Least privilege ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("action", BUILD_ACTIONS)
def test_roles_grant_no_wildcard_actions_and_only_the_stacks_resources(stack: str, action: str) -> None:
    g = graph(stack)
    cfg = load_stack(stack, ROOT).config
    assert cfg.pipeline is not None
    config_arns = {cfg.pipeline.deploy_role_arn, cfg.pipeline.github_token_secret_arn,
                   cfg.pipeline.pulumi_access_token_secret_arn}
    for s in statements(role_policy(g, action)):
        assert s["Effect"] == "Allow"
        assert all("*" not in a for a in s["Action"]), s
        for resource in s["Resource"]:
            if resource == "*":
                assert set(s["Action"]) <= STAR_ACTIONS, s
            elif resource.startswith("arn:aws:s3:::"):
                assert resource.split(":::")[1].split("/")[0] in {"artifacts-data", "artifacts-models",
                                                                 "artifacts-pipeline"}, s
            else:
                assert resource in config_arns or f":{REGION}:{MOCK_ACCOUNT}:" in resource, s


def test_each_role_holds_only_what_its_action_touches(staging: Graph) -> None:
    def sids(action: str) -> set[str]:
        return {s["Sid"] for s in statements(role_policy(staging, action))}

    base = {"WriteOwnLogs", "ReadSourceArtifact", "OwnBuildCache", "PipelineBucketLocation",
            "UseStackKeyViaS3AndSecrets"}
    assert sids("Lint") == base
    assert sids("UnitTests") == base
    assert sids("Deploy") == base | {"ReadOwnSecrets", "AssumeDeployRole", "WriteOutputArtifact"}
    assert "PushServingImage" in sids("Package")
    assert "PushServingImage" not in sids("Promote")
    assert {a for a in BUILD_ACTIONS if "AssumeDeployRole" in sids(a)} == {"Deploy"}
    assert {a for a in BUILD_ACTIONS if "ReadOwnSecrets" in sids(a)} == {"Deploy", "Promote"}
    assert {a for a in BUILD_ACTIONS if "InspectDeployedService" in sids(a)} == {"VerifyRollout"}
    token = next(s for s in statements(role_policy(staging, "Promote")) if s["Sid"] == "ReadOwnSecrets")
    assert token["Resource"] == [load_stack("staging", ROOT).config.pipeline.github_token_secret_arn]  # type: ignore[union-attr]


def test_s3_access_is_the_prefixes_each_action_names(staging: Graph) -> None:
    def grants(action: str, sid: str) -> list[str]:
        found = [s for s in statements(role_policy(staging, action)) if s["Sid"] == sid]
        return found[0]["Resource"] if found else []

    assert grants("DataValidate", "ReadData") == ["arn:aws:s3:::artifacts-data/profiles/reference.npz"]
    assert grants("DataValidate", "WriteModels") == ["arn:aws:s3:::artifacts-models/runs/*"]
    assert grants("ModelGate", "WriteModels") == ["arn:aws:s3:::artifacts-models/reports/*"]
    assert grants("Train", "WriteModels") == ["arn:aws:s3:::artifacts-models/mlflow/*",
                                              "arn:aws:s3:::artifacts-models/reports/*"]
    assert grants("Package", "WriteModels") == ["arn:aws:s3:::artifacts-models/reports/*"]
    assert grants("Lint", "WriteModels") == grants("Lint", "ReadData") == []


def test_train_writes_the_versions_training_profile_with_the_grant_it_holds(staging: Graph) -> None:
    """Once the version is known, the profile of the data it was trained on goes beside its reports (where `mlcicd
    champion reference` reads it), with the local engine whatever `data.engine` says (the repository's file the
    training command was handed), under the reports/ write grant Train already holds: no new access."""
    from fnmatch import fnmatchcase

    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    train = next(a for _, a in build_actions(delivery_stages(spec)) if a.name == "Train")
    mlcicd = [c for c in train.commands if isinstance(c, Mlcicd)]
    line = next(c for c in mlcicd if c.argv[:2] == ("data", "profile"))
    option = dict(zip(line.argv[2::2], line.argv[3::2], strict=True))
    assert option == {"--reference": spec.training_data_path, "--stack": "production", "--engine": "local",
                      "--out": "s3://$MODELS_BUCKET/reports/$MODEL_NAME/$MODEL_VERSION/training-profile.npz",
                      "--model": "$MODEL_NAME", "--model-version": "$MODEL_VERSION"}
    version_known = next(c for c in mlcicd if c.capture == "MODEL_VERSION")
    assert train.commands.index(line) > train.commands.index(version_known)
    written = next(s for s in statements(role_policy(staging, "Train")) if s["Sid"] == "WriteModels")["Resource"]
    key = option["--out"].removeprefix("s3://$MODELS_BUCKET/").replace("$MODEL_NAME", "churn-classifier")
    assert [arn for arn in written if fnmatchcase(f"arn:aws:s3:::artifacts-models/{key}", arn)] == [
        "arn:aws:s3:::artifacts-models/reports/*"]


def test_pipeline_role_starts_only_its_builds_and_uses_only_its_connection(staging: Graph) -> None:
    doc = policy(staging.one(ROLE_POLICY, "delivery-pipeline-policy"))
    by_sid = {s["Sid"]: s for s in statements(doc)}
    assert sorted(by_sid["RunBuilds"]["Resource"]) == sorted(
        f"arn:aws:codebuild:{REGION}:{MOCK_ACCOUNT}:project/ml-cicd-staging-delivery-{a}" for a in BUILD_ACTIONS)
    assert by_sid["UseConnection"]["Resource"] == [load_stack("staging", ROOT).config.pipeline.connection_arn]  # type: ignore[union-attr]
    assert by_sid["Artifacts"]["Resource"] == ["arn:aws:s3:::artifacts-pipeline/ml-cicd-staging-deli/*"]


def test_failures_and_pending_approvals_notify_the_alarm_topic(staging: Graph) -> None:
    rule = staging.one("aws:codestarnotifications/notificationRule:NotificationRule", "delivery-notifications")
    assert rule.inputs["resource"] == f"arn:aws:codepipeline:{REGION}:{MOCK_ACCOUNT}:ml-cicd-staging-delivery"
    assert rule.inputs["eventTypeIds"] == ["codepipeline-pipeline-pipeline-execution-failed",
                                           "codepipeline-pipeline-manual-approval-needed"]
    assert rule.inputs["targets"] == [{"address": f"arn:aws:sns:{REGION}:{MOCK_ACCOUNT}:canary-alarms-topic",
                                       "type": "SNS"}]


def test_sagemaker_tracking_is_authorised_by_iam_per_action_level() -> None:
    from components.delivery.policies import MLFLOW_READ, MLFLOW_TRAIN, MLFLOW_WRITE

    # A pipeline of its own (hosted by the stack it deploys; another branch than staging's, or it would be a second
    # pipeline on the same repository and branch).
    g = graph("sagemaker", {"pipeline": {**stack_config("staging")["pipeline"], "deployStack": "sagemaker",
                                         "branch": "sagemaker"}, "registry": {"imageRepositoryArn": None}})
    server = g.one("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")

    def granted(action: str) -> set[str]:
        found = [s for s in statements(role_policy(g, action)) if s["Sid"] == "UseTrackingServer"]
        if found:
            assert found[0]["Resource"] == [mock_outputs(server.type, server.name, server.inputs, REGION)["arn"]]
        return set(found[0]["Action"]) if found else set()

    assert granted("Train") == set(MLFLOW_READ + MLFLOW_WRITE + MLFLOW_TRAIN)
    assert granted("ModelGate") == set(MLFLOW_READ + MLFLOW_WRITE)
    assert granted("Package") == granted("Promote") == set(MLFLOW_READ)
    assert granted("Lint") == set()
    assert "MLFLOW_TRACKING_USERNAME" not in env(g, "Train")
    assert "ReadTrackingCredentials" not in {s["Sid"] for s in statements(role_policy(g, "Train"))}


def test_no_pipeline_section_no_pipeline_and_a_warning_for_the_monitor() -> None:
    # Without the pipeline, staging serves from the pipeline stack's repository (the config requires it in production).
    g = graph("staging", {"pipeline": None,
                          "registry": {"maxTaggedImages": None, "imageRepositoryArn": PIPELINE_REPOSITORY_ARN}})
    assert g.of_type("mlcicd:delivery:DeliveryPipeline") == []
    assert g.of_type("mlcicd:monitoring:DriftMonitor") == []
    assert any("drift monitor is not created" in w for w in g.warnings)


# Every command line is one the CLI accepts ----------------------------------------------------------------------
#: Typer (0.29+) vendors click: its commands raise its own UsageError; plain click's is accepted too.
USAGE_ERRORS = (click.UsageError, TyperUsageError)


def _parse(argv: tuple[str, ...]) -> Any:
    """Walk the real command tree like `mlcicd` would and parse strictly (unknown options, missing values fail)."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("mlcicd", list(argv), resilient_parsing=True)
    args = list(argv)
    while isinstance(command, TyperGroup):
        assert args, f"`mlcicd {' '.join(argv)}` names a group, not a command"
        name = args.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"`mlcicd {' '.join(argv)}`: no command {name!r} (has it been registered yet?)"
        command = sub
    return command.make_context(command.name or "", args, parent=ctx, resilient_parsing=False)


#: What the build environment holds when the commands run: shell variables are expanded before `mlcicd` parses.
SAMPLE_ENV = {
    "MODEL_NAME": "churn-classifier", "MODEL_VERSION": "14", "TRAIN_STARTED_MS": "1790000000000",
    "IMAGE_DIGEST": "sha256:" + "ab" * 32, "ENDPOINT_URL": "http://internal-model.eu-west-1.elb.amazonaws.com",
    "MLFLOW_TRACKING_URI": "http://tracking.internal", "MODELS_BUCKET": "artifacts-models",
    "DATA_BUCKET": "artifacts-data", "ECR_REPOSITORY_NAME": "serving-images", "CURRENT_KEY": "inference/x.parquet",
    "CODEBUILD_SRC_DIR_deployed": "/codebuild/output/src1/deployed",
}


def expand(arg: str) -> str:
    def value(match: re.Match[str]) -> str:
        assert match[1] in SAMPLE_ENV, f"unknown variable ${match[1]} in {arg!r}: add a sample value"
        return SAMPLE_ENV[match[1]]

    return re.sub(r"\$\{?(\w+)\}?", value, arg)


def _invocations() -> list[tuple[str, Mlcicd]]:
    from runtime.pipeline.jobs import batch_job, drift_job

    found = []
    for stack in STACKS:
        spec = PipelineSpec.from_config(load_stack(stack, ROOT).config, stack)
        for _, action in build_actions(delivery_stages(spec)):
            found += [(f"{stack}:{action.name}", c) for c in bs.mlcicd_invocations(action)]
    for job in (drift_job(stack="production", reference_profile_key="profiles/reference.npz",
                          inference_prefix="inference/"),
                batch_job(input_prefix="batch/input/", output_prefix="batch/output/")):
        found += [(f"job:{job.name}", c) for c in bs.mlcicd_invocations(job)]
    return found


@pytest.mark.parametrize(("where", "invocation"), _invocations(), ids=lambda x: x if isinstance(x, str) else
                         " ".join(x.argv[:2]))
def test_every_mlcicd_command_line_parses(where: str, invocation: Mlcicd) -> None:
    try:
        _parse(tuple(expand(a) for a in invocation.argv))
    except USAGE_ERRORS as exc:
        pytest.fail(f"{where}: `mlcicd {' '.join(invocation.argv)}`: {exc.format_message()}")


def test_the_parser_check_rejects_a_bad_command_line() -> None:
    with pytest.raises(USAGE_ERRORS, match="No such option"):
        _parse(("monitor", "publish-drift", "--report", "r.json", "--no-such-flag"))
    with pytest.raises(USAGE_ERRORS, match="Missing"):
        _parse(("monitor", "publish-drift"))
    with pytest.raises(AssertionError, match="no command 'nonsense'"):
        _parse(("monitor", "nonsense"))
    with pytest.raises(USAGE_ERRORS, match="valid integer"):
        _parse(("pipeline", "candidate-version", "--model", "m", "--since-ms", "$UNEXPANDED"))


def test_the_promotion_pull_request_carries_the_versions_evidence_where_the_policy_pack_reads_it() -> None:
    import posixpath

    from runtime.pipeline.steps import EVIDENCE_DIR

    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    promote = next(a for _, a in build_actions(delivery_stages(spec)) if a.name == "Promote")
    commands = [c for c in promote.commands if isinstance(c, str)]
    download = next(c for c in commands if c.startswith('aws s3 cp "s3://$MODELS_BUCKET/reports/$MODEL_NAME/'))
    # Every report, the replay page too; only the training profile (binary) stays out of git.
    assert download.endswith("--recursive --exclude training-profile.npz")
    copy = next(c for c in commands if c.startswith("mkdir -p \"promotion/evidence"))
    assert copy.endswith('cp -r "evidence/reports/$MODEL_NAME/$MODEL_VERSION" '
                         '"promotion/evidence/reports/$MODEL_NAME/"')
    add = next(c for c in commands if c.startswith("git -C promotion add"))
    assert add.endswith('"evidence/reports/$MODEL_NAME/$MODEL_VERSION"')
    assert commands.index(copy) < commands.index(add)
    # The pack resolves evidenceDir against its own directory (policy/): ../evidence is the project's evidence/.
    config = json.loads((ROOT / "policy" / "config.json").read_text())
    evidence_dir = config["production-model-has-passing-evidence"]["evidenceDir"]
    assert posixpath.normpath(posixpath.join("policy", evidence_dir)) == EVIDENCE_DIR
