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


def account_trust_policy(service: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """`assume_role_policy` for `service` pinned to `account_id`, which may still be an output."""
    return pulumi.Output.from_input(account_id).apply(lambda account: assume_role_policy(service, account))


def connection_statements(sid: str, actions: Sequence[str], connection_arn: str) -> list[Statement]:
    """Use of a CodeConnections connection. The service was renamed from `codestar-connections` to `codeconnections`;
    AWS accepts both action prefixes, each on the connection's ARN in its own service's form ("CodeConnections
    rename", Developer Tools console user guide), so both are granted, each on its own ARN form."""
    parts = connection_arn.split(":")
    forms = {service: ":".join([*parts[:2], service, *parts[3:]]) for service in ("codeconnections",
                                                                                   "codestar-connections")}
    return [allow(f"{sid}{'Legacy' if service == 'codestar-connections' else ''}",
                  [f"{service}:{a}" for a in actions], [arn]) for service, arn in forms.items()]


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


#: What CloudWatch Logs does with the key of an encrypted log group: AWS's example key policy ("Encrypt log data in
#: CloudWatch Logs using AWS Key Management Service", CloudWatch Logs user guide) with its wildcards expanded to the
#: actions that carry an encryption context. (`kms:Describe*` in that example sits under the same encryption-context
#: condition, which DescribeKey requests never carry: it grants nothing, so it is left out.)
LOGS_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom", "kms:ReEncryptTo")


def account_root_statement(account_id: str, partition: str) -> dict[str, Any]:
    """AWS's default key-policy statement: the account administers the key through IAM. Without it no IAM policy
    could ever grant use of the key, nor manage it again ("Default key policy", AWS KMS developer guide). In a key
    policy, Resource "*" means this key."""
    return {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"}


def stack_key_policy(account_id: str, region: str, partition: str, dns_suffix: str) -> str:
    """Key policy of the stack key: the account administers it through IAM (every workload's use of it is granted
    by its own role's policy, most through a `kms:ViaService` condition), and CloudWatch Logs may encrypt this
    account's log groups in this region with it, bound by the encryption context it always sends."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        account_root_statement(account_id, partition),
        {"Sid": "CloudWatchLogsEncryptLogGroups", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.{dns_suffix}"}, "Action": list(LOGS_KEY_ACTIONS), "Resource": "*",
         "Condition": {"StringLike": {
             "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"}}},
    ]}, sort_keys=True)
