"""`mlcicd smoke` from its options: the thresholds (stack config overridden by the command line, validated like
the stack file), the report's subject (the model the stack pins, or the one `--model-uri` names, resolved in the
registry) and the payloads, then the smoke or load test. The CLI (runtime/cli/smoke_cmd.py) only parses, calls,
prints and exits. Every MLflow access goes through `runtime.tracking` (checked URI, bounded HTTP budget)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import UsageError

if TYPE_CHECKING:
    from runtime.config import StackConfig
    from runtime.config.checks import SmokeConfig
    from runtime.report import Report
    from runtime.smoke.payloads import Payloads

_OPTION_OF = {"requests": "--requests", "concurrency": "--concurrency",
              "readinessTimeoutSeconds": "--readiness-timeout", "requestTimeoutSeconds": "--request-timeout",
              "rps": "--rps", "durationSeconds": "--duration", "maxRequests": "--max-requests"}


@dataclass(frozen=True)
class SmokeOptions:
    """`mlcicd smoke` as given on the command line (None: from the stack config or the default)."""

    endpoint: str
    load: bool = False
    requests: int | None = None
    concurrency: int | None = None
    rps: float | None = None
    duration: float | None = None
    max_requests: int | None = None
    readiness_timeout: float | None = None
    request_timeout: float | None = None
    sample_data: Path | None = None
    sample_rows: int = 5
    model_uri: str | None = None
    tracking_uri: str | None = None
    ca_bundle: Path | None = None


def smoke_endpoint(options: SmokeOptions, cfg: StackConfig | None = None, stack: str | None = None) -> Report:
    """Smoke-test (or with `options.load`, load-test) the endpoint; UsageError for bad options, TrackingUnavailable
    when `--model-uri`'s registry does not answer."""
    from runtime.config.checks import SmokeConfig

    if not options.load and (options.rps is not None or options.duration is not None or
                             options.max_requests is not None):
        raise UsageError("--rps, --duration and --max-requests belong to the load test; add --load")
    if options.load and (options.requests is not None or options.concurrency is not None):
        raise UsageError("--requests and --concurrency belong to the smoke checks; with --load use --rps and "
                         "--duration")
    smoke_cfg = cfg.smoke if cfg is not None else SmokeConfig()
    subject: dict[str, Any] = {}
    if cfg is not None:
        subject = {"stack": stack, "model": cfg.model.name, "version": cfg.model.version,
                   "imageDigest": cfg.model.image_digest}
    smoke_cfg = override(smoke_cfg, {"requests": options.requests, "concurrency": options.concurrency,
                                     "readinessTimeoutSeconds": options.readiness_timeout,
                                     "requestTimeoutSeconds": options.request_timeout},
                         {"rps": options.rps, "durationSeconds": options.duration,
                          "maxRequests": options.max_requests})
    if options.ca_bundle is not None and not options.ca_bundle.is_file():
        raise UsageError(f"--ca-bundle {options.ca_bundle}: no such file")
    payloads = None
    if options.model_uri is not None:
        from runtime.tracking import global_tracking_uri

        with global_tracking_uri(options.tracking_uri):
            subject = merge_subject(subject, model_subject(options.model_uri))
            payloads = payloads_for(smoke_cfg, options)
    else:
        payloads = payloads_for(smoke_cfg, options)
    from runtime.smoke import load_test, smoke_test

    run = load_test if options.load else smoke_test
    return run(options.endpoint, config=smoke_cfg, payloads=payloads, subject=subject,
               verify=str(options.ca_bundle) if options.ca_bundle is not None else True)


def override(cfg: SmokeConfig, smoke: dict[str, Any], load: dict[str, Any]) -> SmokeConfig:
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
        raise UsageError("; ".join(problems)) from None


def merge_subject(pinned: dict[str, Any], named: dict[str, Any]) -> dict[str, Any]:
    """The stack's pinned model with what --model-uri names; a different model or version is a usage error (the
    report would be evidence for the wrong thing)."""
    for key in ("model", "version"):
        if pinned.get(key) is not None and named.get(key) is not None and str(pinned[key]) != str(named[key]):
            raise UsageError(f"--model-uri names {key} {named[key]!r} but stack {pinned['stack']} pins "
                             f"{pinned[key]!r}; smoke-test the model the stack serves, or drop --stack")
    return {**pinned, **{k: v for k, v in named.items() if v is not None}}


def model_subject(model_uri: str) -> dict[str, Any]:
    """Name and version of a `models:/NAME/VERSION` or `models:/NAME@ALIAS` URI (the alias resolved in the
    registry of the process-wide tracking URI), so the report is evidence for that exact version; other URIs are
    recorded as given. UsageError for an unknown alias, TrackingUnavailable when the registry does not answer."""
    if not model_uri.startswith("models:/"):
        return {"modelUri": model_uri}
    ref = model_uri.removeprefix("models:/").strip("/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        import mlflow
        from mlflow import MlflowClient

        from runtime.tracking import ask_registry

        uri = mlflow.get_tracking_uri()
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            found = ask_registry(uri, f"resolve alias {alias!r} of model {name!r}",
                                 lambda: client.get_model_version_by_alias(name, alias))
        except Exception as exc:
            if getattr(exc, "error_code", None) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise UsageError(f"--model-uri {model_uri}: model {name!r} has no alias {alias!r}; check the name, "
                                 "the alias and --tracking-uri") from exc
            raise
        return {"modelUri": model_uri, "model": name, "version": str(found.version)}
    name, _, version = ref.partition("/")
    if version.isdigit():
        return {"modelUri": model_uri, "model": name, "version": version}
    return {"modelUri": model_uri}


def payloads_for(cfg: SmokeConfig, options: SmokeOptions) -> Payloads | None:
    from runtime.smoke import resolve_payloads

    return resolve_payloads(samples=cfg.sample_payloads, sample_data=options.sample_data,
                            model_uri=options.model_uri, rows=options.sample_rows)
