"""Rules the Pulumi program (infra/, components/) enforces, stated on the config so `mlcicd config validate`
rejects first, naming the key path, whatever `mlcicd graph` or `pulumi preview` would reject.

Each component keeps its own check as a defence (its message names its arguments); the rule here is what users
see. `tests/test_config_program.py` runs the program over mutated stack configs and holds the two together:
whenever the program rejects a config, validation rejected it first.

Component check -> rule:
- `Network` needs a VPC id and two private subnets in mode `existing` -> `platform_rules.network_settings` (it now
  also sees a left-out `network` section, which defaults to mode `existing`).
- `TrackingServer` needs `selfHosted` in mode `self-hosted` -> `platform_rules.tracking_settings` (also when
  `tracking` is left out: the default mode is `self-hosted`).
- The pipeline's actions need the stack's own tracking server (`infra.delivery.build_pipeline`: its stage users or
  server ARN), so no pipeline beside mode `external` -> `platform_rules.tracking_of_the_pipeline_stack`.
- `Network.subnet_cidrs` splits `network.cidr` into /prefix+4 subnets, needs /24 or larger -> `vpc_cidr`.
- `ModelService` (eks) checks that `serving.canary.probe.allowedHosts` admits the in-cluster Services its
  analysis step probes -> `eks_probe_hosts`.
- The AWS provider and the partition-aware ARNs need a region of a supported partition (aws, aws-cn, aws-us-gov) ->
  `region_in_partition`.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from runtime.config.findings import Finding, RuleList, bad_value

PROGRAM_RULES = RuleList()
program_rule = PROGRAM_RULES.rule
#: AWS accepts VPC CIDR blocks from /16 to /28; the program splits the block into /prefix+4 subnets, so /24 at most.
VPC_PREFIX_RANGE = (16, 24)


@program_rule("region")
def region_in_partition(s: dict[str, Any]) -> Iterator[Finding]:
    from runtime.config.regions import region_error

    error = region_error(s["region"])
    if error is not None:
        yield bad_value("region", error, s["region"])


def _cidr_error(value: str) -> str | None:
    """Why `value` is not an IPv4 network (a bad octet, a prefix above 32, host bits set), or None."""
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ipaddress.NetmaskValueError:
        return "prefix length must be 0..32"
    except ValueError as exc:
        if "host bits set" in str(exc):
            return f"has host bits set; the network is {ipaddress.IPv4Network(value, strict=False)}"
        return "not an IPv4 network (each of the four numbers must be 0..255)"
    return None


@program_rule()
def cidrs_are_networks(s: dict[str, Any]) -> Iterator[Finding]:
    lists: list[tuple[str, list[str]]] = []
    if "serving" in s:
        lists.append(("serving.loadBalancer.ingressCidrs", s["serving"].load_balancer.ingress_cidrs))
    hosted = s["tracking"].self_hosted if "tracking" in s else None
    if hosted is not None:
        lists.append(("tracking.selfHosted.ingressCidrs", hosted.ingress_cidrs))
    for path, cidrs in lists:
        for i, cidr in enumerate(cidrs):
            error = _cidr_error(cidr)
            if error is not None:
                yield bad_value(f"{path}[{i}]", error, cidr)


@program_rule("network")
def vpc_cidr(s: dict[str, Any]) -> Iterator[Finding]:
    if s["network"].mode != "create":
        return
    cidr = s["network"].cidr
    error = _cidr_error(cidr)
    if error is not None:
        yield bad_value("network.cidr", error, cidr)
        return
    low, high = VPC_PREFIX_RANGE
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    if not low <= prefix <= high:
        yield bad_value("network.cidr", f"a created VPC needs a /{low} to /{high} block (AWS allows /16 to /28, and "
                        "the program splits it into 16 subnets of /prefix+4)", cidr)


def k8s_name(value: str, limit: int = 63) -> str:
    """The DNS-1035 label the EKS backend names the model's Services with (`components.serving.eks_specs`; a test
    holds the two equal)."""
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")
    if not name or not name[0].isalpha():
        name = f"m-{name}"
    return name[:limit].rstrip("-")


def probed_hosts(model_name: str, namespace: str) -> tuple[str, str]:
    """Hosts of the stable and canary Services the Rollout's analysis step probes."""
    app = k8s_name(model_name)
    return f"{app}.{namespace}.svc.cluster.local", f"{app}-canary.{namespace}.svc.cluster.local"


@program_rule("serving", "model")
def eks_probe_hosts(s: dict[str, Any]) -> Iterator[Finding]:
    serving = s["serving"]
    if serving.backend != "eks" or serving.eks is None or serving.canary.strategy == "rolling":
        return
    allowed = serving.canary.probe.allowed_hosts
    for host in probed_hosts(s["model"].name, serving.eks.namespace):
        if not any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed):
            yield bad_value("serving.canary.probe.allowedHosts", f"must admit {host}: the Rollout's analysis step "
                            "probes the stable and canary Services; add `*.svc.cluster.local` (the default)", allowed)
            return
