"""What serves traffic is exactly what was judged: images pinned by digest, and the production model version
carrying PASS evidence of every gate.

How the evidence rule reads evidence: from files, not from MLflow. The Promote stage copies the reports of the
promoted version (`reports/<model>/<version>/<kind>.json`, the artifacts-bucket layout) into the promotion pull
request under `evidence/`, so the evidence is reviewed and versioned with the pin it justifies, and a preview
needs no credentials for the registry. The rule finds the model name and version in the serving container's
environment (`MLCICD_MODEL_NAME`, `MLCICD_MODEL_VERSION`) and the digest in its image, and accepts a report only
if its kind matches, its verdict and every check say PASS, and its subject names that model, version and (where
recorded) digest. Config: `evidenceDir` (default `../evidence`, relative to this pack's directory: the project's
`evidence/`), `requiredGates`, `productionStacks`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import DIGEST, as_list, environment, get, known, of_type, parse_json, report_each, resource_policy

PACK_DIR = Path(__file__).resolve().parent.parent
GATES = ["data-validation", "model-gate", "smoke", "load"]
_DIGEST_KEYS = ("imageDigest", "image_digest", "digest")


def container_images(resource_type: str, props: Any) -> list[tuple[str, str]]:
    """(where, image) of every container the resource runs."""
    if resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        return [(f"containerDefinitions[{c.get('name')}]", c.get("image", ""))
                for c in as_list(parse_json(props.get("containerDefinitions")))]
    pod_specs: list[tuple[str, Any]] = []
    if resource_type in ("kubernetes:argoproj.io/v1alpha1:Rollout", "kubernetes:apps/v1:Deployment"):
        pod_specs.append(("spec.template.spec", get(props, "spec.template.spec")))
    if resource_type == "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate":
        pod_specs += [(f"spec.metrics[{i}].provider.job", get(m, "provider.job.spec.template.spec"))
                      for i, m in enumerate(as_list(get(props, "spec.metrics")))]
    return [(f"{where}.containers[{c.get('name')}]", c.get("image", ""))
            for where, spec in pod_specs for c in as_list(get(spec, "containers") or [])]


def unpinned_images(args: ResourceValidationArgs) -> list[str]:
    return [f"{where} runs image {image!r}, not pinned by digest: a tag can be moved to other bytes after review. "
            "Pin `<repository>@sha256:<digest>` (model.imageDigest for the serving image)."
            for where, image in container_images(args.resource_type, args.props)
            if known(image) and not DIGEST.search(image)]


pinned_images = resource_policy(
    name="images-pinned-by-digest",
    description="Every container (serving, tracking, canary judge) runs an image pinned by sha256 digest.",
    problems=unpinned_images)


def _served_models(args: StackValidationArgs) -> list[tuple[Any, str, str, str]]:
    """(resource, model, version, digest) of every container that serves a model (has MLCICD_MODEL_NAME)."""
    out = []
    for r in args.resources:
        for where, image in container_images(r.resource_type, r.props):
            env = _container_env(r.resource_type, r.props, where)
            if env.get("MLCICD_MODEL_NAME") and known(image):
                digest = image.rsplit("@", 1)[1] if "@" in image else ""
                out.append((r, env["MLCICD_MODEL_NAME"], env.get("MLCICD_MODEL_VERSION", ""), digest))
    return out


def _container_env(resource_type: str, props: Any, where: str) -> dict[str, str]:
    name = where.rsplit("[", 1)[1].rstrip("]")
    if resource_type == "aws:ecs/taskDefinition:TaskDefinition":
        containers = as_list(parse_json(props.get("containerDefinitions")))
    else:
        containers = as_list(get(props, "spec.template.spec.containers"))
    for c in containers:
        if c.get("name") == name:
            return {e.get("name"): str(e.get("value")) for e in as_list(c.get("environment") or c.get("env"))}
    return {}


def judge_report(path: Path, kind: str, model: str, version: str, digest: str) -> str | None:
    """Why this report is not PASS evidence of the model version and digest (None: it is)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"{path} cannot be read as a report: {exc}"
    subject = data.get("subject") if isinstance(data.get("subject"), dict) else {}
    problems = []
    if data.get("kind") != kind:
        problems.append(f"is a {data.get('kind')!r} report, not {kind!r}")
    if subject.get("model") is not None and str(subject["model"]) != model:
        problems.append(f"is for model {subject['model']!r}")
    if subject.get("version") is not None and str(subject["version"]) != version:
        problems.append(f"is for version {subject['version']}")
    if subject.get("version") is None and kind != "data-validation":
        problems.append("names no model version")
    recorded = {str(subject[k]) for k in _DIGEST_KEYS if subject.get(k) is not None}
    if recorded and recorded != {digest}:
        problems.append(f"was taken on image {', '.join(sorted(recorded))}")
    checks = [c for c in as_list(data.get("checks")) if isinstance(c, dict)]
    if data.get("verdict") != "PASS" or not checks or any(c.get("verdict") != "PASS" for c in checks):
        problems.append(f"verdict {data.get('verdict')} (every check must PASS)")
    return f"{path} {'; '.join(problems)}" if problems else None


