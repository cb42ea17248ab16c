"""The delivery pipeline as data: ONE list of stages and actions.

`delivery_stages(spec)` is a pure function of the stack config. From its result the `DeliveryPipeline` component
builds every CodeBuild project, role, policy, log group and the CodePipeline stages, and `buildspec.render` writes
each action's buildspec: nothing about an action is written twice.

Conventions shared by every build action (the component sets the environment):
- `STACK_NAME` (the stack hosting the pipeline), `MODEL_NAME`, `PIPELINE_EXECUTION_ID` always;
- `DATA_BUCKET` / `MODELS_BUCKET` when the action's access names that bucket; `ECR_REPOSITORY_URL` and
  `ECR_REPOSITORY_NAME` with ECR access; `MLFLOW_TRACKING_URI` (and the credentials) with tracking access;
- values from earlier actions arrive as pipeline variables (`#{Train.MODEL_VERSION}`), declared in `variables`.

Evidence: each gate's report goes to `s3://$MODELS_BUCKET/<evidence_key(model, version, kind)>` (runtime.evidence),
where `mlcicd promote` finds it. Data validation runs before a version exists, so it writes under
`runs/<execution id>/` and Train copies it to the version's evidence once the version is known.

Thresholds: the data contract and the model gate are the promotion target's (`--stack <promoteTo>`: the bar a
candidate must clear is production's); smoke, load and rollout checks are the deployed stack's (`--stack
<deployStack>`: the endpoint under test).
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from infra import outputs
from runtime.config.stack import StackConfig
from runtime.evidence import KIND_DATA_VALIDATION, KIND_LOAD, KIND_MODEL_GATE, KIND_SMOKE, evidence_key

if TYPE_CHECKING:
    from components.delivery.traffic import ReplayStep, ShadowStep

BucketRole = Literal["data", "models"]
Secret = Literal["github_token", "pulumi_token", "pulumi_passphrase"]

#: Report kinds written by the pipeline beyond the runtime's gate kinds.
KIND_IMAGE_SCAN = "image-scan"
KIND_VERIFY_ROLLOUT = "verify-rollout"
KIND_PROMOTION = "promotion"

#: Where build containers keep pip's cache (saved to the pipeline bucket between builds).
PIP_CACHE = "/root/.cache/pip/**/*"


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
    ecr: Literal["none", "pull", "push"] = "none"
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
class PipelineSpec:
    """The config values the stage list is made of (a plain view of `StackConfig.pipeline`)."""

    stack: str
    model_name: str
    repository: str
    branch: str
    connection_arn: str
    manual_approval: bool
    install_command: str
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
    replay: ReplayStep | None = None
    """The Replay stage (components/delivery/traffic.py), when the stack sets `gates.replay`."""
    shadow: ShadowStep | None = None
    """The Shadow stage, when the stack sets `gates.shadow`."""

    @classmethod
    def from_config(cls, cfg: StackConfig, stack: str) -> PipelineSpec:
        from components.delivery.traffic import ReplayStep, ShadowStep

        p = cfg.pipeline
        if p is None:
            raise ValueError("the stack has no `pipeline` section")
        secrets: list[Secret] = []
        if p.pulumi_access_token_secret_arn:
            secrets.append("pulumi_token")
        if p.pulumi_passphrase_secret_arn:
            secrets.append("pulumi_passphrase")
        return cls(stack=stack, model_name=cfg.model.name, repository=p.repository, branch=p.branch,
                   connection_arn=p.connection_arn, manual_approval=p.manual_approval,
                   install_command=p.install_command, train_command=p.train_command, test_command=p.test_command,
                   lint_command=p.lint_command, training_data_path=p.training_data_path,
                   reference_profile_key=cfg.monitoring.drift.reference_profile_key,
                   mlflow_prefix=cfg.tracking.artifact_prefix, deploy_stack=p.deploy_stack,
                   promote_to=p.promote_to, pulumi_version=p.pulumi_version,
                   approval_timeout_minutes=p.approval_timeout_minutes, data_paths=tuple(p.data_paths),
                   code_paths=tuple(p.code_paths), pulumi_secrets=tuple(secrets),
                   replay=ReplayStep.from_config(cfg), shadow=ShadowStep.from_config(cfg))


# Shell fragments ----------------------------------------------------------------------------------------------
RUN_PREFIX = "runs/$PIPELINE_EXECUTION_ID/"
#: The Deploy action's output: the stack file it deployed (the candidate pinned) and `pulumi stack output --json`.
DEPLOYED = "deployed"
DEPLOYED_DIR = f"$CODEBUILD_SRC_DIR_{DEPLOYED}"
STACK_OUTPUTS = "stack-outputs.json"
MODEL_VERSION = ("MODEL_VERSION", "#{Train.MODEL_VERSION}")
IMAGE_DIGEST = ("IMAGE_DIGEST", "#{Package.IMAGE_DIGEST}")
ENDPOINT_URL = ("ENDPOINT_URL", "#{Deploy.ENDPOINT_URL}")


def evidence_uri(kind: str) -> str:
    """Where a report of this kind for the candidate lives (shell: expands MODELS_BUCKET, MODEL_NAME, ...)."""
    return f"s3://$MODELS_BUCKET/{evidence_key('$MODEL_NAME', '$MODEL_VERSION', kind)}"


def report_path(kind: str) -> str:
    return f"reports/{kind}.json"


def upload_report(kind: str) -> str:
    """post_build: publish the report as evidence if the command got as far as writing it."""
    return f'if [ -f {report_path(kind)} ]; then aws s3 cp {report_path(kind)} "{evidence_uri(kind)}"; fi'


def _pulumi_install(version: str) -> tuple[str, ...]:
    return (f"curl -fsSL https://get.pulumi.com | sh -s -- --version {shlex.quote(version)}",
            'export PATH="$HOME/.pulumi/bin:$PATH"',
            "python -m pip install uv")


# The stage list -----------------------------------------------------------------------------------------------
def delivery_stages(spec: PipelineSpec) -> tuple[Stage, ...]:
    """Every stage and action of the pipeline, in order. Actions with the same `run_order` run in parallel."""
    from components.delivery import traffic

    q = shlex.quote
    target = ("--stack", spec.promote_to)
    deployed = ("--stack", spec.deploy_stack)
    reference = f"reference/{posixpath.basename(spec.reference_profile_key)}"

    source = Action(
        name="Source", category="Source", install_project=False,
        configuration=(("ConnectionArn", spec.connection_arn), ("FullRepositoryId", spec.repository),
                       ("BranchName", spec.branch), ("OutputArtifactFormat", "CODE_ZIP"),
                       ("DetectChanges", "false")),
        namespace="Source")

    validate = (
        Action(
            name="DataValidate",
            commands=(
                "mkdir -p reports reference",
                f'aws s3 cp "s3://$DATA_BUCKET/{spec.reference_profile_key}" {q(reference)}',
                Mlcicd(("data", "validate", "--reference", reference, "--current", spec.training_data_path,
                        *target, "--report", report_path(KIND_DATA_VALIDATION),
                        "--html", "reports/data-validation.html")),
            ),
            finally_commands=(f'if [ -d reports ]; then aws s3 cp reports "s3://$MODELS_BUCKET/{RUN_PREFIX}" '
                              "--recursive; fi",),
            access=Access(s3=(S3Grant("data", spec.reference_profile_key),
                              S3Grant("models", "runs/", write=True)))),
        Action(name="UnitTests", commands=(spec.test_command,)),
        Action(name="Lint", commands=(spec.lint_command,)),
    )

    train = Action(
        name="Train", namespace="Train", exports=("MODEL_VERSION",), heavy=True,
        commands=(
            'TRAIN_STARTED_MS="$(date +%s%3N)" && export TRAIN_STARTED_MS',
            spec.train_command,
            Mlcicd(("pipeline", "candidate-version", "--model", "$MODEL_NAME", "--since-ms", "$TRAIN_STARTED_MS"),
                   capture="MODEL_VERSION"),
            f'aws s3 cp "s3://$MODELS_BUCKET/{RUN_PREFIX}{KIND_DATA_VALIDATION}.json" '
            f'"{evidence_uri(KIND_DATA_VALIDATION)}"',
        ),
        access=Access(tracking="train", s3=(S3Grant("models", "runs/"), S3Grant("models", "reports/", write=True),
                                          S3Grant("models", spec.mlflow_prefix, write=True))))

    gate = Action(
        name="ModelGate", variables=(MODEL_VERSION,),
        # The gate uploads its own report to the evidence key and tags the version (--report-bucket).
        commands=(Mlcicd(("gate", "model", "--model", "$MODEL_NAME", "--candidate", "$MODEL_VERSION", *target,
                          "--tracking-uri", "$MLFLOW_TRACKING_URI", "--report-bucket", "$MODELS_BUCKET",
                          "--report", report_path(KIND_MODEL_GATE))),),
        access=Access(tracking="write", s3=(S3Grant("models", "reports/", write=True),
                                            S3Grant("models", spec.mlflow_prefix))))

    package = Action(
        name="Package", namespace="Package", exports=("IMAGE_DIGEST",), variables=(MODEL_VERSION,),
        commands=(
            'IMAGE_TAG="$MODEL_NAME-v$MODEL_VERSION-b$CODEBUILD_BUILD_NUMBER" && export IMAGE_TAG',
            # Captures of this version must fit the Glue table both stacks build from their config.
            *(Mlcicd(("capture", "schema", "--model-uri", "models:/$MODEL_NAME/$MODEL_VERSION", "--stack", s))
              for s in dict.fromkeys((spec.deploy_stack, spec.promote_to))),
            'mlflow models generate-dockerfile --model-uri "models:/$MODEL_NAME/$MODEL_VERSION" '
            "--output-directory build/image --env-manager local",
            # The image's ENTRYPOINT becomes the one serving command (runtime/serving/command.py): no nginx.
            Mlcicd(("serve", "dockerfile", "--context", "build/image")),
            'docker build --tag "$ECR_REPOSITORY_URL:$IMAGE_TAG" build/image',
            'aws ecr get-login-password | docker login --username AWS --password-stdin "${ECR_REPOSITORY_URL%%/*}"',
            'docker push "$ECR_REPOSITORY_URL:$IMAGE_TAG"',
            'IMAGE_DIGEST="$(aws ecr describe-images --repository-name "$ECR_REPOSITORY_NAME" '
            "--image-ids imageTag=\"$IMAGE_TAG\" --query 'imageDetails[0].imageDigest' --output text)\" "
            "&& export IMAGE_DIGEST",
            Mlcicd(("pipeline", "image-scan", "--repository", "$ECR_REPOSITORY_NAME", "--digest", "$IMAGE_DIGEST",
                    "--stack", spec.stack, "--report", report_path(KIND_IMAGE_SCAN))),
        ),
        finally_commands=(upload_report(KIND_IMAGE_SCAN),),
        access=Access(tracking="read", ecr="push", docker=True, s3=(S3Grant("models", "reports/", write=True),
                                                                    S3Grant("models", spec.mlflow_prefix))))

    stack_file = f"Pulumi.{spec.deploy_stack}.yaml"
    deploy = Action(
        name="Deploy", namespace="Deploy", exports=("ENDPOINT_URL",), variables=(MODEL_VERSION, IMAGE_DIGEST),
        install_project=False, install=_pulumi_install(spec.pulumi_version), output=DEPLOYED,
        commands=(
            'aws configure set profile.deploy.role_arn "$DEPLOY_ROLE_ARN"',
            "aws configure set profile.deploy.credential_source EcsContainer",
            "export AWS_PROFILE=deploy",
            f'pulumi config set --stack {q(spec.deploy_stack)} --path model.version "$MODEL_VERSION" --type string',
            f'pulumi config set --stack {q(spec.deploy_stack)} --path model.imageDigest "$IMAGE_DIGEST" '
            "--type string",
            f"pulumi up --stack {q(spec.deploy_stack)} --yes --non-interactive --diff",
            f"mkdir -p {DEPLOYED} && cp {q(stack_file)} {DEPLOYED}/",
            f"pulumi stack output --stack {q(spec.deploy_stack)} --json > {DEPLOYED}/{STACK_OUTPUTS}",
            f'ENDPOINT_URL="$(jq -er .{outputs.MODEL_ENDPOINT} {DEPLOYED}/{STACK_OUTPUTS})" && export ENDPOINT_URL',
        ),
        access=Access(assume_deploy_role=True, secrets=spec.pulumi_secrets))

    # The verify actions test what Deploy deployed: its stack file (the candidate pinned) replaces the checkout's.
    pinned = f'cp "{DEPLOYED_DIR}/{stack_file}" {q(stack_file)}'
    verify = (
        Action(
            name="Smoke", variables=(MODEL_VERSION, ENDPOINT_URL),
            commands=(Mlcicd(("smoke", "--endpoint", "$ENDPOINT_URL", *deployed,
                              "--report", report_path(KIND_SMOKE))),),
            finally_commands=(upload_report(KIND_SMOKE),),
            access=Access(network=True, s3=(S3Grant("models", "reports/", write=True),))),
        Action(
            name="VerifyRollout", variables=(MODEL_VERSION, ENDPOINT_URL), inputs=("source", DEPLOYED),
            commands=(pinned, Mlcicd(("verify", "rollout", *deployed, "--stack-outputs",
                                      f"{DEPLOYED_DIR}/{STACK_OUTPUTS}", "--report",
                                      report_path(KIND_VERIFY_ROLLOUT)))),
            finally_commands=(upload_report(KIND_VERIFY_ROLLOUT),),
            access=Access(inspect_service=True, s3=(S3Grant("models", "reports/", write=True),))),
        # After smoke: a load test on a broken endpoint proves nothing, and running both at once would put the
        # smoke test's latency thresholds under the load test's traffic.
        Action(
            name="LoadTest", run_order=2, variables=(MODEL_VERSION, ENDPOINT_URL),
            commands=(Mlcicd(("smoke", "--load", "--endpoint", "$ENDPOINT_URL", *deployed,
                              "--report", report_path(KIND_LOAD))),),
            finally_commands=(upload_report(KIND_LOAD),),
            access=Access(network=True, s3=(S3Grant("models", "reports/", write=True),))),
    )

    promote_actions: list[Action] = []
    if spec.manual_approval:
        promote_actions.append(Action(
            name="Approve", category="Approval", install_project=False,
            configuration=(("CustomData", f"Promote {spec.model_name} version #{{Train.MODEL_VERSION}} (image "
                                          f"#{{Package.IMAGE_DIGEST}}) from {spec.deploy_stack} to "
                                          f"{spec.promote_to}? Evidence: reports/{spec.model_name}/"
                                          "#{Train.MODEL_VERSION}/ in the models bucket."),)))
    branch = "promote/$MODEL_NAME-v$MODEL_VERSION-${PIPELINE_EXECUTION_ID:0:8}"
    auth = '-c "http.https://github.com/.extraheader=$GIT_AUTH_HEADER"'
    promote_actions.append(Action(
        name="Promote", run_order=2 if spec.manual_approval else 1, variables=(MODEL_VERSION, IMAGE_DIGEST),
        inputs=("source", DEPLOYED),
        commands=(
            "mkdir -p reports evidence",
            'aws s3 cp "s3://$MODELS_BUCKET/reports/$MODEL_NAME/$MODEL_VERSION/" '
            '"evidence/reports/$MODEL_NAME/$MODEL_VERSION/" --recursive',
            'GIT_AUTH_HEADER="Authorization: Basic $(printf \'x-access-token:%s\' "$GITHUB_TOKEN" | base64 -w0)" '
            "&& export GIT_AUTH_HEADER",
            f"git {auth} clone --quiet --branch {q(spec.branch)} https://github.com/{spec.repository}.git promotion",
            f'git -C promotion checkout -b "{branch}"',
            # The pull request also pins in git what Deploy put live in the deployed stack.
            f'cp "{DEPLOYED_DIR}/{stack_file}" promotion/{q(stack_file)}',
            Mlcicd(("promote", "--from", spec.deploy_stack, "--to", spec.promote_to, "--version", "$MODEL_VERSION",
                    "--image-digest", "$IMAGE_DIGEST", "--evidence", "evidence", "--tracking-uri",
                    "$MLFLOW_TRACKING_URI", "--project-dir", "promotion", "--pr-body", "pr.md",
                    "--report", report_path(KIND_PROMOTION)), stdout="promotion.diff"),
            f"git -C promotion add Pulumi.{spec.promote_to}.yaml {q(stack_file)}",
            'git -C promotion -c user.name="ml-cicd pipeline" -c user.email="ml-cicd@users.noreply.github.com" '
            f'commit --quiet -m "Promote $MODEL_NAME version $MODEL_VERSION to {spec.promote_to}"',
            f'git {auth} -C promotion push --quiet origin "{branch}"',
            f'jq -n --arg title "Promote $MODEL_NAME version $MODEL_VERSION to {spec.promote_to}" '
            f'--arg head "{branch}" --arg base {q(spec.branch)} --rawfile body pr.md '
            "'{title: $title, head: $head, base: $base, body: $body}' > pr.json",
            'curl -fsS -X POST -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" '
            f"https://api.github.com/repos/{spec.repository}/pulls --data @pr.json",
        ),
        finally_commands=(upload_report(KIND_PROMOTION),),
        access=Access(tracking="read", secrets=("github_token",), s3=(S3Grant("models", "reports/", write=True),))))

    return (
        Stage("Source", (source,)),
        Stage("Validate", validate),
        Stage("Train", (train,)),
        Stage("Gate", (gate,)),
        Stage("Package", (package,)),
        Stage("DeployStaging", (deploy,)),
        Stage("VerifyStaging", verify),
        *traffic.production_traffic_stages(spec),
        Stage("Promote", tuple(promote_actions)),
    )


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
