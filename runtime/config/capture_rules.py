"""Rules of `ml-cicd:monitoring.capture` and `monitoring.quality` (`CAPTURE_RULES`, listed in `rules.RULES`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.config.findings import Finding, Problem, RuleList
from runtime.serving.records import schema_problems

CAPTURE_RULES = RuleList()
rule = CAPTURE_RULES.rule


@rule("monitoring")
def capture_schema(s: dict[str, Any]) -> Iterator[Finding]:
    capture = s["monitoring"].capture
    path = "monitoring.capture"
    if capture.enabled and not capture.input_schema:
        yield Problem(f"{path}.inputSchema", "capture needs the model's input columns (the Glue table Firehose "
                      "converts to Parquet against); print them with `mlcicd capture schema --model-uri "
                      "models:/NAME/VERSION` and paste the list here")
    features = [(f.name, f.type) for f in capture.input_schema]
    for message in schema_problems(features, capture.drop_fields, capture.hash_fields):
        yield Problem(f"{path}.inputSchema", message)
    if capture.enabled and capture.input_schema and len(capture.drop_fields) >= len(features):
        yield Problem(f"{path}.dropFields", "drops every input feature; capture would record predictions only")


@rule("monitoring")
def quality_needs_captures(s: dict[str, Any]) -> Iterator[Finding]:
    monitoring = s["monitoring"]
    if monitoring.quality.enabled and not (monitoring.capture.enabled and monitoring.drift.enabled):
        yield Problem("monitoring.quality.enabled", "the quality job joins labels to captures and runs beside the "
                      "drift job: set `monitoring.capture.enabled` and `monitoring.drift.enabled`, or turn it off")
    if monitoring.quality.labels_prefix == monitoring.drift.inference_prefix:
        yield Problem("monitoring.quality.labelsPrefix", "must differ from monitoring.drift.inferencePrefix (label "
                      "files would be read as captures)")
