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

if TYPE_CHECKING:
    from runtime.config.gates import DataValidationConfig

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
    return load_config(stack, project_dir).config.data


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
) -> None:
    """Validate CURRENT against REFERENCE: schema, quality, drift. Exit 0 PASS, 1 FAIL, 2 bad input,
    3 INCONCLUSIVE (e.g. empty or too few rows, S3 did not answer)."""
    with _batch_process():
        from runtime.data.validate import validate_data

        # The stack config loads in a background thread while the data is read. Bad inputs raise DataInputError
        # (exit 2 naming the path); one that S3 could not serve is an outage (exit 3, runtime/errors.py).
        result = validate_data(reference, current, lambda: _config(stack, project_dir), write_profile=write_profile)
        written = result.details.get("profile_written")
        if written:
            err(f"profile: {written['path']} ({written['bytes'] / 1e6:.2f} MB)")
        if html is not None:
            from runtime.data.html import write_html

            result.finish()
            write_html(result, html)
            err(f"html: {html}")
        finish(result, report)


@app.command()
def profile(
    *,
    reference: Annotated[str, typer.Option(help=f"Reference data ({_INPUT})")],
    out: Annotated[str, typer.Option(help="Where to write the profile (local path or s3://).")],
    stack: Annotated[str | None, typer.Option(help="Stack name: bins and profile size from Pulumi.<stack>.yaml "
                                                   "(ml-cicd:data.drift).")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
) -> None:
    """Write the compact profile of REFERENCE that `data validate --reference PROFILE` compares against."""
    with _batch_process():
        from runtime.data.validate import load_reference, write_reference_profile

        cfg = _config(stack, project_dir)
        timings: dict[str, float] = {}
        ref = load_reference(reference, cfg, timings)
        size = write_reference_profile(ref, out, cfg)
    err(f"profile of {reference} ({ref.summary.rows} rows, {len(ref.summary.columns)} columns): {out} "
        f"({size / 1e6:.2f} MB)")
