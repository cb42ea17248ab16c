"""`mlcicd:network:Network`: the VPC and subnets every workload of the stack runs in.

Mode `existing` looks up a VPC by id (its CIDR is read from AWS) and takes the subnets as given. Mode `create`
builds a minimal private VPC: one private subnet per availability zone and, per `egress`, either
- `endpoints`: a gateway endpoint for S3 and interface endpoints for ECR (api, dkr), CloudWatch Logs, Secrets
  Manager, STS and CloudWatch metrics, so tasks reach AWS without any route to the internet; or
- `nat`: public subnets with an internet gateway and one NAT gateway per zone (no shared single point of failure).

Security decisions (see docs/security.md):
- Private subnets never map public IPs; public subnets exist only for NAT or an internet-facing load balancer and do
  not map public IPs either (nothing is launched into them but NAT gateways and load balancer nodes).
- The endpoint security group admits HTTPS from the VPC CIDR only and has no egress rule.
- The VPC's default security group is taken over with no rules, so nothing can fall back to it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components import defaults as d
from runtime.config import defaults as cfg_defaults

TYPE = "mlcicd:network:Network"

Zones = pulumi.Output[aws.GetAvailabilityZonesResult]


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """What the network is built from: each default beside its field; what only one mode needs is None
    unless given, and that mode checks it."""

    mode: Literal["existing", "create"] = cfg_defaults.NETWORK_MODE
    """`existing` (look up `vpc_id`) or `create`. Default `existing`."""
    vpc_id: str | None = None
    """VPC id (mode `existing`; required there). Default None."""
    private_subnet_ids: Sequence[str] | None = None
    """Private subnets (mode `existing`; at least two there). Default None."""
    public_subnet_ids: Sequence[str] = field(default_factory=list)
    """Public subnets (mode `existing`). Default []."""
    cidr: str = cfg_defaults.NETWORK_CIDR
    """VPC CIDR (mode `create`). Default 10.40.0.0/16. Changing it replaces the VPC and everything in it."""
    az_count: int = cfg_defaults.NETWORK_AZ_COUNT
    """Availability zones (mode `create`). Default 2."""
    egress: Literal["endpoints", "nat"] = cfg_defaults.NETWORK_EGRESS
    """How private subnets reach AWS APIs (mode `create`). Default `endpoints` (no internet egress)."""
    public_subnets: bool = False
    """Also create public subnets and an internet gateway for an internet-facing load balancer (mode `create`
    with `endpoints`; `nat` always has them). Default False."""
    region: str | None = None
    """Region of the endpoints' service names (mode `create`; required there). Default None."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        if args.mode == "existing":
            self._existing(args)
        else:
            self._create(name, args)
        self.register_outputs({"vpcId": self.vpc_id, "vpcCidr": self.vpc_cidr,
                               "privateSubnetIds": self.private_subnet_ids, "publicSubnetIds": self.public_subnet_ids})

    # Existing VPC ----------------------------------------------------------------------------------------------
    def _existing(self, args: NetworkArgs) -> None:
        vpc_id, private = args.vpc_id, args.private_subnet_ids
        if not vpc_id or private is None or len(private) < 2:
            raise ValueError("Network: mode `existing` needs `vpc_id` and at least two `private_subnet_ids`")
        vpc = aws.ec2.get_vpc_output(id=vpc_id, opts=pulumi.InvokeOutputOptions(parent=self))
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.vpc_cidr = vpc.cidr_block
        self.private_subnet_ids = pulumi.Output.from_input(list(private))
        self.public_subnet_ids = pulumi.Output.from_input(list(args.public_subnet_ids))

    # Created VPC -----------------------------------------------------------------------------------------------
    def _create(self, name: str, args: NetworkArgs) -> None:
        region, egress = args.region, args.egress
        if region is None:
            raise ValueError("Network: mode `create` needs `region` (endpoint service names)")
        child = pulumi.ResourceOptions(parent=self)
        private_cidrs, public_cidrs = subnet_cidrs(args.cidr, args.az_count)

        vpc = aws.ec2.Vpc(name, cidr_block=args.cidr, enable_dns_support=True,
                          enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
                          tags={"Name": name}, opts=child)
        # No rules: the default group can never be used by accident.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, opts=child)
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        private_subnets = [self._subnet(f"{name}-private-{i}", vpc, block, zones=zones, zone=i, tier="private")
                           for i, block in enumerate(private_cidrs)]
        public_subnets: list[aws.ec2.Subnet] = []
        if egress == "nat" or args.public_subnets:
            public_subnets = self._public_subnets(name, vpc, public_cidrs, zones)
        private_tables = self._private_routes(name, vpc, private_subnets, public_subnets, nat=egress == "nat")
        if egress == "endpoints":
            self._endpoints(name, region, vpc, private_subnets, private_tables)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets]).apply(list)
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets]).apply(list)

    def _subnet(self, name: str, vpc: aws.ec2.Vpc, block: str, *, zones: Zones, zone: int,
                tier: str) -> aws.ec2.Subnet:
        """A subnet in the zone-th zone (round robin); never maps public IPs, in either tier."""
        return aws.ec2.Subnet(name, vpc_id=vpc.id, cidr_block=block, map_public_ip_on_launch=False,
                              availability_zone=zones.names.apply(lambda names: names[zone % len(names)]),
                              tags={"Name": name, "tier": tier}, opts=pulumi.ResourceOptions(parent=self))

    def _public_subnets(self, name: str, vpc: aws.ec2.Vpc, cidrs: list[str], zones: Zones) -> list[aws.ec2.Subnet]:
        """Public subnets routed to an internet gateway (for NAT gateways and internet-facing load balancers)."""
        child = pulumi.ResourceOptions(parent=self)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": name}, opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)
        subnets = []
        for i, block in enumerate(cidrs):
            subnet = self._subnet(f"{name}-public-{i}", vpc, block, zones=zones, zone=i, tier="public")
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_rt.id,
                                          opts=child)
            subnets.append(subnet)
        return subnets

    def _private_routes(self, name: str, vpc: aws.ec2.Vpc, subnets: list[aws.ec2.Subnet],
                        public_subnets: list[aws.ec2.Subnet], *, nat: bool) -> list[aws.ec2.RouteTable]:
        """One private route table per zone, so a NAT gateway failure stays inside its zone."""
        child = pulumi.ResourceOptions(parent=self)
        tables: list[aws.ec2.RouteTable] = []
        for i, subnet in enumerate(subnets):
            table = aws.ec2.RouteTable(f"{name}-private-{i}", vpc_id=vpc.id, tags={"Name": f"{name}-private-{i}"},
                                       opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=table.id,
                                          opts=child)
            if nat:
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags={"Name": f"{name}-nat-{i}"}, opts=child)
                gateway = aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public_subnets[i].id,
                                             tags={"Name": f"{name}-nat-{i}"}, opts=child)
                aws.ec2.Route(f"{name}-private-{i}-default", route_table_id=table.id,
                              destination_cidr_block="0.0.0.0/0", nat_gateway_id=gateway.id, opts=child)
            tables.append(table)
        return tables

    def _endpoints(self, name: str, region: str, vpc: aws.ec2.Vpc, subnets: list[aws.ec2.Subnet],
                   tables: list[aws.ec2.RouteTable]) -> None:
        """S3 as a gateway endpoint; every other AWS API the workloads call as an interface endpoint."""
        child = pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(f"{name}-endpoints", vpc_id=vpc.id,
                                   description="VPC interface endpoints: HTTPS from inside the VPC only",
                                   tags={"Name": f"{name}-endpoints"}, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https", security_group_id=sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, cidr_ipv4=vpc.cidr_block,
                                         description="HTTPS from the VPC", opts=child)
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{region}.s3",
                            vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in tables], opts=child)
        for service in d.INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(f"{name}-{service.replace('.', '-')}", vpc_id=vpc.id,
                                service_name=f"com.amazonaws.{region}.{service}", vpc_endpoint_type="Interface",
                                private_dns_enabled=True, subnet_ids=[s.id for s in subnets],
                                security_group_ids=[sg.id], opts=child)


def subnet_cidrs(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Private and public subnet CIDRs: the VPC split in 16, private from the start, public from the middle."""
    network = ipaddress.ip_network(cidr)
    if network.prefixlen > 24:
        raise ValueError(f"Network: cidr {cidr} is too small; use /24 or larger (e.g. /16)")
    blocks = [str(b) for b in network.subnets(new_prefix=network.prefixlen + 4)]
    return blocks[:az_count], blocks[8:8 + az_count]
