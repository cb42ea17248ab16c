"""TrackingServer: MLflow's secure defaults, asserted on the recorded inputs of real stack files (and fixtures).

Self-hosted: `staging`, and production self-hosting explicitly (`PRODUCTION_SELF_HOSTED`: basic auth behind HTTPS,
the production protections), plus overrides for OIDC. SageMaker: `tests/fixtures/Pulumi.sagemaker.yaml`.
External: the real `production`, which runs no server and uses staging's.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from components.aws_common import ecr_repository_arn
from components.tracking.self_hosted import server_command
from components.tracking.tracking_server import TYPE
from runtime.config import ConfigError, validate_config
from runtime.graph import MOCK_ACCOUNT, MOCK_VPC_CIDR, Graph, Resource
from runtime.local.processes import ManagedProcess, free_port
from tests.harness import PRODUCTION_SELF_HOSTED, graph, policy, stack_config

TRACKING_IMAGE = ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlflow-server:3.17.2@sha256:"
                  "9b2e6c1d4a7f0e3b8c5d2a9f6e1b4c7d0a3e6f9b2c5d8e1a4b7c0d3e6f9a2b5c")
KEY_ARN = f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:key/artifacts-key-key-id"
DB_SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:{MOCK_ACCOUNT}:secret:rds!tracking-db-AbCdEf"
ADMIN_SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:{MOCK_ACCOUNT}:secret:tracking-admin-AbCdEf"
#: What the mocked `aws.secretsmanager.get_random_password` returns (runtime/graph_mocks.py): it must never surface.
GENERATED_PASSWORD = "mock-random-password"
OIDC_SECRET = "oidc-client-secret-value-7f3a9c"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
OIDC = {"auth": {"mode": "oidc", "oidc": {
    "issuer": "https://login.example.com", "authorizationEndpoint": "https://login.example.com/authorize",
    "tokenEndpoint": "https://login.example.com/token", "userInfoEndpoint": "https://login.example.com/userinfo",
    "clientId": "mlflow", "clientSecret": OIDC_SECRET}}, "certificateArn": CERT}
#: MLflow users of the pipeline stages that talk to MLflow (self-hosted, basic auth), one secret each.
STAGE_USERS = ("pipeline-loadtest", "pipeline-modelgate", "pipeline-package", "pipeline-promote", "pipeline-smoke",
               "pipeline-train")
#: `Resource: "*"` allowed only here, each because AWS offers no resource-level permission for the action.
STAR_ALLOWED = {"EcrLogin": "ecr:GetAuthorizationToken has no resource-level permissions"}


def oidc_graph() -> Graph:
    return graph("staging", {"tracking": {"selfHosted": OIDC}})


def hosted_production(hosted: dict[str, Any] | None = None) -> Graph:
    """Production keeping its own self-hosted MLflow (`selfHosted` keys in `hosted` added), as before it used
    staging's: the production protections are asserted on it."""
    tracking = {**PRODUCTION_SELF_HOSTED, "selfHosted": {**PRODUCTION_SELF_HOSTED["selfHosted"], **(hosted or {})}}
    return graph("production", {"tracking": tracking})


def stack_graph(which: str) -> Graph:
    """`production`: self-hosting (`hosted_production`); `oidc`: staging behind OIDC; else the stack file's graph."""
    if which == "production":
        return hosted_production()
    return oidc_graph() if which == "oidc" else graph(which)


def _tracking(g: Graph) -> Resource:
    return g.one(TYPE)


def _descendants(g: Graph, root: Resource) -> list[Resource]:
    out, frontier = [], [root]
    while frontier:
        node = frontier.pop()
        kids = g.children(node)
        out += kids
        frontier += kids
    return out


def _mine(g: Graph, type_token: str) -> list[Resource]:
    return [r for r in _descendants(g, _tracking(g)) if r.type == type_token]


def _container(g: Graph) -> dict[str, Any]:
    (task,) = _mine(g, "aws:ecs/taskDefinition:TaskDefinition")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    return container


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def _walk_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return list(value) + [k2 for v in value.values() for k2 in _walk_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _walk_keys(v)]
    return []


# Image and container ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_image_pinned_by_digest(stack: str) -> None:
    image = _container(stack_graph(stack))["image"]
    assert image == TRACKING_IMAGE
    assert re.search(r"@sha256:[0-9a-f]{64}$", image)


def test_container_is_hardened(staging: Graph) -> None:
    c = _container(staging)
    assert c["readonlyRootFilesystem"] is True
    assert c["privileged"] is False
    assert c["user"] == "10001:10001"
    assert c["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert c["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]
    assert "/health" in " ".join(c["healthCheck"]["command"])