def validate_production_evidence(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    if environment(args, list(config.get("productionStacks", ["production"]))) != "production":
        return
    directory = Path(str(config.get("evidenceDir", "../evidence")))
    directory = directory if directory.is_absolute() else (PACK_DIR / directory).resolve()
    for resource, model, version, digest in _served_models(args):
        messages = []
        if not version:
            messages.append(f"serves {model} without a pinned version (MLCICD_MODEL_VERSION): production pins one")
        for kind in (config.get("requiredGates") or GATES) if version else []:
            path = directory / "reports" / model / version / f"{kind}.json"
            if not path.is_file():
                messages.append(f"{model} version {version} has no {kind} evidence at {path}: promote with "
                                "`mlcicd promote`, which adds the reports to the pull request under evidence/")
                continue
            problem = judge_report(path, kind, model, version, digest)
            if problem:
                messages.append(f"{model} version {version}: {kind} evidence {problem}")
        report_each(report, resource, messages)


production_evidence = StackValidationPolicy(
    name="production-model-has-passing-evidence",
    description="The model version production serves carries PASS evidence of every gate, for that version and "
                "image digest (reports under evidenceDir, as promotion adds them to the pull request).",
    validate=validate_production_evidence,
    config_schema=PolicyConfigSchema(properties={
        "evidenceDir": {"type": "string", "default": "../evidence"},
        "requiredGates": {"type": "array", "items": {"type": "string"}, "default": GATES},
        "productionStacks": {"type": "array", "items": {"type": "string"}, "default": ["production"]},
    }))


def validate_canary_rollback(args: StackValidationArgs, report: ReportViolation) -> None:
    """A canary-style rollout is rolled back automatically: ECS native with rollback alarms and the circuit
    breaker, CodeDeploy with alarm rollback, Argo with an analysis step after every weight."""
    for service in of_type(args, "aws:ecs/service:Service"):
        strategy = get(service.props, "deploymentConfiguration.strategy")
        controller = get(service.props, "deploymentController.type") or "ECS"
        if controller == "ECS" and strategy in ("CANARY", "LINEAR", "BLUE_GREEN"):
            alarms = service.props.get("alarms") or {}
            if not (alarms.get("enable") and alarms.get("rollback") and as_list(alarms.get("alarmNames"))):
                report(f"{strategy} deployment without rollback alarms: set `alarms` (enable, rollback, the "
                       "canary alarm names)", service.urn)
            if not get(service.props, "deploymentCircuitBreaker.rollback"):
                report(f"{strategy} deployment without the circuit breaker's rollback", service.urn)
    for group in of_type(args, "aws:codedeploy/deploymentGroup:DeploymentGroup"):
        alarms = group.props.get("alarmConfiguration") or {}
        events = as_list(get(group.props, "autoRollbackConfiguration.events"))
        if not (alarms.get("enabled") and as_list(alarms.get("alarms")) and "DEPLOYMENT_STOP_ON_ALARM" in events):
            report("CodeDeploy deployment group without alarm rollback (alarmConfiguration and the "
                   "DEPLOYMENT_STOP_ON_ALARM auto-rollback event)", group.urn)
    for rollout in of_type(args, "kubernetes:argoproj.io/v1alpha1:Rollout"):
        steps = as_list(get(rollout.props, "spec.strategy.canary.steps"))
        if any("setWeight" in s for s in steps) and not any("analysis" in s for s in steps):
            report("Argo canary without an analysis step: nothing judges the canary before it takes all traffic",
                   rollout.urn)


canary_rollback = StackValidationPolicy(
    name="canary-has-rollback-alarms",
    description="Every canary, linear or blue-green rollout rolls back automatically on its alarms (or, on Argo, "
                "on the judge's analysis).",
    validate=validate_canary_rollback)
