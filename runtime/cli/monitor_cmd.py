"""`mlcicd monitor publish-drift|batch-summary`: the runtime side of the scheduled monitoring jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError, err, finish, load_config

app = typer.Typer(help="Scheduled monitoring jobs: drift metric, batch-inference summary.", no_args_is_help=True)


@app.command(name="publish-drift")
def publish_drift(
    *,
    report: Annotated[Path, typer.Option(help="Report of `mlcicd data validate` (kind data-validation).")],
    stack: Annotated[str | None, typer.Option(help="Stack: model name and metric namespace from its config.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (dimension ModelName). Default: `model.name` of "
                                              "--stack.")] = None,
    namespace: Annotated[str | None, typer.Option(help="CloudWatch namespace. Default: "
                                                  "`alarms.modelQuality.namespace` of --stack, else MLCICD/Model.")]
    = None,
    region: Annotated[str | None, typer.Option(help="AWS region (default: the SDK's).")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Publish the report's drift share as the DriftScore metric. Exit 0 published, 2 not a data-validation report,
    no model name or no usable credentials, 3 nothing to publish (drift undecided) or CloudWatch unreachable."""
    from runtime.config import defaults as d

    if stack is not None:
        cfg = load_config(stack, project_dir).config
        model = model or cfg.model.name
        namespace = namespace or cfg.alarms.model_quality.namespace
    if model is None:
        raise UsageError("--model is required without --stack (the metric's ModelName dimension)")
    from runtime.aws import boto3_clients
    from runtime.publish import publish_drift_score

    published = publish_drift_score(report, namespace or d.MODEL_METRICS_NAMESPACE, model,
                                    boto3_clients(region)("cloudwatch"))
    err(f"published {published.namespace}/{published.metric} = {published.value:.4g} "
        f"(ModelName={published.model}, {published.timestamp.isoformat(timespec='seconds')})")


@app.command(name="batch-summary")
def batch_summary(
    inputs: Annotated[Path, typer.Option(help="Directory of the scored CSV files.")],
    predictions: Annotated[Path, typer.Option(help="Directory of the predictions (<input stem>.json).")],
    report: Annotated[Path, typer.Option(help="Write the summary report (kind batch-inference) here.")],
) -> None:
    """Summarise a batch-inference run. Exit 0 every row scored, 1 a file unscored or short, 3 no input."""
    from runtime.batch import batch_summary as summarize

    finish(summarize(inputs, predictions), report)
