"""Shell fragments the pipeline's actions share (runtime/pipeline/steps.py, runtime/pipeline/traffic.py): pipeline
variables, where reports are written and published as evidence, the Pulumi CLI install."""

from __future__ import annotations

import shlex

from runtime.evidence import evidence_key, training_profile_key

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


def training_profile_uri() -> str:
    """Where the profile of the candidate's training data lives, beside its reports (shell, like `evidence_uri`)."""
    return f"s3://$MODELS_BUCKET/{training_profile_key('$MODEL_NAME', '$MODEL_VERSION')}"


def report_path(kind: str) -> str:
    return f"reports/{kind}.json"


def upload_report(kind: str) -> str:
    """post_build: publish the report as evidence if the command got as far as writing it."""
    return f'if [ -f {report_path(kind)} ]; then aws s3 cp {report_path(kind)} "{evidence_uri(kind)}"; fi'


def pulumi_install(version: str) -> tuple[str, ...]:
    return (f"curl -fsSL https://get.pulumi.com | sh -s -- --version {shlex.quote(version)}",
            'export PATH="$HOME/.pulumi/bin:$PATH"',
            "python -m pip install uv")
