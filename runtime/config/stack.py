"""The stack config model: one typed description of a stack, read by the Pulumi program and the runtime alike."""

from __future__ import annotations

from typing import Literal

from runtime.config import defaults as d
from runtime.config.base import ConfigModel
from runtime.config.checks import SmokeConfig
from runtime.config.delivery import MonitoringConfig, PipelineConfig
from runtime.config.gates import DataValidationConfig, ModelGateConfig
from runtime.config.local import LocalRunConfig
from runtime.config.platform import (
    AlarmsConfig,
    AwsRegion,
    ModelRefConfig,
    NetworkConfig,
    RegistryConfig,
    ServingConfig,
    StorageConfig,
)
from runtime.config.tracking import TrackingConfig

Environment = Literal["development", "staging", "production"]


class StackConfig(ConfigModel):
    """Everything a stack is. Each field is one top-level key `ml-cicd:<field>` of `Pulumi.<stack>.yaml`."""

    environment: Environment
    """`production` enforces pinning and the production protections; `staging` and `development` relax them."""
    region: AwsRegion
    """AWS region of every resource in the stack."""
    tags: dict[str, str] = {}
    """Tags applied to every resource (as provider default tags)."""
    network: NetworkConfig = NetworkConfig()
    model: ModelRefConfig
    """The model that serves traffic: registered name, exact version and image digest."""
    storage: StorageConfig = StorageConfig()
    registry: RegistryConfig = RegistryConfig()
    serving: ServingConfig = ServingConfig()
    tracking: TrackingConfig = TrackingConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    pipeline: PipelineConfig | None = None
    """The delivery pipeline. Leave out for a stack that is deployed only from another stack's pipeline."""
    monitoring: MonitoringConfig = MonitoringConfig()
    data: DataValidationConfig = DataValidationConfig()
    gates: ModelGateConfig = ModelGateConfig()
    smoke: SmokeConfig = SmokeConfig()
    local: LocalRunConfig = LocalRunConfig()
    """`mlcicd local run` only: the smaller numbers of a rehearsal on one machine."""

    # Effective values that depend on the environment: one place for each decision.
    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def log_retention_days(self) -> int:
        if self.serving.log_retention_days is not None:
            return self.serving.log_retention_days
        return d.LOG_RETENTION_DAYS_PRODUCTION if self.is_production else d.LOG_RETENTION_DAYS_OTHER

    @property
    def deletion_protection(self) -> bool:
        """ALB deletion protection (on in production unless explicitly turned off)."""
        explicit = self.serving.load_balancer.deletion_protection
        return self.is_production if explicit is None else explicit

    @property
    def serving_enabled(self) -> bool:
        """Serving is created once an image digest is pinned (always the case in production)."""
        return self.model.image_digest is not None
