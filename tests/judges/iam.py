"""Judge 2: every policy document in the graph (inline role policies, managed policies, trust, bucket, key and topic
policies) through parliament and cloudsplaining, plus two rules of our own:
- no `*` action (neither `"*"` nor a whole service, `svc:*`);
- `Resource: "*"` in an identity policy only for actions that support no resource scoping, as policy_sentry's IAM
  database (the Service Authorization Reference) records them.

Findings the project accepts are listed, each with its reason, in the allow-list table of docs/security.md ("Linter
findings we accept"); the test parses that table, so the page a reviewer reads is the list the test enforces.
"""

from __future__ import annotations

import fnmatch
import gc
import json
import re
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from runtime.graph import Graph
from runtime.graph_mocks import MOCK_ACCOUNT, mock_partition

Kind = Literal["identity", "trust", "resource", "key"]
#: (type, input) of every policy document the program writes, and how AWS reads it.
DOCUMENTS: dict[tuple[str, str], Kind] = {
    ("aws:iam/rolePolicy:RolePolicy", "policy"): "identity",
    ("aws:iam/policy:Policy", "policy"): "identity",
    ("aws:iam/role:Role", "assumeRolePolicy"): "trust",
    ("aws:s3/bucketPolicy:BucketPolicy", "policy"): "resource",
    ("aws:sns/topicPolicy:TopicPolicy", "policy"): "resource",
    ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy"): "resource",
    ("aws:kms/key:Key", "policy"): "key",
    ("aws:kms/keyPolicy:KeyPolicy", "policy"): "key",
}


@dataclass(frozen=True)
class PolicyDocument:
    resource: str
    type: str
    kind: Kind
    document: dict[str, Any]
    region: str


@dataclass(frozen=True)
class IamFinding:
    judge: str
    code: str
    resource: str
    detail: str

    def __str__(self) -> str:
        return f"{self.judge} {self.code} in {self.resource}: {self.detail}"


def policy_documents(g: Graph, region: str) -> list[PolicyDocument]:
    out = []
    for r in g.resources:
        for (token, key), kind in DOCUMENTS.items():
            if r.type == token and key in r.inputs:
                value = r.inputs[key]
                out.append(PolicyDocument(r.name, r.type, kind, json.loads(value) if isinstance(value, str) else value,
                                          region))
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# parliament ---------------------------------------------------------------------------------------------------------
@cache
def _parliament() -> Any:
    """parliament's analyser. Its import opens its data files without closing them (ResourceWarning, an error in
    this suite): imported once, with that warning silenced for the import only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        import parliament

        gc.collect()
    return parliament.analyze_policy_string


def parliament_findings(doc: PolicyDocument) -> list[IamFinding]:
    """parliament reads identity-policy grammar; a trust policy's resource is the role it is attached to, so it is
    analysed with that role as its Resource (the only transformation made)."""
    analyze_policy_string = _parliament()

    document = doc.document
    if doc.kind == "trust":
        partition, _ = mock_partition(doc.region)
        role = f"arn:{partition}:iam::{MOCK_ACCOUNT}:role/{doc.resource}"
        document = {**document, "Statement": [{**s, "Resource": role} for s in _list(document["Statement"])]}
    policy = analyze_policy_string(json.dumps(document), ignore_private_auditors=True,
                                   include_community_auditors=False)
    return [IamFinding("parliament", f.issue, doc.resource, json.dumps(f.detail, sort_keys=True)[:300])
            for f in policy.findings]


# cloudsplaining -------------------------------------------------------------------------------------------------
CLOUDSPLAINING_CHECKS = {
    "allows_privilege_escalation": "PRIVILEGE_ESCALATION",
    "allows_data_exfiltration_actions": "DATA_EXFILTRATION",
    "permissions_management_without_constraints": "PERMISSIONS_MANAGEMENT",
    "write_actions_without_constraints": "WRITE_WITHOUT_CONSTRAINTS",
    "tagging_actions_without_constraints": "TAGGING_WITHOUT_CONSTRAINTS",
    "infrastructure_modification": "INFRASTRUCTURE_MODIFICATION",
}


def cloudsplaining_findings(doc: PolicyDocument) -> list[IamFinding]:
    """cloudsplaining's risk checks apply to identity policies (what a role may do)."""
    if doc.kind != "identity":
        return []
    from cloudsplaining.scan.policy_document import PolicyDocument as Scanned
    from cloudsplaining.shared.exclusions import DEFAULT_EXCLUSIONS

    scanned = Scanned(doc.document, exclusions=DEFAULT_EXCLUSIONS)
    out = []
    for attribute, code in CLOUDSPLAINING_CHECKS.items():
        found = getattr(scanned, attribute)
        if found:
            out.append(IamFinding("cloudsplaining", code, doc.resource, json.dumps(found, sort_keys=True)[:300]))
    return out


# Our own rules --------------------------------------------------------------------------------------------------
@cache
def resource_scopable(action: str) -> bool:
    """Whether the action accepts any resource ARN (policy_sentry's IAM database); False: only `*` works."""
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":", 1)
    data = get_action_data(service, name).get(service) or []
    if not data:
        raise LookupError(f"{action} is not in policy_sentry's IAM database: a typo, or a renamed action")
    return any(entry["resource_arn_format"] != "*" for entry in data)


def own_findings(doc: PolicyDocument) -> list[IamFinding]:
    out = []
    for statement in _list(doc.document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue  # a Deny narrows: `s3:*` in "deny anything without TLS" is the point of it
        if "NotAction" in statement or "NotResource" in statement:
            out.append(IamFinding("ml-cicd", "ALLOW_WITH_NOT", doc.resource, json.dumps(statement)[:200]))
        actions = _list(statement.get("Action", []))
        for action in actions:
            if action == "*" or re.fullmatch(r"[a-z0-9-]+:\*", action):
                out.append(IamFinding("ml-cicd", "STAR_ACTION", doc.resource,
                                      f"{statement.get('Sid', '?')}: {action}"))
        if doc.kind != "identity" or "*" not in _list(statement.get("Resource", [])):
            continue
        scopable = sorted(a for a in actions if "*" not in a and resource_scopable(a))
        if scopable:
            out.append(IamFinding("ml-cicd", "STAR_RESOURCE_SCOPABLE", doc.resource,
                                  f"{statement.get('Sid', '?')}: {', '.join(scopable)} accept resource ARNs"))
    return out


def iam_findings(g: Graph, region: str) -> list[IamFinding]:
    out = []
    for doc in policy_documents(g, region):
        out += parliament_findings(doc) + cloudsplaining_findings(doc) + own_findings(doc)
    return out


# The allow-list in docs/security.md -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Accepted:
    judge: str
    code: str
    resource: str
    """fnmatch pattern of the logical resource name."""
    why: str

    def matches(self, finding: IamFinding) -> bool:
        return (finding.judge, finding.code) == (self.judge, self.code) and fnmatch.fnmatch(finding.resource,
                                                                                           self.resource)


ALLOW_LIST_HEADING = "### Linter findings we accept"


def allow_list(security_md: Path) -> list[Accepted]:
    """The rows of the allow-list table: `| judge | finding | resource | why |`."""
    text = security_md.read_text(encoding="utf-8")
    if ALLOW_LIST_HEADING not in text:
        raise LookupError(f"{security_md}: no `{ALLOW_LIST_HEADING}` section")
    section = text.split(ALLOW_LIST_HEADING, 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("judge", "") and not set(cells[0]) <= set("-: "):
            rows.append(Accepted(*cells))
    return rows
