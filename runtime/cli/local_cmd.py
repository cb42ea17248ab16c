"""`mlcicd local run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError

app = typer.Typer(help="Rehearse the project's delivery pipeline on this machine: its step list, its own training "
                       "code and data, real components and no cloud.", no_args_is_help=True)

SCENARIO_HELP = ("good (promoted) | drifted, broken-schema (stopped by DataValidate) | degraded, unfair, slow "
                 "(stopped by ModelGate) | error-spike (stopped by Deploy's canary). Each is a fault injected into "
                 "this project (docs/local-run.md).")


@app.command()
def run(
    *,
    stack: Annotated[str, typer.Option(help="Stack hosting the pipeline: Pulumi.<stack>.yaml of the project.")]
    = "staging",
    scenario: Annotated[str, typer.Option(help=SCENARIO_HELP)] = "good",
    workdir: Annotated[Path | None, typer.Option(help="Work directory (MLflow store, checkouts, reports, logs); "
                                                      "reruns reuse its MLflow store. Default: "
                                                      "<project>/.mlcicd/local.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    load_test_seconds: Annotated[float | None, typer.Option(help="Load test duration (overrides "
                                                                 "local.loadTestSeconds).")] = None,
    canary_seconds: Annotated[float | None, typer.Option(help="Canary traffic duration (overrides "
                                                              "local.canarySeconds).")] = None,
    min_rows: Annotated[int | None, typer.Option(help="Minimum rows of the data contract (overrides "
                                                      "local.minRows).")] = None,
) -> None:
    """Run the pipeline's step list (the CodeBuild actions, in order) on this project: its train command, data,
    evaluation set and thresholds as Pulumi.<stack>.yaml configures them, with local stand-ins for the cloud
    (MLflow sqlite store, scoring servers, moto as S3 and CloudWatch, a copy of the repository for promotion).
    Exit code of the first action that stops the pipeline: 0 PASS, 1 FAIL, 2 usage or config error,
    3 INCONCLUSIVE."""
    from rich.console import Console

    from runtime.config import project_root
    from runtime.local.faults import SCENARIOS
    from runtime.local.pipeline import finish, run_local
    from runtime.local.plan import load_plan

    if scenario not in SCENARIOS:
        raise UsageError(f"--scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    root = (project_dir or project_root()).resolve()
    if not (root / "Pulumi.yaml").is_file():
        raise UsageError(f"no Pulumi.yaml in {root}: run from the project directory or pass --project-dir")
    work = workdir or root / ".mlcicd" / "local"
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--workdir {work}: cannot create it ({exc.strerror}); choose a writable directory") \
            from None
    console = Console(stderr=True)
    overrides = {"loadTestSeconds": load_test_seconds, "canarySeconds": canary_seconds, "minRows": min_rows}
    try:
        plan = load_plan(root, stack, overrides)
        result = run_local(plan, scenario, work, console)  # type: ignore[arg-type]  # checked above
    except KeyboardInterrupt:
        console.print("interrupted: child processes stopped")
        raise typer.Exit(130) from None
    raise typer.Exit(finish(result, console))
