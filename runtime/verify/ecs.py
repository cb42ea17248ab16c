"""`mlcicd verify rollout` on ECS: the service's PRIMARY deployment (or PRIMARY task set under CodeDeploy) gives the
live task definition; its serving container gives the image digest (from the image reference, else from the running
tasks) and the model version (env `MLCICD_MODEL_VERSION`, or a task-definition tag). A deployment with rolloutState
FAILED, circuit breaker or rollback events, or one of the service's alarms in ALARM means the platform rolled back
(or is about to): then Pulumi's state no longer describes what is live, and the report says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runtime import metrics as m
from runtime.report import Check, Report, failed, inconclusive, passed
from runtime.verify import pins
from runtime.verify.pins import Expected

#: Service events that mean the platform stopped or reverted a deployment.
ROLLBACK_EVENT = re.compile(r"circuit breaker|rolling back|rolled back|roll(ed)? back|alarm.* detected|"
                            r"deployment failed", re.IGNORECASE)
RECENT_EVENTS = 20


def verify_ecs_rollout(ecs: Any, cloudwatch: Any, *, cluster: str, service: str, expected: Expected,
                       container: str | None = None, alarm_names: Sequence[str] = (),
                       alarm_prefix: str | None = None) -> Report:
    """Judge the ECS service against the stack's pins: its live deployment's rollout, its alarms, then the image
    digest and model version of the live task definition's serving container."""
    report = Report(kind=pins.KIND, subject={"model": expected.model_name, "version": expected.version,
                                             "image_digest": expected.image_digest, "stack": expected.stack,
                                             "cluster": cluster, "service": service})
    svc = _service(ecs, cluster, service, expected)
    if isinstance(svc, Check):
        report.add(svc)
        return report
    td_arn, state, origin = _live_task_definition(svc)
    evidence = rollback_evidence(svc)
    report.details = {"live_task_definition": td_arn, "from": origin, "rollout_state": state,
                      "service_task_definition": svc.get("taskDefinition"), "rollback_evidence": evidence}
    report.add(_rollout_check(evidence, state, origin, expected=expected, cluster=cluster, service=service))
    report.add(_alarm_check(cloudwatch, svc, expected, alarm_names, alarm_prefix))
    if td_arn is None:
        report.add(inconclusive("image-digest", "the service has no task definition"))
        return report
    _add_container_checks(report, ecs, td_arn, cluster=cluster, service=service, container=container,
                          expected=expected)
    return report


def _service(ecs: Any, cluster: str, service: str, expected: Expected) -> Mapping[str, Any] | Check:
    """The service as ECS describes it, or the check that ends the report: INCONCLUSIVE when ECS cannot be asked,
    FAIL when the service does not exist (or is INACTIVE)."""
    try:
        described = ecs.describe_services(cluster=cluster, services=[service])
    except _errors() as exc:
        return inconclusive("service", f"cannot describe service {service} in cluster {cluster}: {exc}")
    services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        return failed("service", None, "exists", f"service {service} not found in cluster {cluster}: was the "
                      f"stack deployed (`pulumi up --stack {expected.stack}`), and do --cluster/--service match "
                      f"its outputs? If it was deleted outside Pulumi, run {pins.refresh(expected.stack)}")
    return services[0]


def _live_task_definition(svc: Mapping[str, Any]) -> tuple[str | None, str | None, str]:
    """(task definition ARN, rollout state, what it came from)."""
    deployments = svc.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is not None:
        return primary.get("taskDefinition"), primary.get("rolloutState"), f"PRIMARY deployment {primary.get('id')}"
    task_sets = svc.get("taskSets") or []
    primary_set = next((t for t in task_sets if t.get("status") == "PRIMARY"), None)
    if primary_set is not None:
        steady = primary_set.get("stabilityStatus") == "STEADY_STATE"
        return (primary_set.get("taskDefinition"), "COMPLETED" if steady else "IN_PROGRESS",
                f"PRIMARY task set {primary_set.get('id')}")
    return svc.get("taskDefinition"), None, "the service"


def rollback_evidence(svc: Mapping[str, Any]) -> list[str]:
    """Signs that ECS rolled back or failed a deployment: FAILED deployments and recent rollback events."""
    found = [f"deployment {d.get('id')} ({d.get('taskDefinition')}) FAILED: {d.get('rolloutStateReason', '')}"
             .rstrip(": ") for d in svc.get("deployments") or [] if d.get("rolloutState") == "FAILED"]
    events = sorted(svc.get("events") or [], key=lambda e: str(e.get("createdAt", "")), reverse=True)
    found += [f"event {e.get('createdAt')}: {e.get('message')}" for e in events[:RECENT_EVENTS]
              if ROLLBACK_EVENT.search(str(e.get("message", "")))]
    return found


def _rollout_check(evidence: Sequence[str], state: str | None, origin: str, *, expected: Expected, cluster: str,
                   service: str) -> Check:
    """FAIL on any rollback evidence, else PASS once the live deployment completed; still rolling out, or no rollout
    state at all, is INCONCLUSIVE."""
    if evidence:
        return failed("rollout", state, "COMPLETED without rollback", f"the platform rolled back or failed a "
                      f"deployment: {'; '.join(evidence)}. What ECS serves no longer matches Pulumi's state: run "
                      f"{pins.refresh(expected.stack)}, find the cause in the service events and the task logs, then "
                      f"fix and deploy again (or revert the model pin in Pulumi.{expected.stack}.yaml)")
    if state == "COMPLETED":
        return passed("rollout", state, "COMPLETED", f"{origin} completed")
    if state == "IN_PROGRESS":
        return inconclusive("rollout", f"{origin} is still rolling out: rerun once it completes (e.g. after "
                            f"`aws ecs wait services-stable --cluster {cluster} --services {service}`)", state,
                            "COMPLETED")
    return inconclusive("rollout", f"{origin} reports no rollout state ({state}): cannot tell whether it "
                        "completed", state, "COMPLETED")


