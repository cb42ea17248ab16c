"""The delivery pipeline's step list: ONE list of stages and actions.

`delivery_stages(spec)` is a pure function of the stack config. From its result the `DeliveryPipeline` component
(`components.delivery`) builds every CodeBuild project, role, policy, log group and the CodePipeline stages, and
`components.delivery.buildspec.render` writes each action's buildspec: nothing about an action is written twice.

Conventions shared by every build action (the component sets the environment):
- `STACK_NAME` (the stack hosting the pipeline), `MODEL_NAME`, `PIPELINE_EXECUTION_ID` always;
- `DATA_BUCKET` / `MODELS_BUCKET` when the action's access names that bucket; `ECR_REPOSITORY_URL` and
  `ECR_REPOSITORY_NAME` with ECR access; `MLFLOW_TRACKING_URI` (and the credentials) with tracking access;
- values from earlier actions arrive as pipeline variables (`#{Train.MODEL_VERSION}`), declared in `variables`.

Evidence: each gate's report goes to `s3://$MODELS_BUCKET/<evidence_key(model, version, kind)>` (runtime.evidence),
where `mlcicd promote` finds it. Data validation runs before a version exists, so it writes under
`runs/<execution id>/` and Train copies it to the version's evidence once the version is known. Train also writes
the profile of the data the version was trained on beside it (`training_profile_key`): when the version becomes
the champion, `mlcicd champion reference` makes it the reference profile (runtime.reference).

Thresholds: the data contract and the model gate are the promotion target's (`--stack <promoteTo>`: the bar a
candidate must clear is production's); smoke, load and rollout checks are the deployed stack's (`--stack
<deployStack>`: the endpoint under test).
"""

from __future__ import annotations

import posixpath
import shlex

from runtime import stack_outputs as outputs
from runtime.evidence import KIND_DATA_VALIDATION, KIND_LOAD, KIND_MODEL_GATE, KIND_SMOKE, TRAINING_PROFILE
from runtime.pipeline.contract import export_line
from runtime.pipeline.model import Access, Action, Command, Mlcicd, PipelineSpec, S3Grant, Stage
from runtime.pipeline.shell import (
    DEPLOYED,
    DEPLOYED_DIR,
    ENDPOINT_URL,
    IMAGE_DIGEST,
    MODEL_VERSION,
    RUN_PREFIX,
    STACK_OUTPUTS,
    evidence_uri,
    pulumi_install,
    report_path,
    training_profile_uri,
    upload_report,
)
from runtime.pipeline.traffic import production_traffic_stages

#: Report kinds written by the pipeline beyond the runtime's gate kinds.
KIND_IMAGE_SCAN = "image-scan"
KIND_VERIFY_ROLLOUT = "verify-rollout"
KIND_PROMOTION = "promotion"

#: Where a promotion pull request carries the promoted version's gate reports (`<dir>/reports/<model>/<version>/`),
#: the directory the policy pack reads at preview (policy/config.json `evidenceDir`).
EVIDENCE_DIR = "evidence"

# The stage list -----------------------------------------------------------------------------------------------
def delivery_stages(spec: PipelineSpec) -> tuple[Stage, ...]:
    """Every stage and action of the pipeline, in order. Actions with the same `run_order` run in parallel."""
    return (
        Stage("Source", (source_action(spec),)),
        Stage("Validate", validate_actions(spec)),
        Stage("Train", (train_action(spec),)),
        Stage("Gate", (gate_action(spec),)),
        Stage("Package", (package_action(spec),)),
        Stage("DeployStaging", (deploy_action(spec),)),
        Stage("VerifyStaging", verify_actions(spec)),
        *production_traffic_stages(spec),
        Stage("Promote", promote_actions(spec)),
    )


def _target(spec: PipelineSpec) -> tuple[str, str]:
    """Data contract and model gate: the promotion target's thresholds."""
    return ("--stack", spec.promote_to)


def _deployed(spec: PipelineSpec) -> tuple[str, str]:
    """Smoke, load and rollout checks: the deployed stack's thresholds."""
    return ("--stack", spec.deploy_stack)


