"""The data types of the delivery pipeline's step list: stages, steps (actions) and what each step may access.

Pure data (frozen dataclasses): `runtime.pipeline.steps` builds the list from a `PipelineSpec`;
`components.delivery` renders it into CodeBuild projects, roles and CodePipeline stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from runtime.config.stack import StackConfig

BucketRole = Literal["data", "models"]
Secret = Literal["github_token", "pulumi_token", "pulumi_passphrase"]

@dataclass(frozen=True)
class S3Grant:
    """Objects an action reads or writes: one prefix of one stack bucket."""

    bucket: BucketRole
    prefix: str
    write: bool = False


@dataclass(frozen=True)
class Access:
    """Everything an action touches besides its own logs, cache and the pipeline's source artifact."""

    s3: tuple[S3Grant, ...] = ()
    ecr: Literal["none", "pull", "push", "tag"] = "none"
    """The pipeline's image repository: `pull`, `push` (build and push), `tag` (add a tag to a pushed image)."""
    secrets: tuple[Secret, ...] = ()
    tracking: Literal["none", "read", "write", "train"] = "none"
    """Talks to MLflow (gets `MLFLOW_TRACKING_URI`, the credentials and a place in the VPC): `read` the registry,
    `write` tags and aliases too, `train` also create runs and register versions."""
    network: bool = False
    """Reaches a private endpoint (the deployed stack's internal load balancer): runs in the VPC."""
    assume_deploy_role: bool = False
    docker: bool = False
    """Builds or runs container images (CodeBuild privileged mode)."""
    metrics: bool = False
    """Publishes model metrics (only into the stack's metric namespace)."""
    inspect_service: bool = False
    """Reads the deployed model service (ECS services, tasks, task definitions; the deployed stack's alarms)."""
    read_uris: tuple[str, ...] = ()
    """`s3://bucket/prefix/` of another stack's bucket the action reads (the replay gate's captures)."""
    read_kms_keys: tuple[str, ...] = ()
    """Keys of those objects (decrypt through S3 only)."""
    assume_roles: tuple[str, ...] = ()
    """Roles of other stacks the action assumes (the Shadow stage deploys with the shadowed stack's role)."""

    @property
    def in_vpc(self) -> bool:
        return self.tracking != "none" or self.network


@dataclass(frozen=True)
class Mlcicd:
    """One `mlcicd` invocation: argv after `mlcicd`, optionally captured into an exported variable or a file.

    Kept structured (not a shell string) so tests can hand `argv` to the CLI's own parser."""

    argv: tuple[str, ...]
    capture: str | None = None
    stdout: str | None = None
    ok_exit_codes: tuple[int, ...] = ()
    """Exit codes besides 0 the action accepts (e.g. 1 from a drift check whose result is published, not fatal)."""


Command = str | Mlcicd


@dataclass(frozen=True)
class Action:
    name: str
    """CodePipeline action name; also names the CodeBuild project, its role and log group."""
    run_order: int = 1
    category: Literal["Source", "Build", "Approval"] = "Build"
    commands: tuple[Command, ...] = ()
    """Build phase. A failing command fails the action."""
    finally_commands: tuple[str, ...] = ()
    """post_build phase: runs after the build phase whether it passed or not (evidence upload)."""
    install: tuple[str, ...] = ()
    """Install phase, after the repository is installed (when `install_project`)."""
    install_project: bool = True
    access: Access = Access()
    variables: tuple[tuple[str, str], ...] = ()
    """Environment variables set from pipeline variables of earlier actions."""
    exports: tuple[str, ...] = ()
    """Variables this action exports (`#{<namespace>.<name>}` for later actions)."""
    namespace: str | None = None
    heavy: bool = False
    """Train compute type and timeout instead of the default ones."""
    configuration: tuple[tuple[str, str], ...] = ()
    """Source and Approval actions: their CodePipeline configuration."""
    inputs: tuple[str, ...] = ("source",)
    """Input artifacts; the first is the primary source, the others are at `$CODEBUILD_SRC_DIR_<name>`."""
    output: str | None = None
    """Output artifact: the files under the directory of the same name."""


