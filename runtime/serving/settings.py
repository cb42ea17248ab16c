"""Capture settings: what the platform tells the server (one JSON environment variable, `MLCICD_CAPTURE`).

The program builds them from `ml-cicd:monitoring.capture` (components put `to_env()` into the task definition or
pod spec); the server reads them with `from_env`. No variable: no capture, the server serves as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from runtime.serving.records import PREDICTION_TYPES, CaptureSchema, schema_problems

if TYPE_CHECKING:
    from runtime.config import StackConfig

ENV_CAPTURE = "MLCICD_CAPTURE"
#: Records held in memory at most; beyond it a sampled request is counted as dropped, never waited for.
BUFFER_RECORDS = 10_000
#: Seconds between puts while traffic is below a full batch.
FLUSH_SECONDS = 1.0
#: Seconds a stopping server spends delivering what it holds (within ECS's 30 s stop timeout after uvicorn's 20).
SHUTDOWN_SECONDS = 5.0
#: Seconds between publications of the sent/dropped counters to CloudWatch.
METRICS_SECONDS = 60.0


@dataclass(frozen=True)
class CaptureSettings:
    stream: str
    """Firehose delivery stream name."""
    region: str = ""
    """Region of the stream (empty: the SDK's, e.g. AWS_REGION)."""
    sample_percent: float = 100.0
    features: tuple[tuple[str, str], ...] = ()
    """(name, MLflow type) of the model's inputs; empty: whatever columns requests carry."""
    prediction_type: str = "double"
    drop_fields: tuple[str, ...] = ()
    hash_fields: tuple[str, ...] = ()
    metrics_namespace: str = ""
    """CloudWatch namespace of the sent/dropped counters (empty: not published)."""
    buffer_records: int = BUFFER_RECORDS
    flush_seconds: float = FLUSH_SECONDS
    shutdown_seconds: float = SHUTDOWN_SECONDS
    metrics_seconds: float = METRICS_SECONDS

    def __post_init__(self) -> None:
        problems = schema_problems(self.features, self.drop_fields, self.hash_fields)
        if not self.stream:
            problems.append("stream is empty")
        if not 0 <= self.sample_percent <= 100:
            problems.append(f"samplePercent {self.sample_percent} is not within 0-100")
        if self.prediction_type not in PREDICTION_TYPES:
            problems.append(f"predictionType {self.prediction_type!r} is not one of {', '.join(PREDICTION_TYPES)}")
        if self.buffer_records < 1 or self.flush_seconds <= 0 or self.shutdown_seconds < 0:
            problems.append("bufferRecords must be >= 1, flushSeconds > 0 and shutdownSeconds >= 0")
        if problems:
            raise ValueError(f"{ENV_CAPTURE}: " + "; ".join(problems))

    @classmethod
    def from_stack(cls, cfg: StackConfig, stream: str, *,
                   flush_seconds: float = FLUSH_SECONDS) -> CaptureSettings | None:
        """What a stack's serving processes are told (`ml-cicd:monitoring.capture`), or None without capture.
        The one derivation: the program (`infra/capture.py`) and `mlcicd local run` both call it."""
        capture = cfg.monitoring.capture
        if not capture.enabled:
            return None
        return cls(stream=stream, region=cfg.region, sample_percent=capture.sample_percent,
                   features=tuple((f.name, f.type) for f in capture.input_schema),
                   prediction_type=capture.prediction_type, drop_fields=tuple(capture.drop_fields),
                   hash_fields=tuple(capture.hash_fields), metrics_namespace=cfg.alarms.model_quality.namespace,
                   buffer_records=capture.buffer_records, flush_seconds=flush_seconds)

    def schema(self, salt: str) -> CaptureSchema:
        return CaptureSchema(features=self.features, prediction_type=self.prediction_type,
                             drop=frozenset(self.drop_fields), hashed=frozenset(self.hash_fields), salt=salt)

    def to_env(self) -> dict[str, str]:
        return {ENV_CAPTURE: json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CaptureSettings | None:
        raw = environ.get(ENV_CAPTURE)
        if not raw:
            return None
        try:
            values = json.loads(raw)
            values["features"] = tuple(tuple(f) for f in values.get("features", ()))
            for key in ("drop_fields", "hash_fields"):
                values[key] = tuple(values.get(key, ()))
            return cls(**values)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{ENV_CAPTURE} is not valid capture settings ({exc}); the platform writes it from "
                             "`ml-cicd:monitoring.capture`") from None
