"""The pipeline's stages judged on production traffic, part of the one stage list (`steps.delivery_stages`):
Replay (`gates.replay` of the hosting stack), then the optional Shadow (`gates.shadow`), after VerifyStaging and
before Promote, so the candidate is judged on real requests before any of them reaches it.

Replay serves champion and candidate side by side in the build, from the registry, with the serving command: the
latency ratio then compares the models under identical conditions (the staging endpoint was already smoke- and
load-tested; production's must neither carry the replay's load nor capture it again).
"""

from __future__ import annotations

import shlex

from runtime import stack_outputs as outputs
from runtime.pipeline.model import Access, Action, Mlcicd, PipelineSpec, ReplayStep, S3Grant, ShadowStep, Stage
from runtime.pipeline.shell import (
    IMAGE_DIGEST,
    MODEL_VERSION,
    evidence_uri,
    pulumi_install,
    report_path,
    upload_report,
)
from runtime.replay import KIND_REPLAY, KIND_SHADOW


def production_traffic_stages(spec: PipelineSpec) -> tuple[Stage, ...]:
    """After the staging checks, before the promotion: the Replay stage (captured production requests replayed
    against candidate and champion, both served in the build by the serving command from the registry, so the
    latency ratio compares models under identical conditions), then the optional Shadow stage."""
    stages = []
    if spec.replay is not None:
        stages.append(Stage("Replay", (replay_action(spec, spec.replay),)))
    if spec.shadow is not None:
        stages.append(Stage("Shadow", (shadow_action(spec, spec.shadow),)))
    return tuple(stages)


def replay_action(spec: PipelineSpec, replay: ReplayStep) -> Action:
    captures = replay.captures_uri or f"s3://$DATA_BUCKET/{replay.inference_prefix}"
    own = replay.captures_uri is None
    html = f"reports/{KIND_REPLAY}.html"
    html_evidence = evidence_uri(KIND_REPLAY).removesuffix(".json") + ".html"
    return Action(
        name="Replay", variables=(MODEL_VERSION,),
        commands=("mkdir -p reports",
                  Mlcicd(("gate", "replay", "--stack", spec.promote_to, "--model", "$MODEL_NAME",
                          "--candidate-model-uri", "models:/$MODEL_NAME/$MODEL_VERSION", "--candidate-version",
                          "$MODEL_VERSION", "--captures", captures, "--tracking-uri", "$MLFLOW_TRACKING_URI",
                          "--report", report_path(KIND_REPLAY), "--html", html))),
        finally_commands=(upload_report(KIND_REPLAY),
                          f'if [ -f {html} ]; then aws s3 cp {html} "{html_evidence}"; fi'),
        access=Access(tracking="read", s3=(S3Grant("models", "reports/", write=True),
                                           S3Grant("models", spec.mlflow_prefix),
                                           *((S3Grant("data", replay.inference_prefix),) if own else ())),
                      read_uris=() if own else (captures,),
                      read_kms_keys=(replay.kms_key_arn,) if replay.kms_key_arn else ()),
        heavy=True)


def shadow_action(spec: PipelineSpec, shadow: ShadowStep) -> Action:
    """Deploy the candidate as the shadow of `shadow.stack` (its deploy role), judge the captured pairs with
    `mlcicd gate shadow --wait`, and always remove the shadow again (post_build)."""
    q = shlex.quote
    target = q(shadow.stack)

    def pin(key: str, value: str, kind: str) -> str:
        return f'pulumi config set --stack {target} --path serving.shadow.{key} "{value}" --type {kind}'

    html = f"reports/{KIND_SHADOW}.html"
    return Action(
        name="Shadow", variables=(MODEL_VERSION, IMAGE_DIGEST), install=pulumi_install(spec.pulumi_version),
        commands=(
            f'aws configure set profile.shadow.role_arn {q(shadow.deploy_role_arn)}',
            "aws configure set profile.shadow.credential_source EcsContainer",
            "export AWS_PROFILE=shadow",
            "mkdir -p reports",
            pin("enabled", "true", "bool"), pin("modelVersion", "$MODEL_VERSION", "string"),
            pin("imageDigest", "$IMAGE_DIGEST", "string"),
            f"pulumi up --stack {target} --yes --non-interactive --diff",
            f'SHADOW_DATA_BUCKET="$(pulumi stack output --stack {target} {outputs.DATA_BUCKET})" '
            "&& export SHADOW_DATA_BUCKET",
            Mlcicd(("gate", "shadow", "--stack", shadow.stack, "--model", "$MODEL_NAME", "--data-bucket",
                    "$SHADOW_DATA_BUCKET", "--candidate-version", "$MODEL_VERSION", "--wait",
                    "--report", report_path(KIND_SHADOW), "--html", html)),
        ),
        finally_commands=(pin("enabled", "false", "bool"),
                          f"pulumi up --stack {target} --yes --non-interactive --diff",
                          upload_report(KIND_SHADOW)),
        access=Access(assume_roles=(shadow.deploy_role_arn,), secrets=spec.pulumi_secrets,
                      s3=(S3Grant("models", "reports/", write=True),)),
        heavy=True)
