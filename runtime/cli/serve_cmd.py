"""`mlcicd serve run|dockerfile`: the serving command (runtime/serving/command.py) from the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err

app = typer.Typer(help="The model server: run it, or make a serving image's entrypoint run it.",
                  no_args_is_help=True)


@app.command(name="run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context) -> None:
    """Start the scoring server exactly as the image, ECS and EKS do (`python -m runtime.serving`); options:
    --model, --host, --port, --workers."""
    from runtime.serving.__main__ import main

    raise typer.Exit(main(ctx.args))


@app.command(name="dockerfile")
def dockerfile(
    context: Annotated[Path, typer.Option(help="Build context of `mlflow models generate-dockerfile` (holds the "
                                          "Dockerfile).")],
    port: Annotated[int, typer.Option(help="Port the server listens on (serving.port).")] = 8080,
) -> None:
    """Make the generated Dockerfile's ENTRYPOINT the serving command (no nginx, non-root, writes only /tmp)."""
    from runtime.serving.image import finish_dockerfile

    path = finish_dockerfile(context, port)  # FileNotFoundError naming the context: a usage error (exit 2)
    err(f"serving command added to {path}")
