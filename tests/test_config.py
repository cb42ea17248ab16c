"""The stack config model: both real stack files validate; every kind of bad value is reported with its key path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runtime.config import ConfigError, load_stack, validate_config
from tests.harness import ROOT, deep_merge, stack_config


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_real_stack_files_validate_without_advice(stack: str) -> None:
    loaded = load_stack(stack, ROOT)
    assert loaded.config.environment == stack
    assert loaded.advice == []


def test_production_pins_version_and_digest() -> None:
    model = load_stack("production", ROOT).config.model
    assert model.version is not None
    assert model.image_digest is not None
    assert model.alias is None


def _problems(stack: str, overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        validate_config(stack_config(stack, overrides), f"Pulumi.{stack}.yaml")
    return {p.path: p.render() for p in info.value.problems}


# (stack, overrides, expected key path, words the message must contain)
INVALID = [
    ("staging", {"serving": {"canary": {"percent": 150}}}, "serving.canary.percent", "less than or equal to 100"),
    ("staging", {"serving": {"canary": {"percent": 75}}}, "serving.canary.percent", "between 1 and 50"),
    ("staging", {"serving": {"canary": {"strategy": "yolo"}}}, "serving.canary.strategy", "'canary'"),
    ("staging", {"serving": {"backend": "eks"}}, "serving.eks", "clusterName"),
    ("staging", {"serving": {"loadBalancer": {"protocol": "HTTPS"}}}, "serving.loadBalancer.certificateArn",
     "certificate"),
    ("staging", {"serving": {"loadBalancer": {"internal": False, "ingressCidrs": []}}},
     "serving.loadBalancer.ingressCidrs", "CIDR"),
    ("staging", {"serving": {"cpu": 1000}}, "serving.cpu", "Fargate CPU"),
    ("staging", {"serving": {"memory": 1000}}, "serving.memory", "with cpu 1024"),
    ("staging", {"serving": {"autoscaling": {"minCapacity": 5, "maxCapacity": 2}}},
     "serving.autoscaling.minCapacity", "maxCapacity"),
    ("staging", {"serving": {"canary": {"precent": 10}}}, "serving.canary.precent", "Extra inputs"),
    ("staging", {"servng": {}}, "servng", "did you mean `ml-cicd:serving`"),
    ("staging", {"model": {"imageDigest": "latest"}}, "model.imageDigest", "sha256"),
    ("staging", {"model": {"version": "v3"}}, "model.version", "pattern"),
    ("staging", {"model": None}, "model", "required"),
    ("staging", {"region": "europe"}, "region", "pattern"),
    ("production", {"model": {"version": None}}, "model.version", "exact registered-model version"),
    ("production", {"model": {"imageDigest": None}}, "model.imageDigest", "by digest"),
    ("production", {"model": {"alias": "champion"}}, "model.alias", "not an alias"),
    ("production", {"storage": {"forceDestroy": True}}, "storage.forceDestroy", "not allowed in production"),
    ("staging", {"network": {"vpcId": None}}, "network.vpcId", "requires the VPC id"),
    ("staging", {"network": {"privateSubnetIds": ["subnet-0a1b2c3d4e5f60001"]}}, "network.privateSubnetIds",
     "at least two"),
    ("staging", {"network": {"mode": "create"}}, "network.vpcId", "builds its own VPC"),
    ("staging", {"tracking": {"selfHosted": None}}, "tracking.selfHosted", "requires"),
    ("staging", {"tracking": {"selfHosted": {"image": "mlflow:latest"}}}, "tracking.selfHosted.image", "pattern"),
    ("staging", {"tracking": {"selfHosted": {"auth": {"mode": "none"}}}}, "tracking.selfHosted.auth.mode", "'basic'"),
    ("staging", {"gates": {"metrics": {"accuracy": {"min": 0.9, "max": 0.8}}}}, "gates.metrics.accuracy.min",
     "must not exceed max"),
    ("staging", {"gates": {"evaluation": None}}, "gates.evaluation", "evaluation"),
    ("staging", {"smoke": {"p50Ms": 900}}, "smoke.p95Ms", "p50Ms <= p95Ms <= p99Ms"),
    ("staging", {"alarms": {"datapointsToAlarm": 5}}, "alarms.datapointsToAlarm", "evaluationPeriods"),
    ("staging", {"serving": {"canary": {"judge": {"marginalScore": 95}}}}, "serving.canary.judge.marginalScore",
     "passScore"),
    ("staging", {"pipeline": {"repository": "not a repo"}}, "pipeline.repository", "pattern"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "words"), INVALID,
                         ids=[f"{case[0]}:{case[2]}" for case in INVALID])
def test_invalid_config_names_key_path_value_and_rule(stack: str, overrides: dict[str, Any], path: str,
                                                      words: str) -> None:
    problems = _problems(stack, overrides)
    assert path in problems, problems
    assert problems[path].startswith(f"ml-cicd:{path}")
    assert words in problems[path]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems("production", {
        "serving": {"canary": {"percent": 75}},
        "model": {"version": None},
        "alarms": {"p99LatencyMs": -1},
        "unknownSection": 1,
    })
    assert {"serving.canary.percent", "model.version", "alarms.p99LatencyMs", "unknownSection"} <= set(problems)


def test_bad_value_is_shown() -> None:
    problems = _problems("staging", {"serving": {"canary": {"percent": 75}}})
    assert "ml-cicd:serving.canary.percent = 75" in problems["serving.canary.percent"]


def test_security_opt_outs_are_advice_not_errors() -> None:
    raw = deep_merge(stack_config("staging"), {"registry": {"mutableTags": True, "scanOnPush": False},
                                               "storage": {"forceDestroy": True}})
    advice = {a.path for a in validate_config(raw, "test").advice}
    assert advice == {"registry.mutableTags", "registry.scanOnPush", "storage.forceDestroy"}


def _run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_validate_ok() -> None:
    result = _run_cli("config", "validate", "--stack", "production")
    assert result.returncode == 0, result.stderr
    assert "Pulumi.production.yaml is valid" in result.stderr


def _validate_project(directory: Path, stack: str, stack_text: str | None = None,
                      project_text: str = "name: x\nruntime: python\n") -> subprocess.CompletedProcess[str]:
    """`mlcicd config validate --stack STACK` in `directory`, given its Pulumi.yaml and (unless None) its
    Pulumi.STACK.yaml."""
    (directory / "Pulumi.yaml").write_text(project_text)
    if stack_text is not None:
        (directory / f"Pulumi.{stack}.yaml").write_text(stack_text)
    return _run_cli("config", "validate", "--stack", stack, cwd=directory)


def test_cli_validate_invalid_exits_2_with_every_path(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.staging.yaml").read_text()
    text = text.replace("percent: 20", "percent: 75").replace("minCapacity: 1", "minCapacity: 9")
    result = _validate_project(tmp_path, "staging", text, (ROOT / "Pulumi.yaml").read_text())
    assert result.returncode == 2
    assert "ml-cicd:serving.canary.percent = 75.0" in result.stderr
    assert "ml-cicd:serving.autoscaling.minCapacity = 9" in result.stderr


def test_cli_missing_stack_file_exits_2(tmp_path: Path) -> None:
    result = _validate_project(tmp_path, "nope")
    assert result.returncode == 2
    assert "Pulumi.nope.yaml" in result.stderr
    assert "pulumi stack init" in result.stderr


def test_cli_malformed_yaml_exits_2(tmp_path: Path) -> None:
    result = _validate_project(tmp_path, "bad", "config: [unclosed\n")
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr


def test_schema_accepts_both_stack_files_and_rejects_a_typo() -> None:
    import jsonschema
    import yaml

    result = _run_cli("config", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    for stack in ("staging", "production"):
        jsonschema.validate(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()), schema)
    bad = {"config": {"ml-cicd:environment": "staging", "ml-cicd:region": "eu-west-1",
                      "ml-cicd:model": {"name": "m"}, "ml-cicd:servng": {}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_schema_allows_secure_values_in_secret_fields() -> None:
    import jsonschema

    from runtime.config.schema import stack_file_schema

    doc = {"config": {"ml-cicd:environment": "staging", "ml-cicd:region": "eu-west-1",
                      "ml-cicd:model": {"name": "m"},
                      "ml-cicd:tracking": {"selfHosted": {"image": "r/mlflow:3@sha256:" + "a" * 64, "auth": {
                          "mode": "oidc", "oidc": {"issuer": "https://i", "authorizationEndpoint": "https://a",
                                                   "tokenEndpoint": "https://t", "userInfoEndpoint": "https://u",
                                                   "clientId": "c", "clientSecret": {"secure": "v1:abc"}}}}}}}
    jsonschema.validate(doc, stack_file_schema())
