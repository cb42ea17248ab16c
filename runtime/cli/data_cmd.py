"""`mlcicd data validate|profile`: schema, quality and drift of a data frame against a reference."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.cli.common import err, finish, load_config
from runtime.errors import UsageError

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig
    from runtime.report import Report

app = typer.Typer(help="Data checks: schema, quality and drift against a reference (or its profile).",
                  no_args_is_help=True)

_INPUT = "Parquet or CSV file, local path or s3://bucket/key."


@contextmanager
def _batch_process() -> Iterator[None]:
    """Settings for a short, heavy, single-shot process (measured with perf on the 1M-row benchmark): numpy's
    OpenBLAS threads spin while we sort (we use no BLAS), and the cyclic garbage collector, triggered over and
    over by the imports of numpy, pyarrow and the config model, took about a tenth of the run. At the end the
    objects alive are frozen (`gc.freeze`), so the interpreter's final collection skips them (0.1 s less at
    exit); reference counting still frees them as usual."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read when numpy is first imported, below
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _config(stack: str | None, project_dir: Path | None) -> DataValidationConfig:
    if stack is None:
        from runtime.config.gates import DataValidationConfig

        return DataValidationConfig()
    from runtime.data.validate import data_config

    return data_config(load_config(stack, project_dir).config)


@app.command()
def validate(
    *,
    reference: Annotated[str, typer.Option(help=f"Reference data ({_INPUT}) or a profile written by "
                                                "--write-profile / `mlcicd data profile`.")],
    current: Annotated[str, typer.Option(help=f"Current data to validate ({_INPUT})")],
    report: Annotated[Path, typer.Option("--report", help="Write the JSON report (the machine contract) here.")],
    stack: Annotated[str | None, typer.Option(help="Stack name: thresholds from Pulumi.<stack>.yaml "
                                                   "(ml-cicd:data). Default: built-in defaults.")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report here.")] = None,
    write_profile: Annotated[str | None, typer.Option(help="Also write the reference's profile here (local path "
                                                           "or s3://), for later runs without the reference "
                                                           "data.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    engine: Annotated[str | None, typer.Option(help="local (stream on this machine) or spark (the same summaries "
                                                    "as Spark tasks). Default: data.engine of --stack, else "
                                                    "local.")] = None,
    emr: Annotated[bool, typer.Option("--emr", help="Submit the validation to the stack's EMR Serverless "
                                                    "application (data.engine: spark; s3:// inputs) and wait.")]
    = False,
) -> None:
    """Validate CURRENT against REFERENCE: schema, quality, drift. Exit 0 PASS, 1 FAIL, 2 bad input,
    3 INCONCLUSIVE (e.g. empty or too few rows, S3 did not answer, or a Spark job that failed or timed out)."""
    with _batch_process():
        from runtime.data.validate import validate_data

        # Bad inputs raise DataInputError (exit 2 naming the path); one that S3 could not serve is an outage (exit 3,
        # runtime/errors.py).
        if emr:
            result = _on_emr(reference, current, stack, project_dir)
        else:  # the stack config loads in a background thread while the data is read
            result = validate_data(reference, current, lambda: _config(stack, project_dir),
                                   write_profile=write_profile, engine=engine or (None if stack else "local"))
        written = result.details.get("profile_written")
        if written:
            err(f"profile: {written['path']} ({written['bytes'] / 1e6:.2f} MB)")
        if html is not None:
            from runtime.data.html import write_html

            result.finish()
            write_html(result, html)
            err(f"html: {html}")
        finish(result, report)


def _on_emr(reference: str, current: str, stack: str | None, project_dir: Path | None) -> Report:
    from runtime.data.emr import run_on_emr
    from runtime.data.validate import data_config

    if stack is None:
        raise UsageError("--emr needs --stack (the application, thresholds and timeout come from the stack)")
    loaded = load_config(stack, project_dir).config
    return run_on_emr(reference=reference, current=current, config=data_config(loaded), model=loaded.model.name,
                      stack=stack)


@app.command()
def profile(
    *,
    reference: Annotated[str, typer.Option(help=f"Reference data ({_INPUT})")],
    out: Annotated[str, typer.Option(help="Where to write the profile (local path or s3://).")],
    stack: Annotated[str | None, typer.Option(help="Stack name: PSI bins and engine from Pulumi.<stack>.yaml "
                                                   "(ml-cicd:data).")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    engine: Annotated[str | None, typer.Option(help="local or spark. Default: data.engine of --stack, else "
                                                    "local.")] = None,
    model_version: Annotated[str | None, typer.Option(help="Record in the profile that REFERENCE is the training "
                                                           "data of this registered model version (the Train "
                                                           "action's evidence; `mlcicd champion reference` copies "
                                                           "only a profile recorded for the champion).")] = None,
    model: Annotated[str | None, typer.Option(help="Registered model of --model-version (default: model.name of "
                                                   "--stack).")] = None,
) -> None:
    """Write the compact profile of REFERENCE that `data validate --reference PROFILE` compares against."""
    with _batch_process():
        from runtime.data.validate import (
            data_config,
            default_config,
            engine_named,
            load_reference,
            write_reference_profile,
        )

        stack_cfg = load_config(stack, project_dir).config if stack else None
        label = _model_label(model, model_version, stack_cfg.model.name if stack_cfg else None)
        cfg = data_config(stack_cfg) if stack_cfg else default_config()
        ref = load_reference(reference, cfg, engine_named(engine or cfg.engine))
        size = write_reference_profile(ref, out, label)
    trained = f", the training data of {label[0]} version {label[1]}" if label else ""
    err(f"profile of {reference} ({ref.summary.rows} rows, {len(ref.summary.columns)} columns{trained}): {out} "
        f"({size / 1e6:.2f} MB)")


def _model_label(model: str | None, version: str | None, stack_model: str | None) -> tuple[str, str] | None:
    """(model, version) the profile records as trained on its data, from --model-version and --model, else the
    model of --stack."""
    if version is None:
        if model is not None:
            raise UsageError("--model names the model of --model-version; give both, or neither")
        return None
    if not version.isdigit():
        raise UsageError(f"--model-version {version!r}: expected a registered model version number, e.g. 12")
    name = model or stack_model
    if not name:
        raise UsageError("--model-version needs the registered model: pass --model NAME or --stack S")
    return name, version
