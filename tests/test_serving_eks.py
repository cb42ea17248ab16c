"""ModelService on EKS: Argo Rollouts with the canary judge, asserted on the recorded inputs of the `eks` fixture
stack (`tests/fixtures/Pulumi.eks.yaml`: staging on an existing cluster)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.serving.eks_specs import canary_steps, k8s_name, kubeconfig
from runtime.config import ConfigError, validate_config
from runtime.config.platform import EksConfig
from runtime.graph import MOCK_ACCOUNT, Graph, Resource
from runtime.serving import command as serving
from tests.harness import PIPELINE_REPOSITORY, graph, policy, stack_config

APP = "churn-classifier"
NAMESPACE = "churn-serving"
IMAGE = (f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{PIPELINE_REPOSITORY}@sha256:"
         "4c1f9d2a7b3e8f6051c2d9e7a8b4f3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6")
JUDGE_IMAGE = ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlcicd-runtime:0.1.0@sha256:"
               "2f7c4e9a1b6d3f8e0c5a2d7b4e9f1c6a3d8b5e0f7a2c9d4b1e6f3a8c5d0b7e2f")
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
ANALYSIS = "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate"
#: `Resource: "*"` allowed only here, each because AWS offers no resource-level permission for the actions.
STAR_ALLOWED = {"ReadCanaryMetrics": "CloudWatch GetMetricData/GetMetricStatistics/ListMetrics",
                "PublishProbeMetrics": "CloudWatch PutMetricData, scoped by the cloudwatch:namespace condition"}
STABLE_URL = f"http://{APP}.{NAMESPACE}.svc.cluster.local"
CANARY_URL = f"http://{APP}-canary.{NAMESPACE}.svc.cluster.local"


@pytest.fixture(scope="module")
def eks() -> Graph:
    return graph("eks")


def _k8s(g: Graph) -> list[Resource]:
    return [r for r in g.resources if r.type.startswith("kubernetes:")]


def _rollout(g: Graph) -> dict[str, Any]:
    return g.one(ROLLOUT).inputs


def _pod_spec(g: Graph) -> dict[str, Any]:
    return _rollout(g)["spec"]["template"]["spec"]


def _judge_pod_spec(g: Graph) -> dict[str, Any]:
    (metric,) = g.one(ANALYSIS).inputs["spec"]["metrics"]
    return metric["provider"]["job"]["spec"]["template"]["spec"]


# Cluster access ---------------------------------------------------------------------------------------------
def test_every_kubernetes_resource_uses_the_explicit_provider(eks: Graph) -> None:
    provider = eks.one("pulumi:providers:kubernetes")
    service = eks.one("mlcicd:serving:ModelService")
    assert provider.parent == service.urn
    resources = _k8s(eks)
    assert len(resources) >= 10
    for r in resources:
        assert r.provider is not None
        assert r.provider.startswith(provider.urn), (r.name, r.provider)
        assert r.parent == service.urn


def test_kubeconfig_built_from_config_with_get_token(eks: Graph) -> None:
    cfg = stack_config("eks")["serving"]["eks"]
    provider = eks.one("pulumi:providers:kubernetes").inputs
    assert provider["clusterIdentifier"] == cfg["clusterName"]
    config = json.loads(provider["kubeconfig"])
    (cluster,) = config["clusters"]
    assert cluster["cluster"] == {"server": cfg["endpoint"], "certificate-authority-data": cfg[
        "certificateAuthorityData"]}
    (user,) = config["users"]
    assert set(user["user"]) == {"exec"}  # no token, password or client certificate
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == ["eks", "get-token", "--cluster-name", "ml-staging", "--region",
                                            "eu-west-1", "--output", "json", "--role-arn", cfg["roleArn"]]
    assert config["current-context"] == "ml-staging"


def test_kubeconfig_without_role_uses_the_deployers_identity() -> None:
    cfg = EksConfig.model_validate({**stack_config("eks")["serving"]["eks"], "roleArn": None})
    args = json.loads(kubeconfig(cfg, "eu-west-1"))["users"][0]["user"]["exec"]["args"]
    assert "--role-arn" not in args


def test_default_kubernetes_provider_disabled_for_the_project() -> None:
    from tests.harness import ROOT

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert "kubernetes" in project["config"]["pulumi:disable-default-providers"]["value"]


# Namespace and pod security ---------------------------------------------------------------------------------
def test_namespace_enforces_restricted_pod_security(eks: Graph) -> None:
    ns = eks.one("kubernetes:core/v1:Namespace", "model-namespace").inputs["metadata"]
    assert ns["name"] == NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert ns["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_namespace_left_alone_when_not_ours() -> None:
    g = graph("eks", {"serving": {"eks": {"createNamespace": False}}})
    assert [r.name for r in g.of_type("kubernetes:core/v1:Namespace")] == ["model-argo-rollouts-namespace"]


@pytest.mark.parametrize("which", ["model", "judge"])
def test_pod_security_settings(eks: Graph, which: str) -> None:
    spec = _pod_spec(eks) if which == "model" else _judge_pod_spec(eks)
    assert spec["automountServiceAccountToken"] is False
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "scratch", "mountPath": "/tmp"} in container["volumeMounts"]
    scratch = next(v for v in spec["volumes"] if v["name"] == "scratch")
    assert scratch == {"name": "scratch", "emptyDir": {"sizeLimit": "512Mi"}}


def test_service_accounts_mount_no_token(eks: Graph) -> None:
    accounts = eks.of_type("kubernetes:core/v1:ServiceAccount")
    assert len(accounts) == 2
    assert all(a.inputs["automountServiceAccountToken"] is False for a in accounts)


# The model's pods -------------------------------------------------------------------------------------------
def test_image_pinned_by_digest(eks: Graph) -> None:
    (container,) = _pod_spec(eks)["containers"]
    assert container["image"] == IMAGE


def test_requests_and_limits_from_config(eks: Graph) -> None:
    (container,) = _pod_spec(eks)["containers"]
    assert container["resources"] == {"requests": {"cpu": "1000m", "memory": "2048Mi"},
                                      "limits": {"cpu": "1000m", "memory": "2048Mi"}}
    bigger = graph("eks", {"serving": {"cpu": 2048, "memory": 4096}})
    (container,) = _pod_spec(bigger)["containers"]
    assert container["resources"]["limits"] == {"cpu": "2000m", "memory": "4096Mi"}


def test_probes_on_ping(eks: Graph) -> None:
    (container,) = _pod_spec(eks)["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/ping", "port": "http"}


def test_model_reference_and_extra_environment(eks: Graph) -> None:
    (container,) = _pod_spec(eks)["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == serving.serving_environment(
        model_name="churn-classifier", model_version="13", image_digest=IMAGE.split("@")[1], variant="baseline",
        extra={"MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "30"})
    assert env["HOME"] == env["TMPDIR"] == "/tmp"


def test_pod_runs_the_one_serving_command_with_its_writable_paths(eks: Graph) -> None:
    spec = _pod_spec(eks)
    (container,) = spec["containers"]
    assert container["command"] == serving.serve_argv(port=8080, workers=1)
    assert "args" not in container
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {w.path: w.volume for w in serving.WRITABLE_PATHS}
    assert spec["securityContext"]["runAsUser"] == serving.RUN_AS_UID


# Rollout --------------------------------------------------------------------------------------------------
def test_rollout_steps_from_config(eks: Graph) -> None:
    canary = _rollout(eks)["spec"]["strategy"]["canary"]
    steps = canary["steps"]
    assert steps[0] == {"setWeight": 20}
    assert steps[1] == {"pause": {"duration": "5m"}}
    assert steps[2]["analysis"]["templates"] == [{"templateName": f"{APP}-canary-judge"}]
    assert steps[2]["analysis"]["args"] == [
        {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
        {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}}]
    assert len(steps) == 3
    assert (canary["stableService"], canary["canaryService"]) == (APP, f"{APP}-canary")


def test_linear_steps_from_config() -> None:
    g = graph("eks", {"serving": {"canary": {"strategy": "linear", "stepPercent": 25, "bakeMinutes": 10}}})
    steps = _rollout(g)["spec"]["strategy"]["canary"]["steps"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [25, 50, 75]
    assert [s["pause"]["duration"] for s in steps if "pause" in s] == ["10m"] * 3
    assert sum("analysis" in s for s in steps) == 3


def test_rolling_has_no_steps_and_no_judge() -> None:
    g = graph("eks", {"serving": {"canary": {"strategy": "rolling"}, "eks": {"judgeImage": None}}})
    assert _rollout(g)["spec"]["strategy"]["canary"]["steps"] == []
    assert g.of_type(ANALYSIS) == []
    assert g.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []


def test_canary_steps_pure() -> None:
    assert canary_steps("canary", 10, 20, 0, None) == [{"setWeight": 10}]
    assert canary_steps("linear", 10, 40, 1, None) == [{"setWeight": 40}, {"pause": {"duration": "1m"}},
                                                        {"setWeight": 80}, {"pause": {"duration": "1m"}}]
    with pytest.raises(ValueError, match="blue-green"):
        canary_steps("blue-green", 10, 20, 5, None)


def test_replicas_left_to_the_autoscaler(eks: Graph) -> None:
    assert "replicas" not in _rollout(eks)["spec"]
    hpa = eks.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": APP}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]


def test_services_and_disruption_budget_select_only_model_pods(eks: Graph) -> None:
    selector = _rollout(eks)["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "ml-cicd"}
    services = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in eks.of_type("kubernetes:core/v1:Service")}
    assert set(services) == {APP, f"{APP}-canary"}
    assert all(s["selector"] == selector and s["type"] == "ClusterIP" for s in services.values())
    pdb = eks.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    (metric,) = eks.one(ANALYSIS).inputs["spec"]["metrics"]
    judge_labels = metric["provider"]["job"]["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= judge_labels.items()


def test_endpoint_is_the_stable_service(eks: Graph) -> None:
    """In-cluster HTTP, no load balancer of ours: no certificate to verify, no load balancer name to export."""
    assert eks.outputs["modelEndpoint"] == f"http://{APP}.{NAMESPACE}.svc.cluster.local"
    assert "servingLoadBalancerDnsName" not in eks.outputs


def test_load_balancer_hostname_is_refused_on_eks() -> None:
    assert _problems({"serving": {"loadBalancer": {"hostname": "churn.ml.example.com"}}}) == {
        "serving.loadBalancer.hostname": (
            "ml-cicd:serving.loadBalancer.hostname = 'churn.ml.example.com': is only used with `backend: ecs` (the "
            "name of its load balancer); with `eks` the stack creates no load balancer and `modelEndpoint` is the "
            "stable Service's in-cluster URL: remove it")}


# The canary judge -------------------------------------------------------------------------------------------
def test_analysis_job_probes_stable_and_canary_then_judges(eks: Graph) -> None:
    (metric,) = eks.one(ANALYSIS).inputs["spec"]["metrics"]
    assert (metric["count"], metric["failureLimit"]) == (1, 0)
    job = metric["provider"]["job"]["spec"]
    assert job["backoffLimit"] == 0
    (container,) = job["template"]["spec"]["containers"]
    assert container["image"] == JUDGE_IMAGE
    # One process: probe the two Services window after window, publish with Variant baseline/canary (the judge's
    # defaults and the model-quality alarm's canary variant), and after each window judge everything probed since
    # the first, until PASS, FAIL or the maximum bake (INCONCLUSIVE then fails the analysis).
    assert container["command"] == [
        "mlcicd", "canary", "judge", "--stack", "eks", "--until-decided", "--probe-baseline-url", STABLE_URL,
        "--probe-canary-url", CANARY_URL, "--baseline-variant", "baseline", "--canary-variant", "canary",
        "--report", "/tmp/canary-judge.json"]
    assert container["workingDir"] == "/etc/mlcicd"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLCICD_CANARY_POD_TEMPLATE_HASH"] == "{{args.canary-hash}}"


def test_probe_urls_are_the_rollouts_stable_and_canary_services(eks: Graph) -> None:
    canary = _rollout(eks)["spec"]["strategy"]["canary"]
    services = {r.inputs["metadata"]["name"]: r.inputs for r in eks.of_type("kubernetes:core/v1:Service")}
    for url, name in ((STABLE_URL, canary["stableService"]), (CANARY_URL, canary["canaryService"])):
        assert url == f"http://{name}.{services[name]['metadata']['namespace']}.svc.cluster.local"
        assert services[name]["spec"]["ports"][0]["port"] == 80


def _deadline(g: Graph) -> float:
    (metric,) = g.one(ANALYSIS).inputs["spec"]["metrics"]
    return metric["provider"]["job"]["spec"]["activeDeadlineSeconds"]


@pytest.mark.parametrize(("judge", "bake_seconds"), [
    ({}, 300),  # fixture: bakeMinutes 5, windowMinutes 5, no maxBakeMinutes: one window
    ({"windowMinutes": 30}, 1800),  # the window is longer than the platform's bake
    ({"maxBakeMinutes": 30}, 1800),  # six 5-minute windows at most
])
def test_judge_deadline_covers_the_maximum_bake(judge: dict[str, Any], bake_seconds: int) -> None:
    # Up to one period (60 s) of warm-up, the maximum bake, the last requests' timeout (10 s), the visibility wait
    # (120 s) and 300 s of overhead (pod start, image pull, reads).
    assert _deadline(graph("eks", {"serving": {"canary": {"judge": judge}}})) == 60 + bake_seconds + 10 + 120 + 300


def test_max_bake_may_exceed_the_pause_on_eks_within_the_probe_cap() -> None:
    # Argo waits for the analysis however long it bakes (on ECS the rule caps maxBakeMinutes at bakeMinutes), but
    # maxRequests caps what the analysis may send over the whole bake: 10 rps x (60 min + 1 period) per side.
    with pytest.raises(ConfigError, match=r"serving.canary.probe.maxRequests = 20000: must cover the Rollout's "
                                          r"analysis: probing at rps 10 for up to the maximum bake of 60 minutes"
                                          r".* sends up to 36600 requests a side"):
        graph("eks", {"serving": {"canary": {"judge": {"maxBakeMinutes": 60}}}})


def test_probe_hosts_must_admit_the_services() -> None:
    # The config rule (runtime/config/program_rules.py) rejects it before the component's own check would.
    with pytest.raises(ConfigError, match=r"serving.canary.probe.allowedHosts = .*must admit .*svc.cluster.local"):
        graph("eks", {"serving": {"canary": {"probe": {"allowedHosts": ["*.example.internal"]}}}})


def test_judge_reads_the_same_validated_config(eks: Graph) -> None:
    files = eks.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert yaml.safe_load(files["Pulumi.yaml"]) == {"name": "ml-cicd"}
    rendered = yaml.safe_load(files["Pulumi.eks.yaml"])["config"]
    raw = {key.removeprefix("ml-cicd:"): value for key, value in rendered.items()}
    original = validate_config(stack_config("eks"), "fixture").config
    assert validate_config(raw, "rendered").config == original


def test_judge_config_masks_secrets() -> None:
    secret = "oidc-client-secret-never-in-a-configmap"
    idp = "https://id.example.com"
    oidc = {"issuer": idp, "authorizationEndpoint": f"{idp}/a", "tokenEndpoint": f"{idp}/t",
            "userInfoEndpoint": f"{idp}/u", "clientId": "mlflow", "clientSecret": secret}
    tracking = {"selfHosted": {"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
                               "auth": {"mode": "oidc", "oidc": oidc}}}
    g = graph("eks", {"tracking": tracking})
    assert secret not in g.to_json()
    files = g.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert "clientSecret: '**********'" in files["Pulumi.eks.yaml"]


def test_judge_role_reads_metrics_and_publishes_into_the_model_namespace_only(eks: Graph) -> None:
    role = eks.one("aws:iam/role:Role", "model-judge")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}}
    statements = {s["Sid"]: s for s in policy(eks.one("aws:iam/rolePolicy:RolePolicy", "model-judge"))["Statement"]}
    assert set(statements) == set(STAR_ALLOWED)
    read = statements["ReadCanaryMetrics"]
    assert read["Action"] == ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"]
    assert read["Resource"] == ["*"]
    assert "Condition" not in read
    publish = statements["PublishProbeMetrics"]
    assert publish["Action"] == ["cloudwatch:PutMetricData"]
    assert publish["Resource"] == ["*"]
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": "MLCICD/Model"}}
    custom = graph("eks", {"alarms": {"modelQuality": {"namespace": "Churn/Model"}}})
    statements = {s["Sid"]: s for s in policy(custom.one("aws:iam/rolePolicy:RolePolicy",
                                                          "model-judge"))["Statement"]}
    assert statements["PublishProbeMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace":
                                                                               "Churn/Model"}}
    association = eks.one("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs
    assert association == {"clusterName": "ml-staging", "namespace": NAMESPACE,
                           "serviceAccount": f"{APP}-canary-judge",
                           "roleArn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/model-judge"}


def test_judge_without_pod_identity_warns() -> None:
    g = graph("eks", {"serving": {"eks": {"judgePodIdentity": False}}})
    assert g.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []
    assert any("serving.eks.judgePodIdentity" in w for w in g.warnings)


# Argo Rollouts controller ---------------------------------------------------------------------------------
def test_argo_rollouts_installed_when_configured(eks: Graph) -> None:
    chart = eks.one("kubernetes:helm.sh/v4:Chart")
    assert (chart.inputs["chart"], chart.inputs["version"], chart.inputs["namespace"]) == (
        "argo-rollouts", "2.40.5", "argo-rollouts")
    assert chart.inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
    assert chart.inputs["values"]["dashboard"] == {"enabled": False}
    assert chart.urn in eks.one(ROLLOUT).dependencies


def test_argo_rollouts_not_installed_by_default() -> None:
    g = graph("eks", {"serving": {"eks": {"installArgoRollouts": False}}})
    assert g.of_type("kubernetes:helm.sh/v4:Chart") == []


# Bad config ----------------------------------------------------------------------------------------------
def _problems(overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        validate_config(stack_config("eks", overrides), "test")
    return {p.path: p.render() for p in caught.value.problems}


def test_eks_backend_without_cluster_settings_is_an_error() -> None:
    problems = _problems({"serving": {"eks": None}})
    assert set(problems) == {"serving.eks"}
    assert "backend `eks` requires cluster access settings" in problems["serving.eks"]


def test_eks_without_judge_image_is_an_error() -> None:
    problems = _problems({"serving": {"eks": {"judgeImage": None}}})
    assert set(problems) == {"serving.eks.judgeImage"}
    assert "ml-cicd:serving.eks.judgeImage: strategy `canary` runs `mlcicd canary judge`" in problems[
        "serving.eks.judgeImage"]


def test_eks_canary_without_probe_payloads_is_an_error() -> None:
    problems = _problems({"smoke": {"samplePayloads": []}})
    assert set(problems) == {"smoke.samplePayloads"}
    assert ("ml-cicd:smoke.samplePayloads: backend `eks` with strategy `canary` probes the stable and canary pods "
            "with these request bodies") in problems["smoke.samplePayloads"]
    rolling = stack_config("eks", {"smoke": {"samplePayloads": []}, "serving": {"canary": {"strategy": "rolling"}}})
    validate_config(rolling, "test")


def test_eks_rejects_blue_green_and_bad_cluster_values() -> None:
    assert set(_problems({"serving": {"canary": {"strategy": "blue-green"}}})) == {"serving.canary.strategy"}
    problems = _problems({"serving": {"eks": {"endpoint": "http://insecure.example.com",
                                              "judgeImage": "runtime:latest"}}})
    assert set(problems) == {"serving.eks.endpoint", "serving.eks.judgeImage"}


def test_k8s_name() -> None:
    assert k8s_name("Churn_Classifier.v2") == "churn-classifier-v2"
    assert k8s_name("7up") == "m-7up"
