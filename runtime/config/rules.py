"""Cross-field rules of the stack config, as small pure functions.

Each rule receives the sections that validated on their own (a dict keyed by section name) and yields
`Problem`s (errors) or `Advice` (security defaults turned off: the program warns). A rule whose sections did not
validate stays silent, so one run reports every problem it can find at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from runtime.config import defaults as d
from runtime.config.base import NAMESPACE


@dataclass(frozen=True)
class Problem:
    """One invalid value: where (key path as written in the stack file), what was there, what is allowed."""

    path: str
    message: str
    value: Any = None
    has_value: bool = False

    def render(self) -> str:
        where = f"{NAMESPACE}:{self.path}"
        shown = f" = {self.value!r}" if self.has_value else ""
        return f"{where}{shown}: {self.message}"


@dataclass(frozen=True)
class Advice:
    """A security default turned off on purpose; reported as a warning naming the key, default and value."""

    path: str
    message: str

    def render(self) -> str:
        return f"{NAMESPACE}:{self.path}: {self.message}"


Finding = Problem | Advice
Rule = Callable[[dict[str, Any]], Iterator[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _has(sections: dict[str, Any], *names: str) -> bool:
    return all(name in sections for name in names)


def _problem(path: str, message: str, value: Any) -> Problem:
    return Problem(path=path, message=message, value=value, has_value=True)


@rule
def production_pins_the_model(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "environment", "model") or s["environment"] != "production":
        return
    model = s["model"]
    if model.version is None:
        yield Problem("model.version", "production must pin an exact registered-model version; set it with "
                      "`mlcicd promote --from staging --to production` or `pulumi config set --path model.version N`")
    if model.image_digest is None:
        yield Problem("model.imageDigest", "production must pin the serving image by digest (sha256:<64 hex>); "
                      "`mlcicd promote` copies it from staging")
    if model.alias is not None:
        yield _problem("model.alias", "production serves an exact version, not an alias; remove `alias`",
                       model.alias)


@rule
def serving_backend_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving"):
        return
    serving = s["serving"]
    if serving.backend == "eks" and serving.eks is None:
        yield Problem("serving.eks", "backend `eks` requires cluster access settings: "
                      "`eks: {clusterName, endpoint, certificateAuthorityData}`")
    if serving.backend == "ecs" and serving.eks is not None:
        yield Problem("serving.eks", "is only used with `backend: eks`; remove it or set `backend: eks`")
    lo, hi = d.CANARY_PERCENT_BOUNDS
    canary = serving.canary
    if canary.strategy in ("canary", "blue-green") and not lo <= canary.percent <= hi:
        yield _problem("serving.canary.percent",
                       f"a canary takes between {lo:g} and {hi:g} percent of traffic", canary.percent)
    slo, shi = d.LINEAR_STEP_BOUNDS
    if canary.strategy == "linear" and not slo <= canary.step_percent <= shi:
        yield _problem("serving.canary.stepPercent",
                       f"a linear step adds between {slo:g} and {shi:g} percent of traffic", canary.step_percent)
    if serving.backend == "eks" and canary.strategy == "blue-green":
        yield _problem("serving.canary.strategy", "`blue-green` (CodeDeploy) exists for backend `ecs` only; "
                       "use `canary` or `linear` with EKS (Argo Rollouts)", canary.strategy)
    auto = serving.autoscaling
    if auto.min_capacity > auto.max_capacity:
        yield _problem("serving.autoscaling.minCapacity",
                       f"must not exceed maxCapacity ({auto.max_capacity})", auto.min_capacity)
    lb = serving.load_balancer
    if lb.protocol == "HTTPS" and lb.certificate_arn is None:
        yield Problem("serving.loadBalancer.certificateArn", "protocol HTTPS requires an ACM certificate ARN; "
                      "set `certificateArn` or use `protocol: HTTP` on an internal load balancer")
    if serving.backend == "ecs":
        yield from _fargate_size("serving", serving.cpu, serving.memory)


@rule
def serving_exposure(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving", "environment"):
        return
    lb = s["serving"].load_balancer
    if not lb.internal:
        yield Advice("serving.loadBalancer.internal", "default true (internal); false makes the model endpoint "
                     "internet-facing")
        if lb.protocol != "HTTPS":
            yield Problem("serving.loadBalancer.protocol", "an internet-facing load balancer must use HTTPS; "
                          "set `protocol: HTTPS` and `certificateArn`")
        if not lb.ingress_cidrs and not lb.ingress_security_group_ids:
            yield Problem("serving.loadBalancer.ingressCidrs", "an internet-facing load balancer needs explicit "
                          "ingress: list the client CIDRs (never implied 0.0.0.0/0)")
    if s["environment"] == "production" and lb.deletion_protection is False:
        yield Advice("serving.loadBalancer.deletionProtection", "default true in production; false lets the "
                     "load balancer be deleted")


@rule
def storage_safety(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "storage", "environment"):
        return
    if s["storage"].force_destroy:
        if s["environment"] == "production":
            yield _problem("storage.forceDestroy", "is not allowed in production (it deletes model and data "
                           "history on `pulumi destroy`); remove it", True)
        else:
            yield Advice("storage.forceDestroy", "default false; true lets `pulumi destroy` delete non-empty "
                         "buckets")


@rule
def registry_safety(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "registry"):
        return
    if s["registry"].mutable_tags:
        yield Advice("registry.mutableTags", "default false (IMMUTABLE); true lets a tag point at a new image")
    if not s["registry"].scan_on_push:
        yield Advice("registry.scanOnPush", "default true; false skips the vulnerability scan of pushed images")


@rule
def tracking_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "tracking"):
        return
    tracking = s["tracking"]
    if tracking.mode == "self-hosted":
        hosted = tracking.self_hosted
        if hosted is None:
            yield Problem("tracking.selfHosted", "mode `self-hosted` requires `selfHosted: {image: "
                          "<repo>:<tag>@sha256:<digest>}`")
            return
        yield from _fargate_size("tracking.selfHosted", hosted.cpu, hosted.memory)
        if hosted.auth.mode == "oidc" and hosted.auth.oidc is None:
            yield Problem("tracking.selfHosted.auth.oidc", "auth mode `oidc` requires the identity provider "
                          "settings (issuer, endpoints, clientId, clientSecret)")
        if hosted.certificate_arn is None:
            what = ("basic auth sends the MLflow username and password with every request"
                    if hosted.auth.mode == "basic" else "OIDC puts session cookies and tokens on the wire")
            yield Problem("tracking.selfHosted.certificateArn", f"is required: {what}, and credentials never travel "
                          "over plain HTTP (not even inside the VPC). Set an ACM certificate ARN of the stack's "
                          "region (`arn:aws:acm:<region>:<account>:certificate/<id>`); the load balancer then serves "
                          "HTTPS with TLS 1.3 and port 80 only redirects")
    if _has(s, "environment") and s["environment"] == "production" and tracking.mode == "self-hosted":
        db = tracking.self_hosted.database if tracking.self_hosted else None
        if db is not None and db.deletion_protection is False:
            yield Advice("tracking.selfHosted.database.deletionProtection", "default true in production; false "
                         "allows deleting the registry database without a final snapshot")
        if db is not None and db.multi_az is False:
            yield Advice("tracking.selfHosted.database.multiAz", "default true in production; false leaves the "
                         "model registry without a standby when its availability zone fails")


@rule
def network_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "network"):
        return
    net = s["network"]
    if net.mode == "existing":
        if net.vpc_id is None:
            yield Problem("network.vpcId", "mode `existing` requires the VPC id (vpc-...); or use `mode: create`")
        if len(net.private_subnet_ids) < 2:
            yield _problem("network.privateSubnetIds", "mode `existing` requires at least two private subnets in "
                           "different availability zones", net.private_subnet_ids)
    elif net.vpc_id is not None or net.private_subnet_ids or net.public_subnet_ids:
        yield Problem("network.vpcId", "mode `create` builds its own VPC; remove vpcId and the subnet ids, or "
                      "use `mode: existing`")
    public_lb = _has(s, "serving") and not s["serving"].load_balancer.internal
    if public_lb and net.mode == "existing" and len(net.public_subnet_ids) < 2:
        yield _problem("network.publicSubnetIds", "an internet-facing load balancer needs at least two "
                       "public subnets", net.public_subnet_ids)


@rule
def gate_thresholds(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "gates"):
        return
    gates = s["gates"]
    for name, bounds in gates.metrics.items():
        if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
            yield _problem(f"gates.metrics.{name}.min", f"must not exceed max ({bounds.max:g})", bounds.min)
    needs_data = [key for key in ("fairness", "latency") if getattr(gates, key) is not None]
    if needs_data and gates.evaluation is None:
        yield Problem("gates.evaluation", f"checks {', '.join(needs_data)} score the model: set "
                      "`evaluation: {path, targetColumn}`")
    if gates.champion_alias == gates.candidate_alias:
        yield _problem("gates.candidateAlias", "must differ from championAlias", gates.candidate_alias)


@rule
def judge_cutoffs(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving"):
        return
    judge = s["serving"].canary.judge
    if judge.marginal_score > judge.pass_score:
        yield _problem("serving.canary.judge.marginalScore", f"must not exceed passScore ({judge.pass_score:g})",
                       judge.marginal_score)
    weights = judge.weights
    if weights.errors + weights.latency + weights.tail + weights.predictions + weights.quality <= 0:
        yield Problem("serving.canary.judge.weights", "at least one weight must be positive")
    canary = s["serving"].canary
    # On EKS the Rollout waits for its analysis step however long the judge bakes; ECS does not wait.
    if judge.max_bake_minutes is not None and canary.strategy != "rolling" and s["serving"].backend == "ecs" and \
            judge.max_bake_minutes > max(canary.bake_minutes, judge.window_minutes):
        yield _problem("serving.canary.judge.maxBakeMinutes", f"must not exceed serving.canary.bakeMinutes "
                       f"({canary.bake_minutes}): the platform shifts the remaining traffic after the bake, so later "
                       "looks would judge a finished rollout; raise bakeMinutes or lower maxBakeMinutes",
                       judge.max_bake_minutes)


@rule
def smoke_thresholds(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "smoke"):
        return
    smoke = s["smoke"]
    if not smoke.p50_ms <= smoke.p95_ms <= smoke.p99_ms:
        yield _problem("smoke.p95Ms", f"latency thresholds must satisfy p50Ms <= p95Ms <= p99Ms "
                       f"(got {smoke.p50_ms:g} / {smoke.p95_ms:g} / {smoke.p99_ms:g})", smoke.p95_ms)


@rule
def alarm_periods(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "alarms"):
        return
    alarms = s["alarms"]
    if alarms.datapoints_to_alarm > alarms.evaluation_periods:
        yield _problem("alarms.datapointsToAlarm",
                       f"must not exceed evaluationPeriods ({alarms.evaluation_periods})", alarms.datapoints_to_alarm)


# Fargate accepts only these CPU/memory pairs (MiB): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
_FARGATE_MEMORY: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 1024),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def _fargate_size(prefix: str, cpu: int, memory: int) -> Iterator[Finding]:
    if cpu not in _FARGATE_MEMORY:
        yield _problem(f"{prefix}.cpu", f"Fargate CPU must be one of {sorted(_FARGATE_MEMORY)}", cpu)
        return
    low, high, step = _FARGATE_MEMORY[cpu]
    special = cpu == 256 and memory == 512
    if not special and not (low <= memory <= high and memory % step == 0):
        yield _problem(f"{prefix}.memory", f"with cpu {cpu}, Fargate memory must be {low}..{high} MiB in steps "
                       f"of {step}", memory)


@rule
def serving_deployment_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving"):
        return
    serving = s["serving"]
    canary, lb = serving.canary, serving.load_balancer
    if canary.strategy == "blue-green":
        if canary.percent != int(canary.percent):
            yield _problem("serving.canary.percent", "strategy `blue-green` shifts whole percents (CodeDeploy "
                           "TimeBasedCanary); use an integer", canary.percent)
        if canary.bake_minutes < 1:
            yield _problem("serving.canary.bakeMinutes", "strategy `blue-green` needs at least 1 minute between "
                           "the canary step and the full shift (CodeDeploy interval)", canary.bake_minutes)
    if lb.certificate_arn is not None and lb.protocol == "HTTP":
        yield Problem("serving.loadBalancer.certificateArn", "is only used with `protocol: HTTPS`; set the "
                      "protocol to HTTPS (port 80 then only redirects) or remove the certificate")


@rule
def eks_judge_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving"):
        return
    serving = s["serving"]
    eks = serving.eks
    if serving.backend != "eks" or eks is None:
        return
    strategy = serving.canary.strategy
    if eks.judge_image is None and strategy != "rolling":
        yield Problem("serving.eks.judgeImage", f"strategy `{strategy}` runs `mlcicd canary judge` as the "
                      "Rollout's analysis step: set the runtime image pinned by digest "
                      "(<repo>:<tag>@sha256:<64 hex>), or use strategy `rolling`")
    if not eks.create_namespace:
        yield Advice("serving.eks.createNamespace", "default true (the namespace enforces the `restricted` Pod "
                     "Security Standard); false deploys into a namespace the stack does not label: make sure it "
                     "enforces `restricted` too")
    if not eks.judge_pod_identity:
        yield Advice("serving.eks.judgePodIdentity", "default true; false leaves the canary judge without its "
                     "own narrowly scoped IAM role (it gets whatever the node's role allows)")


@rule
def tracking_mode_sections(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "tracking"):
        return
    tracking = s["tracking"]
    if tracking.mode == "sagemaker" and tracking.self_hosted is not None:
        yield Problem("tracking.selfHosted", "is only used with `mode: self-hosted`; remove it or change `mode`")
    if tracking.mode == "self-hosted" and tracking.sagemaker is not None:
        yield Problem("tracking.sagemaker", "is only used with `mode: sagemaker`; remove it or change `mode`")
    hosted = tracking.self_hosted
    if hosted is not None and hosted.auth.mode == "basic" and hosted.auth.oidc is not None:
        yield Problem("tracking.selfHosted.auth.oidc", "is only used with auth `mode: oidc`; remove it or set "
                      "`mode: oidc`")


@rule
def model_gate_checks(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "gates"):
        return
    gates = s["gates"]
    for name, bounds in gates.metrics.items():
        if bounds.min is None and bounds.max is None and bounds.max_regression is None:
            yield Problem(f"gates.metrics.{name}", "checks nothing: set at least one of min, max, maxRegression")
    fairness = gates.fairness
    if fairness is not None:
        if gates.task != "classification":
            yield _problem("gates.task", "fairness checks compare predicted classes: use `task: classification` "
                           "or remove `fairness`", gates.task)
        limits = (fairness.demographic_parity_ratio_min, fairness.equalized_odds_difference_max,
                  fairness.metric_ratio_min)
        if all(limit is None for limit in limits):
            yield Problem("gates.fairness", "checks nothing: set at least one of demographicParityRatioMin, "
                          "equalizedOddsDifferenceMax, metricRatioMin")
    sanity = gates.predictions
    if None not in (sanity.min_class_share, sanity.max_class_share) and sanity.min_class_share > sanity.max_class_share:
        yield _problem("gates.predictions.minClassShare", f"must not exceed maxClassShare ({sanity.max_class_share:g})",
                       sanity.min_class_share)
    if None not in (sanity.score_min, sanity.score_max) and sanity.score_min > sanity.score_max:
        yield _problem("gates.predictions.scoreMin", f"must not exceed scoreMax ({sanity.score_max:g})",
                       sanity.score_min)


@rule
def judge_window(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving"):
        return
    judge = s["serving"].canary.judge
    points = judge.window_minutes * 60 // judge.period_seconds
    if points < judge.min_points:
        yield _problem("serving.canary.judge.windowMinutes", f"gives {points} data points of "
                       f"{judge.period_seconds} s, fewer than minPoints ({judge.min_points}): the judge could never "
                       f"decide; use at least {-(-judge.min_points * judge.period_seconds // 60)} minutes",
                       judge.window_minutes)


@rule
def pipeline_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "pipeline") or s["pipeline"] is None:
        return
    pipeline = s["pipeline"]
    if pipeline.deploy_stack == pipeline.promote_to:
        yield _problem("pipeline.promoteTo", f"must differ from deployStack ({pipeline.deploy_stack}): candidates "
                       "are verified in one stack and promoted to another", pipeline.promote_to)
    url = pipeline.pulumi_backend_url
    if pipeline.pulumi_access_token_secret_arn is None and (url is None or url.startswith("https://")):
        yield Problem("pipeline.pulumiAccessTokenSecretArn", "the Deploy and Promote actions log in to the Pulumi "
                      "state backend: set pulumiAccessTokenSecretArn (a Secrets Manager secret with the Pulumi "
                      "Cloud token) or pulumiBackendUrl: s3://<bucket>/<prefix> (self-managed)")
    overlap = sorted(set(pipeline.data_paths) & set(pipeline.code_paths))
    if overlap:
        yield _problem("pipeline.codePaths", "a path pattern may be in dataPaths or codePaths, not both", overlap)


@rule
def monitoring_settings(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "monitoring"):
        return
    monitoring = s["monitoring"]
    has_pipeline = _has(s, "pipeline") and s["pipeline"] is not None
    has_source = has_pipeline or monitoring.source is not None
    drift = monitoring.drift
    if has_pipeline and monitoring.source is not None:
        yield Problem("monitoring.source", "this stack hosts the pipeline, whose repository, branch and connection "
                      "the jobs use; remove `monitoring.source`")
    if has_pipeline and drift.retrain_pipeline_arn is not None:
        yield _problem("monitoring.drift.retrainPipelineArn", "this stack hosts the pipeline the drift alarm starts; "
                       "remove `retrainPipelineArn`", drift.retrain_pipeline_arn)
    if drift.retrain_on_drift and (not drift.enabled or not (has_pipeline or drift.retrain_pipeline_arn)):
        yield _problem("monitoring.drift.retrainOnDrift", "starts the delivery pipeline when the drift alarm fires: "
                       "it needs `monitoring.drift.enabled: true` and the pipeline: this stack's `pipeline` section, "
                       "or `monitoring.drift.retrainPipelineArn` when another stack hosts it", True)
    if drift.enabled and drift.retrain_pipeline_arn is not None and not drift.retrain_on_drift:
        yield _problem("monitoring.drift.retrainPipelineArn", "is only used with `retrainOnDrift: true`",
                       drift.retrain_pipeline_arn)
    if monitoring.batch.enabled:
        if not has_source:
            yield _problem("monitoring.batch.enabled", "the batch job runs `mlcicd` from the repository: host the "
                           "`pipeline` here, set `monitoring.source`, or set `enabled: false`", True)
        if _has(s, "model") and s["model"].image_digest is None:
            yield _problem("monitoring.batch.enabled", "batch inference scores with the pinned serving image: set "
                           "`model.imageDigest` or set `enabled: false`", True)
        if monitoring.batch.input_prefix == monitoring.batch.output_prefix:
            yield _problem("monitoring.batch.outputPrefix", "must differ from inputPrefix (predictions would be "
                           "scored as input on the next run)", monitoring.batch.output_prefix)


@rule
def data_schema_contract(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "data"):
        return
    data = s["data"]
    numeric = ("float", "int")
    for name, col in data.schema_.columns.items():
        path = f"data.schema.columns.{name}"
        if col.min is not None and col.max is not None and col.min > col.max:
            yield _problem(f"{path}.min", f"must not exceed max ({col.max:g})", col.min)
        if col.type not in numeric and (col.min is not None or col.max is not None):
            key = "min" if col.min is not None else "max"
            yield _problem(f"{path}.{key}", f"value bounds apply to numeric columns (float, int), not {col.type}; "
                           "use `allowed` for categories", getattr(col, key))
        if col.type not in ("string", "category", "bool") and col.allowed is not None:
            yield _problem(f"{path}.allowed", f"allowed categories apply to string, category and bool columns, not "
                           f"{col.type}; use `min`/`max` for numeric bounds", col.allowed)
        if col.allowed is not None and not col.allowed:
            yield _problem(f"{path}.allowed", "an empty list allows nothing; list the categories or remove "
                           "`allowed`", col.allowed)
    repeated = sorted({c for c in data.schema_.exclude_from_drift if data.schema_.exclude_from_drift.count(c) > 1})
    if repeated:
        yield _problem("data.schema.excludeFromDrift", f"lists {', '.join(repeated)} more than once",
                       data.schema_.exclude_from_drift)


@rule
def eks_probe_payloads(s: dict[str, Any]) -> Iterator[Finding]:
    if not _has(s, "serving", "smoke"):
        return
    serving = s["serving"]
    strategy = serving.canary.strategy
    if serving.backend != "eks" or strategy == "rolling" or s["smoke"].sample_payloads:
        return
    yield Problem("smoke.samplePayloads", f"backend `eks` with strategy `{strategy}` probes the stable and canary "
                  "pods with these request bodies during the Rollout's analysis (nothing else sends the canary "
                  "traffic it could be judged on); add at least one in MLflow's scoring format, e.g. "
                  "`{dataframe_split: {columns: [...], data: [[...], ...]}}` with many representative rows")


@rule
def eks_probe_budget(s: dict[str, Any]) -> Iterator[Finding]:
    """The EKS analysis job probes for up to the whole maximum bake; `maxRequests` caps the requests of a run."""
    if not _has(s, "serving"):
        return
    serving = s["serving"]
    canary = serving.canary
    if serving.backend != "eks" or canary.strategy == "rolling":
        return
    judge, probe = canary.judge, canary.probe
    bake = judge.bake_limit_minutes(canary.bake_minutes)
    most = probe.requests_per_side(bake * 60, judge.period_seconds)
    if most > probe.max_requests:
        yield _problem("serving.canary.probe.maxRequests", f"must cover the Rollout's analysis: probing at rps "
                       f"{probe.rps:g} for up to the maximum bake of {bake} minutes (serving.canary.judge."
                       f"maxBakeMinutes, default the larger of bakeMinutes and windowMinutes) plus one period of "
                       f"warm-up sends up to {most} requests a side; raise maxRequests, or lower rps or "
                       "maxBakeMinutes", probe.max_requests)


@rule
def certificates_in_the_stack_region(s: dict[str, Any]) -> Iterator[Finding]:
    """A load balancer can only use an ACM certificate of its own region."""
    if not _has(s, "region"):
        return
    found: list[tuple[str, str | None]] = []
    if _has(s, "serving"):
        found.append(("serving.loadBalancer.certificateArn", s["serving"].load_balancer.certificate_arn))
    if _has(s, "tracking") and s["tracking"].self_hosted is not None:
        found.append(("tracking.selfHosted.certificateArn", s["tracking"].self_hosted.certificate_arn))
    for path, arn in found:
        if arn is not None and arn.split(":")[3] != s["region"]:
            yield _problem(path, f"is a certificate of region {arn.split(':')[3]}; the load balancer is in "
                           f"{s['region']} and can only use a certificate of its own region (import or request it "
                           "there)", arn)
