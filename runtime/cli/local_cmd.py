"""`mlcicd local run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError

app = typer.Typer(help="Rehearse the whole pipeline on this machine with real components and no cloud.",
                  no_args_is_help=True)

SCENARIO_HELP = ("good (promoted) | drifted, broken-schema (stopped by data validation) | degraded, unfair, slow "
                 "(stopped by the model gate) | error-spike (stopped by the smoke test)")


@app.command()
def run(
    workdir: Annotated[Path, typer.Option(help="Work directory (MLflow store, data, reports, logs); reruns "
                                               "reuse it.")] = Path(".mlcicd/local"),
    scenario: Annotated[str, typer.Option(help=SCENARIO_HELP)] = "good",
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Run data validation, training, the model gate, packaging, serving, smoke and load tests, a canary judged
    from CloudWatch (a moto server) and promotion into a copy of Pulumi.production.yaml. Exit code of the first
    stage that stops the pipeline (0 when everything passed)."""
    from rich.console import Console

    from runtime.config import project_root
    from runtime.local.pipeline import finish, run_local
    from runtime.local.scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        raise UsageError(f"--scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    root = project_dir or project_root()
    if not (root / "Pulumi.yaml").is_file():
        raise UsageError(f"no Pulumi.yaml in {root}: run from the project directory or pass --project-dir")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--workdir {workdir}: cannot create it ({exc.strerror}); choose a writable directory") \
            from None
    console = Console(stderr=True)
    try:
        result = run_local(workdir, scenario, root, console)  # type: ignore[arg-type]  # checked above
    except KeyboardInterrupt:
        console.print("interrupted: child processes stopped")
        raise typer.Exit(130) from None
    raise typer.Exit(finish(result, console))
