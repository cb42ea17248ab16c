"""`mlcicd verify rollout`: what is live matches what the stack pins, and the platform did not roll it back.

ECS: the service's PRIMARY deployment (or PRIMARY task set under CodeDeploy) gives the live task definition; its
serving container gives the image digest (from the image reference, else from the running tasks) and the model
version (env `MLCICD_MODEL_VERSION`, or a task-definition tag). A deployment with rolloutState FAILED, circuit
breaker or rollback events, or one of the service's alarms in ALARM means the platform rolled back (or is about
to): then Pulumi's state no longer describes what is live, and the report says what to do.
Kubernetes (backend `eks`): the Argo Rollout's status and pod template, read with the `kubernetes` client if it is
installed (optional; `pip install kubernetes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime import metrics as m
from runtime.report import Check, Report, failed, inconclusive, passed

KIND = "rollout-verification"
#: The serving container and its environment, as `components/serving` defines them.
SERVING_CONTAINER = "model"
MODEL_VERSION_ENV = "MLCICD_MODEL_VERSION"
MODEL_NAME_ENV = "MLCICD_MODEL_NAME"
MODEL_VERSION_TAGS = ("mlcicd:model-version", "model-version", "ModelVersion")
DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")
#: Service events that mean the platform stopped or reverted a deployment.
ROLLBACK_EVENT = re.compile(r"circuit breaker|rolling back|rolled back|roll(ed)? back|alarm.* detected|"
                            r"deployment failed", re.IGNORECASE)
RECENT_EVENTS = 20


@dataclass(frozen=True)
class Expected:
    """What the stack pins (`model` section of Pulumi.<stack>.yaml)."""

    stack: str
    model_name: str
    version: str | None
    image_digest: str | None


def _refresh(stack: str) -> str:
    return f"`pulumi refresh --stack {stack}`"


def _errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


# ECS ------------------------------------------------------------------------------------------------------------------
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


def _container(task_definition: Mapping[str, Any], name: str | None) -> Mapping[str, Any] | None:
    containers = task_definition.get("containerDefinitions") or []
    wanted = name or SERVING_CONTAINER
    chosen = next((c for c in containers if c.get("name") == wanted), None)
    if chosen is None and name is None and len(containers) == 1:
        chosen = containers[0]
    return chosen


def _running_digest(ecs: Any, cluster: str, service: str, container: str) -> str | None:
    """The digest ECS resolved for the running tasks (when the image is referenced by tag)."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING").get("taskArns", [])
    if not arns:
        return None
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks", [])
    digests = {c.get("imageDigest") for t in tasks for c in t.get("containers", [])
               if c.get("name") == container and c.get("imageDigest")}
    return digests.pop() if len(digests) == 1 else None


def _model_identity(container: Mapping[str, Any], tags: Iterable[Mapping[str, str]]) -> tuple[str | None, str | None]:
    env = {e.get("name"): e.get("value") for e in container.get("environment") or []}
    tag_map = {t.get("key"): t.get("value") for t in tags}
    version = env.get(MODEL_VERSION_ENV) or next((tag_map[k] for k in MODEL_VERSION_TAGS if tag_map.get(k)), None)
    return env.get(MODEL_NAME_ENV), version or None


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


def _alarm_dimensions(alarm: Mapping[str, Any]) -> dict[str, str]:
    dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    for query in alarm.get("Metrics", []) or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        dims.update({d["Name"]: d["Value"] for d in metric.get("Dimensions", [])})
    return dims


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
                      f"fired (and the canary judge's report), then {_refresh(expected.stack)} so Pulumi's state "
                      "matches what ECS serves, fix the model and deploy again")
    return passed("alarms", 0, "no alarm of the service in ALARM",
                  f"no alarm of the service in ALARM ({len(set(names))} rollback alarms named, plus alarms on "
                  f"ModelName={expected.model_name})")


