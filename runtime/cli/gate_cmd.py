"""`mlcicd gate model`: the model gate (runtime/gates/model_gate.py) as a command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import load_config, report_and_exit

app = typer.Typer(help="Gates a candidate model version must pass before it is packaged.", no_args_is_help=True)


@app.command(name="model")
def model_gate(
    *,
    model: Annotated[str, typer.Option(help="Registered model name in the MLflow registry.")],
    candidate: Annotated[str, typer.Option(help="Candidate: a version number (7) or an alias (@challenger).")],
    report: Annotated[Path, typer.Option(help="Write the JSON report here (the machine contract).")],
    champion: Annotated[str | None, typer.Option(
        help="Compare against this version or @alias (default: @<gates.championAlias> if that alias exists).")] = None,
    stack: Annotated[str | None, typer.Option(
        help="Stack name: thresholds from Pulumi.<stack>.yaml `gates` (default: built-in defaults).")] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        help="MLflow tracking/registry URI (default: $MLFLOW_TRACKING_URI).")] = None,
    report_bucket: Annotated[str | None, typer.Option(
        help="Also upload the report to s3://<bucket>/reports/<model>/<version>/model-gate.json.")] = None,
    image_digest: Annotated[str | None, typer.Option(
        help="Serving image digest (sha256:...) the verdict is about; recorded in the report and tags.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the report as a self-contained HTML page here.")]
    = None,
) -> None:
    """Judge a model version: metric bounds, regression vs the champion, fairness, latency, prediction sanity.

    On PASS the candidate alias moves to the version; every verdict is tagged on the version.
    Exit 0 PASS, 1 FAIL, 2 bad input (unknown model/version/alias, bad config or evaluation file),
    3 INCONCLUSIVE (missing or NaN metric, no champion when required, tracking server or S3 unreachable)."""
    from runtime.config import project_root
    from runtime.config.gates import ModelGateConfig
    from runtime.gates.model_gate import gate_model

    config = ModelGateConfig()
    base_dir = None
    if stack is not None:
        config = load_config(stack, project_dir).config.gates
        base_dir = project_dir or project_root()
    if report_bucket is not None or (config.evaluation is not None and config.evaluation.path.startswith("s3://")):
        from runtime.aws import require_credentials

        require_credentials("gate model (S3: evaluation data or --report-bucket)")
    result = gate_model(model, candidate, champion, config=config, tracking_uri=tracking_uri, base_dir=base_dir,
                        report_path=report, report_bucket=report_bucket, image_digest=image_digest)
    # The gate finished the report before uploading it; writing it unchanged keeps both copies byte-identical.
    report_and_exit(result, report, html)
