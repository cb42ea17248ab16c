"""Rules of `ml-cicd:serving`: the backend and its settings, the rollout strategy's percents, the load balancer's
exposure and TLS (listed in `rules.RULES`; the canary judge's and the EKS analysis step's are in `canary_rules`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime import stack_outputs as out
from runtime.config import defaults as d
from runtime.config.findings import Advice, Finding, Problem, bad_value, needs
from runtime.config.platform_rules import fargate_size, https_hostname


@needs("serving")
def serving_backend_settings(s: dict[str, Any]) -> Iterator[Finding]:
    serving = s["serving"]
    if serving.backend == "eks" and serving.eks is None:
        yield Problem("serving.eks", "backend `eks` requires cluster access settings: "
                      "`eks: {clusterName, endpoint, certificateAuthorityData}`")
    if serving.backend == "ecs" and serving.eks is not None:
        yield Problem("serving.eks", "is only used with `backend: eks`; remove it or set `backend: eks`")
    lo, hi = d.CANARY_PERCENT_BOUNDS
    canary = serving.canary
    if canary.strategy in ("canary", "blue-green") and not lo <= canary.percent <= hi:
        yield bad_value("serving.canary.percent",
                        f"a canary takes between {lo:g} and {hi:g} percent of traffic", canary.percent)
    slo, shi = d.LINEAR_STEP_BOUNDS
    if canary.strategy == "linear" and not slo <= canary.step_percent <= shi:
        yield bad_value("serving.canary.stepPercent",
                        f"a linear step adds between {slo:g} and {shi:g} percent of traffic", canary.step_percent)
    if serving.backend == "eks" and canary.strategy == "blue-green":
        yield bad_value("serving.canary.strategy", "`blue-green` (CodeDeploy) exists for backend `ecs` only; "
                        "use `canary` or `linear` with EKS (Argo Rollouts)", canary.strategy)
    auto = serving.autoscaling
    if auto.min_capacity > auto.max_capacity:
        yield bad_value("serving.autoscaling.minCapacity",
                        f"must not exceed maxCapacity ({auto.max_capacity})", auto.min_capacity)
    lb = serving.load_balancer
    if lb.protocol == "HTTPS" and lb.certificate_arn is None:
        yield Problem("serving.loadBalancer.certificateArn", "protocol HTTPS requires an ACM certificate ARN; "
                      "set `certificateArn` or use `protocol: HTTP` on an internal load balancer")
    if serving.backend == "ecs" and lb.protocol == "HTTPS":
        yield from https_hostname("serving.loadBalancer.hostname", lb.hostname,
                                "smoke, load, canary probes and verify (every client of `modelEndpoint`)",
                                out.SERVING_LOAD_BALANCER_DNS_NAME, "model.ml.example.com")
    if serving.backend == "eks" and lb.hostname is not None:
        yield bad_value("serving.loadBalancer.hostname", "is only used with `backend: ecs` (the name of its load "
                        "balancer); with `eks` the stack creates no load balancer and `modelEndpoint` is the stable "
                        "Service's in-cluster URL: remove it", lb.hostname)
    if serving.backend == "ecs":
        yield from fargate_size("serving", serving.cpu, serving.memory)


@needs("serving", "environment")
def serving_exposure(s: dict[str, Any]) -> Iterator[Finding]:
    lb = s["serving"].load_balancer
    if not lb.internal:
        yield Advice("serving.loadBalancer.internal", "default true (internal); false makes the model endpoint "
                     "internet-facing")
        if lb.protocol != "HTTPS":
            yield Problem("serving.loadBalancer.protocol", "an internet-facing load balancer must use HTTPS; "
                          "set `protocol: HTTPS` and `certificateArn`")
        if not lb.ingress_cidrs and not lb.ingress_security_group_ids:
            yield Problem("serving.loadBalancer.ingressCidrs", "an internet-facing load balancer needs explicit "
                          "ingress: list the client CIDRs (never implied 0.0.0.0/0)")
    if s["environment"] == "production" and lb.deletion_protection is False:
        yield Advice("serving.loadBalancer.deletionProtection", "default true in production; false lets the "
                     "load balancer be deleted")


@needs("serving")
def serving_deployment_settings(s: dict[str, Any]) -> Iterator[Finding]:
    serving = s["serving"]
    canary, lb = serving.canary, serving.load_balancer
    if canary.strategy == "blue-green":
        if canary.percent != int(canary.percent):
            yield bad_value("serving.canary.percent", "strategy `blue-green` shifts whole percents (CodeDeploy "
                            "TimeBasedCanary); use an integer", canary.percent)
        if canary.bake_minutes < 1:
            yield bad_value("serving.canary.bakeMinutes", "strategy `blue-green` needs at least 1 minute between "
                            "the canary step and the full shift (CodeDeploy interval)", canary.bake_minutes)
    if lb.certificate_arn is not None and lb.protocol == "HTTP":
        yield Problem("serving.loadBalancer.certificateArn", "is only used with `protocol: HTTPS`; set the "
                      "protocol to HTTPS (port 80 then only redirects) or remove the certificate")
