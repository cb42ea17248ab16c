"""`mlcicd verify rollout`: what is live matches what the stack pins, and the platform did not roll it back.

This module holds what both backends judge alike: the pins (`Expected`) and the checks of the live serving
container's image digest and model version against them. The backends read what is live: ECS in
`runtime.verify.ecs` (the service's deployments, events and alarms, the task definition), Kubernetes (backend
`eks`) in `runtime.verify.eks` (the Argo Rollout). When the platform rolled back, Pulumi's state no longer
describes what is live, and the report says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.report import Check, failed, inconclusive, passed

KIND = "rollout-verification"
#: The serving container and its environment, as `components/serving` defines them.
SERVING_CONTAINER = "model"
MODEL_VERSION_ENV = "MLCICD_MODEL_VERSION"
MODEL_NAME_ENV = "MLCICD_MODEL_NAME"
MODEL_VERSION_TAGS = ("mlcicd:model-version", "model-version", "ModelVersion")
DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class Expected:
    """What the stack pins (`model` section of Pulumi.<stack>.yaml)."""

    stack: str
    model_name: str
    version: str | None
    image_digest: str | None


def refresh(stack: str) -> str:
    """The command that makes Pulumi's state match what the platform serves after it rolled back."""
    return f"`pulumi refresh --stack {stack}`"


def serving_container(task_definition: Mapping[str, Any], name: str | None) -> Mapping[str, Any] | None:
    """The container named `name` (default: the serving container, or the only container there is)."""
    containers = task_definition.get("containerDefinitions") or []
    wanted = name or SERVING_CONTAINER
    chosen = next((c for c in containers if c.get("name") == wanted), None)
    if chosen is None and name is None and len(containers) == 1:
        chosen = containers[0]
    return chosen


def pinned_digest(image: str) -> str | None:
    """The digest an image reference pins (`repo@sha256:...`); None for a reference by tag."""
    match = DIGEST.search(image)
    return match.group(1) if match else None


def _model_identity(container: Mapping[str, Any], tags: Iterable[Mapping[str, str]]) -> tuple[str | None, str | None]:
    env = {e.get("name"): e.get("value") for e in container.get("environment") or []}
    tag_map = {t.get("key"): t.get("value") for t in tags}
    version = env.get(MODEL_VERSION_ENV) or next((tag_map[k] for k in MODEL_VERSION_TAGS if tag_map.get(k)), None)
    return env.get(MODEL_NAME_ENV), version or None


def digest_check(digest: str | None, image: str, expected: Expected) -> Check:
    """The live image digest against the pinned one."""
    if expected.image_digest is None:
        return inconclusive("image-digest", f"the stack pins no image digest (model.imageDigest); live: {image}")
    if digest is None:
        return inconclusive("image-digest", f"live image {image} is not pinned by digest and no running task "
                            "reports one", image, expected.image_digest)
    if digest == expected.image_digest:
        return passed("image-digest", digest, expected.image_digest, "the live image is the pinned one")
    return failed("image-digest", digest, expected.image_digest, f"the live service runs {digest}, the stack pins "
                  f"{expected.image_digest}: if the platform rolled back, run {refresh(expected.stack)} and fix the "
                  f"new version; if the change was never applied, run `pulumi up --stack {expected.stack}`")


def version_check(container: Mapping[str, Any], tags: Iterable[Mapping[str, str]], expected: Expected,
                  td_arn: str) -> Check:
    """The model name and version the container declares (environment, else `tags`) against the pinned ones."""
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
    return failed("model-version", version, expected.version, f"the live service runs model version {version}, "
                  f"the stack pins {expected.version}: run {refresh(expected.stack)} if the platform rolled back, else "
                  f"`pulumi up --stack {expected.stack}`")
