"""`mlcicd smoke --endpoint URL [--stack S] [--requests N] [--concurrency C] [--load --rps R --duration D]
--report OUT.json`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runtime.cli.common import UsageError, load_config, usage_errors

if TYPE_CHECKING:
    from runtime.config.checks import SmokeConfig


def smoke(
    *,
    endpoint: Annotated[str, typer.Option(help="Base URL of the MLflow-compatible scoring server, e.g. "
                                          "http://127.0.0.1:5001 (serves /ping, /health, /version, /invocations).")],
    report: Annotated[Path, typer.Option(help="Write the report (JSON) here.")],
    stack: Annotated[str | None, typer.Option(help="Read thresholds and sample payloads from Pulumi.<stack>.yaml "
                                              "(`ml-cicd:smoke`); the report's subject is the model it pins.")]
    = None,
    requests: Annotated[int | None, typer.Option(help="Requests for the latency check (config smoke.requests, "
                                                 "default 100).")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight at once (smoke.concurrency, "
                                                    "default 4).")] = None,
    load: Annotated[bool, typer.Option("--load", help="Run the load test (fixed arrival rate for a fixed "
                                       "duration) instead of the smoke checks.")] = False,
    rps: Annotated[float | None, typer.Option(help="With --load: arrival rate (smoke.load.rps, default 20).")]
    = None,
    duration: Annotated[float | None, typer.Option(help="With --load: seconds of arrivals "
                                                   "(smoke.load.durationSeconds, default 30).")] = None,
    max_requests: Annotated[int | None, typer.Option(help="With --load: hard cap on requests "
                                                     "(smoke.load.maxRequests).")] = None,
    readiness_timeout: Annotated[float | None, typer.Option(help="Seconds /ping may take to answer 200 "
                                                            "(smoke.readinessTimeoutSeconds, default 120).")]
    = None,
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
) -> None:
    """Smoke-test (or with --load, load-test) a scoring endpoint. Exit 0 PASS, 1 FAIL, 2 bad usage or config,
    3 INCONCLUSIVE. Payload precedence: --sample-data, then smoke.samplePayloads, then --model-uri's input
    example, then its signature."""
    from runtime.cli.common import finish
    from runtime.config.checks import SmokeConfig

    with usage_errors():
        if not load and (rps is not None or duration is not None or max_requests is not None):
            raise UsageError("--rps, --duration and --max-requests belong to the load test; add --load")
        if load and (requests is not None or concurrency is not None):
            raise UsageError("--requests and --concurrency belong to the smoke checks; with --load use --rps and "
                             "--duration")
        cfg = SmokeConfig()
        subject: dict[str, Any] = {}
        if stack is not None:
            loaded = load_config(stack, project_dir).config
            cfg = loaded.smoke
            subject = {"stack": stack, "model": loaded.model.name, "version": loaded.model.version,
                       "imageDigest": loaded.model.image_digest}
        cfg = _override(cfg, {"requests": requests, "concurrency": concurrency,
                              "readinessTimeoutSeconds": readiness_timeout,
                              "requestTimeoutSeconds": request_timeout},
                        {"rps": rps, "durationSeconds": duration, "maxRequests": max_requests})
        if ca_bundle is not None and not ca_bundle.is_file():
            raise UsageError(f"--ca-bundle {ca_bundle}: no such file")
        if model_uri is not None:
            subject = _merge_subject(subject, _model_subject(model_uri, tracking_uri))
        payloads = _payloads(cfg, sample_data, model_uri, sample_rows, tracking_uri)
        from runtime.smoke import load_test, smoke_test

        run = load_test if load else smoke_test
        try:
            result = run(endpoint, config=cfg, payloads=payloads, subject=subject,
                         verify=str(ca_bundle) if ca_bundle is not None else True)
        except ValueError as exc:  # the endpoint is not an http(s) URL
            raise UsageError(f"--endpoint: {exc}") from exc
    finish(result, report)


_OPTION_OF = {"requests": "--requests", "concurrency": "--concurrency",
              "readinessTimeoutSeconds": "--readiness-timeout", "requestTimeoutSeconds": "--request-timeout",
              "rps": "--rps", "durationSeconds": "--duration", "maxRequests": "--max-requests"}


def _override(cfg: SmokeConfig, smoke: dict[str, Any], load: dict[str, Any]) -> SmokeConfig:
    """The config with the options given on the command line, validated like the stack file."""
    from pydantic import ValidationError

    from runtime.config.checks import SmokeConfig

    data = cfg.model_dump(by_alias=True)
    data.update({k: v for k, v in smoke.items() if v is not None})
    data["load"].update({k: v for k, v in load.items() if v is not None})
    try:
        return SmokeConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][-1])
            shown = _OPTION_OF.get(key, key)
            problems.append(f"{shown} {error.get('input')!r}: {error['msg']}")
        raise UsageError("; ".join(problems)) from exc


def _merge_subject(pinned: dict[str, Any], named: dict[str, Any]) -> dict[str, Any]:
    """The stack's pinned model with what --model-uri names; a different model or version is a usage error (the
    report would be evidence for the wrong thing)."""
    for key in ("model", "version"):
        if pinned.get(key) is not None and named.get(key) is not None and str(pinned[key]) != str(named[key]):
            raise UsageError(f"--model-uri names {key} {named[key]!r} but stack {pinned['stack']} pins "
                             f"{pinned[key]!r}; smoke-test the model the stack serves, or drop --stack")
    return {**pinned, **{k: v for k, v in named.items() if v is not None}}


def _model_subject(model_uri: str, tracking_uri: str | None) -> dict[str, Any]:
    """Name and version of a `models:/NAME/VERSION` or `models:/NAME@ALIAS` URI (the alias resolved in the
    registry), so the report is evidence for that exact version; other URIs are recorded as given."""
    if not model_uri.startswith("models:/"):
        return {"modelUri": model_uri}
    ref = model_uri.removeprefix("models:/").strip("/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        from mlflow import MlflowClient

        try:
            version = MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(name, alias).version
        except Exception as exc:
            raise UsageError(f"--model-uri {model_uri}: cannot resolve alias {alias!r} of model {name!r} "
                             f"({type(exc).__name__}: {exc}); check the name, the alias and --tracking-uri") from exc
        return {"modelUri": model_uri, "model": name, "version": str(version)}
    name, _, version = ref.partition("/")
    if version.isdigit():
        return {"modelUri": model_uri, "model": name, "version": version}
    return {"modelUri": model_uri}


def _payloads(cfg: SmokeConfig, sample_data: Path | None, model_uri: str | None, rows: int,
              tracking_uri: str | None) -> Any:
    from runtime.smoke import PayloadError, resolve_payloads

    if tracking_uri is not None and model_uri is not None:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
    try:
        return resolve_payloads(samples=cfg.sample_payloads, sample_data=sample_data, model_uri=model_uri,
                                rows=rows)
    except PayloadError as exc:
        raise UsageError(str(exc)) from exc