def test_tasks_in_private_subnets_without_public_ip(staging: Graph) -> None:
    (service,) = _mine(staging, "aws:ecs/service:Service")
    net = service.inputs["networkConfiguration"]
    assert net["assignPublicIp"] is False
    assert net["subnets"] == stack_config("staging")["network"]["privateSubnetIds"]
    assert service.inputs["enableExecuteCommand"] is False
    assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_cluster_has_container_insights(staging: Graph) -> None:
    (cluster,) = _mine(staging, "aws:ecs/cluster:Cluster")
    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": "enabled"}]


# Authentication ---------------------------------------------------------------------------------------------
def _listener_is_authenticated(listener: Resource, container: dict[str, Any]) -> bool:
    """Redirect only, OIDC then forward, or a forward to a server that runs MLflow's basic-auth app."""
    actions = sorted(listener.inputs["defaultActions"], key=lambda a: a.get("order", 0))
    kinds = [a["type"] for a in actions]
    if kinds == ["redirect"]:
        return actions[0]["redirect"]["protocol"] == "HTTPS"
    if kinds == ["authenticate-oidc", "forward"]:
        return actions[0]["authenticateOidc"]["onUnauthenticatedRequest"] == "authenticate"
    if kinds == ["forward"]:
        return "--app-name basic-auth" in " ".join(container["command"])
    return False


@pytest.mark.parametrize("which", ["staging", "production", "oidc"])
def test_mlflow_never_reachable_without_authentication(which: str) -> None:
    g = stack_graph(which)
    listeners = _mine(g, "aws:lb/listener:Listener")
    assert listeners
    container = _container(g)
    for listener in listeners:
        assert _listener_is_authenticated(listener, container), listener.inputs["defaultActions"]


def test_basic_auth_app_and_admin_secret_injected(staging: Graph) -> None:
    c = _container(staging)
    assert c["command"][:2] == ["sh", "-c"]
    assert "exec mlflow server --app-name basic-auth" in c["command"][2]
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert secrets["MLFLOW_AUTH_ADMIN_PASSWORD"] == f"{ADMIN_SECRET_ARN}:password::"
    assert secrets["MLFLOW_FLASK_SERVER_SECRET_KEY"] == f"{ADMIN_SECRET_ARN}:flaskSecretKey::"
    env = _env(c)
    assert env["MLFLOW_AUTH_ADMIN_USERNAME"] == "admin"
    # The auth app keeps its users in the same PostgreSQL database (its own tables), not in the container.
    assert f"database_uri = {env['MLFLOW_BACKEND_STORE_URI']}" in env["MLCICD_AUTH_INI"]
    assert staging.outputs["trackingAdminSecretArn"] == ADMIN_SECRET_ARN


