"""IAM statements of the ECS model service, as pure functions of ARNs (tested on their own and in the graph).

Each role gets only what its workload does. `Resource: "*"` appears only for actions that AWS does not let a
policy scope to a resource; each such statement says so (and tests/test_serving_ecs.py holds the allow-list).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.capture.policies import producer_statements
from components.iam import Statement, allow


def execution_statements(repository_arn: str, log_group_arn: str, kms_key_arn: str, region: str,
                         dns_suffix: str) -> list[Statement]:
    """Execution role (used by the ECS agent, not the model): pull this repository's image, write this log group.
    The stack key only through ECR (`kms:ViaService`), for the KMS-encrypted image layers."""
    return [
        # AWS requires "*": GetAuthorizationToken returns a registry token and has no resource-level permission.
        allow("EcrAuthorization", ["ecr:GetAuthorizationToken"], ["*"]),
        allow("PullServingImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                   "ecr:GetDownloadUrlForLayer"], [repository_arn]),
        allow("DecryptServingImage", ["kms:Decrypt"], [kms_key_arn],
              {"StringEquals": {"kms:ViaService": f"ecr.{region}.{dns_suffix}"}}),
        allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:log-stream:*"]),
    ]


def task_statements(metrics_namespace: str, *, capture_stream_arn: str | None = None) -> list[Statement]:
    """Task role (the model server): publish metrics to the model namespace only, and with capture put records to
    the one capture stream. Nothing in S3: the model is in the image (`/opt/ml/model`, built by the Package
    stage), and the server loads it from there."""
    capture = producer_statements(capture_stream_arn) if capture_stream_arn else []
    return [*capture,
        # AWS requires "*": PutMetricData has no resource type; the namespace condition is the scope.
        allow("PublishModelMetrics", ["cloudwatch:PutMetricData"], ["*"],
              {"StringEquals": {"cloudwatch:namespace": metrics_namespace}}),
    ]


def load_balancer_statements(target_group_arns: Sequence[str], listener_arns: Sequence[str],
                             rule_arns: Sequence[str]) -> list[Statement]:
    """ECS infrastructure role for CANARY/LINEAR: move targets and shift the production rule's weights."""
    return [
        # AWS requires "*": the elasticloadbalancing Describe* actions have no resource-level permission.
        allow("DescribeLoadBalancing", ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
                                        "elasticloadbalancing:DescribeTargetGroups",
                                        "elasticloadbalancing:DescribeTargetHealth"], ["*"]),
        allow("MoveTargets", ["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"],
              list(target_group_arns)),
        allow("ShiftTraffic", ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
              [*listener_arns, *rule_arns]),
    ]


def codedeploy_statements(service_arn: str, task_set_arns: str, listener_arns: Sequence[str],
                          alarm_arns: Sequence[str], pass_role_arns: Sequence[str]) -> list[Statement]:
    """CodeDeploy service role for blue-green: this service's task sets, listeners and rollback alarms only."""
    return [
        allow("ManageTaskSets", ["ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:DescribeServices",
                                 "ecs:UpdateServicePrimaryTaskSet"], [service_arn, task_set_arns]),
        # AWS requires "*": the elasticloadbalancing Describe* actions have no resource-level permission.
        allow("DescribeLoadBalancing", ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
                                        "elasticloadbalancing:DescribeTargetGroups"], ["*"]),
        allow("ShiftTraffic", ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
              list(listener_arns)),
        allow("WatchRollbackAlarms", ["cloudwatch:DescribeAlarms"], list(alarm_arns)),
        allow("PassTaskRoles", ["iam:PassRole"], list(pass_role_arns),
              {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
    ]
