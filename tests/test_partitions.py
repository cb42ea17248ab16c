"""No hard-coded `arn:aws:`: the partition (and the endpoint DNS suffix) come from the provider, so a stack in
GovCloud or China gets ARNs, `kms:ViaService` values and service principals of its own partition."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

from runtime.config import validate_config
from runtime.graph import Graph, build_graph
from tests.harness import ROOT, stack_config

PARTITIONS = {"us-gov-west-1": ("aws-us-gov", "amazonaws.com"), "cn-north-1": ("aws-cn", "amazonaws.com.cn")}


def _in_region(stack: str, region: str) -> dict:
    """The stack file moved to another partition: region, and every ARN in it in that partition."""
    partition = PARTITIONS[region][0]
    text = json.dumps(stack_config(stack)).replace("eu-west-1", region).replace('"arn:aws:', f'"arn:{partition}:')
    return json.loads(text)


@cache
def partition_graph(stack: str, region: str) -> Graph:
    return build_graph(stack, ROOT, raw_config=_in_region(stack, region))


@pytest.mark.parametrize("region", PARTITIONS)
def test_the_config_admits_the_region_and_its_arns(region: str) -> None:
    assert validate_config(_in_region("production", region), "test").config.region == region


@pytest.mark.parametrize("stack", ["staging", "production"])
@pytest.mark.parametrize("region", PARTITIONS)
def test_no_arn_of_the_commercial_partition_in_another_partitions_graph(stack: str, region: str) -> None:
    text = partition_graph(stack, region).to_json()
    assert "arn:aws:" not in text.replace("\\", "")
    assert f"arn:{PARTITIONS[region][0]}:" in text


@pytest.mark.parametrize("region", PARTITIONS)
def test_kms_via_service_uses_the_partitions_endpoints(region: str) -> None:
    _, suffix = PARTITIONS[region]
    text = partition_graph("staging", region).to_json().replace("\\", "")
    via = re.findall(r'"kms:ViaService": (\[[^\]]*\]|"[^"]*")', text)
    values = [v for found in via for v in re.findall(r'"([^"]+)"', found)]
    assert values
    assert all(v.endswith(f".{region}.{suffix}") for v in values), values


@pytest.mark.parametrize("region", PARTITIONS)
def test_production_pulls_from_the_pipeline_repository_in_its_partition(region: str) -> None:
    """The image URL built from `registry.imageRepositoryArn` carries the partition's DNS suffix (ECR in China is
    `<account>.dkr.ecr.cn-north-1.amazonaws.com.cn`), and the execution role names that repository's ARN."""
    partition, suffix = PARTITIONS[region]
    g = partition_graph("production", region)
    task = next(r for r in g.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition" and r.name == "model")
    (container,) = json.loads(task.inputs["containerDefinitions"])
    assert container["image"].startswith(f"123456789012.dkr.ecr.{region}.{suffix}/serving-images-5d0c3b2@sha256:")
    policy = next(r for r in g.resources if r.name == "model-execution" and r.type.endswith("rolePolicy:RolePolicy"))
    assert f"arn:{partition}:ecr:{region}:123456789012:repository/serving-images-5d0c3b2" in policy.inputs["policy"]


def test_a_pipeline_repository_arn_that_is_not_one_is_refused() -> None:
    from components.registry.image_repository import pipeline_repository

    source = pipeline_repository("arn:aws:ecr:eu-west-1:123456789012:repository/team/serving", "amazonaws.com")
    assert source.repository_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/serving"
    with pytest.raises(ValueError, match=r"not an ECR repository ARN: 'arn:aws:s3:::bucket'"):
        pipeline_repository("arn:aws:s3:::bucket", "amazonaws.com")
