"""`mlcicd graph --stack S [--out FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.cli.common import err

if TYPE_CHECKING:
    from runtime.graph import Graph


def graph(
    stack: Annotated[str, typer.Option(help="Stack name: runs the program over Pulumi.<stack>.yaml.")],
    out: Annotated[Path | None, typer.Option(help="Write the graph JSON here instead of stdout.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    summary: Annotated[bool, typer.Option(help="Print resource counts per component and type, not JSON.")] = False,
) -> None:
    """Run the Pulumi program in-process under recording mocks and write its resource graph (no credentials)."""
    from runtime.config import project_root
    from runtime.graph import build_graph

    result = build_graph(stack, project_dir or project_root())
    text = result.to_json()
    for warning in result.warnings:
        err(f"warning: {warning}")
    if summary:
        typer.echo(render_summary(result))
    elif out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    counts = result.types()
    err(f"{len(result.resources)} resources in stack {stack} ({len(counts)} types)"
        + (f", written to {out}" if out else ""))


def render_summary(result: Graph) -> str:
    """Resource counts grouped by the component that owns them (top-level ancestor)."""
    by_urn = {r.urn: r for r in result.resources}

    def owner(urn: str) -> str:
        resource = by_urn[urn]
        while resource.parent is not None and resource.parent in by_urn:
            resource = by_urn[resource.parent]
        return f"{resource.type} {resource.name}"

    groups: dict[str, dict[str, int]] = {}
    for r in result.resources:
        if r.custom:
            counts = groups.setdefault(owner(r.urn), {})
            counts[r.type] = counts.get(r.type, 0) + 1
    lines = [f"stack {result.stack}: {sum(r.custom for r in result.resources)} resources"]
    for group in sorted(groups):
        counts = groups[group]
        lines.append(f"  {group}  ({sum(counts.values())})")
        lines += [f"      {n:>3}  {t}" for t, n in sorted(counts.items())]
    lines += [f"  output {k} = {v}" for k, v in result.outputs.items()]
    return "\n".join(lines)
