"""Config of the pipeline and the monitoring jobs: defaults, and every cross-field rule's key path and message."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import ConfigError, load_stack, validate_config
from runtime.config.delivery import MonitoringConfig
from tests.harness import PIPELINE_REPOSITORY_ARN, PRODUCTION_SELF_HOSTED, ROOT, stack_config


def problems(stack: str, overrides: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        validate_config(stack_config(stack, overrides), f"Pulumi.{stack}.yaml")
    return {p.path: p.render() for p in info.value.problems}


RETRAIN_ARN = "arn:aws:codepipeline:eu-west-1:123456789012:ml-cicd-staging-delivery"
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
     "needs `monitoring.drift.enabled: true` and the pipeline"),
    ({"pipeline": None, "monitoring": {"drift": {"retrainOnDrift": True}}}, "monitoring.drift.retrainOnDrift",
     "or `monitoring.drift.retrainPipelineArn` when another stack hosts it"),
    ({"pipeline": None, "monitoring": {"batch": {"enabled": True}}}, "monitoring.batch.enabled",
     "runs `mlcicd` from the repository: host the `pipeline` here, set `monitoring.source`"),
    ({"monitoring": {"source": {"repository": "acme/churn-model",
                                "connectionArn": stack_config("staging")["pipeline"]["connectionArn"]}}},
     "monitoring.source", "this stack hosts the pipeline"),
    ({"monitoring": {"drift": {"retrainOnDrift": True, "retrainPipelineArn": RETRAIN_ARN}}},
     "monitoring.drift.retrainPipelineArn", "this stack hosts the pipeline the drift alarm starts"),
    ({"pipeline": None, "monitoring": {"drift": {"retrainPipelineArn": RETRAIN_ARN}}},
     "monitoring.drift.retrainPipelineArn", "only used with `retrainOnDrift: true`"),
    ({"pipeline": None, "monitoring": {"drift": {"retrainPipelineArn": "arn:aws:s3:::bucket"}}},
     "monitoring.drift.retrainPipelineArn", "pattern"),
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


def test_example_files_configure_one_pipeline_hosted_by_the_stack_it_deploys() -> None:
    pipeline = load_stack("staging", ROOT).config.pipeline
    assert pipeline is not None
    assert (pipeline.deploy_stack, pipeline.promote_to) == ("staging", "production")
    assert pipeline.fail_on_severities == ["CRITICAL"]
    production = load_stack("production", ROOT).config
    assert production.pipeline is None
    assert production.monitoring.source is not None
    assert (production.monitoring.source.repository, production.monitoring.source.connection_arn) == (
        pipeline.repository, pipeline.connection_arn)
    assert production.monitoring.drift.retrain_pipeline_arn == RETRAIN_ARN


def _stack_problems(stack: str, overrides: dict[str, Any]) -> dict[str, str]:
    """Key path -> every message for it, joined."""
    with pytest.raises(ConfigError) as info:
        validate_config(stack_config(stack, overrides), f"Pulumi.{stack}.yaml", stack=stack, root=ROOT)
    found: dict[str, str] = {}
    for p in info.value.problems:
        found[p.path] = f"{found[p.path]}\n{p.render()}" if p.path in found else p.render()
    return found


def test_a_pipeline_in_the_stack_it_promotes_to_is_refused() -> None:
    pipeline = stack_config("staging")["pipeline"]
    found = _stack_problems("production", {"pipeline": pipeline, "monitoring": {"source": None, "drift": {
        "retrainPipelineArn": None}}})
    assert "stack `production` may not host the pipeline" in found["pipeline"]
    assert "`pipeline.deployStack` = `staging`" in found["pipeline"]


def test_a_second_pipeline_on_the_same_repository_and_branch_is_refused() -> None:
    """Even one that would deploy its own stack: two pipelines on one branch train twice on every push."""
    pipeline = {**stack_config("staging")["pipeline"], "deployStack": "production", "promoteTo": "staging"}
    # A pipeline's stack pushes to its own repository and logs to its own MLflow.
    overrides = {"pipeline": pipeline, "monitoring": {"source": None, "drift": {"retrainPipelineArn": None}},
                 "registry": {"imageRepositoryArn": None}, "tracking": PRODUCTION_SELF_HOSTED}
    found = _stack_problems("production", overrides)
    assert found["pipeline"] == (
        "ml-cicd:pipeline: Pulumi.staging.yaml also configures a pipeline on acme/churn-model@main: every push would "
        "start two trainings and two `pulumi up` racing for the stack lock. One pipeline owns delivery: keep it in "
        "the stack it deploys (`deployStack`, here `production`) and remove `ml-cicd:pipeline` from the other file")
    other_branch = {**overrides, "pipeline": {**pipeline, "branch": "release"}}
    assert validate_config(stack_config("production", other_branch), "Pulumi.production.yaml", stack="production",
                           root=ROOT).config.pipeline is not None


# Where the served image comes from ------------------------------------------------------------------------------
def test_a_stack_serving_an_image_without_the_pipeline_must_name_the_pipeline_repository() -> None:
    found = _stack_problems("production", {"registry": None})
    assert found == {"registry.imageRepositoryArn": (
        "ml-cicd:registry.imageRepositoryArn: production serves model.imageDigest but does not host the pipeline, so "
        "nothing pushes to a repository it would create: set it to the pipeline stack's repository (`pulumi stack "
        "output imageRepositoryArn --stack <that stack>`) (`ml-cicd:registry` is not in the stack file, so its "
        "defaults apply: add the section)")}


def test_the_pipeline_stack_pushes_to_its_own_repository() -> None:
    found = _stack_problems("staging", {"registry": {"maxTaggedImages": None,
                                                     "imageRepositoryArn": PIPELINE_REPOSITORY_ARN}})
    assert found == {"registry.imageRepositoryArn": (
        f"ml-cicd:registry.imageRepositoryArn = '{PIPELINE_REPOSITORY_ARN}': this stack hosts the pipeline, which "
        "pushes to this stack's own repository; remove `imageRepositoryArn`")}


def test_own_repository_keys_are_refused_beside_the_pipeline_repository() -> None:
    found = _stack_problems("production", {"registry": {"maxTaggedImages": 200, "scanOnPush": False}})
    assert set(found) == {"registry.maxTaggedImages", "registry.scanOnPush"}
    assert all("with `imageRepositoryArn` it creates none: set it in the pipeline stack" in m
               for m in found.values())


@pytest.mark.parametrize(("arn", "where"), [
    ("arn:aws:ecr:us-east-1:123456789012:repository/serving-images", "us-east-1 (partition aws)"),
    ("arn:aws-cn:ecr:eu-west-1:123456789012:repository/serving-images", "eu-west-1 (partition aws-cn)")])
def test_the_pipeline_repository_is_in_this_stacks_region_and_partition(arn: str, where: str) -> None:
    """ECR login tokens, VPC endpoints and IAM resource ARNs are per region and partition: the pull would fail."""
    found = _stack_problems("production", {"registry": {"imageRepositoryArn": arn}})
    assert found == {"registry.imageRepositoryArn": (
        f"ml-cicd:registry.imageRepositoryArn = '{arn}': names a repository in {where}, this stack deploys to "
        "eu-west-1 (partition aws): the pipeline stack and this one must share a region (copy `pulumi stack output "
        "imageRepositoryArn --stack <that stack>`)")}


def test_the_pipeline_repository_arn_is_checked() -> None:
    found = _stack_problems("production", {"registry": {"imageRepositoryArn": "serving-images-5d0c3b2"}})
    assert list(found) == ["registry.imageRepositoryArn"]
    assert "serving-images-5d0c3b2" in found["registry.imageRepositoryArn"]


def test_the_shipped_files_pass_the_cross_stack_rules() -> None:
    for stack in ("staging", "production"):
        assert load_stack(stack, ROOT).config is not None


def test_monitoring_defaults() -> None:
    monitoring = MonitoringConfig()
    assert (monitoring.drift.enabled, monitoring.drift.schedule, monitoring.drift.retrain_on_drift) == (
        True, "rate(1 day)", False)
    assert (monitoring.batch.enabled, monitoring.batch.schedule) == (False, "cron(0 3 * * ? *)")
