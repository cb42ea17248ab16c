"""`mlcicd init DIR --model-name NAME [...]`: a new team project on the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError, err


def init(
    directory: Annotated[Path, typer.Argument(help="Directory of the new project (created if missing).")],
    *,
    model_name: Annotated[str, typer.Option(help="Registered model name (MLflow), also `model.name` of both "
                                                 "stacks.")],
    backend: Annotated[str, typer.Option(help="Serving backend: ecs | eks.")] = "ecs",
    tracking: Annotated[str, typer.Option(help="Staging's MLflow tracking server: self-hosted | sagemaker "
                                               "(production uses staging's).")] = "self-hosted",
    region: Annotated[str, typer.Option(help="AWS region of both stacks.")] = "eu-west-1",
    repository: Annotated[str | None, typer.Option(help="GitHub repository owner/name the pipeline builds "
                                                        "(default: OWNER/<directory name>).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Write Pulumi.yaml, both stack files, the example training project, the GitHub workflows and a README.
    The result passes `mlcicd config validate` for both stacks and `mlcicd local run` as it is. Exit 2 when a file
    exists (listed; --force overwrites) or an option is invalid."""
    from runtime.config import load_stack
    from runtime.scaffold import ProjectOptions, write_project

    if backend not in ("ecs", "eks"):
        raise UsageError(f"--backend {backend!r}: choose ecs or eks")
    if tracking not in ("self-hosted", "sagemaker"):
        raise UsageError(f"--tracking {tracking!r}: choose self-hosted or sagemaker")
    options = ProjectOptions(model_name, backend, tracking, region, repository)  # type: ignore[arg-type]
    written = write_project(directory, options, force=force)
    for stack in ("staging", "production"):
        load_stack(stack, directory)
    err(f"wrote {len(written)} files into {directory}:")
    for path in written:
        err(f"  {path.relative_to(directory)}")
    err(f"next: cd {directory} && python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
        ".venv/bin/mlcicd local run   (README.md says what to change first)")
