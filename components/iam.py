"""IAM policy documents as plain functions (pure, tested on their own).

Policies are built as JSON strings from typed statements instead of `get_policy_document` invokes, so they are
deterministic, need no provider call and can be asserted on directly in tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypedDict

import pulumi


class Statement(TypedDict, total=False):
    Sid: str
    Effect: str
    Action: list[str]
    Resource: list[str]
    Principal: dict[str, Any]
    Condition: dict[str, Any]


def allow(sid: str, actions: Sequence[str], resources: Sequence[str],
          condition: dict[str, Any] | None = None) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if condition:
        statement["Condition"] = condition
    return statement


def document(statements: Sequence[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def output_document(statements: pulumi.Input[Sequence[Statement]]) -> pulumi.Output[str]:
    """A policy document from statements whose ARNs are still outputs."""
    return pulumi.Output.from_input(statements).apply(document)  # type: ignore[arg-type]


def assume_role_policy(service: str, source_account: str | None = None) -> str:
    """Trust policy for one AWS service principal, optionally pinned to our account (confused deputy)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