def verify_ecs_rollout(ecs: Any, cloudwatch: Any, *, cluster: str, service: str, expected: Expected,
                       container: str | None = None, alarm_names: Sequence[str] = (),
                       alarm_prefix: str | None = None) -> Report:
    report = Report(kind=KIND, subject={"model": expected.model_name, "version": expected.version,
                                        "image_digest": expected.image_digest, "stack": expected.stack,
                                        "cluster": cluster, "service": service})
    try:
        described = ecs.describe_services(cluster=cluster, services=[service])
    except _errors() as exc:
        report.add(inconclusive("service", f"cannot describe service {service} in cluster {cluster}: {exc}"))
        return report
    services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        report.add(failed("service", None, "exists", f"service {service} not found in cluster {cluster}: was the "
                          f"stack deployed (`pulumi up --stack {expected.stack}`), and do --cluster/--service match "
                          f"its outputs? If it was deleted outside Pulumi, run {_refresh(expected.stack)}"))
        return report
    svc = services[0]
    td_arn, state, origin = _live_task_definition(svc)
    evidence = rollback_evidence(svc)
    report.details = {"live_task_definition": td_arn, "from": origin, "rollout_state": state,
                      "service_task_definition": svc.get("taskDefinition"), "rollback_evidence": evidence}
    if evidence:
        report.add(failed("rollout", state, "COMPLETED without rollback", f"the platform rolled back or failed a "
                          f"deployment: {'; '.join(evidence)}. What ECS serves no longer matches Pulumi's state: run "
                          f"{_refresh(expected.stack)}, find the cause in the service events and the task logs, then "
                          f"fix and deploy again (or revert the model pin in Pulumi.{expected.stack}.yaml)"))
    elif state == "COMPLETED":
        report.add(passed("rollout", state, "COMPLETED", f"{origin} completed"))
    elif state == "IN_PROGRESS":
        report.add(inconclusive("rollout", f"{origin} is still rolling out: rerun once it completes (e.g. after "
                                f"`aws ecs wait services-stable --cluster {cluster} --services {service}`)", state,
                                "COMPLETED"))
    else:
        report.add(inconclusive("rollout", f"{origin} reports no rollout state ({state}): cannot tell whether it "
                                "completed", state, "COMPLETED"))
    report.add(_alarm_check(cloudwatch, svc, expected, alarm_names, alarm_prefix))
    if td_arn is None:
        report.add(inconclusive("image-digest", "the service has no task definition"))
        return report
    try:
        described_td = ecs.describe_task_definition(taskDefinition=td_arn)
    except _errors() as exc:
        report.add(inconclusive("image-digest", f"cannot describe task definition {td_arn}: {exc}"))
        return report
    chosen = _container(described_td.get("taskDefinition", {}), container)
    if chosen is None:
        report.add(inconclusive("image-digest", f"{td_arn} has no container named {container or SERVING_CONTAINER} "
                                "(pass --container NAME)"))
        return report
    image = str(chosen.get("image", ""))
    match = DIGEST.search(image)
    digest = match.group(1) if match else None
    if digest is None:
        try:
            digest = _running_digest(ecs, cluster, service, str(chosen.get("name")))
        except _errors():
            digest = None
    report.details["image"] = image
    report.add(_digest_check(digest, image, expected))
    report.add(_version_check(chosen, _tags_if_needed(ecs, chosen, td_arn), expected, td_arn))
    return report


def _tags_if_needed(ecs: Any, container: Mapping[str, Any], td_arn: str) -> list[dict[str, str]]:
    """Task-definition tags, read only when the container's environment does not name the model version (the
    environment needs no extra permission; tags need `ecs:DescribeTaskDefinition` with include TAGS)."""
    if any(e.get("name") == MODEL_VERSION_ENV and e.get("value") for e in container.get("environment") or []):
        return []
    try:
        return ecs.describe_task_definition(taskDefinition=td_arn, include=["TAGS"]).get("tags") or []
    except _errors():
        return []


