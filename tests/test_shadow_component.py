"""The shadow variant on ECS and EKS (`serving.shadow`), asserted on the recorded inputs of the real stack files (+
overrides) and the `eks` fixture: the baseline mirrors to a deterministic address, the shadow runs the candidate
with `variant=shadow`, captures into the stack's stream, and no caller can reach it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runtime import stack_outputs as out
from runtime.config import ConfigError, load_stack, validate_config
from runtime.graph import Graph, Resource
from runtime.serving.mirror import MirrorSettings
from runtime.serving.settings import CaptureSettings
from tests.harness import ROOT, graph, policy, stack_config
from tests.test_capture_component import EKS_CAPTURE

DIGEST = "sha256:" + "e" * 64
SHADOW = {"serving": {"shadow": {"enabled": True, "modelVersion": "14", "imageDigest": DIGEST, "desiredCount": 2,
                                 "mirrorPercent": 50}}}
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


def _env(task: Resource) -> dict[str, str]:
    [container] = json.loads(task.inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in container["environment"]}


@pytest.fixture(scope="module")
def ecs() -> Graph:
    return graph("staging", SHADOW)


def _shadow_kids(g: Graph, type_token: str) -> list[Resource]:
    return [r for r in g.children(g.one("mlcicd:serving:ShadowService")) if r.type == type_token]


def test_the_baseline_mirrors_to_the_shadow_s_private_name(ecs: Graph) -> None:
    mirror = MirrorSettings.from_env(_env(ecs.one(TASK, "model")))
    assert mirror is not None
    assert mirror.url == "http://shadow.ml-cicd-staging.mlcicd.internal:8080"
    assert mirror.sample_percent == 50
    namespace = _shadow_kids(ecs, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")[0]
    assert namespace.inputs["name"] == "ml-cicd-staging.mlcicd.internal"


def test_the_shadow_runs_the_candidate_as_variant_shadow_and_captures_every_copy(ecs: Graph) -> None:
    [task] = _shadow_kids(ecs, TASK)
    env = _env(task)
    assert env["MLCICD_VARIANT"] == "shadow"
    assert (env["MLCICD_MODEL_VERSION"], env["MLCICD_IMAGE_DIGEST"]) == ("14", DIGEST)
    assert json.loads(task.inputs["containerDefinitions"])[0]["image"].endswith(f"@{DIGEST}")
    capture = CaptureSettings.from_env(env)
    baseline = CaptureSettings.from_env(_env(ecs.one(TASK, "model")))
    assert capture is not None
    assert baseline is not None
    assert (capture.stream, capture.sample_percent) == (baseline.stream, 100.0)
    assert "MLCICD_MIRROR" not in env  # a shadow never mirrors


def test_no_load_balancer_reaches_the_shadow_only_the_baseline_tasks(ecs: Graph) -> None:
    [service] = _shadow_kids(ecs, SERVICE)
    inputs: dict[str, Any] = service.inputs
    assert "loadBalancers" not in inputs
    assert inputs["serviceRegistries"]["registryArn"]
    assert inputs["networkConfiguration"]["assignPublicIp"] is False
    assert inputs["desiredCount"] == 2
    assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    ingress = _shadow_kids(ecs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [r.inputs.get("cidrIpv4") for r in ingress] == [None]
    assert ingress[0].inputs["fromPort"] == 8080
    egress = next(r for r in _shadow_kids(ecs, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                  if "baseline" in r.name)
    assert egress.inputs["fromPort"] == 8080
    assert egress.inputs["referencedSecurityGroupId"] == ingress[0].inputs["securityGroupId"]
    assert ecs.outputs[out.SHADOW_SERVICE]


def test_the_shadow_s_own_roles_are_scoped_like_the_baseline_s(ecs: Graph) -> None:
    task_policy = next(policy(r) for r in _shadow_kids(ecs, "aws:iam/rolePolicy:RolePolicy") if r.name == "shadow-task")
    puts = [s for s in task_policy["Statement"] if "firehose:PutRecordBatch" in s["Action"]]
    assert len(puts) == 1
    assert puts[0]["Resource"][0].endswith(":deliverystream/ml-cicd-staging-inference")
    assert all(s["Resource"] != "*" or s["Action"] == ["cloudwatch:PutMetricData"] for s in task_policy["Statement"])


def test_shadow_off_creates_nothing_and_the_baseline_does_not_mirror() -> None:
    g = graph("staging")
    assert not g.of_type("mlcicd:serving:ShadowService")
    assert "MLCICD_MIRROR" not in _env(g.one(TASK, "model"))


def test_eks_shadow_is_a_deployment_no_model_service_selects() -> None:
    g = graph("eks", {**EKS_CAPTURE, **SHADOW})
    [deployment] = [r for r in g.of_type("kubernetes:apps/v1:Deployment") if r.name == "shadow-deployment"]
    labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "churn-classifier-shadow"
    assert labels["mlcicd.io/variant"] == "shadow"
    assert deployment.inputs["spec"]["replicas"] == 2
    [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLCICD_VARIANT"] == "shadow"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    rollout = next(r for r in g.of_type("kubernetes:argoproj.io/v1alpha1:Rollout"))
    model_env = {e["name"]: e["value"] for e in rollout.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    mirror = MirrorSettings.from_env(model_env)
    assert mirror is not None
    assert mirror.url == "http://churn-classifier-shadow.churn-serving.svc.cluster.local"
    selectors = [r.inputs["spec"]["selector"] for r in g.of_type("kubernetes:core/v1:Service")
                 if r.name in ("model-svc", "model-svc-canary")]
    assert all(s["app.kubernetes.io/name"] == "churn-classifier" for s in selectors)


@pytest.mark.parametrize(("shadow", "capture", "message"), [
    ({"enabled": True}, None, "serving.shadow.modelVersion"),
    ({"enabled": True, "modelVersion": "3", "imageDigest": DIGEST}, {"enabled": False}, "monitoring.capture"),
    ({"enabled": True, "modelVersion": "3", "imageDigest": DIGEST, "mirrorPercent": 50}, {"samplePercent": 20},
     "serving.shadow.mirrorPercent"),
])
def test_config_rules_name_the_key(shadow: dict[str, Any], capture: dict[str, Any] | None, message: str) -> None:
    overrides: dict[str, Any] = {"serving": {"shadow": shadow}}
    if capture is not None:
        overrides["monitoring"] = {"capture": capture}
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        validate_config(stack_config("staging", overrides), "Pulumi.staging.yaml")


def _uncommented(text: str) -> str:
    """The stack file with its commented `replay:` and `shadow:` blocks turned on (placeholders filled)."""
    out, inside = [], False
    for line in text.splitlines():
        if re.match(r"^    # (replay|shadow):$", line):
            inside = True
            out.append(line.replace("# ", "", 1))
        elif inside and line.startswith("    #   "):
            out.append("    " + line[len("    # "):])
        else:
            inside = False
            out.append(line)
    filled = "\n".join(out).replace("<64 hex>", "e" * 64).replace("<production key id>", "0" * 8 + "-0000-0000-0000-"
                                                                      + "0" * 12)
    return re.sub(r"<[^>\n]+>", "bucket-name", filled)


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_commented_keys_in_the_stack_files_are_valid_when_turned_on(stack: str, tmp_path: Path) -> None:
    assert not load_stack(stack).config.serving.shadow.enabled
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(_uncommented((ROOT / f"Pulumi.{stack}.yaml").read_text()))
    cfg = load_stack(stack, tmp_path).config
    assert cfg.serving.shadow.enabled
    assert cfg.gates.replay is not None
    assert cfg.gates.replay.segment_column == "contract"
