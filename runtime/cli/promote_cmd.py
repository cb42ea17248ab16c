"""`mlcicd promote --from staging --to production [--version V] [--image-digest D] [--evidence DIR] ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err, finish


def promote(
    *,
    source: Annotated[str, typer.Option("--from", help="Stack whose model version and image digest are promoted.")]
    = "staging",
    target: Annotated[str, typer.Option("--to", help="Stack file to edit: Pulumi.<to>.yaml.")] = "production",
    version: Annotated[str | None, typer.Option(help="Registered-model version to promote (default: the one "
                                                "--from pins). Evidence must be for it.")] = None,
    image_digest: Annotated[str | None, typer.Option(help="Serving image digest sha256:... (default: the one "
                                                     "--from pins for that version).")] = None,
    evidence: Annotated[Path | None, typer.Option(help="Directory of gate reports: <kind>.json, "
                                                  "<model>/<version>/<kind>.json or reports/<model>/<version>/"
                                                  "<kind>.json.")] = None,
    tracking_uri: Annotated[str | None, typer.Option(envvar="MLFLOW_TRACKING_URI", help="MLflow registry: the "
                                                     "version must exist; its mlcicd.* tags count as evidence.")]
    = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Judge and print the diff; write nothing.")] = False,
    pr_body: Annotated[Path | None, typer.Option(help="Write the pull-request body (Markdown) here.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the promotion report (JSON) here.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Pin a version that passed every gate into Pulumi.<to>.yaml (only model.version and model.imageDigest
    change; comments and formatting stay). Prints the diff. Exit 0 promoted, 1 refused (evidence), 2 bad input,
    malformed file, unknown version or concurrent change, 3 registry unreachable."""
    from runtime.promote import promote as run_promote
    from runtime.report import write_atomic

    result = run_promote(source, target, project_dir=project_dir, version=version, image_digest=image_digest,
                         evidence_dir=evidence, tracking_uri=tracking_uri, dry_run=dry_run)
    if result.diff:
        typer.echo(result.diff, nl=False)
    if pr_body is not None and result.pr_body is not None:
        write_atomic(pr_body, result.pr_body)
        err(f"pull-request body: {pr_body}")
    name = result.target_path.name
    if result.written:
        err(f"{name} updated; open a pull request with it (review with `pulumi preview --stack {target} --diff`)")
    elif result.pr_body is not None:
        err(f"dry run: {name} not written" if dry_run and result.diff else f"{name} unchanged")
    finish(result.report, report)
