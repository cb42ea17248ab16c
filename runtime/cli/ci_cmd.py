"""`mlcicd ci changed-stacks|graph-diff`: what the shipped GitHub workflows ask of the runtime."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError, err

app = typer.Typer(help="Helpers of the GitHub workflows: affected stacks, offline graph diffs.", no_args_is_help=True)


def _stacks(project_dir: Path | None) -> list[str]:
    from runtime.config import project_root

    root = project_dir or project_root()
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


@app.command(name="changed-stacks")
def changed_stacks(
    files: Annotated[Path, typer.Option(help="Changed paths, one per line (`git diff --name-only`); - for stdin.")],
    config_only: Annotated[bool, typer.Option("--config-only", help="Only stacks whose own Pulumi.<stack>.yaml "
                                              "changed (program changes do not count).")] = False,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Print (JSON list, stdout) the stacks a change affects: a changed stack file, or every stack when the
    program, components, runtime or dependencies changed."""
    from runtime.graph_diff import changed_stacks as affected

    try:
        text = sys.stdin.read() if str(files) == "-" else files.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--files {files}: cannot read ({exc.strerror or exc})") from None
    stacks = affected(text.splitlines(), _stacks(project_dir), config_only=config_only)
    err(f"affected stacks: {', '.join(stacks) or 'none'}")
    typer.echo(json.dumps(stacks))


@app.command(name="graph-diff")
def graph_diff(
    base: Annotated[Path, typer.Option(help="Directory of base graphs, <stack>.json (`mlcicd graph --out`).")],
    head: Annotated[Path, typer.Option(help="Directory of head graphs, <stack>.json.")],
    out: Annotated[Path | None, typer.Option(help="Write the Markdown here instead of stdout.")] = None,
) -> None:
    """Markdown comment: per stack, the resources the change adds, changes and deletes."""
    from runtime.graph_diff import diff_graph_dirs

    text = diff_graph_dirs(base, head)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err(f"graph diff written to {out}")
