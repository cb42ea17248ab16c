"""`mlcicd pipeline candidate-version|image-scan|keep-image`: what the delivery pipeline's actions run besides the
gates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError, err, finish, load_config

app = typer.Typer(help="Steps of the delivery pipeline's actions (CodeBuild) besides the gates.",
                  no_args_is_help=True)

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def _check_image(repository: str, digest: str) -> None:
    """The ECR repository name and image digest options, before any call (ECR's own naming rules)."""
    if not _REPOSITORY.match(repository):
        raise UsageError(f"--repository {repository!r}: expected an ECR repository name (2-256 lowercase letters, "
                         "digits and . _ - /), e.g. the stack output imageRepositoryUrl after the last /")
    if not _DIGEST.match(digest):
        raise UsageError(f"--digest {digest!r}: expected sha256:<64 lowercase hex>")


@app.command(name="candidate-version")
def candidate_version(
    model: Annotated[str, typer.Option(help="Registered model name.")],
    since_ms: Annotated[int, typer.Option(help="Epoch milliseconds noted before training started.")],
    tracking_uri: Annotated[str | None, typer.Option(envvar="MLFLOW_TRACKING_URI",
                                                     help="MLflow registry (default: $MLFLOW_TRACKING_URI).")] = None,
) -> None:
    """Print the one version of MODEL registered since --since-ms (the Train action exports it as MODEL_VERSION),
    after checking the training contract (its run logged metrics; it has a signature and an input example). Exit 2
    when none or several were registered or the contract is broken (the message names the cause), 3 when the
    registry cannot be reached."""
    from runtime.candidate import registered_candidate

    found = registered_candidate(tracking_uri, model, since_ms)
    err(f"candidate: {model} version {found.version} (run {found.run_id})")
    typer.echo(found.version)


@app.command(name="image-scan")
def image_scan(
    *,
    repository: Annotated[str, typer.Option(help="ECR repository name.")],
    digest: Annotated[str, typer.Option(help="Image digest sha256:<64 hex> (what was pushed).")],
    report: Annotated[Path, typer.Option(help="Write the JSON report (kind image-scan) here.")],
    fail_on: Annotated[list[str] | None, typer.Option(help="Severity that fails the image (repeatable). Default: "
                                                      "`pipeline.failOnSeverities` of --stack, else CRITICAL.")] = None,
    stack: Annotated[str | None, typer.Option(help="Stack whose `pipeline.failOnSeverities` applies.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the scan to complete.", min=0)] = 900.0,
    region: Annotated[str | None, typer.Option(help="AWS region (default: the SDK's).")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Judge ECR's scan of a pushed image. Exit 0 PASS, 1 refused findings, 2 bad input (digest, repository,
    image), 3 scan not complete (failed, unsupported, timed out)."""
    _check_image(repository, digest)
    severities = list(fail_on or [])
    if not severities and stack is not None:
        pipeline = load_config(stack, project_dir).config.pipeline
        severities = list(pipeline.fail_on_severities) if pipeline is not None else []
    from runtime.aws import boto3_clients
    from runtime.image_scan import scan_report

    ecr = boto3_clients(region)("ecr")
    finish(scan_report(ecr, repository, digest, severities or ["CRITICAL"], timeout_s=timeout), report)


@app.command(name="keep-image")
def keep_image(
    *,
    repository: Annotated[str, typer.Option(help="ECR repository name (the pipeline's).")],
    digest: Annotated[str, typer.Option(help="Image digest sha256:<64 hex> of the promoted candidate.")],
    version: Annotated[str, typer.Option(help="The promoted model version: the tag is promoted-v<version>.")],
    region: Annotated[str | None, typer.Option(help="AWS region (default: the SDK's).")] = None,
) -> None:
    """Tag the promoted image `promoted-v<version>`, which the repository's lifecycle policy keeps however many
    builds follow (production pulls it from here by digest). Exit 0 tagged or already tagged, 2 no such image or
    the tag names another image, 3 ECR unreachable."""
    _check_image(repository, digest)
    if not version.isdigit():
        raise UsageError(f"--version {version!r}: expected a registered model version number, e.g. 12")
    from runtime.aws import boto3_clients
    from runtime.promote.keep_image import keep_promoted

    err(keep_promoted(boto3_clients(region)("ecr"), repository, digest, version))
