"""Network: an existing VPC is used as configured; a created VPC is private, with endpoints or per-zone NAT."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components import defaults as component_defaults
from components.network.network import subnet_cidrs
from runtime import stack_outputs as out
from runtime.config import ConfigError
from runtime.graph import MOCK_VPC_CIDR, Graph, Resource
from tests.harness import graph, stack_config

SUBNET = "aws:ec2/subnet:Subnet"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROUTE = "aws:ec2/route:Route"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"

#: Override turning staging's existing VPC into a created one.
CREATE: dict[str, Any] = {"network": {"mode": "create", "vpcId": None, "privateSubnetIds": None}}
CREATE_NAT: dict[str, Any] = {"network": {"mode": "create", "egress": "nat", "vpcId": None, "privateSubnetIds": None}}


def _named(g: Graph, type_token: str, name: str) -> Resource:
    [found] = [r for r in g.of_type(type_token) if r.name == name]
    return found


def _network_children(g: Graph) -> list[Resource]:
    network = g.one("mlcicd:network:Network")
    return g.children(network)


def test_existing_vpc_is_looked_up_not_created(staging: Graph) -> None:
    assert staging.of_type("aws:ec2/vpc:Vpc") == []
    assert staging.of_type(SUBNET) == []
    assert _network_children(staging) == []


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_existing_ids_come_from_config(stack: str) -> None:
    g = graph(stack)
    net = stack_config(stack)["network"]
    assert g.outputs[out.VPC_ID] == net["vpcId"]
    assert g.outputs[out.PRIVATE_SUBNET_IDS] == net["privateSubnetIds"]


def test_existing_vpc_cidr_is_read_from_aws_and_is_the_default_ingress() -> None:
    g = graph("staging", {"serving": {"loadBalancer": {"ingressCidrs": []}}})
    rules = [r for r in g.of_type(INGRESS) if r.name.startswith("model-lb-in-")]
    assert [r.inputs["cidrIpv4"] for r in rules] == [MOCK_VPC_CIDR]


def test_created_vpc_has_dns_for_private_endpoints() -> None:
    vpc = _named(graph("staging", CREATE), "aws:ec2/vpc:Vpc", "network")
    assert vpc.inputs["cidrBlock"] == "10.40.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


@pytest.mark.parametrize("az_count", [2, 3])
def test_private_subnets_one_per_zone_inside_the_vpc(az_count: int) -> None:
    g = graph("staging", {"network": {**CREATE["network"], "azCount": az_count}})
    private = [s for s in g.of_type(SUBNET) if s.inputs["tags"]["tier"] == "private"]
    assert len(private) == az_count
    assert len({s.inputs["availabilityZone"] for s in private}) == az_count
    vpc = ipaddress.IPv4Network("10.40.0.0/16")
    blocks = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in private]
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in private)


def test_endpoints_egress_has_no_route_to_the_internet() -> None:
    g = graph("staging", CREATE)
    assert g.of_type("aws:ec2/internetGateway:InternetGateway") == []
    assert g.of_type("aws:ec2/natGateway:NatGateway") == []
    assert [r for r in g.of_type(ROUTE) if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"] == []
    assert [s for s in g.of_type(SUBNET) if s.inputs["tags"]["tier"] == "public"] == []


def test_endpoints_cover_every_aws_api_the_tasks_call() -> None:
    g = graph("staging", CREATE)
    region = stack_config("staging")["region"]
    interface = {r.inputs["serviceName"] for r in g.of_type(ENDPOINT) if r.inputs["vpcEndpointType"] == "Interface"}
    assert interface == {f"com.amazonaws.{region}.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager",
                                                                 "sts", "monitoring")}
    assert set(component_defaults.INTERFACE_ENDPOINTS) == {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts",
                                                          "monitoring"}
    s3 = _named(g, ENDPOINT, "network-s3")
    assert s3.inputs["serviceName"] == f"com.amazonaws.{region}.s3"
    assert s3.inputs["vpcEndpointType"] == "Gateway"
    tables = sorted(r.urn for r in g.of_type("aws:ec2/routeTable:RouteTable") if r.name.startswith("network-private"))
    assert s3.property_dependencies["routeTableIds"] == tables


def test_interface_endpoints_private_dns_in_private_subnets_with_their_own_group() -> None:
    g = graph("staging", CREATE)
    private = sorted(f"{s.name}-id" for s in g.of_type(SUBNET) if s.inputs["tags"]["tier"] == "private")
    for endpoint in (r for r in g.of_type(ENDPOINT) if r.inputs["vpcEndpointType"] == "Interface"):
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert sorted(endpoint.inputs["subnetIds"]) == private
        assert endpoint.inputs["securityGroupIds"] == ["network-endpoints-id"]


def test_endpoint_security_group_admits_https_from_the_vpc_only() -> None:
    g = graph("staging", CREATE)
    rules = [r for r in g.of_type(INGRESS) if r.inputs["securityGroupId"] == "network-endpoints-id"]
    assert [(r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"])
            for r in rules] == [("tcp", 443, 443, "10.40.0.0/16")]
    assert [r for r in g.of_type(EGRESS) if r.inputs["securityGroupId"] == "network-endpoints-id"] == []
    group = _named(g, "aws:ec2/securityGroup:SecurityGroup", "network-endpoints")
    assert "ingress" not in group.inputs or group.inputs["ingress"] == []
    assert "egress" not in group.inputs or group.inputs["egress"] == []


def test_default_security_group_is_emptied() -> None:
    default = _named(graph("staging", CREATE), "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
                     "network-default-sg")
    assert default.inputs.get("ingress", []) == []
    assert default.inputs.get("egress", []) == []


def test_nat_egress_has_one_nat_gateway_per_zone() -> None:
    g = graph("staging", CREATE_NAT)
    nats = g.of_type("aws:ec2/natGateway:NatGateway")
    public = sorted(f"{s.name}-id" for s in g.of_type(SUBNET) if s.inputs["tags"]["tier"] == "public")
    assert sorted(n.inputs["subnetId"] for n in nats) == public
    assert len(nats) == 2
    defaults = {r.inputs["routeTableId"]: r.inputs.get("natGatewayId") for r in g.of_type(ROUTE)
                if r.name.startswith("network-private-")}
    # Each private table routes to the NAT gateway of its own zone.
    assert defaults == {f"network-private-{i}-id": f"network-nat-{i}-id" for i in range(2)}
    assert g.of_type(ENDPOINT) == []


def test_public_subnets_never_map_public_ips() -> None:
    g = graph("staging", CREATE_NAT)
    public = [s for s in g.of_type(SUBNET) if s.inputs["tags"]["tier"] == "public"]
    assert len(public) == 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in public)
    public_default = _named(g, ROUTE, "network-public-default")
    assert public_default.inputs["gatewayId"] == "network-igw-id"


def test_internet_facing_load_balancer_gets_public_subnets_without_nat() -> None:
    g = graph("staging", {**CREATE, "serving": {"loadBalancer": {
        "internal": False, "protocol": "HTTPS", "ingressCidrs": ["198.51.100.0/24"], "hostname": "churn.ml.example.com",
        "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"}}})
    assert g.of_type("aws:ec2/natGateway:NatGateway") == []
    public = sorted(f"{s.name}-id" for s in g.of_type(SUBNET) if s.inputs["tags"]["tier"] == "public")
    assert len(public) == 2
    alb = _named(g, "aws:lb/loadBalancer:LoadBalancer", "model")
    assert alb.inputs["internal"] is False
    assert sorted(alb.inputs["subnets"]) == public


def test_subnet_plan_is_deterministic_and_disjoint() -> None:
    private, public = subnet_cidrs("10.40.0.0/16", 3)
    assert private == ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]
    assert public == ["10.40.128.0/20", "10.40.144.0/20", "10.40.160.0/20"]
    with pytest.raises(ValueError, match="too small"):
        subnet_cidrs("10.40.0.0/26", 2)


@pytest.mark.parametrize(("overrides", "path"), [
    ({"network": {"mode": "create"}}, "network.vpcId"),
    ({"network": {"privateSubnetIds": ["subnet-0a1b2c3d4e5f60001"]}}, "network.privateSubnetIds"),
    ({"network": {"azCount": 7}}, "network.azCount"),
    ({"network": {"egress": "internet"}}, "network.egress"),
])
def test_bad_network_config_names_the_key(overrides: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        graph("staging", overrides)
    assert path in [p.path for p in info.value.problems]
