"""`mlcicd:monitoring:BatchInference`: score an S3 prefix on a schedule with the pinned serving image.

Creates the batch job (`runtime.pipeline.jobs.batch_job` on `scheduled_job`): a CodeBuild project that pulls
the image the stack pins (`<repository>@<model.imageDigest>`, so batch and online predictions come from the same
bytes), runs `mlflow models predict` in it for each CSV file under the input prefix with no network inside the
container, and writes the predictions and a summary report (`mlcicd monitor batch-summary`) under
`<outputPrefix><run id>/`.

Security decisions (see docs/security.md): the job's role reads only the input prefix, writes only the output prefix
and pulls only the serving repository; privileged mode (Docker) is the one thing it needs beyond a plain build.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi

from components.monitoring.scheduled_job import JobSettings, scheduled_job
from runtime.config import defaults as cfg_defaults
from runtime.pipeline.jobs import batch_job

TYPE = "mlcicd:monitoring:BatchInference"


@dataclass(frozen=True, kw_only=True)
class BatchInferenceArgs:
    """What the batch job is built from: each default beside its field; a field without one is required."""

    settings: JobSettings
    """Source, build environment, buckets and key shared by the scheduled jobs. Required."""
    image: pulumi.Input[str]
    """The pinned serving image, `<repository url>@sha256:...`. Required."""
    ecr_repository_arn: pulumi.Input[str]
    """Its repository (pull permission). Required."""
    schedule: str = cfg_defaults.BATCH_SCHEDULE
    """EventBridge Scheduler expression. Default `cron(0 3 * * ? *)`."""
    input_prefix: str = cfg_defaults.BATCH_INPUT_PREFIX
    """Prefix of the CSV files to score in the data bucket. Default `batch/input/`."""
    output_prefix: str = cfg_defaults.BATCH_OUTPUT_PREFIX
    """Prefix receiving `<run id>/` with predictions and `summary.json`. Default `batch/output/`."""


class BatchInference(pulumi.ComponentResource):
    project_name: pulumi.Output[str]

    def __init__(self, name: str, args: BatchInferenceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        job = batch_job(input_prefix=args.input_prefix, output_prefix=args.output_prefix)
        settings = replace(args.settings, extra_env={**args.settings.extra_env, "SERVING_IMAGE": args.image})
        project = scheduled_job(self, f"{name}-job", job, settings, schedule=args.schedule,
                                ecr_repository_arn=args.ecr_repository_arn)
        self.project_name = project.name
        self.register_outputs({"projectName": self.project_name})
