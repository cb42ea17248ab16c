"""Rules of the checks a deployed candidate faces: `ml-cicd:serving.canary.judge` and `.probe`, the EKS Rollout's
analysis step (`serving.eks`, `smoke.samplePayloads`) and the `smoke` thresholds (listed in `rules.RULES`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.config.findings import Advice, Finding, Problem, bad_value, needs


@needs("serving")
def judge_cutoffs(s: dict[str, Any]) -> Iterator[Finding]:
    judge = s["serving"].canary.judge
    if judge.marginal_score > judge.pass_score:
        yield bad_value("serving.canary.judge.marginalScore", f"must not exceed passScore ({judge.pass_score:g})",
                        judge.marginal_score)
    weights = judge.weights
    if weights.errors + weights.latency + weights.tail + weights.predictions + weights.quality <= 0:
        yield Problem("serving.canary.judge.weights", "at least one weight must be positive")
    canary = s["serving"].canary
    # On EKS the Rollout waits for its analysis step however long the judge bakes; ECS does not wait.
    if judge.max_bake_minutes is not None and canary.strategy != "rolling" and s["serving"].backend == "ecs" and \
            judge.max_bake_minutes > max(canary.bake_minutes, judge.window_minutes):
        yield bad_value("serving.canary.judge.maxBakeMinutes", f"must not exceed serving.canary.bakeMinutes "
                        f"({canary.bake_minutes}): the platform shifts the remaining traffic after the bake, so later "
                        "looks would judge a finished rollout; raise bakeMinutes or lower maxBakeMinutes",
                        judge.max_bake_minutes)


@needs("serving")
def judge_window(s: dict[str, Any]) -> Iterator[Finding]:
    judge = s["serving"].canary.judge
    points = judge.window_minutes * 60 // judge.period_seconds
    if points < judge.min_points:
        yield bad_value("serving.canary.judge.windowMinutes", f"gives {points} data points of "
                        f"{judge.period_seconds} s, fewer than minPoints ({judge.min_points}): the judge could never "
                        f"decide; use at least {-(-judge.min_points * judge.period_seconds // 60)} minutes",
                        judge.window_minutes)


@needs("serving")
def eks_judge_settings(s: dict[str, Any]) -> Iterator[Finding]:
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


@needs("serving", "smoke")
def eks_probe_payloads(s: dict[str, Any]) -> Iterator[Finding]:
    serving = s["serving"]
    strategy = serving.canary.strategy
    if serving.backend != "eks" or strategy == "rolling" or s["smoke"].sample_payloads:
        return
    yield Problem("smoke.samplePayloads", f"backend `eks` with strategy `{strategy}` probes the stable and canary "
                  "pods with these request bodies during the Rollout's analysis (nothing else sends the canary "
                  "traffic it could be judged on); add at least one in MLflow's scoring format, e.g. "
                  "`{dataframe_split: {columns: [...], data: [[...], ...]}}` with many representative rows")


@needs("serving")
def eks_probe_budget(s: dict[str, Any]) -> Iterator[Finding]:
    """The EKS analysis job probes for up to the whole maximum bake; `maxRequests` caps the requests of a run."""
    serving = s["serving"]
    canary = serving.canary
    if serving.backend != "eks" or canary.strategy == "rolling":
        return
    judge, probe = canary.judge, canary.probe
    bake = judge.bake_limit_minutes(canary.bake_minutes)
    most = probe.requests_per_side(bake * 60, judge.period_seconds)
    if most > probe.max_requests:
        yield bad_value("serving.canary.probe.maxRequests", f"must cover the Rollout's analysis: probing at rps "
                        f"{probe.rps:g} for up to the maximum bake of {bake} minutes (serving.canary.judge."
                        f"maxBakeMinutes, default the larger of bakeMinutes and windowMinutes) plus one period of "
                        f"warm-up sends up to {most} requests a side; raise maxRequests, or lower rps or "
                        "maxBakeMinutes", probe.max_requests)


@needs("smoke")
def smoke_thresholds(s: dict[str, Any]) -> Iterator[Finding]:
    smoke = s["smoke"]
    if not smoke.p50_ms <= smoke.p95_ms <= smoke.p99_ms:
        yield bad_value("smoke.p95Ms", f"latency thresholds must satisfy p50Ms <= p95Ms <= p99Ms "
                        f"(got {smoke.p50_ms:g} / {smoke.p95_ms:g} / {smoke.p99_ms:g})", smoke.p95_ms)