def _digest_check(digest: str | None, image: str, expected: Expected) -> Check:
    if expected.image_digest is None:
        return inconclusive("image-digest", f"the stack pins no image digest (model.imageDigest); live: {image}")
    if digest is None:
        return inconclusive("image-digest", f"live image {image} is not pinned by digest and no running task "
                            "reports one", image, expected.image_digest)
    if digest == expected.image_digest:
        return passed("image-digest", digest, expected.image_digest, "the live image is the pinned one")
    return failed("image-digest", digest, expected.image_digest, f"ECS serves {digest}, the stack pins "
                  f"{expected.image_digest}: if the platform rolled back, run {_refresh(expected.stack)} and fix the "
                  f"new version; if the change was never applied, run `pulumi up --stack {expected.stack}`")


def _version_check(container: Mapping[str, Any], tags: Iterable[Mapping[str, str]], expected: Expected,
                   td_arn: str) -> Check:
    name, version = _model_identity(container, tags)
    if name is not None and name != expected.model_name:
        return failed("model-version", f"{name}/{version}", f"{expected.model_name}/{expected.version}",
                      f"{td_arn} serves model {name}, the stack pins {expected.model_name}")
    if expected.version is None:
        return passed("model-version", version, None, "the stack pins no version (it follows an alias); the image "
                      "digest identifies the model")
    if version is None:
        return inconclusive("model-version", f"{td_arn} declares no model version (env {MODEL_VERSION_ENV} or tag "
                            f"{MODEL_VERSION_TAGS[0]})", None, expected.version)
    if version == expected.version:
        return passed("model-version", version, expected.version, f"model version {version} serves")
    return failed("model-version", version, expected.version, f"ECS serves model version {version}, the stack pins "
                  f"{expected.version}: run {_refresh(expected.stack)} if the platform rolled back, else "
                  f"`pulumi up --stack {expected.stack}`")


# Kubernetes (Argo Rollouts) -------------------------------------------------------------------------------------------
def verify_argo_rollout(rollout: Mapping[str, Any], expected: Expected, *, container: str | None = None) -> Report:
    """Judge an Argo Rollout object (as `kubectl get rollout -o json` returns it)."""
    meta, spec, status = rollout.get("metadata", {}), rollout.get("spec", {}), rollout.get("status", {})
    report = Report(kind=KIND, subject={"model": expected.model_name, "version": expected.version,
                                        "image_digest": expected.image_digest, "stack": expected.stack,
                                        "rollout": f"{meta.get('namespace')}/{meta.get('name')}"})
    phase, message = status.get("phase"), status.get("message", "")
    report.details = {"phase": phase, "message": message, "stable": status.get("stableRS"),
                      "current": status.get("currentPodHash")}
    if status.get("abort") or phase == "Degraded":
        report.add(failed("rollout", phase, "Healthy", f"Argo Rollouts aborted the canary ({message or phase}): the "
                          f"stable version still serves. Run {_refresh(expected.stack)}, read the AnalysisRun of "
                          "the canary judge, fix and deploy again"))
    elif phase == "Healthy" and status.get("currentPodHash") == status.get("stableRS"):
        report.add(passed("rollout", phase, "Healthy", "rollout complete"))
    else:
        report.add(inconclusive("rollout", f"rollout is {phase} ({message}): rerun once it completes", phase,
                                "Healthy"))
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    chosen = _container({"containerDefinitions": containers}, container)
    if chosen is None:
        report.add(inconclusive("image-digest", f"no container named {container or SERVING_CONTAINER}"))
        return report
    image = str(chosen.get("image", ""))
    match = DIGEST.search(image)
    report.add(_digest_check(match.group(1) if match else None, image, expected))
    env = [{"name": e.get("name"), "value": e.get("value")} for e in chosen.get("env") or []]
    report.add(_version_check({"environment": env}, [], expected, f"rollout {meta.get('name')}"))
    return report


def fetch_argo_rollout(namespace: str, name: str) -> dict[str, Any]:
    """Read a Rollout with the `kubernetes` client (kubeconfig or in-cluster); optional dependency."""
    try:
        from kubernetes import client, config  # type: ignore[import-not-found]
    except ImportError:
        from runtime.errors import UsageError

        raise UsageError("backend eks: install the Kubernetes client (`pip install kubernetes`) to read the "
                         "Argo Rollout") from None
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    api = client.CustomObjectsApi()
    return api.get_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "rollouts", name)
