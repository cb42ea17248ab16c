"""Entry point of `mlcicd`. Each command group lives in its own module; this file wires them and is the one place
where errors become exit codes (`MlcicdCommand.invoke`).

Commands raise; they never choose an exit code for an error. A report's verdict exits 0/1/3 through
`runtime.cli.common.finish`; every exception, whatever raised it, is classified by `runtime.errors.classify`,
printed as one paragraph (the traceback only with `--debug` or MLCICD_DEBUG=1) and exits with its class's code.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from runtime.cli import (
    canary_cmd,
    capture_cmd,
    champion_cmd,
    ci_cmd,
    config_cmd,
    data_cmd,
    gate_cmd,
    graph_cmd,
    init_cmd,
    local_cmd,
    monitor_cmd,
    pipeline_cmd,
    promote_cmd,
    replay_cmd,
    serve_cmd,
    smoke_cmd,
    verify_cmd,
)

if TYPE_CHECKING:
    from typer._click.core import Context  # the parser Typer vendors (what TyperGroup.invoke receives)


class MlcicdCommand(TyperGroup):
    """The root group: runs the command and maps whatever it raises to the exit-code contract."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # a verdict's exit code, or the parser's own usage errors (exit 2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except Exception as exc:  # the one place: every error of every command
            from runtime.errors import classify, format_traceback

            error = classify(exc)
            if ctx.params.get("debug"):
                print(format_traceback(exc), file=sys.stderr, end="")
            print(error.render(), file=sys.stderr)
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    name="mlcicd",
    cls=MlcicdCommand,
    help="ML CI/CD runtime: the checks the delivery pipeline runs. Exit codes: 0 PASS, 1 FAIL, "
    "2 usage or configuration error, 3 INCONCLUSIVE (including a service that did not answer).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", envvar="MLCICD_DEBUG",
                                        help="On an error, also print the traceback (env MLCICD_DEBUG=1).")] = False,
) -> None:
    # Only parsed here: MlcicdCommand.invoke reads it from the context when a command raises.
    del debug


app.add_typer(config_cmd.app, name="config")
app.add_typer(data_cmd.app, name="data")
app.add_typer(gate_cmd.app, name="gate")
gate_cmd.app.command(name="replay")(replay_cmd.replay)
gate_cmd.app.command(name="shadow")(replay_cmd.shadow)
app.command(name="graph")(graph_cmd.graph)
app.command(name="smoke")(smoke_cmd.smoke)
app.command(name="promote")(promote_cmd.promote)
app.add_typer(pipeline_cmd.app, name="pipeline")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(ci_cmd.app, name="ci")
app.add_typer(canary_cmd.app, name="canary")
app.add_typer(verify_cmd.app, name="verify")
app.add_typer(local_cmd.app, name="local")
app.add_typer(champion_cmd.app, name="champion")
app.command(name="init")(init_cmd.init)
app.add_typer(serve_cmd.app, name="serve")
app.add_typer(capture_cmd.app, name="capture")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