def _alarm_check(cloudwatch: Any, svc: Mapping[str, Any], expected: Expected, alarm_names: Sequence[str],
                 alarm_prefix: str | None) -> Check:
    names = [*alarm_names, *(((svc.get("deploymentConfiguration") or {}).get("alarms") or {}).get("alarmNames") or [])]
    groups = [lb["targetGroupArn"].split(":")[-1] for lb in svc.get("loadBalancers") or [] if lb.get("targetGroupArn")]
    try:
        firing = watched_alarms(_alarms_in_alarm(cloudwatch), names=names, model_name=expected.model_name,
                                target_groups=groups, prefix=alarm_prefix)
    except _errors() as exc:
        return inconclusive("alarms", f"cannot read alarm states: {exc}")
    if firing:
        shown = "; ".join(f"{a.get('AlarmName')} (since {a.get('StateUpdatedTimestamp')}): {a.get('StateReason')}"
                          for a in firing)
        return failed("alarms", [a.get("AlarmName") for a in firing], "no alarm of the service in ALARM",
                      f"in ALARM: {shown}. The canary alarms roll the deployment back: look at the metric that "
                      f"fired (and the canary judge's report), then {pins.refresh(expected.stack)} so Pulumi's state "
                      "matches what ECS serves, fix the model and deploy again")
    return passed("alarms", 0, "no alarm of the service in ALARM",
                  f"no alarm of the service in ALARM ({len(set(names))} rollback alarms named, plus alarms on "
                  f"ModelName={expected.model_name})")


def watched_alarms(alarms: Sequence[Mapping[str, Any]], *, names: Iterable[str], model_name: str,
                   target_groups: Iterable[str], prefix: str | None) -> list[Mapping[str, Any]]:
    """The alarms that belong to this service: named by the service or the stack, with its prefix, or on its
    model or target groups."""
    wanted, groups = set(names), set(target_groups)
    picked = []
    for alarm in alarms:
        name = alarm.get("AlarmName", "")
        dims = _alarm_dimensions(alarm)
        if (name in wanted or (prefix and name.startswith(prefix)) or dims.get(m.DIMENSION_MODEL) == model_name
                or dims.get(m.ALB_DIMENSION_TG) in groups):
            picked.append(alarm)
    return picked


def _alarm_dimensions(alarm: Mapping[str, Any]) -> dict[str, str]:
    dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    for query in alarm.get("Metrics", []) or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        dims.update({d["Name"]: d["Value"] for d in metric.get("Dimensions", [])})
    return dims


def _alarms_in_alarm(cloudwatch: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(50):
        kwargs: dict[str, Any] = {"StateValue": "ALARM", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
        if token:
            kwargs["NextToken"] = token
        page = cloudwatch.describe_alarms(**kwargs)
        out += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        token = page.get("NextToken")
        if not token:
            break
    return out


def _add_container_checks(report: Report, ecs: Any, td_arn: str, *, cluster: str, service: str,
                          container: str | None, expected: Expected) -> None:
    """Add the image-digest and model-version checks of the task definition's serving container (one INCONCLUSIVE
    image-digest check when the task definition or the container cannot be read)."""
    try:
        described_td = ecs.describe_task_definition(taskDefinition=td_arn)
    except _errors() as exc:
        report.add(inconclusive("image-digest", f"cannot describe task definition {td_arn}: {exc}"))
        return
    chosen = pins.serving_container(described_td.get("taskDefinition", {}), container)
    if chosen is None:
        report.add(inconclusive("image-digest", f"{td_arn} has no container named "
                                f"{container or pins.SERVING_CONTAINER} (pass --container NAME)"))
        return
    image = str(chosen.get("image", ""))
    digest = pins.pinned_digest(image)
    if digest is None:
        try:
            digest = _running_digest(ecs, cluster, service, str(chosen.get("name")))
        except _errors():
            digest = None
    report.details["image"] = image
    report.add(pins.digest_check(digest, image, expected))
    report.add(pins.version_check(chosen, _tags_if_needed(ecs, chosen, td_arn), expected, td_arn))


def _running_digest(ecs: Any, cluster: str, service: str, container: str) -> str | None:
    """The digest ECS resolved for the running tasks (when the image is referenced by tag)."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING").get("taskArns", [])
    if not arns:
        return None
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks", [])
    digests = {c.get("imageDigest") for t in tasks for c in t.get("containers", [])
               if c.get("name") == container and c.get("imageDigest")}
    return digests.pop() if len(digests) == 1 else None


def _tags_if_needed(ecs: Any, container: Mapping[str, Any], td_arn: str) -> list[dict[str, str]]:
    """Task-definition tags, read only when the container's environment does not name the model version (the
    environment needs no extra permission; tags need `ecs:DescribeTaskDefinition` with include TAGS)."""
    if any(e.get("name") == pins.MODEL_VERSION_ENV and e.get("value") for e in container.get("environment") or []):
        return []
    try:
        return ecs.describe_task_definition(taskDefinition=td_arn, include=["TAGS"]).get("tags") or []
    except _errors():
        return []


def _errors() -> tuple[type[Exception], ...]:
    """The botocore errors that mean AWS did not answer; imported on first use, not with the module."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)