def _stack_file(spec: PipelineSpec) -> str:
    return f"Pulumi.{spec.deploy_stack}.yaml"


# Source and Validate ------------------------------------------------------------------------------------------
def source_action(spec: PipelineSpec) -> Action:
    return Action(
        name="Source", category="Source", install_project=False,
        configuration=(("ConnectionArn", spec.connection_arn), ("FullRepositoryId", spec.repository),
                       ("BranchName", spec.branch), ("OutputArtifactFormat", "CODE_ZIP"),
                       ("DetectChanges", "false")),
        namespace="Source")


def validate_actions(spec: PipelineSpec) -> tuple[Action, ...]:
    """The data contract against the reference profile, the unit tests and the linter, side by side."""
    reference = f"reference/{posixpath.basename(spec.reference_profile_key)}"
    validate_commands: tuple[Command, ...] = (
        "mkdir -p reports reference",
        f'aws s3 cp "s3://$DATA_BUCKET/{spec.reference_profile_key}" {shlex.quote(reference)}',
        Mlcicd(("data", "validate", "--reference", reference, "--current", spec.training_data_path,
                *_target(spec), "--report", report_path(KIND_DATA_VALIDATION),
                "--html", "reports/data-validation.html")))
    if spec.data_engine == "spark":  # the same gate as an EMR Serverless job on the data bucket's training data
        validate_commands = ("mkdir -p reports", Mlcicd((
            "data", "validate", "--reference", f"s3://$DATA_BUCKET/{spec.reference_profile_key}", "--current",
            f"s3://$DATA_BUCKET/{spec.spark_training_key}", *_target(spec), "--report",
            report_path(KIND_DATA_VALIDATION), "--html", "reports/data-validation.html", "--emr")))
    return (
        Action(
            name="DataValidate",
            commands=validate_commands,
            finally_commands=(f'if [ -d reports ]; then aws s3 cp reports "s3://$MODELS_BUCKET/{RUN_PREFIX}" '
                              "--recursive; fi",),
            access=Access(s3=(S3Grant("data", spec.reference_profile_key),
                              S3Grant("models", "runs/", write=True)))),
        # The test tools are the `test` extra; every other action installs the runtime alone (`installCommand`).
        Action(name="UnitTests", commands=(spec.test_command,), install_project=False,
               install=(spec.test_install_command,)),
        Action(name="Lint", commands=(spec.lint_command,), install_project=False, install=(spec.test_install_command,)),
    )


# Train, Gate, Package -----------------------------------------------------------------------------------------
def train_action(spec: PipelineSpec) -> Action:
    """The team's training command with the training contract's environment (`runtime.pipeline.contract`), then
    the one version it registered, checked against the contract (`candidate-version` fails naming the cause: no
    version, several, no metrics, no signature or input example), with the data evidence copied to it and the
    profile of its training data written beside (the repository's file the command was handed, profiled here
    whatever `data.engine` says)."""
    return Action(
        name="Train", namespace="Train", exports=("MODEL_VERSION",), heavy=True,
        commands=(
            export_line(spec),
            'TRAIN_STARTED_MS="$(date +%s%3N)" && export TRAIN_STARTED_MS',
            spec.train_command,
            Mlcicd(("pipeline", "candidate-version", "--model", "$MODEL_NAME", "--since-ms", "$TRAIN_STARTED_MS"),
                   capture="MODEL_VERSION"),
            f'aws s3 cp "s3://$MODELS_BUCKET/{RUN_PREFIX}{KIND_DATA_VALIDATION}.json" '
            f'"{evidence_uri(KIND_DATA_VALIDATION)}"',
            Mlcicd(("data", "profile", "--reference", spec.training_data_path, "--out", training_profile_uri(),
                    *_target(spec), "--engine", "local", "--model", "$MODEL_NAME", "--model-version",
                    "$MODEL_VERSION")),
        ),
        access=Access(tracking="train", s3=(S3Grant("models", "runs/"), S3Grant("models", "reports/", write=True),
                                          S3Grant("models", spec.mlflow_prefix, write=True))))


