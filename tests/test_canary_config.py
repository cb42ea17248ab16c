"""Config of the canary judge (`serving.canary.judge`): defaults and the cross-field rules' messages."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import ConfigError, validate_config
from runtime.config.checks import CanaryJudgeConfig
from tests.harness import stack_config


def _problems(overrides: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate_config(stack_config("staging", {"serving": {"canary": {"judge": overrides}}}), "Pulumi.staging.yaml")
    return [p.render() for p in info.value.problems]


def test_defaults_are_documented_and_sane() -> None:
    cfg = CanaryJudgeConfig()
    assert cfg.window_minutes * 60 // cfg.period_seconds >= cfg.min_points
    assert cfg.critical == ["errors"]
    assert cfg.marginal_score < cfg.pass_score
    for name, info in CanaryJudgeConfig.model_fields.items():
        if name != "weights":
            assert "Default" in (info.description or ""), name


def test_window_too_short_for_min_points_names_the_key_and_the_fix() -> None:
    problems = _problems({"windowMinutes": 3, "minPoints": 5})
    assert problems == ["ml-cicd:serving.canary.judge.windowMinutes = 3: gives 3 data points of 60 s, fewer than "
                        "minPoints (5): the judge could never decide; use at least 5 minutes"]


def test_all_weights_zero_is_an_error() -> None:
    zero = {"errors": 0, "latency": 0, "tail": 0, "predictions": 0, "quality": 0}
    assert _problems({"weights": zero}) == ["ml-cicd:serving.canary.judge.weights: at least one weight must be "
                                            "positive"]


def test_marginal_above_pass_and_unknown_critical_metric() -> None:
    problems = _problems({"passScore": 80, "marginalScore": 85, "critical": ["errors", "throughput"]})
    assert problems[0].startswith("ml-cicd:serving.canary.judge.critical[1] = 'throughput': Input should be")
    assert len(problems) == 1  # the rule waits for the section to validate before comparing scores
    assert _problems({"passScore": 80, "marginalScore": 85}) == [
        "ml-cicd:serving.canary.judge.marginalScore = 85.0: must not exceed passScore (80)"]


def test_period_must_be_a_cloudwatch_period() -> None:
    assert any("periodSeconds" in p for p in _problems({"periodSeconds": 45}))


def test_max_bake_beyond_the_platform_bake_names_both_keys() -> None:
    problems = _problems({"maxBakeMinutes": 60})
    assert problems == ["ml-cicd:serving.canary.judge.maxBakeMinutes = 60: must not exceed serving.canary.bakeMinutes "
                        "(5): the platform shifts the remaining traffic after the bake, so later looks would judge "
                        "a finished rollout; raise bakeMinutes or lower maxBakeMinutes"]


def test_decision_keys_have_documented_effects() -> None:
    cfg = CanaryJudgeConfig()
    assert (cfg.alpha, cfg.power, cfg.error_rate_ratio, cfg.tail_tolerance) == (0.01, 0.9, 2.0, 0.2)
    assert cfg.prediction_shift_sd == 0.2
    assert cfg.max_bake_minutes is None
