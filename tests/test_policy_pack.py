"""The policy pack (policy/), run as the engine would at preview: every policy passes on both stacks' graphs (and
the other judged configurations), and fires, with its message, on deliberately broken resources."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from policy.mlcicd_policies.pack import PACK_NAME, POLICIES
from runtime.evidence import evidence_key
from runtime.graph import Graph
from runtime.report import Report, failed, passed
from tests.harness import PIPELINE_REPOSITORY, ROOT, graph
from tests.judges import JUDGED
from tests.policy_harness import CONFIG_FILE, Violation, run_policies

PRODUCTION_DIGEST = "sha256:7e3a1c9b5d2f8e4a6c0b3d9f1e7a5c2b8d4f0e6a3c9b1d7f5e2a8c4b0d6f3e9a"
GATES = ("data-validation", "model-gate", "smoke", "load")


def write_evidence(root: Path, model: str = "churn-classifier", version: str = "12", digest: str = PRODUCTION_DIGEST,
                   verdicts: dict[str, bool] | None = None) -> Path:
    """Reports as the gates write them (runtime.report), laid out as promotion adds them to a pull request."""
    for kind in GATES:
        report = Report(kind=kind, subject={"model": model, "version": version, "imageDigest": digest})
        ok = (verdicts or {}).get(kind, True)
        report.add(passed("threshold", 0.9, ">= 0.8", "met") if ok else failed("threshold", 0.7, ">= 0.8", "missed"))
        report.finish().write(root / evidence_key(model, version, kind))
    return root


def evidence_config(root: Path) -> dict[str, dict[str, Any]]:
    return {"production-model-has-passing-evidence": {"evidenceDir": str(root)}}


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_evidence(tmp_path_factory.mktemp("evidence"))


def violations(g: Graph, evidence_dir: Path, policy: str | None = None) -> list[Violation]:
    return [v for v in run_policies(g, evidence_config(evidence_dir)) if policy in (None, v.policy)]


EVIDENCE = "production-model-has-passing-evidence"


@pytest.mark.parametrize("name", JUDGED)
def test_every_policy_passes_on_the_judged_graphs(name: str, evidence: Path) -> None:
    found = violations(graph(*JUDGED[name]), evidence)
    assert not found, "\n".join(map(str, found))


# Each policy fires on a broken resource, with its message ---------------------------------------------------------
def _edit(g: Graph, type_token: str, name: str, edit: Any) -> Graph:
    target = g.one(type_token, name)
    inputs = copy.deepcopy(target.inputs)
    edit(inputs)
    return Graph(g.project, g.stack, [replace(r, inputs=inputs) if r.urn == target.urn else r for r in g.resources])


def _container(inputs: dict[str, Any], change: Any) -> None:
    containers = json.loads(inputs["containerDefinitions"])
    change(containers[0])
    inputs["containerDefinitions"] = json.dumps(containers)


def _policy_doc(inputs: dict[str, Any], change: Any) -> None:
    doc = json.loads(inputs["policy"])
    change(doc)
    inputs["policy"] = json.dumps(doc)


TASK, SERVICE = "aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/service:Service"
BROKEN: list[tuple[str, str, str, str, Any, str]] = [
    ("images-pinned-by-digest", "production", TASK, "model",
     lambda i: _container(i, lambda c: c.update(image=c["image"].split("@")[0] + ":latest")),
     f"runs image '123456789012.dkr.ecr.eu-west-1.amazonaws.com/{PIPELINE_REPOSITORY}:latest', not pinned by "
     "digest"),
    ("canary-has-rollback-alarms", "production", SERVICE, "model", lambda i: i.pop("alarms"),
     "CANARY deployment without rollback alarms"),
    ("canary-has-rollback-alarms", "production", SERVICE, "model",
     lambda i: i["deploymentCircuitBreaker"].update(rollback=False), "without the circuit breaker's rollback"),
    ("no-public-buckets", "staging", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
     "artifacts-data-public-access", lambda i: i.update(restrictPublicBuckets=False),
     "public access block with restrictPublicBuckets off"),
    ("no-public-buckets", "staging", "aws:s3/bucketPolicy:BucketPolicy", "artifacts-models-policy",
     lambda i: _policy_doc(i, lambda d: d["Statement"].append(
         {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})),
     "bucket policy statement Everyone allows anyone"),
    ("no-unauthenticated-endpoints", "staging", "aws:lb/loadBalancer:LoadBalancer", "model",
     lambda i: i.update(internal=False), "an internet-facing load balancer forwards requests without authenticating"),
    ("no-unauthenticated-endpoints", "staging", TASK, "tracking-task",
     lambda i: _container(i, lambda c: c.update(command=["mlflow", "server", "--host", "0.0.0.0"])),
     "forwards to an MLflow server that runs without authentication"),
    ("no-unauthenticated-endpoints", "staging", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     "model-lb-in-80-cidr0", lambda i: i.update(cidrIpv4="0.0.0.0/0"), "ingress from the whole internet"),
    ("no-credentials-over-http", "staging", "aws:lb/listener:Listener", "tracking-listener-https",
     lambda i: i.update(protocol="HTTP", port=80), "HTTP listener forwards to MLflow's basic-auth app"),
    ("no-credentials-over-http", "staging", "aws:codebuild/project:Project", "delivery-train",
     lambda i: [v.update(value="http://tracking.internal") for v in i["environment"]["environmentVariables"]
                if v["name"] == "MLFLOW_TRACKING_URI"], "sends MLflow credentials to http://tracking.internal"),
    ("no-plaintext-credentials", "staging", "aws:codebuild/project:Project", "delivery-promote",
     lambda i: [v.update(type="PLAINTEXT") for v in i["environment"]["environmentVariables"]
                if v["name"] == "GITHUB_TOKEN"], "environment variable GITHUB_TOKEN is PLAINTEXT"),
    ("encryption-on", "staging", "aws:cloudwatch/logGroup:LogGroup", "model-logs", lambda i: i.pop("kmsKeyId"),
     "log group not encrypted with a customer-managed key"),
    ("encryption-on", "staging", "aws:rds/instance:Instance", "tracking-db",
     lambda i: i.update(storageEncrypted=False), "database storage not encrypted"),
    ("encryption-on", "production", "aws:lb/listener:Listener", "model-https",
     lambda i: i.update(sslPolicy="ELBSecurityPolicy-2016-08"), "use a TLS 1.2+ policy"),
    ("kms-only-via-service", "staging", "aws:iam/rolePolicy:RolePolicy", "model-execution",
     lambda i: _policy_doc(i, lambda d: [s.pop("Condition", None) for s in d["Statement"]]),
     "statement DecryptServingImage lets the role use a KMS key directly"),
    ("rds-engine-major-only", "staging", "aws:rds/instance:Instance", "tracking-db",
     lambda i: i.update(engineVersion="16.4"), "engineVersion 16.4 pins a minor version"),
    ("iam-least-privilege", "staging", "aws:iam/rolePolicy:RolePolicy", "delivery-verifyrollout-policy",
     lambda i: _policy_doc(i, lambda d: [s.update(Resource=["*"]) for s in d["Statement"]
                                         if s["Sid"] == "DescribeAlarms"]),
     "grants cloudwatch:DescribeAlarms on every resource although AWS accepts resource ARNs"),
    ("iam-least-privilege", "staging", "aws:iam/rolePolicy:RolePolicy", "model-task",
     lambda i: _policy_doc(i, lambda d: d["Statement"][0].update(Action=["s3:*"])), "allows every action (s3:*)"),
    ("security-group-rules-described", "staging", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
     "tracking-task-https", lambda i: i.pop("description"), "security group rule without a description"),
]


@pytest.mark.parametrize(("policy", "stack", "type_token", "name", "edit", "message"), BROKEN,
                         ids=[f"{b[0]}:{b[3]}:{b[5][:30]}" for b in BROKEN])
def test_each_policy_fires_on_a_broken_resource(policy: str, stack: str, type_token: str, name: str, edit: Any,
                                                message: str, evidence: Path) -> None:
    broken = _edit(graph(stack), type_token, name, edit)
    found = [v for v in violations(broken, evidence) if v.policy == policy]
    assert any(message in v.message for v in found), "\n".join(map(str, found)) or "no violation"


def test_required_tags_fire_when_the_provider_lacks_them(evidence: Path) -> None:
    g = graph("staging")
    provider = next(r for r in g.resources if r.type == "pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])
    del tags["tags"]["cost-center"]
    broken = _edit(g, provider.type, provider.name, lambda i: i.update(defaultTags=json.dumps(tags)))
    found = [v for v in violations(broken, evidence) if v.policy == "required-tags"]
    assert found
    assert all(v.message.startswith("missing required tags cost-center") for v in found)


@pytest.mark.parametrize(("verdicts", "digest", "message"), [
    ({"smoke": False}, PRODUCTION_DIGEST, "smoke evidence"),
    ({}, "sha256:" + "0" * 64, "was taken on image sha256:" + "0" * 64),
])
def test_production_evidence_must_be_pass_for_this_version_and_digest(tmp_path: Path, verdicts: dict[str, bool],
                                                                      digest: str, message: str) -> None:
    root = write_evidence(tmp_path, digest=digest, verdicts=verdicts)
    found = violations(graph("production"), root, EVIDENCE)
    assert found
    assert all(v.resource == "model" for v in found)
    assert any(message in v.message for v in found), found


def test_production_without_evidence_is_refused_naming_gate_and_path(tmp_path: Path) -> None:
    found = violations(graph("production"), tmp_path, EVIDENCE)
    assert [v.message.split(" has no ")[1].split(" evidence")[0] for v in found] == list(GATES)
    assert str(tmp_path / "reports" / "churn-classifier" / "12" / "model-gate.json") in found[1].message


def test_staging_needs_no_evidence(tmp_path: Path) -> None:
    assert not violations(graph("staging"), tmp_path, EVIDENCE)


# The pack as the Pulumi CLI loads it --------------------------------------------------------------------------
def test_the_pack_is_a_python_policy_pack_the_cli_runs() -> None:
    manifest = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    requirements = (ROOT / "policy" / "requirements.txt").read_text()
    assert "pulumi-policy" in requirements
    main = (ROOT / "policy" / "__main__.py").read_text()
    assert "PolicyPack(name=PACK_NAME, policies=POLICIES" in main
    assert PACK_NAME == "ml-cicd"
    assert len({p.name for p in POLICIES}) == len(POLICIES) == 13


def test_the_shipped_config_sets_known_policies_with_valid_levels_and_settings() -> None:
    config = json.loads(CONFIG_FILE.read_text())
    by_name = {p.name: p for p in POLICIES}
    levels = {"advisory", "mandatory", "remediate", "disabled"}
    for name, value in config.items():
        if name == "all":
            assert value in levels
            continue
        assert name in by_name, f"policy/config.json names unknown policy {name}"
        level = value if isinstance(value, str) else value.get("enforcementLevel", "mandatory")
        assert level in levels
        schema = by_name[name].config_schema
        if isinstance(value, dict) and schema is not None:
            settings = {k: v for k, v in value.items() if k != "enforcementLevel"}
            jsonschema.validate(settings, {"type": "object", "properties": schema.properties,
                                           "additionalProperties": False})


def test_policy_violations_name_the_resource() -> None:
    assert str(Violation("p", "model", "m")) == "[p] model: m"
    assert str(Violation("p", None, "m")) == "[p] (stack): m"
