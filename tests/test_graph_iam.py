"""Judge 2 on every judged graph: every policy document through parliament and cloudsplaining, no `*` action, and
`Resource: "*"` only where AWS accepts nothing narrower; beyond that only the allow-list in docs/security.md."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

import pytest

from runtime.graph import Graph
from tests.harness import ROOT, graph, stack_config
from tests.judges import JUDGED
from tests.judges.iam import Accepted, IamFinding, allow_list, iam_findings, policy_documents, resource_scopable

SECURITY_MD = ROOT / "docs" / "security.md"


@cache
def findings(name: str) -> tuple[IamFinding, ...]:
    stack, overrides = JUDGED[name]
    return tuple(iam_findings(graph(stack, overrides), stack_config(stack, overrides)["region"]))


@cache
def accepted() -> tuple[Accepted, ...]:
    return tuple(allow_list(SECURITY_MD))


@pytest.mark.parametrize("name", JUDGED)
def test_no_finding_beyond_the_documented_allow_list(name: str) -> None:
    unexplained = [f for f in findings(name) if not any(a.matches(f) for a in accepted())]
    assert not unexplained, "\n".join(map(str, unexplained))


def test_every_allow_list_entry_is_still_needed_and_reasoned() -> None:
    everything = [f for name in JUDGED for f in findings(name)]
    assert accepted()
    for entry in accepted():
        assert any(entry.matches(f) for f in everything), f"stale allow-list row in docs/security.md: {entry}"
        assert len(entry.why.split()) >= 8, f"allow-list row without a reason: {entry}"


@pytest.mark.parametrize("name", JUDGED)
def test_every_kind_of_policy_document_is_judged(name: str) -> None:
    stack, overrides = JUDGED[name]
    kinds = {d.kind for d in policy_documents(graph(stack, overrides), "eu-west-1")}
    assert {"identity", "trust", "resource", "key"} <= kinds


# The judges catch what they are for ----------------------------------------------------------------------------
def _with_policy(g: Graph, name: str, document: dict) -> Graph:
    target = g.one("aws:iam/rolePolicy:RolePolicy", name)
    return Graph(g.project, g.stack, [replace(r, inputs={**r.inputs, "policy": json.dumps(document)})
                                      if r.urn == target.urn else r for r in g.resources])


@pytest.mark.parametrize(("statement", "expected"), [
    ({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"},
     {("ml-cicd", "STAR_ACTION"), ("cloudsplaining", "PRIVILEGE_ESCALATION")}),
    ({"Sid": "AllS3", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::artifacts-data/*"},
     {("ml-cicd", "STAR_ACTION")}),
    ({"Sid": "ReadAnyObject", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
     {("ml-cicd", "STAR_RESOURCE_SCOPABLE"), ("cloudsplaining", "DATA_EXFILTRATION"), ("parliament", "RESOURCE_STAR")}),
    ({"Sid": "Enis", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "*"},
     {("ml-cicd", "STAR_RESOURCE_SCOPABLE"), ("cloudsplaining", "WRITE_WITHOUT_CONSTRAINTS")}),
    ({"Sid": "Typo", "Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::artifacts-data/*"},
     {("parliament", "UNKNOWN_ACTION")}),
])
def test_the_iam_judges_report_a_broad_or_broken_statement(staging: Graph, statement: dict,
                                                            expected: set[tuple[str, str]]) -> None:
    broken = _with_policy(staging, "model-task", {"Version": "2012-10-17", "Statement": [statement]})
    found = {(f.judge, f.code) for f in iam_findings(broken, "eu-west-1") if f.resource == "model-task"}
    assert expected <= found, found


@pytest.mark.parametrize(("action", "scopable"), [
    ("ecr:GetAuthorizationToken", False), ("cloudwatch:PutMetricData", False), ("ec2:DescribeVpcs", False),
    ("cloudwatch:DescribeAlarms", True), ("ec2:CreateNetworkInterface", True), ("kms:Decrypt", True)])
def test_which_actions_accept_resource_arns_comes_from_the_iam_database(action: str, scopable: bool) -> None:
    assert resource_scopable(action) is scopable


def test_the_allow_list_is_read_from_the_security_page() -> None:
    rows = {(a.judge, a.code, a.resource) for a in accepted()}
    assert ("parliament", "RESOURCE_STAR", "*-key") in rows