def gate_action(spec: PipelineSpec) -> Action:
    return Action(
        name="ModelGate", variables=(MODEL_VERSION,),
        # The gate uploads its own report to the evidence key and tags the version (--report-bucket).
        commands=(Mlcicd(("gate", "model", "--model", "$MODEL_NAME", "--candidate", "$MODEL_VERSION", *_target(spec),
                          "--tracking-uri", "$MLFLOW_TRACKING_URI", "--report-bucket", "$MODELS_BUCKET",
                          "--report", report_path(KIND_MODEL_GATE))),),
        access=Access(tracking="write", s3=(S3Grant("models", "reports/", write=True),
                                            S3Grant("models", spec.mlflow_prefix))))


def package_action(spec: PipelineSpec) -> Action:
    """The serving image of the candidate: built, pushed, its digest read back and its scan judged."""
    return Action(
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


# Deploy and verify --------------------------------------------------------------------------------------------
def deploy_action(spec: PipelineSpec) -> Action:
    """`pulumi up` of the deployed stack with the candidate pinned, as the deploy role; exports the endpoint."""
    q = shlex.quote
    stack_file = _stack_file(spec)
    return Action(
        name="Deploy", namespace="Deploy", exports=("ENDPOINT_URL",), variables=(MODEL_VERSION, IMAGE_DIGEST),
        install_project=False, install=pulumi_install(spec.pulumi_version), output=DEPLOYED,
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


def verify_actions(spec: PipelineSpec) -> tuple[Action, ...]:
    """Smoke and rollout verification side by side, then the load test. They test what Deploy deployed: its
    stack file (the candidate pinned) replaces the checkout's, so each report names the candidate's version and
    digest (the evidence promotion asks for). Smoke and load requests come from `smoke.samplePayloads`, else from
    the input example the training contract makes every version carry (`--model-uri`)."""
    deployed = _deployed(spec)
    pinned = f'cp "{DEPLOYED_DIR}/{_stack_file(spec)}" {shlex.quote(_stack_file(spec))}'
    candidate = ("--model-uri", "models:/$MODEL_NAME/$MODEL_VERSION", "--tracking-uri", "$MLFLOW_TRACKING_URI")
    smoke_access = Access(network=True, tracking="read", s3=(S3Grant("models", "reports/", write=True),
                                                             S3Grant("models", spec.mlflow_prefix)))
    return (
        Action(
            name="Smoke", variables=(MODEL_VERSION, ENDPOINT_URL), inputs=("source", DEPLOYED),
            commands=(pinned, Mlcicd(("smoke", "--endpoint", "$ENDPOINT_URL", *deployed, *candidate,
                                      "--report", report_path(KIND_SMOKE)))),
            finally_commands=(upload_report(KIND_SMOKE),),
            access=smoke_access),
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
            name="LoadTest", run_order=2, variables=(MODEL_VERSION, ENDPOINT_URL), inputs=("source", DEPLOYED),
            commands=(pinned, Mlcicd(("smoke", "--load", "--endpoint", "$ENDPOINT_URL", *deployed, *candidate,
                                      "--report", report_path(KIND_LOAD)))),
            finally_commands=(upload_report(KIND_LOAD),),
            access=smoke_access),
    )


# Promote ------------------------------------------------------------------------------------------------------
def promote_actions(spec: PipelineSpec) -> tuple[Action, ...]:
    """The manual approval when the stack asks for one, then the promotion pull request."""
    actions: list[Action] = []
    if spec.manual_approval:
        actions.append(Action(
            name="Approve", category="Approval", install_project=False,
            configuration=(("CustomData", f"Promote {spec.model_name} version #{{Train.MODEL_VERSION}} (image "
                                          f"#{{Package.IMAGE_DIGEST}}) from {spec.deploy_stack} to "
                                          f"{spec.promote_to}? Evidence: reports/{spec.model_name}/"
                                          "#{Train.MODEL_VERSION}/ in the models bucket."),)))
    actions.append(Action(
        name="Promote", run_order=2 if spec.manual_approval else 1, variables=(MODEL_VERSION, IMAGE_DIGEST),
        inputs=("source", DEPLOYED), commands=promotion_commands(spec),
        finally_commands=(upload_report(KIND_PROMOTION),),
        access=Access(tracking="read", secrets=("github_token",), ecr="tag",
                      s3=(S3Grant("models", "reports/", write=True),))))
    return tuple(actions)


def promotion_commands(spec: PipelineSpec) -> tuple[str | Mlcicd, ...]:
    """Clone, pin the candidate in the target's stack file with `mlcicd promote`, keep its image in the repository
    (`mlcicd pipeline keep-image`), push a branch, open the PR."""
    q = shlex.quote
    stack_file = _stack_file(spec)
    branch = "promote/$MODEL_NAME-v$MODEL_VERSION-${PIPELINE_EXECUTION_ID:0:8}"
    auth = '-c "http.https://github.com/.extraheader=$GIT_AUTH_HEADER"'
    return (
        "mkdir -p reports evidence",
        # Every report (JSON, the replay page); the training profile (binary, up to megabytes) stays in the bucket,
        # out of git.
        'aws s3 cp "s3://$MODELS_BUCKET/reports/$MODEL_NAME/$MODEL_VERSION/" '
        f'"evidence/reports/$MODEL_NAME/$MODEL_VERSION/" --recursive --exclude {q(TRAINING_PROFILE)}',
        'GIT_AUTH_HEADER="Authorization: Basic $(printf \'x-access-token:%s\' "$GITHUB_TOKEN" | base64 -w0)" '
        "&& export GIT_AUTH_HEADER",
        f"git {auth} clone --quiet --branch {q(spec.branch)} https://github.com/{spec.repository}.git promotion",
        f'git -C promotion checkout -b "{branch}"',
        # The pull request also pins in git what Deploy put live in the deployed stack.
        f'cp "{DEPLOYED_DIR}/{stack_file}" promotion/{q(stack_file)}',
        # ... and carries the version's evidence, which the policy pack checks at `pulumi preview`.
        f'mkdir -p "promotion/{EVIDENCE_DIR}/reports/$MODEL_NAME" && cp -r "evidence/reports/$MODEL_NAME/'
        f'$MODEL_VERSION" "promotion/{EVIDENCE_DIR}/reports/$MODEL_NAME/"',
        Mlcicd(("promote", "--from", spec.deploy_stack, "--to", spec.promote_to, "--version", "$MODEL_VERSION",
                "--image-digest", "$IMAGE_DIGEST", "--evidence", "evidence", "--tracking-uri",
                "$MLFLOW_TRACKING_URI", "--project-dir", "promotion", "--pr-body", "pr.md",
                "--report", report_path(KIND_PROMOTION)), stdout="promotion.diff"),
        # The target serves this image from the pipeline's repository: tag it so the lifecycle policy keeps it.
        Mlcicd(("pipeline", "keep-image", "--repository", "$ECR_REPOSITORY_NAME", "--digest", "$IMAGE_DIGEST",
                "--version", "$MODEL_VERSION")),
        f'git -C promotion add Pulumi.{spec.promote_to}.yaml {q(stack_file)} '
        f'"{EVIDENCE_DIR}/reports/$MODEL_NAME/$MODEL_VERSION"',
        'git -C promotion -c user.name="ml-cicd pipeline" -c user.email="ml-cicd@users.noreply.github.com" '
        f'commit --quiet -m "Promote $MODEL_NAME version $MODEL_VERSION to {spec.promote_to}"',
        f'git {auth} -C promotion push --quiet origin "{branch}"',
        f'jq -n --arg title "Promote $MODEL_NAME version $MODEL_VERSION to {spec.promote_to}" '
        f'--arg head "{branch}" --arg base {q(spec.branch)} --rawfile body pr.md '
        "'{title: $title, head: $head, base: $base, body: $body}' > pr.json",
        'curl -fsS -X POST -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" '
        f"https://api.github.com/repos/{spec.repository}/pulls --data @pr.json",
    )
