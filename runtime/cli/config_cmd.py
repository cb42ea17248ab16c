"""`mlcicd config validate|schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err, load_config

app = typer.Typer(help="Validate a stack's config or print its JSON Schema.", no_args_is_help=True)


@app.command()
def validate(
    stack: Annotated[str, typer.Option(help="Stack name: reads Pulumi.<stack>.yaml.")],
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Validate Pulumi.<stack>.yaml; every problem is listed with its key path. Exit 2 when invalid."""
    loaded = load_config(stack, project_dir)
    cfg = loaded.config
    err(f"Pulumi.{stack}.yaml is valid: environment={cfg.environment} region={cfg.region} "
        f"model={cfg.model.name} version={cfg.model.version or '-'} backend={cfg.serving.backend} "
        f"tracking={cfg.tracking.mode}")


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of Pulumi.<stack>.yaml (for editor completion and validation)."""
    from runtime.config.schema import stack_file_schema

    text = json.dumps(stack_file_schema(), indent=2, sort_keys=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        err(f"schema written to {out}")
