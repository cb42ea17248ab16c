"""`mlcicd verify rollout` on Kubernetes (backend `eks`): the Argo Rollout's status and pod template, read with the
`kubernetes` client if it is installed (optional; `pip install kubernetes`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.report import Report, failed, inconclusive, passed
from runtime.verify import pins
from runtime.verify.pins import Expected


def verify_argo_rollout(rollout: Mapping[str, Any], expected: Expected, *, container: str | None = None) -> Report:
    """Judge an Argo Rollout object (as `kubectl get rollout -o json` returns it)."""
    meta, spec, status = rollout.get("metadata", {}), rollout.get("spec", {}), rollout.get("status", {})
    report = Report(kind=pins.KIND, subject={"model": expected.model_name, "version": expected.version,
                                             "image_digest": expected.image_digest, "stack": expected.stack,
                                             "rollout": f"{meta.get('namespace')}/{meta.get('name')}"})
    phase, message = status.get("phase"), status.get("message", "")
    report.details = {"phase": phase, "message": message, "stable": status.get("stableRS"),
                      "current": status.get("currentPodHash")}
    if status.get("abort") or phase == "Degraded":
        report.add(failed("rollout", phase, "Healthy", f"Argo Rollouts aborted the canary ({message or phase}): the "
                          f"stable version still serves. Run {pins.refresh(expected.stack)}, read the AnalysisRun of "
                          "the canary judge, fix and deploy again"))
    elif phase == "Healthy" and status.get("currentPodHash") == status.get("stableRS"):
        report.add(passed("rollout", phase, "Healthy", "rollout complete"))
    else:
        report.add(inconclusive("rollout", f"rollout is {phase} ({message}): rerun once it completes", phase,
                                "Healthy"))
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    chosen = pins.serving_container({"containerDefinitions": containers}, container)
    if chosen is None:
        report.add(inconclusive("image-digest", f"no container named {container or pins.SERVING_CONTAINER}"))
        return report
    image = str(chosen.get("image", ""))
    report.add(pins.digest_check(pins.pinned_digest(image), image, expected))
    env = [{"name": e.get("name"), "value": e.get("value")} for e in chosen.get("env") or []]
    report.add(pins.version_check({"environment": env}, [], expected, f"rollout {meta.get('name')}"))
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
