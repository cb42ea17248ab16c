"""Config of the gates judged on production traffic: `gates.replay` (replayed captures), `serving.shadow` (a shadow
variant fed a mirror of live traffic) and `gates.shadow` (the pipeline's optional shadow stage).

Imports only the config base: `platform.py` and `gates.py` attach these sections.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from runtime.config.base import ConfigModel

_Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
_Version = Annotated[str, StringConstraints(pattern=r"^[1-9]\d*$")]
_RoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")]
_KeyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")]
_Location = Annotated[str, StringConstraints(pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?|[^\s:]\S*)$")]
_Variant = Literal["baseline", "canary", "shadow"]


class ReplayGateConfig(ConfigModel):
    """`mlcicd gate replay` (captured requests replayed against candidate and champion) and `mlcicd gate shadow`
    (captured pairs of baseline and shadow): paired statistics, one verdict. Every check's level is `alpha` split
    over the checks (Bonferroni), so a candidate as good as the champion fails with probability at most `alpha`
    (measured: docs/replay.md)."""

    captures_uri: _Location | None = None
    """Where captures are read: `s3://bucket/prefix/` holding `model=<name>/dt=<yyyy-MM-dd>/` Parquet partitions
    (the stack's data bucket and `monitoring.drift.inferencePrefix`), or a local directory laid out the same way.
    Default: none; `--captures` gives it, and the pipeline's Replay action reads the data bucket of the stack
    hosting it. Set it when the traffic to replay is another stack's (a pipeline hosted in staging replaying
    production's captures): the Replay action is then granted read on exactly this prefix."""
    captures_kms_key_arn: _KeyArn | None = None
    """KMS key of the objects under `capturesUri` when they are another stack's (the Replay action may decrypt
    with it through S3 only). Default: none (the hosting stack's key)."""
    window_hours: int = Field(default=168, ge=1, le=2160)
    """Captures of the last this many hours are sampled. Default 168 (a week: every weekday is represented)."""
    sample_size: int = Field(default=2000, ge=20, le=200_000)
    """Requests replayed (distinct inference ids). Default 2000: enough for the p99 latency check (it needs
    1000) and for the disagreement bound at the default alpha when candidate and champion mostly agree."""
    stratify_by: list[Literal["day", "variant"]] = ["day", "variant"]
    """Strata of the sample: each (day, variant) gets its proportional share, at least one request, so no day of
    the window and no variant is left out by chance. Default: both."""
    variants: list[_Variant] = Field(default=["baseline", "canary"], min_length=1)
    """Capture variants whose requests are replayed (their inputs; the responses are not used). Default baseline
    and canary (shadow records repeat mirrored baseline requests)."""
    seed: int = Field(default=0, ge=0)
    """Seed of the sample and of the bootstrap: the same captures give the same sample. Default 0."""
    task: Literal["classification", "regression"] | None = None
    """Default: `gates.task`."""
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    """Largest chance of failing a candidate as good as the champion, over all checks. Default 0.05."""
    power: float = Field(default=0.8, ge=0.5, lt=1)
    """Chance of deciding at the detectable effects: sample sizes named in INCONCLUSIVE verdicts. Default 0.8."""
    max_disagreement: float = Field(default=0.05, gt=0, lt=1)
    """Classification: largest share of rows on which candidate and champion may predict different classes. The
    check passes when the exact upper bound is below it, fails when the lower bound is above. Default 0.05."""
    equivalence_margin: float | None = Field(default=None, gt=0)
    """Regression: largest location shift of prediction differences (candidate - champion, the model's units)
    still called equivalent (two one-sided signed-rank tests). Required for regression."""
    labels_uri: _Location | None = None
    """Ground truth: `inference_id,label` files (CSV or Parquet; an optional `row` column for multi-row requests)
    under this prefix, joined on the inference id. Default: none."""
    label_column: str | None = None
    """Ground truth in a column of the captures instead. Default: none."""
    max_accuracy_drop: float = Field(default=0.0, ge=0, lt=1)
    """Classification with labels: accuracy drop tolerated even when significant (McNemar's exact test).
    Default 0.0."""
    detectable_accuracy_drop: float = Field(default=0.02, gt=0, lt=1)
    """Classification with labels: the drop the labelled pairs must be able to detect with `power`; fewer pairs
    than that is INCONCLUSIVE. Default 0.02."""
    max_error_increase: float = Field(default=0.0, ge=0)
    """Regression with labels: increase of the absolute error (signed-rank location, the model's units) tolerated
    even when significant. Default 0.0."""
    detectable_error_increase: float | None = Field(default=None, gt=0)
    """Regression with labels: the increase the labelled pairs must detect with `power`. Default: a tenth of the
    champion's mean absolute error."""
    max_latency_ratio_p50: float = Field(default=1.25, gt=1)
    """Largest candidate/champion ratio of median latency (paired bootstrap bounds). Default 1.25."""
    max_latency_ratio_p99: float = Field(default=1.5, gt=1)
    """Largest ratio of p99 latency (needs 1000 requests answered by both). Default 1.5."""
    max_error_rate_increase: float = Field(default=0.005, ge=0, lt=1)
    """Largest increase of the share of failed requests (non-2xx or no answer) tolerated even when significant
    (McNemar on the request pairs). Default 0.005."""
    segment_column: str | None = None
    """Feature whose values are judged as segments too (each against the same bounds, corrected for the number of
    segments); the report names the worst. Default: none."""
    min_segment_samples: int = Field(default=30, ge=5)
    """Segments with fewer rows are listed, not judged. Default 30."""
    concurrency: int = Field(default=2, ge=1, le=64)
    """Requests in flight per endpoint while replaying (the latencies include any queueing this causes, on both
    sides alike). Default 2."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """Per request. Default 10."""


class ShadowConfig(ConfigModel):
    """A shadow variant: an extra ECS service or EKS Deployment running `modelVersion`/`imageDigest`, with no
    load balancer traffic. The baseline's capture layer mirrors a copy of its captured requests to it
    asynchronously (callers never wait for it or see its answer) and both sides' records share the inference id;
    `mlcicd gate shadow` judges the pairs with the `gates.replay` statistics. Needs `monitoring.capture`.
    Turning it on or off changes the baseline's environment (the mirror target): a new task definition revision,
    rolled out like any deployment."""

    enabled: bool = False
    """Run the shadow and mirror to it. Default false."""
    model_version: _Version | None = None
    """Registered model version the shadow runs (the candidate). Required when enabled."""
    image_digest: _Digest | None = None
    """Its serving image in the stack's repository (`sha256:...`). Required when enabled."""
    mirror_percent: float = Field(default=100.0, gt=0, le=100)
    """Share of requests mirrored, chosen by the same hash of the inference id as capture, so every mirrored
    request also has a baseline record. At most `monitoring.capture.samplePercent`. Default 100."""
    desired_count: int = Field(default=1, ge=1, le=50)
    """Shadow tasks or pods. Size them for the mirrored share of traffic. Default 1."""
    duration_minutes: int = Field(default=60, ge=5, le=10080)
    """How long `mlcicd gate shadow --wait` collects pairs before judging. Default 60."""
    sample_size: int = Field(default=2000, ge=20, le=1_000_000)
    """Pairs after which `mlcicd gate shadow --wait` judges without waiting out the duration. Default 2000."""
    mirror_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """Timeout of one mirrored request; a timed-out copy is counted as failed. Default 5."""
    mirror_buffer_requests: int = Field(default=1000, ge=10, le=100_000)
    """Mirrored requests each server process holds at most; beyond it copies are dropped and counted, never
    waited for. Default 1000."""
    mirror_concurrency: int = Field(default=4, ge=1, le=64)
    """Mirrored requests in flight per server process. Default 4."""


class ShadowStageConfig(ConfigModel):
    """The pipeline's optional Shadow stage (after Replay, before Promote): deploy the candidate as the shadow of
    `stack`, judge it with `mlcicd gate shadow --wait`, remove the shadow. It changes a live stack outside a pull
    request (only its shadow, which never answers a caller), so setting it is reported as an opt-out."""

    stack: str
    """The stack whose live traffic the shadow copies (its `serving.shadow` sizes the shadow). Required."""
    deploy_role_arn: _RoleArn
    """Role the stage assumes to `pulumi up` that stack. Required."""
