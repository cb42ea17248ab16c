"""`mlcicd smoke --endpoint URL [--stack S] [--requests N] [--concurrency C] [--load --rps R --duration D]
--report OUT.json`. The work is in runtime/smoke/plan.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import finish, load_config


def smoke(
    *,
    endpoint: Annotated[str, typer.Option(help="Base URL of the MLflow-compatible scoring server, e.g. "
                                          "http://127.0.0.1:5001 (serves /ping, /health, /version, /invocations).")],
    report: Annotated[Path, typer.Option(help="Write the report (JSON) here.")],
    stack: Annotated[str | None, typer.Option(help="Read thresholds and sample payloads from Pulumi.<stack>.yaml "
                                              "(`ml-cicd:smoke`); the report's subject is the model it pins.")] = None,
    requests: Annotated[int | None, typer.Option(help="Requests for the latency check (config smoke.requests, "
                                                 "default 100).")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight at once (smoke.concurrency, "
                                                    "default 4).")] = None,
    load: Annotated[bool, typer.Option("--load", help="Run the load test (fixed arrival rate for a fixed "
                                       "duration) instead of the smoke checks.")] = False,
    rps: Annotated[float | None, typer.Option(help="With --load: arrival rate (smoke.load.rps, default 20).")] = None,
    duration: Annotated[float | None, typer.Option(help="With --load: seconds of arrivals "
                                                   "(smoke.load.durationSeconds, default 30).")] = None,
    max_requests: Annotated[int | None, typer.Option(help="With --load: hard cap on requests "
                                                     "(smoke.load.maxRequests).")] = None,
    readiness_timeout: Annotated[float | None, typer.Option(help="Seconds /ping may take to answer 200 "
                                                            "(smoke.readinessTimeoutSeconds, default 120).")] = None,
    request_timeout: Annotated[float | None, typer.Option(help="Seconds one request may take "
                                                          "(smoke.requestTimeoutSeconds, default 10).")] = None,
    sample_data: Annotated[Path | None, typer.Option(help="Parquet or CSV file: its first complete rows become "
                                                     "the /invocations payload (takes precedence over "
                                                     "smoke.samplePayloads).")] = None,
    sample_rows: Annotated[int, typer.Option(help="Rows per batch payload from --sample-data or the "
                                             "signature.")] = 5,
    model_uri: Annotated[str | None, typer.Option(help="MLflow model URI (models:/NAME/VERSION, "
                                                  "models:/NAME@ALIAS, runs:/...): its input example or signature "
                                                  "gives the payload when config has none; with --sample-data its "
                                                  "signature selects the columns.")] = None,
    tracking_uri: Annotated[str | None, typer.Option(envvar="MLFLOW_TRACKING_URI", help="MLflow tracking/registry "
                                                     "URI for --model-uri.")] = None,
    ca_bundle: Annotated[Path | None, typer.Option(help="PEM file of CA certificates to trust for an https "
                                                   "endpoint (default: the system's).")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the report as a self-contained HTML page here.")] = None,
) -> None:
    """Smoke-test (or with --load, load-test) a scoring endpoint. Exit 0 PASS, 1 FAIL, 2 bad usage or config,
    3 INCONCLUSIVE. Payload precedence: --sample-data, then smoke.samplePayloads, then --model-uri's input
    example, then its signature."""
    from runtime.smoke.plan import SmokeOptions, smoke_endpoint

    cfg = load_config(stack, project_dir).config if stack is not None else None
    options = SmokeOptions(endpoint=endpoint, load=load, requests=requests, concurrency=concurrency, rps=rps,
                           duration=duration, max_requests=max_requests, readiness_timeout=readiness_timeout,
                           request_timeout=request_timeout, sample_data=sample_data, sample_rows=sample_rows,
                           model_uri=model_uri, tracking_uri=tracking_uri, ca_bundle=ca_bundle)
    finish(smoke_endpoint(options, cfg, stack), report, html)
