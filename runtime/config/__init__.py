"""The stack config: one pydantic model, read from `Pulumi.<stack>.yaml` by the runtime and from Pulumi config by
the program, so thresholds, canary settings and the deployed model live in exactly one place."""

from runtime.config.base import NAMESPACE
from runtime.config.findings import Advice, Problem
from runtime.config.loader import (
    ConfigError,
    LoadedConfig,
    load_from_pulumi,
    load_stack,
    project_root,
    stack_file,
    validate_config,
)
from runtime.config.stack import StackConfig

__all__ = [
    "NAMESPACE",
    "Advice",
    "ConfigError",
    "LoadedConfig",
    "Problem",
    "StackConfig",
    "load_from_pulumi",
    "load_stack",
    "project_root",
    "stack_file",
    "validate_config",
]
