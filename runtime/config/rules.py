"""Every cross-field rule of the stack config, in the order the loader runs them.

Each rule receives the sections that validated on their own (a dict keyed by section name) and yields
`Problem`s (errors) or `Advice` (security defaults turned off: the program warns). A rule whose sections did not
validate stays silent, so one run reports every problem it can find at once (`findings` holds both types and the
`needs` guard).

The rules live by concern in the sibling `*_rules` modules. The order below is the order of the problems and
warnings in the loader's report, so a new rule goes where its findings should be listed.
"""

from __future__ import annotations

from runtime.config import canary_rules, delivery_rules, gate_rules, platform_rules, serving_rules
from runtime.config.capture_rules import CAPTURE_RULES
from runtime.config.findings import Rule
from runtime.config.program_rules import PROGRAM_RULES
from runtime.config.replay_rules import REPLAY_RULES

RULES: tuple[Rule, ...] = (
    platform_rules.production_pins_the_model,
    serving_rules.serving_backend_settings,
    serving_rules.serving_exposure,
    platform_rules.storage_safety,
    platform_rules.registry_safety,
    platform_rules.registry_source,
    platform_rules.tracking_settings,
    platform_rules.network_settings,
    gate_rules.gate_thresholds,
    canary_rules.judge_cutoffs,
    canary_rules.smoke_thresholds,
    platform_rules.alarm_periods,
    serving_rules.serving_deployment_settings,
    canary_rules.eks_judge_settings,
    platform_rules.tracking_mode_sections,
    platform_rules.tracking_of_the_pipeline_stack,
    gate_rules.model_gate_checks,
    canary_rules.judge_window,
    delivery_rules.pipeline_settings,
    delivery_rules.monitoring_settings,
    gate_rules.data_schema_contract,
    canary_rules.eks_probe_payloads,
    canary_rules.eks_probe_budget,
    platform_rules.certificates_in_the_stack_region,
    *PROGRAM_RULES,
    *CAPTURE_RULES,
    *REPLAY_RULES,
)
