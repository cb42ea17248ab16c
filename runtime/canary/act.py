"""Acting on the judge's verdict (`mlcicd canary judge --act`): publish it, then continue or roll back.

- Every verdict is published as the `CanaryVerdict` metric (1 pass, 0 fail; dimension ModelName) that the canary
  alarms watch, so the platform rolls back even if the direct call below fails.
- ECS-native deployments (strategies canary, linear, rolling): on PASS continue a deployment paused at a PAUSE
  lifecycle hook (`ContinueServiceDeployment`), otherwise nothing is needed (ECS shifts the rest of the traffic
  after the bake). On FAIL roll back the in-progress service deployment (`ContinueServiceDeployment` with ROLLBACK
  at a paused hook, else `StopServiceDeployment` with stopType ROLLBACK); where those APIs are unavailable or no
  deployment is in progress, `UpdateService` back to the previous task definition.
- CodeDeploy blue/green: on PASS `ContinueDeployment` when the deployment waits in READY_WAIT, otherwise nothing;
  on FAIL `StopDeployment` with autoRollbackEnabled.
A rollback outside Pulumi leaves the stack's state behind what is live: `mlcicd verify rollout` then says to run
`pulumi refresh`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from runtime import metrics as m


@dataclass(frozen=True)
class Action:
    name: str
    ok: bool
    detail: str
    call: str | None = None
    """The AWS API call made (None when no call was needed or possible)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _attempt(name: str, call: str, fn: Callable[[], Any], success: str) -> Action:
    try:
        fn()
    except _errors() as exc:
        return Action(name, False, f"{call} failed: {exc}", call)
    return Action(name, True, success, call)


# Verdict metric ---------------------------------------------------------------------------------------------------
def publish_verdict(cloudwatch: Any, *, namespace: str, model_name: str, passed: bool,
                    timestamp: datetime | None = None) -> Action:
    value = 1.0 if passed else 0.0
    datum = {"MetricName": m.CANARY_VERDICT, "Dimensions": [{"Name": m.DIMENSION_MODEL, "Value": model_name}],
             "Timestamp": timestamp or datetime.now(UTC), "Value": value, "Unit": "None"}
    return _attempt("publish-verdict", "cloudwatch:PutMetricData",
                    lambda: cloudwatch.put_metric_data(Namespace=namespace, MetricData=[datum]),
                    f"{m.CANARY_VERDICT}={value:g} published to {namespace} (ModelName={model_name})")


# ECS ----------------------------------------------------------------------------------------------------------------
def _in_progress_deployments(ecs: Any, cluster: str, service: str) -> list[dict[str, Any]]:
    listed = ecs.list_service_deployments(cluster=cluster, service=service, status=["PENDING", "IN_PROGRESS"])
    arns = [d["serviceDeploymentArn"] for d in listed.get("serviceDeployments", [])]
    if not arns:
        return []
    return ecs.describe_service_deployments(serviceDeploymentArns=arns).get("serviceDeployments", [])


def _paused_hook(deployment: dict[str, Any]) -> str | None:
    for hook in deployment.get("lifecycleHookDetails", []) or []:
        if hook.get("status") == "AWAITING_ACTION":
            return hook.get("hookId")
    return None


def _previous_task_definition(ecs: Any, cluster: str, service: str) -> tuple[str | None, str | None]:
    """(current PRIMARY task definition, the newest other deployment's task definition)."""
    described = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not described:
        return None, None
    deployments = described[0].get("deployments", [])
    primary = next((d.get("taskDefinition") for d in deployments if d.get("status") == "PRIMARY"),
                   described[0].get("taskDefinition"))
    others = sorted((d for d in deployments if d.get("status") != "PRIMARY"),
                    key=lambda d: str(d.get("createdAt", "")), reverse=True)
    return primary, next((d.get("taskDefinition") for d in others), None)


