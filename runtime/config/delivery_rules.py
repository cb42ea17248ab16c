"""Rules of `ml-cicd:pipeline` and of the scheduled jobs under `monitoring` (drift and its retraining, batch
inference) (listed in `rules.RULES`; `monitoring.capture` and `.quality` are in `capture_rules`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.config.findings import Finding, Problem, bad_value, needs


@needs("pipeline")
def pipeline_settings(s: dict[str, Any]) -> Iterator[Finding]:
    pipeline = s["pipeline"]
    if pipeline is None:
        return
    if pipeline.deploy_stack == pipeline.promote_to:
        yield bad_value("pipeline.promoteTo", f"must differ from deployStack ({pipeline.deploy_stack}): candidates "
                        "are verified in one stack and promoted to another", pipeline.promote_to)
    url = pipeline.pulumi_backend_url
    if pipeline.pulumi_access_token_secret_arn is None and (url is None or url.startswith("https://")):
        yield Problem("pipeline.pulumiAccessTokenSecretArn", "the Deploy and Promote actions log in to the Pulumi "
                      "state backend: set pulumiAccessTokenSecretArn (a Secrets Manager secret with the Pulumi "
                      "Cloud token) or pulumiBackendUrl: s3://<bucket>/<prefix> (self-managed)")
    overlap = sorted(set(pipeline.data_paths) & set(pipeline.code_paths))
    if overlap:
        yield bad_value("pipeline.codePaths", "a path pattern may be in dataPaths or codePaths, not both", overlap)


@needs("monitoring")
def monitoring_settings(s: dict[str, Any]) -> Iterator[Finding]:
    monitoring = s["monitoring"]
    has_pipeline = s.get("pipeline") is not None
    has_source = has_pipeline or monitoring.source is not None
    drift = monitoring.drift
    if has_pipeline and monitoring.source is not None:
        yield Problem("monitoring.source", "this stack hosts the pipeline, whose repository, branch and connection "
                      "the jobs use; remove `monitoring.source`")
    if has_pipeline and drift.retrain_pipeline_arn is not None:
        yield bad_value("monitoring.drift.retrainPipelineArn", "this stack hosts the pipeline the drift alarm "
                        "starts; remove `retrainPipelineArn`", drift.retrain_pipeline_arn)
    if drift.retrain_on_drift and (not drift.enabled or not (has_pipeline or drift.retrain_pipeline_arn)):
        yield bad_value("monitoring.drift.retrainOnDrift", "starts the delivery pipeline when the drift alarm "
                        "fires: it needs `monitoring.drift.enabled: true` and the pipeline: this stack's `pipeline` "
                        "section, or `monitoring.drift.retrainPipelineArn` when another stack hosts it", True)
    if drift.enabled and drift.retrain_pipeline_arn is not None and not drift.retrain_on_drift:
        yield bad_value("monitoring.drift.retrainPipelineArn", "is only used with `retrainOnDrift: true`",
                        drift.retrain_pipeline_arn)
    if monitoring.batch.enabled:
        if not has_source:
            yield bad_value("monitoring.batch.enabled", "the batch job runs `mlcicd` from the repository: host the "
                            "`pipeline` here, set `monitoring.source`, or set `enabled: false`", True)
        if "model" in s and s["model"].image_digest is None:
            yield bad_value("monitoring.batch.enabled", "batch inference scores with the pinned serving image: set "
                            "`model.imageDigest` or set `enabled: false`", True)
        if monitoring.batch.input_prefix == monitoring.batch.output_prefix:
            yield bad_value("monitoring.batch.outputPrefix", "must differ from inputPrefix (predictions would be "
                            "scored as input on the next run)", monitoring.batch.output_prefix)
