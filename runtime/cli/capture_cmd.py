"""`mlcicd capture schema`: the capture schema of a model, printed for the stack file or checked against it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import err, load_config
from runtime.report import EXIT_FAIL

app = typer.Typer(help="Inference capture: the Glue schema a model's captures need.", no_args_is_help=True)


@app.command(name="schema")
def schema(
    model_uri: Annotated[str, typer.Option(help="Model directory or `models:/NAME/VERSION`.")],
    stack: Annotated[str | None, typer.Option(help="Check `monitoring.capture` of this stack against the model "
                                              "instead of printing it.")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI (default: MLFLOW_TRACKING_URI).")]
    = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Print the model's `inputSchema` and `predictionType` as stack-file YAML; with --stack, exit 1 when the
    stack's capture schema differs from the model's (its captures would lose columns), 0 when it matches or the
    stack does not capture."""
    import yaml

    from runtime.capture.schema import ModelCaptureSchema, differences, from_model

    if tracking_uri:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
    model = from_model(model_uri)  # UsageError for a model without a usable signature (exit 2)
    if stack is None:
        typer.echo(yaml.safe_dump({"ml-cicd:monitoring": {"capture": model.as_config()}}, sort_keys=False))
        return
    capture = load_config(stack, project_dir).config.monitoring.capture
    if not capture.enabled:
        err(f"{stack}: monitoring.capture is off; nothing to check")
        return
    configured = ModelCaptureSchema(tuple((f.name, f.type) for f in capture.input_schema), capture.prediction_type)
    found = differences(configured, model)
    if found:
        err(f"FAIL: Pulumi.{stack}.yaml monitoring.capture does not match {model_uri} (Firehose would drop the "
            "missing columns):")
        for line in found:
            err(f"  - {line}")
        err(f"fix: `mlcicd capture schema --model-uri {model_uri}` prints the keys to paste")
        raise typer.Exit(EXIT_FAIL)
    err(f"PASS: Pulumi.{stack}.yaml monitoring.capture matches {model_uri}")