def act_ecs(ecs: Any, *, cluster: str, service: str, passed: bool,
            previous_task_definition: str | None = None) -> list[Action]:
    notes: list[str] = []
    try:
        deployments = _in_progress_deployments(ecs, cluster, service)
    except _errors() as exc:
        deployments = []
        notes.append(f"service deployments unavailable ({exc})")
    if deployments:
        arn: str = deployments[0]["serviceDeploymentArn"]
        hook = _paused_hook(deployments[0])
        if hook:
            action = "CONTINUE" if passed else "ROLLBACK"
            return [_attempt("continue" if passed else "rollback", "ecs:ContinueServiceDeployment",
                             lambda: ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook,
                                                                     action=action),
                             f"{action} {arn} at lifecycle hook {hook}")]
        if not passed:
            return [_attempt("rollback", "ecs:StopServiceDeployment",
                             lambda: ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK"),
                             f"stopped {arn} with ROLLBACK: ECS returns to the previous service revision")]
    if passed:
        detail = "no call needed: ECS shifts the remaining traffic after the bake"
        if notes:
            detail += f"; {notes[0]}"
        return [Action("continue", True, detail)]
    return [_rollback_by_update(ecs, cluster, service, previous_task_definition, notes)]


def _rollback_by_update(ecs: Any, cluster: str, service: str, previous: str | None, notes: list[str]) -> Action:
    try:
        current, found = _previous_task_definition(ecs, cluster, service)
    except _errors() as exc:
        return Action("rollback", False, f"ecs:DescribeServices failed: {exc}", "ecs:DescribeServices")
    if current is None:
        return Action("rollback", False, f"service {service} not found in cluster {cluster}")
    target = previous or found
    context = f" ({'; '.join(notes)})" if notes else ""
    if target is None:
        return Action("rollback", False, "cannot roll back: no previous deployment is left on the service and "
                      f"no --previous-task-definition was given{context}; run `pulumi up` with the previous "
                      "model version pinned")
    if target == current:
        return Action("rollback", True, f"nothing to roll back: {current} already serves{context}")
    return _attempt("rollback", "ecs:UpdateService",
                    lambda: ecs.update_service(cluster=cluster, service=service, taskDefinition=target),
                    f"service {service} updated from {current} back to {target}{context}")


# CodeDeploy -----------------------------------------------------------------------------------------------------------
ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]


def find_codedeploy_deployment(codedeploy: Any, application: str, group: str) -> str | None:
    listed = codedeploy.list_deployments(applicationName=application, deploymentGroupName=group,
                                         includeOnlyStatuses=ACTIVE_STATUSES)
    ids = listed.get("deployments", [])
    return ids[0] if ids else None


def act_codedeploy(codedeploy: Any, *, passed: bool, deployment_id: str | None = None,
                   application: str | None = None, group: str | None = None) -> list[Action]:
    try:
        if deployment_id is None and application and group:
            deployment_id = find_codedeploy_deployment(codedeploy, application, group)
        if deployment_id is None:
            return [Action("continue" if passed else "rollback", passed,
                           "no active CodeDeploy deployment found (give --deployment-id or --codedeploy-application "
                           "and --codedeploy-group)")]
        info = codedeploy.get_deployment(deploymentId=deployment_id).get("deploymentInfo", {})
    except _errors() as exc:
        return [Action("continue" if passed else "rollback", False, f"reading the CodeDeploy deployment failed: "
                       f"{exc}")]
    status = info.get("status")
    if passed:
        if status == "Ready":
            return [_attempt("continue", "codedeploy:ContinueDeployment",
                             lambda: codedeploy.continue_deployment(deploymentId=deployment_id,
                                                                    deploymentWaitType="READY_WAIT"),
                             f"continued {deployment_id} (was waiting for traffic rerouting)")]
        return [Action("continue", True, f"no call needed: {deployment_id} is {status} and shifts traffic on its own")]
    if status not in ACTIVE_STATUSES:
        return [Action("rollback", False, f"{deployment_id} is {status}: nothing to stop; roll back with `pulumi up` "
                       "and the previous model version pinned")]
    return [_attempt("rollback", "codedeploy:StopDeployment",
                     lambda: codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True),
                     f"stopped {deployment_id} with automatic rollback")]
