"""What a local run rehearses, decided before anything starts: the stack hosting the pipeline, its step list, the
deployed and promotion-target stacks, and the `local` values that replace configured ones (each listed, so the run
can print them). Every problem is a ConfigError or UsageError (exit 2) raised here, before any process starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runtime.config import ConfigError, StackConfig, load_stack
from runtime.config.local import LocalRunConfig
from runtime.errors import UsageError
from runtime.pipeline.model import PipelineSpec, Stage
from runtime.pipeline.steps import delivery_stages


@dataclass(frozen=True)
class Replacement:
    """One configured value the rehearsal replaces: in which stack file, which key, from what to what, and why."""

    stack: str
    key: str
    configured: Any
    local: Any
    source: str

    def render(self) -> str:
        return f"{self.key} of Pulumi.{self.stack}.yaml: {self.configured} -> {self.local} ({self.source})"


@dataclass(frozen=True)
class Plan:
    project: Path
    stack: str
    """The stack hosting the pipeline (its `pipeline` section is the step list's input)."""
    hosting: StackConfig
    deployed: StackConfig
    target: StackConfig
    spec: PipelineSpec
    stages: tuple[Stage, ...]
    local: LocalRunConfig
    replacements: tuple[Replacement, ...] = field(default=())

    @property
    def model(self) -> str:
        return self.hosting.model.name

    @property
    def target_column(self) -> str | None:
        """The label column: the promotion target's evaluation target (the model gate's), else the hosting's."""
        for cfg in (self.target, self.hosting):
            if cfg.gates.evaluation is not None:
                return cfg.gates.evaluation.target_column
        return None

    def canary_judge(self) -> Any:
        """The deployed stack's canary judge with the rehearsal's period, a one-minute window and at least the
        rehearsal's latency tolerance."""
        judge = self.deployed.serving.canary.judge
        update: dict[str, Any] = {"window_minutes": 1, "period_seconds": self.local.canary_period_seconds}
        floor = self.local.canary_latency_tolerance
        if floor is not None and judge.latency_tolerance < floor:
            update["latency_tolerance"] = floor
        return judge.model_copy(update=update)

    def banner(self) -> list[str]:
        spec = self.spec
        evaluation = self.target.gates.evaluation
        lines = [
            f"project     {self.project} (stack {self.stack}: deploys {spec.deploy_stack}, promotes to "
            f"{spec.promote_to})",
            f"train       {spec.train_command}   (pipeline.trainCommand)",
            f"data        {spec.training_data_path}   (pipeline.trainingDataPath)",
            "evaluation  " + (f"{evaluation.path}, label {evaluation.target_column}   (gates.evaluation of "
                              f"{spec.promote_to})" if evaluation else f"none (gates.evaluation of {spec.promote_to})"),
            f"tests, lint {spec.test_command}; {spec.lint_command}",
            f"canary      {self.local.canary_requests} requests over {self.local.canary_seconds:g} s, "
            f"{self.deployed.serving.canary.percent:g} % to the candidate, judged in "
            f"{self.local.canary_period_seconds}-s periods (local.canary*)",
        ]
        lines += [f"local       {r.render()}" for r in self.replacements] or ["local       no configured value "
                                                                             "replaced"]
        return lines


def load_plan(project: Path, stack: str, overrides: dict[str, Any]) -> Plan:
    """Read the hosting stack and the stacks its pipeline names; `overrides` are flags (camelCase keys of the
    `local` section) that win over the file's `local` section."""
    hosting = load_stack(stack, project).config
    if hosting.pipeline is None:
        raise UsageError(f"Pulumi.{stack}.yaml has no `ml-cicd:pipeline` section: local run rehearses the pipeline "
                         "a stack hosts; pass --stack of the stack that has one")
    spec = PipelineSpec.from_config(hosting, stack)
    deployed = hosting if spec.deploy_stack == stack else _load(project, spec.deploy_stack, "pipeline.deployStack")
    target = _load(project, spec.promote_to, "pipeline.promoteTo")
    try:
        local = LocalRunConfig.model_validate({**hosting.local.model_dump(by_alias=True),
                                               **{k: v for k, v in overrides.items() if v is not None}})
    except ValueError as exc:
        raise UsageError(f"local run option: {exc}") from None
    if hosting.model.name != target.model.name:
        raise UsageError(f"model.name differs: Pulumi.{stack}.yaml has {hosting.model.name!r}, "
                         f"Pulumi.{spec.promote_to}.yaml {target.model.name!r}; promotion needs one model")
    plan = Plan(project=project, stack=stack, hosting=hosting, deployed=deployed, target=target, spec=spec,
                stages=delivery_stages(spec), local=local)
    return replace(plan, replacements=tuple(_replacements(plan)))


def _load(project: Path, stack: str, key: str) -> StackConfig:
    try:
        return load_stack(stack, project).config
    except ConfigError as exc:
        if any(p.path == "(file)" for p in exc.problems):
            raise UsageError(f"{key} names stack {stack!r}, but {exc.problems[0].message}") from None
        raise


def _replacements(plan: Plan) -> list[Replacement]:
    local, spec = plan.local, plan.spec
    out = []
    smoke = plan.deployed.smoke
    load = smoke.load
    for key, configured, value, name in (
            ("smoke.concurrency", smoke.concurrency, local.smoke_concurrency, "smokeConcurrency"),
            ("smoke.load.durationSeconds", load.duration_seconds, local.load_test_seconds, "loadTestSeconds"),
            ("smoke.load.rps", load.rps, local.load_test_rps, "loadTestRps")):
        if value is not None and value != configured:
            out.append(Replacement(spec.deploy_stack, key, configured, value, f"local.{name}"))
    rows = plan.target.data.quality.min_rows
    if local.min_rows is not None and local.min_rows != rows:
        out.append(Replacement(spec.promote_to, "data.quality.minRows", rows, local.min_rows, "local.minRows"))
    judge = plan.deployed.serving.canary.judge
    if judge.period_seconds != local.canary_period_seconds:
        out.append(Replacement(spec.deploy_stack, "serving.canary.judge.periodSeconds", judge.period_seconds,
                               local.canary_period_seconds, "local.canaryPeriodSeconds"))
    floor = local.canary_latency_tolerance
    if floor is not None and judge.latency_tolerance < floor:
        out.append(Replacement(spec.deploy_stack, "serving.canary.judge.latencyTolerance", judge.latency_tolerance,
                               floor, "local.canaryLatencyTolerance: the servers share this machine's CPUs"))
    if judge.window_minutes != 1:
        out.append(Replacement(spec.deploy_stack, "serving.canary.judge.windowMinutes", judge.window_minutes, 1,
                               "local.canarySeconds fits one minute"))
    return out


#: Keys whose replacement is written into the rehearsal's copy of the stack file (the commands read them there);
#: the canary's are read by the local canary itself.
WRITTEN_PREFIXES = ("smoke.", "data.")
