"""The shadow variant in the program (`serving.shadow`): the baseline's mirror settings, then the ShadowService.

Order: the mirror's target is a deterministic address (`components.serving.shadow.mirror_url`), so the model
service's environment carries it before the shadow exists; the shadow is built after the model service, whose
cluster and task security group it joins.
"""

from __future__ import annotations

from dataclasses import replace

import pulumi

from components.serving.model_service import ModelService
from components.serving.shadow import ShadowService, ShadowServiceArgs, mirror_url
from components.storage.artifact_store import ArtifactStore
from runtime import stack_outputs as out
from runtime.config import StackConfig
from runtime.serving.mirror import MirrorSettings
from runtime.serving.settings import CaptureSettings


def mirror_settings(cfg: StackConfig, capture: CaptureSettings | None) -> MirrorSettings | None:
    """What the baseline's servers are told (`MLCICD_MIRROR`), or None without a shadow (the config rules make a
    shadow need capture)."""
    shadow = cfg.serving.shadow
    if not shadow.enabled or capture is None:
        return None
    return MirrorSettings(url=mirror_url(cfg.serving.backend, cfg.model.name, cfg.serving.port, cfg.serving.eks),
                          sample_percent=shadow.mirror_percent, timeout_seconds=shadow.mirror_timeout_seconds,
                          buffer_requests=shadow.mirror_buffer_requests, concurrency=shadow.mirror_concurrency,
                          metrics_namespace=cfg.alarms.model_quality.namespace)


def build_shadow(cfg: StackConfig, capture: CaptureSettings, service: ModelService, opts: pulumi.ResourceOptions, *,
                 store: ArtifactStore, image_repository_url: pulumi.Input[str],
                 image_repository_arn: pulumi.Input[str], vpc_id: pulumi.Input[str],
                 private_subnet_ids: pulumi.Input[list[str]], account_id: pulumi.Input[str],
                 stream_arn: pulumi.Input[str]) -> ShadowService:
    shadow, serving = cfg.serving.shadow, cfg.serving
    assert shadow.image_digest is not None  # enforced by the config rules
    args = ShadowServiceArgs(
        backend=serving.backend, model_name=cfg.model.name, model_version=shadow.model_version or "",
        image_repository_url=image_repository_url, image_repository_arn=image_repository_arn,
        image_digest=shadow.image_digest, port=serving.port, cpu=serving.cpu, memory=serving.memory,
        desired_count=shadow.desired_count,
        # Every copy the shadow receives is captured: the baseline already chose which requests to mirror.
        capture=replace(capture, sample_percent=100.0), capture_stream_arn=stream_arn, region=cfg.region,
        account_id=account_id, metrics_namespace=cfg.alarms.model_quality.namespace,
        log_retention_days=cfg.log_retention_days,
        # The backend's own: the EKS cluster access, or the ECS service's cluster and network (each backend
        # checks that its fields are given and reads no other backend's).
        eks=serving.eks, cluster_name=service.cluster_name, vpc_id=vpc_id, private_subnet_ids=private_subnet_ids,
        baseline_security_group_id=service.task_security_group_id, kms_key_arn=store.kms_key_arn)
    component = ShadowService("shadow", args, pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(depends_on=[service])))
    pulumi.export(out.SHADOW_SERVICE, component.service_name)
    return component
