"""`mlcicd graph --stack S [--out FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err, usage_errors


def graph(
    stack: Annotated[str, typer.Option(help="Stack name: runs the program over Pulumi.<stack>.yaml.")],
    out: Annotated[Path | None, typer.Option(help="Write the graph JSON here instead of stdout.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Run the Pulumi program in-process under recording mocks and write its resource graph (no credentials)."""
    from runtime.config import project_root
    from runtime.graph import build_graph

    with usage_errors():
        result = build_graph(stack, project_dir or project_root())
    text = result.to_json()
    for warning in result.warnings:
        err(f"warning: {warning}")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    counts = result.types()
    err(f"{len(result.resources)} resources in stack {stack} ({len(counts)} types)"
        + (f", written to {out}" if out else ""))