@dataclass(frozen=True)
class Stage:
    name: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class ReplayStep:
    """The Replay stage (`gates.replay` of the hosting stack): where its captures are."""

    inference_prefix: str
    """The hosting stack's capture prefix in its data bucket (used when `captures_uri` is None)."""
    captures_uri: str | None = None
    kms_key_arn: str | None = None

    @classmethod
    def from_config(cls, cfg: StackConfig) -> ReplayStep | None:
        replay = cfg.gates.replay
        if replay is None:
            return None
        return cls(inference_prefix=cfg.monitoring.drift.inference_prefix, captures_uri=replay.captures_uri,
                   kms_key_arn=replay.captures_kms_key_arn)


@dataclass(frozen=True)
class ShadowStep:
    """The optional Shadow stage (`gates.shadow` of the hosting stack)."""

    stack: str
    deploy_role_arn: str

    @classmethod
    def from_config(cls, cfg: StackConfig) -> ShadowStep | None:
        shadow = cfg.gates.shadow
        return None if shadow is None else cls(stack=shadow.stack, deploy_role_arn=shadow.deploy_role_arn)


@dataclass(frozen=True)
class PipelineSpec:
    """The config values the stage list is made of (a plain view of `StackConfig.pipeline`)."""

    stack: str
    model_name: str
    repository: str
    branch: str
    connection_arn: str
    manual_approval: bool
    install_command: str
    test_install_command: str
    train_command: str
    test_command: str
    lint_command: str
    training_data_path: str
    reference_profile_key: str
    mlflow_prefix: str
    deploy_stack: str
    promote_to: str
    pulumi_version: str
    approval_timeout_minutes: int
    data_paths: tuple[str, ...] = ("data/**",)
    code_paths: tuple[str, ...] = ("training/**",)
    pulumi_secrets: tuple[Secret, ...] = field(default=())
    evaluation_path: str | None = None
    """`gates.evaluation.path`, handed to the training command (training contract)."""
    target_column: str | None = None
    """`gates.evaluation.targetColumn`, handed to the training command (training contract)."""
    data_engine: str = "local"
    """`spark`: the Validate action submits the data gate to EMR Serverless (`--emr`) on `spark_training_key`."""
    spark_training_key: str = "training/"
    replay: ReplayStep | None = None
    """The Replay stage (runtime/pipeline/traffic.py), when the stack sets `gates.replay`."""
    shadow: ShadowStep | None = None
    """The Shadow stage, when the stack sets `gates.shadow`."""

    @classmethod
    def from_config(cls, cfg: StackConfig, stack: str) -> PipelineSpec:
        p = cfg.pipeline
        if p is None:
            raise ValueError("the stack has no `pipeline` section")
        secrets: list[Secret] = []
        evaluation = cfg.gates.evaluation
        if p.pulumi_access_token_secret_arn:
            secrets.append("pulumi_token")
        if p.pulumi_passphrase_secret_arn:
            secrets.append("pulumi_passphrase")
        return cls(stack=stack, model_name=cfg.model.name, repository=p.repository, branch=p.branch,
                   connection_arn=p.connection_arn, manual_approval=p.manual_approval,
                   install_command=p.install_command, test_install_command=p.test_install_command,
                   train_command=p.train_command, test_command=p.test_command,
                   lint_command=p.lint_command, training_data_path=p.training_data_path,
                   reference_profile_key=cfg.monitoring.drift.reference_profile_key,
                   mlflow_prefix=cfg.tracking.artifact_prefix, deploy_stack=p.deploy_stack,
                   promote_to=p.promote_to, pulumi_version=p.pulumi_version,
                   approval_timeout_minutes=p.approval_timeout_minutes, data_paths=tuple(p.data_paths),
                   code_paths=tuple(p.code_paths), pulumi_secrets=tuple(secrets), data_engine=cfg.data.engine,
                   spark_training_key=cfg.data.spark.training_data_key,
                   evaluation_path=evaluation.path if evaluation else None,
                   target_column=evaluation.target_column if evaluation else None,
                   replay=ReplayStep.from_config(cfg), shadow=ShadowStep.from_config(cfg))


def build_actions(stages: tuple[Stage, ...]) -> list[tuple[Stage, Action]]:
    """Every CodeBuild action with its stage, in pipeline order."""
    return [(stage, action) for stage in stages for action in stage.actions if action.category == "Build"]


def critical_path(stages: tuple[Stage, ...]) -> list[str]:
    """The sequential steps of one execution: per stage, one entry per distinct run order (parallel actions
    share an entry, joined by ' | ')."""
    steps = []
    for stage in stages:
        for order in sorted({a.run_order for a in stage.actions}):
            steps.append(" | ".join(a.name for a in stage.actions if a.run_order == order))
    return steps
