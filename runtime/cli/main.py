"""Entry point of `mlcicd`. Each command group lives in its own module; this file only wires them."""

from __future__ import annotations

import typer

from runtime.cli import (
    canary_cmd,
    capture_cmd,
    ci_cmd,
    config_cmd,
    data_cmd,
    gate_cmd,
    graph_cmd,
    local_cmd,
    monitor_cmd,
    pipeline_cmd,
    promote_cmd,
    serve_cmd,
    smoke_cmd,
    verify_cmd,
)

app = typer.Typer(
    name="mlcicd",
    help="ML CI/CD runtime: the checks the delivery pipeline runs. Exit codes: 0 PASS, 1 FAIL, "
    "2 usage or configuration error, 3 INCONCLUSIVE.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(data_cmd.app, name="data")
app.add_typer(gate_cmd.app, name="gate")
app.command(name="graph")(graph_cmd.graph)
app.command(name="smoke")(smoke_cmd.smoke)
app.command(name="promote")(promote_cmd.promote)
app.add_typer(pipeline_cmd.app, name="pipeline")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(ci_cmd.app, name="ci")
app.add_typer(canary_cmd.app, name="canary")
app.add_typer(verify_cmd.app, name="verify")
app.add_typer(local_cmd.app, name="local")
app.add_typer(serve_cmd.app, name="serve")
app.add_typer(capture_cmd.app, name="capture")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