def test_oidc_authenticates_before_forwarding_behind_https() -> None:
    g = oidc_graph()
    listeners = {r.inputs["port"]: r for r in _mine(g, "aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    https = listeners[443].inputs
    assert https["protocol"] == "HTTPS"
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    oidc, forward = sorted(https["defaultActions"], key=lambda a: a["order"])
    assert oidc["type"] == "authenticate-oidc"
    assert forward["type"] == "forward"
    assert oidc["authenticateOidc"]["clientSecret"] == "[secret]"
    assert oidc["authenticateOidc"]["issuer"] == "https://login.example.com"
    # The ALB authenticates; the server runs without the basic-auth app and no admin secret exists.
    assert "basic-auth" not in " ".join(_container(g)["command"])
    assert _mine(g, "aws:secretsmanager/secret:Secret") == []
    assert "trackingAdminSecretArn" not in g.outputs


def test_https_listener_uses_tls13_and_port_80_only_redirects() -> None:
    production = hosted_production()
    listeners = {r.inputs["port"]: r.inputs for r in _mine(production, "aws:lb/listener:Listener")}
    assert listeners[443]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    assert listeners[443]["certificateArn"] == CERT
    assert [a["type"] for a in listeners[80]["defaultActions"]] == ["redirect"]
    assert production.outputs["trackingUri"].startswith("https://")


@pytest.mark.parametrize(("which", "hostname"), [("staging", "mlflow.ml.example.com"),
                                                  ("production", "mlflow-production.ml.example.com")])
def test_tracking_uri_and_allowed_host_follow_the_hostname(which: str, hostname: str) -> None:
    """The URI names the certificate's host, never the load balancer's own DNS name (no certificate covers it);
    that name is exported for the DNS record."""
    g = stack_graph(which)
    assert g.outputs["trackingUri"] == f"https://{hostname}"
    assert g.outputs["trackingLoadBalancerDnsName"] == "tracking-alb.eu-west-1.elb.amazonaws.com"
    allowed = _env(_container(g))["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert allowed == ["tracking-alb.eu-west-1.elb.amazonaws.com", "tracking-alb.eu-west-1.elb.amazonaws.com:*",
                       hostname]


def test_load_balancer_dns_name_exported_by_self_hosted_only() -> None:
    assert "trackingLoadBalancerDnsName" not in graph("sagemaker").outputs
    assert "trackingLoadBalancerDnsName" not in graph("production").outputs


# Load balancer ---------------------------------------------------------------------------------------------
def test_alb_internal_drops_invalid_headers_and_logs(staging: Graph) -> None:
    (alb,) = _mine(staging, "aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is True
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["accessLogs"] == {"bucket": "artifacts-logs", "enabled": True, "prefix": "alb"}


def test_alb_ingress_only_from_vpc_or_configured_sources(staging: Graph) -> None:
    rules = [r for r in _mine(staging, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == "tracking-alb-id"]
    # 443 serves, 80 only redirects to it: credentials never cross plain HTTP.
    assert sorted((r.inputs["cidrIpv4"], r.inputs["fromPort"]) for r in rules) == [(MOCK_VPC_CIDR, 80),
                                                                                   (MOCK_VPC_CIDR, 443)]
    g = graph("staging", {"tracking": {"selfHosted": {"ingressCidrs": ["10.20.0.0/16"],
                                                      "ingressSecurityGroupIds": ["sg-0123456789abcdef0"]}}})
    sources = {(r.inputs.get("cidrIpv4") or r.inputs["referencedSecurityGroupId"])
               for r in _mine(g, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == "tracking-alb-id"}
    assert sources == {"10.20.0.0/16", "sg-0123456789abcdef0"}


def test_database_reachable_only_from_tracking_tasks(staging: Graph) -> None:
    (db,) = _mine(staging, "aws:rds/instance:Instance")
    (db_sg,) = db.inputs["vpcSecurityGroupIds"]
    rules = [r.inputs for r in _mine(staging, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == db_sg]
    assert rules == [{"fromPort": 5432, "toPort": 5432, "ipProtocol": "tcp", "securityGroupId": db_sg,
                      "referencedSecurityGroupId": "tracking-task-id", "description": "the MLflow tasks only"}]


# Database ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_rds_encrypted_private_with_managed_password(stack: str) -> None:
    (db,) = _mine(stack_graph(stack), "aws:rds/instance:Instance")
    i = db.inputs
    assert i["storageEncrypted"] is True
    assert i["kmsKeyId"] == KEY_ARN
    assert i["manageMasterUserPassword"] is True
    assert i["masterUserSecretKmsKeyId"] == KEY_ARN
    assert i["publiclyAccessible"] is False
    assert i["backupRetentionPeriod"] >= 7
    assert "password" not in i
    assert "passwordWo" not in i


@pytest.mark.parametrize("stack", ["staging", "production", "sagemaker", "external"])
def test_no_password_input_anywhere_in_the_graph(stack: str) -> None:
    g = graph("production") if stack == "external" else stack_graph(stack)
    for r in g.resources:
        keys = {k.lower() for k in _walk_keys(r.inputs)}
        assert not keys & {"password", "passwordwo", "masterpassword", "secretstring"}, r.name
    assert GENERATED_PASSWORD not in g.to_json()


def test_admin_password_generated_write_only_and_secret(staging: Graph) -> None:
    versions = {v.inputs["secretId"]: v.inputs
                for v in _mine(staging, "aws:secretsmanager/secretVersion:SecretVersion")}
    assert versions["tracking-admin-id"] == {"secretId": "tracking-admin-id", "secretStringWo": "[secret]",
                                             "secretStringWoVersion": 1}
    # The pipeline stages' MLflow users get theirs the same way (write-only, secret, version 1).
    for stage in STAGE_USERS:
        assert versions[f"tracking-user-{stage}-id"]["secretStringWo"] == "[secret]"
    for secret in _mine(staging, "aws:secretsmanager/secret:Secret"):
        assert secret.inputs["kmsKeyId"] == KEY_ARN
    assert GENERATED_PASSWORD not in staging.to_json()


def test_config_secret_never_plain_in_the_graph() -> None:
    g = oidc_graph()
    assert OIDC_SECRET not in g.to_json()
    assert OIDC_SECRET not in json.dumps(g.outputs)


def test_database_credentials_injected_as_ecs_secrets(staging: Graph) -> None:
    c = _container(staging)
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert secrets["PGUSER"] == f"{DB_SECRET_ARN}:username::"
    assert secrets["PGPASSWORD"] == f"{DB_SECRET_ARN}:password::"
    uri = _env(c)["MLFLOW_BACKEND_STORE_URI"]
    assert uri == "postgresql://tracking-db.mock.eu-west-1.rds.amazonaws.com:5432/mlflow?sslmode=require"
    assert "@" not in uri  # no credentials in the URI: libpq reads PGUSER/PGPASSWORD


def test_production_protections_and_the_one_staging_turns_on(staging: Graph) -> None:
    production = hosted_production()
    (prod,) = _mine(production, "aws:rds/instance:Instance")
    (stag,) = _mine(staging, "aws:rds/instance:Instance")
    assert prod.inputs["deletionProtection"] is True
    assert prod.inputs["skipFinalSnapshot"] is False
    assert prod.inputs["finalSnapshotIdentifier"] == "production-tracking-final"
    assert prod.inputs["multiAz"] is True
    assert prod.protect is True
    # Staging's database holds the registry of production's versions: Pulumi.staging.yaml turns deletion
    # protection on (with it, a final snapshot); the other production settings stay off.
    assert stag.inputs["deletionProtection"] is True
    assert stag.inputs["skipFinalSnapshot"] is False
    assert stag.inputs["finalSnapshotIdentifier"] == "staging-tracking-final"
    assert stag.inputs["multiAz"] is False
    assert stag.protect is False
    (prod_alb,) = _mine(production, "aws:lb/loadBalancer:LoadBalancer")
    (stag_alb,) = _mine(staging, "aws:lb/loadBalancer:LoadBalancer")
    assert prod_alb.inputs["enableDeletionProtection"] is True
    assert stag_alb.inputs["enableDeletionProtection"] is False


def test_database_settings_from_config() -> None:
    (db,) = _mine(hosted_production(), "aws:rds/instance:Instance")
    assert (db.inputs["instanceClass"], db.inputs["allocatedStorage"], db.inputs["backupRetentionPeriod"]) == (
        "db.t4g.medium", 100, 14)


# IAM -----------------------------------------------------------------------------------------------------------
def _assert_scoped(doc: dict[str, Any]) -> None:
    own = ("arn:aws:s3:::artifacts-models", f"arn:aws:kms:eu-west-1:{MOCK_ACCOUNT}:",
           f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:log-group:tracking-", f"arn:aws:secretsmanager:eu-west-1:"
           f"{MOCK_ACCOUNT}:secret:", f"arn:aws:ecr:eu-west-1:{MOCK_ACCOUNT}:repository/mlflow-server",
           f"arn:aws:sagemaker:eu-west-1:{MOCK_ACCOUNT}:model-package")
    for statement in doc["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement
        for resource in statement["Resource"]:
            if resource == "*":
                assert statement["Sid"] in STAR_ALLOWED, statement
            else:
                assert resource.startswith(own), resource


@pytest.mark.parametrize("stack", ["staging", "production", "sagemaker"])
def test_roles_scoped_to_stack_resources(stack: str) -> None:
    g = stack_graph(stack)
    policies = _mine(g, "aws:iam/rolePolicy:RolePolicy")
    assert policies
    for p in policies:
        _assert_scoped(policy(p))


def test_task_role_reaches_only_the_artifact_prefix(staging: Graph) -> None:
    (task_policy,) = [p for p in _mine(staging, "aws:iam/rolePolicy:RolePolicy") if p.name == "tracking-task-artifacts"]
    statements = {s["Sid"]: s for s in policy(task_policy)["Statement"]}
    assert statements["ReadWriteArtifacts"]["Resource"] == ["arn:aws:s3:::artifacts-models/mlflow/*"]
    assert statements["ListArtifactPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["mlflow/", "mlflow/*"]}}
    assert statements["UseBucketKeyViaS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    env = _env(_container(staging))
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://artifacts-models/mlflow"


def test_execution_role_reads_only_the_injected_secrets(staging: Graph) -> None:
    (execution,) = [p for p in _mine(staging, "aws:iam/rolePolicy:RolePolicy") if p.name == "tracking-execution-policy"]
    statements = {s["Sid"]: s for s in policy(execution)["Statement"]}
    users = [f"arn:aws:secretsmanager:eu-west-1:{MOCK_ACCOUNT}:secret:tracking-user-{u}-AbCdEf" for u in STAGE_USERS]
    assert statements["ReadInjectedSecrets"]["Resource"] == sorted([DB_SECRET_ARN, ADMIN_SECRET_ARN, *users])
    assert statements["PullImage"]["Resource"] == [ecr_repository_arn(TRACKING_IMAGE, "aws")]


def test_trust_policies_pinned_to_the_account(staging: Graph) -> None:
    for role in _mine(staging, "aws:iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}}


# SageMaker ---------------------------------------------------------------------------------------------------
def test_sagemaker_server_from_config() -> None:
    g = graph("sagemaker")
    (server,) = _mine(g, "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    assert server.inputs["artifactStoreUri"] == "s3://artifacts-models/mlflow"
    assert server.inputs["trackingServerName"] == "ml-cicd-sagemaker-tracking"
    assert (server.inputs["trackingServerSize"], server.inputs["mlflowVersion"],
            server.inputs["automaticModelRegistration"], server.inputs["weeklyMaintenanceWindowStart"]) == (
        "Small", "3.0", True, "Tue:03:30")
    (role,) = _mine(g, "aws:iam/role:Role")
    assert server.inputs["roleArn"] == f"arn:aws:iam::{MOCK_ACCOUNT}:role/{role.name}"
    assert g.outputs["trackingUri"] == "https://tracking-server.mlflow.sagemaker.eu-west-1.app.aws"
    # No self-hosted pieces in this mode.
    assert _mine(g, "aws:rds/instance:Instance") == []
    assert _mine(g, "aws:lb/loadBalancer:LoadBalancer") == []


def test_sagemaker_role_scoped_to_prefix_and_registry() -> None:
    (p,) = _mine(graph("sagemaker"), "aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in policy(p)["Statement"]}
    assert statements["ReadWriteArtifacts"]["Resource"] == ["arn:aws:s3:::artifacts-models/mlflow/*"]
    assert statements["MirrorRegisteredModels"]["Resource"] == [
        f"arn:aws:sagemaker:eu-west-1:{MOCK_ACCOUNT}:model-package-group/*",
        f"arn:aws:sagemaker:eu-west-1:{MOCK_ACCOUNT}:model-package/*"]
    assert not any(a.startswith("s3:") and a.endswith("*") for s in statements.values() for a in s["Action"])


def test_sagemaker_without_registration_gets_no_registry_permissions() -> None:
    g = graph("sagemaker", {"tracking": {"sagemaker": {"automaticModelRegistration": False}}})
    (p,) = _mine(g, "aws:iam/rolePolicy:RolePolicy")
    assert {s["Sid"] for s in policy(p)["Statement"]} == {"ListArtifactPrefix", "ReadWriteArtifacts",
                                                          "UseBucketKeyViaS3"}


# External (production uses staging's MLflow) -------------------------------------------------------------------
STAGING_MLFLOW = "https://mlflow.ml.example.com"


def test_production_uses_stagings_tracking_uri() -> None:
    assert graph("staging").outputs["trackingUri"] == STAGING_MLFLOW


def test_external_mode_creates_nothing_and_exports_the_uri(production: Graph) -> None:
    assert stack_config("production")["tracking"] == {"mode": "external", "external": {"uri": STAGING_MLFLOW}}
    assert production.of_type(TYPE) == []
    assert not [r for r in production.resources if r.name.startswith("tracking")]
    assert production.of_type("aws:rds/instance:Instance") == []
    # The export commands read stays, with the configured URI; the other modes' exports do not exist.
    assert production.outputs["trackingUri"] == STAGING_MLFLOW
    assert "trackingAdminSecretArn" not in production.outputs
    assert "trackingServerArn" not in production.outputs


def test_external_mode_changes_only_the_tracking_server(production: Graph) -> None:
    """Self-hosting or not, production's other resources and exports are the same, input for input."""
    hosted = hosted_production()
    server = _tracking(hosted)
    tracking = {server.urn, *(r.urn for r in _descendants(hosted, server))}
    assert len(tracking) == 27
    assert [r for r in hosted.resources if r.urn not in tracking] == production.resources
    own = ("trackingUri", "trackingAdminSecretArn", "trackingLoadBalancerDnsName")
    assert {k: v for k, v in hosted.outputs.items() if k not in own} == {
        k: v for k, v in production.outputs.items() if k != "trackingUri"}


def test_external_mode_keeps_no_production_tracking_advice() -> None:
    loaded = validate_config(stack_config("production"), "test")
    assert loaded.config.tracking.mode == "external"
    assert not [a for a in loaded.advice if a.path.startswith("tracking")]


def _production_problems(tracking: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate_config(stack_config("production", {"tracking": tracking}), "test")
    return {p.path: p.render() for p in caught.value.problems}


def test_external_mode_is_refused_in_the_stack_hosting_the_pipeline() -> None:
    problems = _problems({"tracking": {"mode": "external", "selfHosted": None, "external": {"uri": STAGING_MLFLOW}}})
    assert problems == {"tracking.mode": (
        "ml-cicd:tracking.mode = 'external': this stack hosts the pipeline, whose actions train, register, gate and "
        "promote in this stack's own MLflow (as its stage users, or with IAM on its SageMaker server): set `mode: "
        "self-hosted` or `mode: sagemaker` here, and use `external` in the stacks the pipeline promotes to")}


def test_external_mode_needs_its_section() -> None:
    assert _production_problems({"external": None}) == {"tracking.external": (
        "ml-cicd:tracking.external: mode `external` requires `external: {uri: https://...}`, the URL of the "
        "pipeline stack's MLflow (`pulumi stack output trackingUri --stack <that stack>`)")}


@pytest.mark.parametrize("uri", ["http://mlflow.example.com", "sqlite:///mlflow.db", "https://", "mlflow.example.com",
                                 "https://mlflow.example.com/ x", "https://[::1"])
def test_external_uri_must_be_https(uri: str) -> None:
    assert _production_problems({"external": {"uri": uri}}) == {"tracking.external.uri": (
        f"ml-cicd:tracking.external.uri = {uri!r}: must be an `https://` URL: the pipeline stack's MLflow serves "
        "HTTPS only, and MLflow credentials never travel over plain HTTP. Copy `pulumi stack output trackingUri "
        "--stack <that stack>`")}


def test_external_uri_naming_a_load_balancer_is_an_error() -> None:
    uri = "https://internal-tracking-alb-4e1f0a2-1234567890.eu-west-1.elb.amazonaws.com"
    assert _production_problems({"external": {"uri": uri}}) == {"tracking.external.uri": (
        f"ml-cicd:tracking.external.uri = {uri!r}: names the pipeline stack's load balancer by its own DNS name, "
        "which no ACM certificate can cover: every MLflow client would fail TLS verification. Use "
        "`https://<its tracking.selfHosted.hostname>` (its `trackingUri` output once it sets one)")}


def test_external_section_and_the_other_modes_sections_only_with_their_mode() -> None:
    assert _production_problems({"mode": "sagemaker"}) == {
        "tracking.external": "ml-cicd:tracking.external: is only used with `mode: external`; remove it or change "
                             "`mode`"}
    assert _production_problems({"selfHosted": PRODUCTION_SELF_HOSTED["selfHosted"]}) == {
        "tracking.selfHosted": "ml-cicd:tracking.selfHosted: is only used with `mode: self-hosted`; remove it or "
                               "change `mode`"}
    assert _production_problems({"sagemaker": {"serverSize": "Small"}}) == {
        "tracking.sagemaker": "ml-cicd:tracking.sagemaker: is only used with `mode: sagemaker`; remove it or change "
                              "`mode`"}
    assert _production_problems({"artifactPrefix": "registry/"}) == {"tracking.artifactPrefix": (
        "ml-cicd:tracking.artifactPrefix = 'registry/': places the artifacts of a server this stack runs, and mode "
        "`external` runs none: remove it (the pipeline stack's `tracking.artifactPrefix` applies)")}


# Pure helpers ------------------------------------------------------------------------------------------------
def test_server_command() -> None:
    basic = server_command("basic", 2)
    assert basic[:2] == ["sh", "-c"]
    assert basic[2].startswith('printf "%s\\n" "$MLCICD_AUTH_INI" > ')
    assert basic[2].endswith("exec mlflow server --app-name basic-auth --host 0.0.0.0 --port 5000 --workers 2 "
                             "--serve-artifacts")
    assert server_command("oidc", 1) == ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000", "--workers",
                                         "1", "--serve-artifacts"]


def test_ecr_repository_arn() -> None:
    assert ecr_repository_arn(TRACKING_IMAGE, "aws") == "arn:aws:ecr:eu-west-1:123456789012:repository/mlflow-server"
    china = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/mlflow-server:3@sha256:" + "0" * 64
    assert ecr_repository_arn(china, "aws-cn") == "arn:aws-cn:ecr:cn-north-1:123456789012:repository/mlflow-server"
    assert ecr_repository_arn("ghcr.io/mlflow/mlflow:v3.1.0@sha256:" + "0" * 64, "aws") is None


# Bad config --------------------------------------------------------------------------------------------------
def _problems(overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate_config(stack_config("staging", overrides), "test")
    return {p.path: p.render() for p in caught.value.problems}


def test_oidc_without_certificate_is_an_error() -> None:
    problems = _problems({"tracking": {"selfHosted": {**OIDC, "certificateArn": None}}})
    assert set(problems) == {"tracking.selfHosted.certificateArn"}
    assert problems["tracking.selfHosted.certificateArn"].startswith(
        "ml-cicd:tracking.selfHosted.certificateArn: is required: OIDC puts session cookies and tokens on the wire")


def test_basic_auth_without_certificate_is_an_error_naming_key_and_fix() -> None:
    """Credentials never travel over plain HTTP: basic auth needs the HTTPS listener too."""
    problems = _problems({"tracking": {"selfHosted": {"certificateArn": None}}})
    assert set(problems) == {"tracking.selfHosted.certificateArn"}
    message = problems["tracking.selfHosted.certificateArn"]
    assert "basic auth sends the MLflow username and password with every request" in message
    assert "Set an ACM certificate ARN of the stack's region" in message


#: Why a self-hosted server needs a hostname, and the fix, as the config says it.
HOSTNAME_WHY_AND_FIX = (
    "the load balancer serves HTTPS, and no ACM certificate can cover its own DNS name (`*.elb.amazonaws.com`), so "
    "every MLflow client would fail TLS verification on it. {verb} the DNS name your certificate covers (e.g. "
    "`mlflow.ml.example.com`), and create a DNS record (Route 53 alias or CNAME) pointing it at the load balancer, "
    "`pulumi stack output trackingLoadBalancerDnsName`")


@pytest.mark.parametrize("auth", [{}, OIDC])
def test_hostname_is_required_naming_key_why_and_fix(auth: dict[str, Any]) -> None:
    problems = _problems({"tracking": {"selfHosted": {**auth, "hostname": None}}})
    assert problems == {"tracking.selfHosted.hostname": (
        "ml-cicd:tracking.selfHosted.hostname: is required: " + HOSTNAME_WHY_AND_FIX.format(verb="Set"))}


def test_hostname_must_not_be_the_load_balancers_own_name() -> None:
    name = "internal-tracking-alb-4e1f0a2-1234567890.eu-west-1.elb.amazonaws.com"
    problems = _problems({"tracking": {"selfHosted": {"hostname": name}}})
    assert problems == {"tracking.selfHosted.hostname": (
        f"ml-cicd:tracking.selfHosted.hostname = {name!r}: is the load balancer's own DNS name: "
        + HOSTNAME_WHY_AND_FIX.format(verb="Use"))}


def test_certificate_of_another_region_is_an_error() -> None:
    other = CERT.replace("eu-west-1", "us-east-1")
    problems = _problems({"tracking": {"selfHosted": {"certificateArn": other}}})
    assert problems["tracking.selfHosted.certificateArn"].endswith(
        "is a certificate of region us-east-1; the load balancer is in eu-west-1 and can only use a certificate of "
        "its own region (import or request it there)")


@pytest.mark.parametrize(("version", "ok"), [("16", True), ("17", True), ("16.4", False), ("latest", False)])
def test_database_engine_pins_the_major_only(version: str, ok: bool) -> None:
    """Minor upgrades are automatic: a pinned minor would make `pulumi up` try a downgrade after AWS upgraded it."""
    overrides = {"tracking": {"selfHosted": {"database": {"engineVersion": version}}}}
    if ok:
        (db,) = _mine(graph("staging", overrides), "aws:rds/instance:Instance")
        assert (db.inputs["engineVersion"], db.inputs["autoMinorVersionUpgrade"]) == (version, True)
        return
    message = _problems(overrides)["tracking.selfHosted.database.engineVersion"]
    assert "give the major version only" in message
    assert "(`16`)" in message if version == "16.4" else "e.g. `16`" in message


def test_oidc_mode_without_provider_settings_is_an_error() -> None:
    problems = _problems({"tracking": {"selfHosted": {"auth": {"mode": "oidc"}, "certificateArn": CERT}}})
    assert set(problems) == {"tracking.selfHosted.auth.oidc"}


def test_self_hosted_without_image_is_an_error() -> None:
    problems = _problems({"tracking": {"selfHosted": None}})
    assert set(problems) == {"tracking.selfHosted"}


def test_unpinned_tracking_image_is_an_error() -> None:
    problems = _problems({"tracking": {"selfHosted": {"image": "ghcr.io/mlflow/mlflow:v3.1.0"}}})
    assert set(problems) == {"tracking.selfHosted.image"}


def test_sections_of_the_other_mode_are_errors() -> None:
    assert set(_problems({"tracking": {"sagemaker": {"serverSize": "Small"}}})) == {"tracking.sagemaker"}
    assert set(_problems({"tracking": {"mode": "sagemaker"}})) == {"tracking.selfHosted"}
    assert set(_problems({"tracking": {"selfHosted": {"auth": {"oidc": OIDC["auth"]["oidc"]}}}})) == {
        "tracking.selfHosted.auth.oidc"}


def test_short_backups_are_an_error() -> None:
    problems = _problems({"tracking": {"selfHosted": {"database": {"backupRetentionDays": 3}}}})
    assert set(problems) == {"tracking.selfHosted.database.backupRetentionDays"}


# The deployed command, run for real ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The staging container's exact command and environment, with only what needs AWS swapped for local stand-ins
    (sqlite for PostgreSQL, a directory for S3, loopback and a free port, one worker): ECS's secret injection
    becomes plain environment variables here."""
    work = tmp_path_factory.mktemp("tracking")
    container = _container(graph("staging"))
    env = _env(container)
    store = f"sqlite:///{work / 'mlflow.db'}"
    port = free_port()
    env.update({
        "HOME": str(work), "MLFLOW_AUTH_CONFIG_PATH": str(work / "basic_auth.ini"),
        "MLFLOW_BACKEND_STORE_URI": store, "MLFLOW_ARTIFACTS_DESTINATION": str(work / "artifacts"),
        "MLCICD_AUTH_INI": env["MLCICD_AUTH_INI"].replace(env["MLFLOW_BACKEND_STORE_URI"], store),
        "MLFLOW_AUTH_ADMIN_PASSWORD": "admin-password-for-this-test",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "flask-secret-key-for-this-test",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    })
    # The stage users' passwords, injected by ECS from their secrets in the task.
    env.update({s["name"]: f"{s['name'].lower()}-for-this-test" for s in container["secrets"]
                if s["name"].startswith("MLCICD_STAGE_PASSWORD_")})
    shell, flag, script = container["command"]
    command = [shell, flag, script.replace("--host 0.0.0.0 --port 5000 --workers 2",
                                           f"--host 127.0.0.1 --port {port} --workers 1")]
    assert f"--port {port}" in command[2]
    server = ManagedProcess("mlflow server (basic auth)", command, port, work / "server.log", env=env).start()
    try:
        server.wait_ready("/health", 90)
        yield server.url, env["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")[0], env
    finally:
        server.stop()


@pytest.mark.slow
def test_deployed_command_refuses_unauthenticated_requests(basic_auth_server: tuple[str, str, dict[str, str]]) -> None:
    url, alb_host, env = basic_auth_server
    search = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
    host = {"Host": alb_host}
    assert httpx.get(f"{url}/health", headers=host, timeout=5).status_code == 200  # the ALB health check
    assert httpx.get(search, headers=host, timeout=5).status_code == 401
    assert httpx.get(search, headers=host, auth=("admin", "wrong-password-123"), timeout=5).status_code == 401
    admin = (env["MLFLOW_AUTH_ADMIN_USERNAME"], env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    assert httpx.get(search, headers=host, auth=admin, timeout=5).status_code == 200
    # Any Host but the load balancer's (or the configured hostname) is refused: no DNS rebinding.
    assert httpx.get(search, headers={"Host": "attacker.example.com"}, auth=admin, timeout=5).status_code == 403


@pytest.mark.slow
def test_each_stage_has_its_own_mlflow_user_with_least_permission(
        basic_auth_server: tuple[str, str, dict[str, str]]) -> None:
    """The server task created the stage users at start (the deployed command, for real): Train and ModelGate may
    write the stack's registered model, Package and Promote only read, none is an admin, the admin is none of them."""
    url, alb_host, env = basic_auth_server
    users = {u["username"]: (u["username"], env[u["passwordEnv"]]) for u in json.loads(env["MLCICD_STAGE_USERS"])}
    assert sorted(users) == list(STAGE_USERS)
    admin = (env["MLFLOW_AUTH_ADMIN_USERNAME"], env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    model = "churn-classifier"

    def call(auth: tuple[str, str], method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.request(method, f"{url}/api/2.0/mlflow/{path}", json=body, auth=auth,
                             headers={"Host": alb_host}, timeout=10)

    # The registry already has the model (created by a person): Train still registers new versions of it.
    assert call(admin, "POST", "registered-models/create", {"name": model}).status_code == 200
    experiment = call(users["pipeline-train"], "POST", "experiments/create", {"name": "churn-pipeline"})
    assert experiment.status_code == 200, experiment.text
    run = call(users["pipeline-train"], "POST", "runs/create", {"experiment_id": experiment.json()["experiment_id"]})
    assert run.status_code == 200, run.text
    run_id = run.json()["run"]["info"]["run_id"]
    version = call(users["pipeline-train"], "POST", "model-versions/create",
                   {"name": model, "source": f"runs:/{run_id}/model", "run_id": run_id})
    assert version.status_code == 200, version.text
    number = version.json()["model_version"]["version"]
    tag = {"name": model, "version": number, "key": "mlcicd.gate.verdict", "value": "PASS"}
    alias = {"name": model, "alias": "candidate", "version": number}
    assert call(users["pipeline-modelgate"], "POST", "model-versions/set-tag", tag).status_code == 200
    assert call(users["pipeline-modelgate"], "POST", "registered-models/alias", alias).status_code == 200
    for reader in ("pipeline-package", "pipeline-smoke", "pipeline-loadtest", "pipeline-promote"):
        got = call(users[reader], "GET", f"model-versions/get?name={model}&version={number}")
        assert got.status_code == 200, got.text
        assert call(users[reader], "POST", "model-versions/set-tag", tag).status_code == 403
        assert call(users[reader], "POST", "registered-models/alias", alias).status_code == 403
    # No stage user may administer users, and a wrong password is refused.
    for username, auth in users.items():
        created = httpx.post(f"{url}/api/2.0/mlflow/users/create", json={"username": f"x-{username}",
                             "password": "another-password-0123"}, auth=auth, headers={"Host": alb_host}, timeout=10)
        assert created.status_code == 403, (username, created.text)
        assert call((username, "wrong-password-0123"), "GET", "experiments/search?max_results=1").status_code == 401
