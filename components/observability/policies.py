"""The alarm topic's key policy and topic policy, as pure functions (tested through the graph).

Both grant CloudWatch (this stack's alarms) and CodeStar notifications (this account's rules) the right to publish,
pinned to the account and to alarm names with the stack's prefix (confused-deputy conditions); the topic refuses
publishes without TLS.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from components.iam import account_root_statement


def stack_alarm_prefix() -> str:
    """Every alarm of this stack (canary, drift) starts with this; the topic's grants are limited to it."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}"


def _cloudwatch_conditions(account_id: str, region: str, prefix: str, partition: str) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{prefix}-*"}}


def _notification_conditions(account_id: str) -> dict[str, Any]:
    """CodeStar notification rules (pipeline failures, approvals, failed scheduled jobs) of this account."""
    return {"StringEquals": {"aws:SourceAccount": account_id}}


def topic_key_policy(account_id: str, region: str, prefix: str, partition: str) -> str:
    """Key policy: the account administers the key through IAM; this stack's alarms and the account's notification
    rules may use it to publish."""
    statements = [
        account_root_statement(account_id, partition),
        # Required for CloudWatch to publish to a KMS-encrypted topic (SNS developer guide, "Enable compatibility
        # between event sources from AWS services and encrypted topics").
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": _cloudwatch_conditions(account_id, region, prefix, partition)},
        {"Sid": "NotificationRulesPublish", "Effect": "Allow",
         "Principal": {"Service": "codestar-notifications.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": _notification_conditions(account_id)},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def topic_policy(topic_arn: str, account_id: str, region: str, prefix: str, partition: str) -> str:
    """Topic policy: this stack's alarms (canary and drift) and the account's CodeStar notification rules may
    publish; nobody may publish without TLS."""
    statements = [
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": _cloudwatch_conditions(account_id, region, prefix, partition)},
        {"Sid": "NotificationRulesPublish", "Effect": "Allow",
         "Principal": {"Service": "codestar-notifications.amazonaws.com"}, "Action": "sns:Publish",
         "Resource": topic_arn, "Condition": _notification_conditions(account_id)},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
         "Resource": topic_arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
