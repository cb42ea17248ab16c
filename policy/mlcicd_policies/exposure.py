"""Nothing is public or unauthenticated, and no credential crosses plain HTTP or sits in plain text."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import as_list, get, known, of_type, parse_json, resource_policy

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
AUTHENTICATE = frozenset({"authenticate-oidc", "authenticate-cognito"})
#: Environment variable names that hold credentials.
CREDENTIAL_NAME = re.compile(r"(PASSWORD|PASSPHRASE|SECRET|TOKEN|PRIVATE_KEY|SECRET_ACCESS_KEY)$")
OPEN = frozenset({"0.0.0.0/0", "::/0"})


def _deps(resource: PolicyResource, key: str) -> list[PolicyResource]:
    return list(resource.property_dependencies.get(key, []))


def validate_no_public_buckets(args: StackValidationArgs, report: ReportViolation) -> None:
    blocked: set[str] = set()
    for pab in of_type(args, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        if all(pab.props.get(flag) is True for flag in PAB_FLAGS):
            blocked |= {b.urn for b in _deps(pab, "bucket")}
        else:
            off = [f for f in PAB_FLAGS if pab.props.get(f) is not True]
            report(f"public access block with {', '.join(off)} off: all four flags must be on", pab.urn)
    for bucket in of_type(args, "aws:s3/bucket:Bucket"):
        if bucket.urn not in blocked:
            report("bucket without a public access block (all four flags on)", bucket.urn)
        if bucket.props.get("acl") in PUBLIC_ACLS:
            report(f"bucket ACL {bucket.props['acl']} makes it public", bucket.urn)
    for policy in of_type(args, "aws:s3/bucketPolicy:BucketPolicy"):
        document = parse_json(policy.props.get("policy")) or {}
        for statement in as_list(document.get("Statement")):
            principal = statement.get("Principal")
            anyone = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))
            if statement.get("Effect") == "Allow" and anyone and not statement.get("Condition"):
                report(f"bucket policy statement {statement.get('Sid', '?')} allows anyone", policy.urn)


no_public_buckets = StackValidationPolicy(
    name="no-public-buckets",
    description="Every bucket blocks public access (all four flags); no public ACL; no bucket policy allowing "
                "anyone without a condition.",
    validate=validate_no_public_buckets)


def _forwarding(args: StackValidationArgs) -> list[tuple[PolicyResource, list[dict[str, Any]], set[str]]]:
    """Every listener and listener rule with its actions and the target groups it forwards to."""
    out = []
    for r in of_type(args, "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule"):
        key = "defaultActions" if r.resource_type == "aws:lb/listener:Listener" else "actions"
        actions = [a for a in as_list(r.props.get(key)) if isinstance(a, dict)]
        groups = {g.urn for g in _deps(r, key) if g.resource_type == "aws:lb/targetGroup:TargetGroup"}
        if any(a.get("type") == "forward" for a in actions):
            out.append((r, actions, groups))
    return out


def _listener_of(args: StackValidationArgs, r: PolicyResource) -> PolicyResource | None:
    if r.resource_type == "aws:lb/listener:Listener":
        return r
    found = _deps(r, "listenerArn")
    return found[0] if found else None


def _basic_auth_groups(args: StackValidationArgs) -> tuple[set[str], set[str]]:
    """Target groups of MLflow servers: (with the basic-auth app, without any authentication of their own)."""
    basic: set[str] = set()
    bare: set[str] = set()
    for service in of_type(args, "aws:ecs/service:Service"):
        for task in _deps(service, "taskDefinition"):
            commands = [" ".join(as_list(c.get("command"))) for c in as_list(
                parse_json(task.props.get("containerDefinitions")))]
            if not any("mlflow server" in c for c in commands):
                continue
            groups = {g.urn for g in _deps(service, "loadBalancers")}
            (basic if any("--app-name basic-auth" in c for c in commands) else bare).update(groups)
    return basic, bare


def validate_no_unauthenticated_endpoints(args: StackValidationArgs, report: ReportViolation) -> None:
    _, bare = _basic_auth_groups(args)
    for rule, actions, groups in _forwarding(args):
        authenticated = any(a.get("type") in AUTHENTICATE for a in actions)
        listener = _listener_of(args, rule)
        lbs = _deps(listener, "loadBalancerArn") if listener is not None else []
        if any(lb.props.get("internal") is False for lb in lbs) and not authenticated:
            report("an internet-facing load balancer forwards requests without authenticating them "
                   "(authenticate-oidc or authenticate-cognito first)", rule.urn)
        if groups & bare and not authenticated:
            report("forwards to an MLflow server that runs without authentication: run it with the basic-auth "
                   "app or authenticate (OIDC) on the load balancer", rule.urn)
    for rule in of_type(args, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        if rule.props.get("cidrIpv4") in OPEN or rule.props.get("cidrIpv6") in OPEN:
            report("ingress from the whole internet: list the client networks instead", rule.urn)


no_unauthenticated_endpoints = StackValidationPolicy(
    name="no-unauthenticated-endpoints",
    description="No internet-facing load balancer forwards without authentication, MLflow never runs without it, "
                "and no security group admits the whole internet.",
    validate=validate_no_unauthenticated_endpoints)


def validate_no_credentials_over_http(args: StackValidationArgs, report: ReportViolation) -> None:
    basic, _ = _basic_auth_groups(args)
    for rule, actions, groups in _forwarding(args):
        listener = _listener_of(args, rule)
        if listener is not None and listener.props.get("protocol") == "HTTP":
            if groups & basic:
                report("HTTP listener forwards to MLflow's basic-auth app: its passwords would cross the network "
                       "in clear text; serve HTTPS (tracking.selfHosted.certificateArn) and redirect port 80",
                       rule.urn)
            if any(a.get("type") in AUTHENTICATE for a in actions):
                report("authentication over plain HTTP: session cookies and tokens in clear text", rule.urn)
    for project in of_type(args, "aws:codebuild/project:Project"):
        env = {v.get("name"): v for v in as_list(get(project.props, "environment.environmentVariables"))}
        uri = (env.get("MLFLOW_TRACKING_URI") or {}).get("value")
        if "MLFLOW_TRACKING_PASSWORD" in env and known(uri) and str(uri).startswith("http://"):
            report(f"sends MLflow credentials to {uri} over plain HTTP", project.urn)


def plaintext_credentials(args: ResourceValidationArgs) -> list[str]:
    found = []
    if args.resource_type == "aws:codebuild/project:Project":
        for v in as_list(get(args.props, "environment.environmentVariables")):
            if CREDENTIAL_NAME.search(str(v.get("name"))) and v.get("type", "PLAINTEXT") == "PLAINTEXT":
                found.append(f"environment variable {v.get('name')} is PLAINTEXT: use type SECRETS_MANAGER")
    if args.resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        for c in as_list(parse_json(args.props.get("containerDefinitions"))):
            for e in as_list(c.get("environment")):
                if CREDENTIAL_NAME.search(str(e.get("name"))):
                    found.append(f"container {c.get('name')} has {e.get('name')} in its environment: inject it "
                                 "from Secrets Manager (`secrets`)")
    return found


no_credentials_over_http = StackValidationPolicy(
    name="no-credentials-over-http",
    description="Credentials (MLflow basic auth, OIDC sessions) never travel over plain HTTP.",
    validate=validate_no_credentials_over_http)

no_plaintext_credentials = resource_policy(
    name="no-plaintext-credentials",
    description="Passwords, tokens and secrets reach builds and containers only as Secrets Manager references.",
    problems=plaintext_credentials)


def undescribed_rules(args: ResourceValidationArgs) -> list[str]:
    rules = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
             "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    if args.resource_type in rules and not args.props.get("description"):
        return ["security group rule without a description: say who or what it admits"]
    if args.resource_type == "aws:ec2/securityGroup:SecurityGroup":
        return [f"inline {key} rule without a description" for key in ("ingress", "egress")
                if any(not r.get("description") for r in as_list(args.props.get(key)))]
    return []


security_group_rules_described = resource_policy(
    name="security-group-rules-described",
    description="Every security group rule says what it admits (its description).",
    problems=undescribed_rules)
