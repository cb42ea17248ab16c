"""Config of the pipeline and the monitoring jobs: defaults, and every cross-field rule's key path and message."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import ConfigError, load_stack, validate_config
from runtime.config.delivery import MonitoringConfig
from tests.harness import ROOT, stack_config


def problems(stack: str, overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        validate_config(stack_config(stack, overrides), f"Pulumi.{stack}.yaml")
    return {p.path: p.render() for p in info.value.problems}


INVALID = [
    ({"pipeline": {"promoteTo": "staging"}}, "pipeline.promoteTo", "must differ from deployStack (staging)"),
    ({"pipeline": {"pulumiAccessTokenSecretArn": None}}, "pipeline.pulumiAccessTokenSecretArn",
     "set pulumiAccessTokenSecretArn"),
    ({"pipeline": {"pulumiAccessTokenSecretArn": None, "pulumiBackendUrl": "https://api.pulumi.acme.com"}},
     "pipeline.pulumiAccessTokenSecretArn", "Pulumi Cloud token"),
    ({"pipeline": {"codePaths": ["data/**"]}}, "pipeline.codePaths", "dataPaths or codePaths, not both"),
    ({"pipeline": {"dataPaths": []}}, "pipeline.dataPaths", "at least 1 item"),
    ({"pipeline": {"codePaths": [f"p{i}/**" for i in range(9)]}}, "pipeline.codePaths", "at most 8 items"),
    ({"pipeline": {"deployRoleArn": None}}, "pipeline.deployRoleArn", "required"),
    ({"pipeline": {"githubTokenSecretArn": "token"}}, "pipeline.githubTokenSecretArn", "pattern"),
    ({"pipeline": {"failOnSeverities": ["BLOCKER"]}}, "pipeline.failOnSeverities[0]", "'CRITICAL'"),
    ({"pipeline": {"trainTimeoutMinutes": 3000}}, "pipeline.trainTimeoutMinutes", "2160"),
    ({"monitoring": {"drift": {"schedule": "every day"}}}, "monitoring.drift.schedule", "pattern"),
    ({"monitoring": {"drift": {"inferencePrefix": "/inference"}}}, "monitoring.drift.inferencePrefix", "pattern"),
    ({"monitoring": {"drift": {"retrainOnDrift": True, "enabled": False}}}, "monitoring.drift.retrainOnDrift",
     "needs `monitoring.drift.enabled: true` and a `pipeline` section"),
    ({"pipeline": None, "monitoring": {"drift": {"retrainOnDrift": True}}}, "monitoring.drift.retrainOnDrift",
     "a `pipeline` section"),
    ({"pipeline": None, "monitoring": {"batch": {"enabled": True}}}, "monitoring.batch.enabled",
     "runs `mlcicd` from the repository"),
    ({"model": {"imageDigest": None}, "monitoring": {"batch": {"enabled": True}}}, "monitoring.batch.enabled",
     "set `model.imageDigest`"),
    ({"monitoring": {"batch": {"enabled": True, "outputPrefix": "batch/input/"}}}, "monitoring.batch.outputPrefix",
     "must differ from inputPrefix"),
]


@pytest.mark.parametrize(("overrides", "path", "words"), INVALID, ids=[case[1] for case in INVALID])
def test_invalid_delivery_config_names_the_key(overrides: dict[str, Any], path: str, words: str) -> None:
    found = problems("staging", overrides)
    assert path in found, found
    assert words in found[path]
    assert found[path].startswith(f"ml-cicd:{path}")


def test_self_managed_backend_needs_no_token() -> None:
    raw = stack_config("staging", {"pipeline": {"pulumiAccessTokenSecretArn": None,
                                                "pulumiBackendUrl": "s3://acme-pulumi-state/ml-cicd"}})
    assert validate_config(raw, "Pulumi.staging.yaml").config.pipeline is not None


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_example_files_configure_a_complete_pipeline(stack: str) -> None:
    pipeline = load_stack(stack, ROOT).config.pipeline
    assert pipeline is not None
    assert (pipeline.deploy_stack, pipeline.promote_to) == ("staging", "production")
    assert pipeline.fail_on_severities == ["CRITICAL"]


def test_monitoring_defaults() -> None:
    monitoring = MonitoringConfig()
    assert (monitoring.drift.enabled, monitoring.drift.schedule, monitoring.drift.retrain_on_drift) == (
        True, "rate(1 day)", False)
    assert (monitoring.batch.enabled, monitoring.batch.schedule) == (False, "cron(0 3 * * ? *)")
