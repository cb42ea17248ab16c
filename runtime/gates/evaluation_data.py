"""The model gate's evaluation data (`gates.evaluation`): read from a local file or S3, and checked against the
columns the config names before the registry is asked anything.

A missing, unsupported or unreadable file and a column the data lacks are `UsageError`s (exit 2); an S3 that
cannot be asked is `EvaluationUnavailable`, missing evidence that makes the prediction checks INCONCLUSIVE.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.config.gates import EvaluationDataConfig, ModelGateConfig
from runtime.errors import AwsUnavailable, UsageError
from runtime.gates.reasons import one_line
from runtime.gates.s3 import s3_client

if TYPE_CHECKING:
    import pandas as pd


class EvaluationUnavailable(AwsUnavailable):
    """The evaluation data's store (S3) could not be asked: missing evidence, not a usage error."""


def read_evaluation(cfg: EvaluationDataConfig, base_dir: Path | None) -> pd.DataFrame:
    """The evaluation frame from a local file or s3:// URI. UsageError for a missing, unsupported or unreadable
    file; EvaluationUnavailable when S3 itself cannot be asked (the prediction checks are then INCONCLUSIVE)."""
    import io

    import pandas as pd

    where = f"gates.evaluation.path = {cfg.path}"
    suffix = Path(cfg.path.split("?", 1)[0]).suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise UsageError(f"{where}: unsupported file type {suffix or '(none)'!r}; use .parquet or .csv")
    source: Any
    if cfg.path.startswith("s3://"):
        source = io.BytesIO(_read_s3(cfg.path, where))
    else:
        path = Path(cfg.path)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        if not path.is_file():
            raise UsageError(f"{where}: no such file {path}; fix the path (relative paths start at the directory "
                             "of Pulumi.yaml with --stack, else at the working directory)")
        source = path
    try:
        return pd.read_csv(source) if suffix == ".csv" else pd.read_parquet(source)
    except Exception as exc:  # corrupt or truncated files: pyarrow, csv and OS errors alike
        raise UsageError(f"{where}: cannot read it as {suffix[1:]}: {one_line(exc)}") from exc


def _read_s3(uri: str, where: str) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise UsageError(f"{where}: not an s3://bucket/key URI")
    try:
        return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchBucket", "404", "403", "AccessDenied"):
            raise UsageError(f"{where}: cannot read it ({code}); check the bucket, key and permissions") from exc
        raise EvaluationUnavailable(f"S3 could not return {uri}: {one_line(exc)}") from exc
    except BotoCoreError as exc:
        raise EvaluationUnavailable(f"S3 could not return {uri}: {one_line(exc)}") from exc


def positive_label(frame: pd.DataFrame, target: str, configured: Any) -> Any:
    """The target's own value matching `positiveLabel` (1 matches 1, 1.0, True and "1")."""
    values = list(frame[target].dropna().unique())
    for value in values:
        if value == configured or str(value) == str(configured):
            return value
    shown = ", ".join(repr(v) for v in values[:10]) or "none"
    raise UsageError(f"gates.fairness.positiveLabel = {configured!r} does not occur in target column {target!r} "
                     f"(values: {shown}); set it to the positive class")


def check_columns(frame: pd.DataFrame, cfg: ModelGateConfig) -> None:
    assert cfg.evaluation is not None
    needed = {"gates.evaluation.targetColumn": cfg.evaluation.target_column}
    if cfg.fairness is not None:
        needed["gates.fairness.sensitiveColumn"] = cfg.fairness.sensitive_column
    for key, column in needed.items():
        if column not in frame.columns:
            shown = ", ".join(map(str, list(frame.columns)[:20]))
            raise UsageError(f"{key} = {column}: no such column in {cfg.evaluation.path} (columns: {shown})")


def load_evaluation(cfg: ModelGateConfig, base_dir: Path | None) -> tuple[pd.DataFrame | None, str | None]:
    """The evaluation frame (None when the config names none) and why it could not be read (None when it was).
    Bad paths and columns are usage errors, found here before any registry call."""
    if cfg.evaluation is None:
        return None, None
    try:
        frame = read_evaluation(cfg.evaluation, base_dir)
    except EvaluationUnavailable as exc:
        return None, str(exc)
    check_columns(frame, cfg)
    if cfg.fairness is not None and len(frame):
        positive_label(frame, cfg.evaluation.target_column, cfg.fairness.positive_label)
    return frame, None
