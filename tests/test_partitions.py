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
