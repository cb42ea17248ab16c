"""The stand-in for the Deploy action's `pulumi up`: the version the stack file now pins goes live beside the
champion, and a canary decides whether it stays, as the ECS canary deployment does in the cloud.

Locally: the candidate gets MLflow's scoring server (the champion's started when the run found it), canary traffic
from the evaluation rows is split between the two by `serving.canary.percent` for `local.canarySeconds`, what each
side served is published as CloudWatch metrics to the moto server, and the canary judge (the same code as
`mlcicd canary judge`) reads them back with the deployed stack's judge settings. A canary that does not PASS fails
the deployment, as the canary alarms roll an ECS deployment back.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.local.servers import SERVER_READY_S, start_scoring_server
from runtime.local.state import Rehearsal, StandInFailed
from runtime.local.summary import stop_reason
from runtime.local.workspace import read_key
from runtime.report import Report, Verdict, failed, passed

if TYPE_CHECKING:
    from runtime.canary.probe_replay import Served, Shot
    from runtime.local.shellrun import ActionRun

#: Seed of the traffic split (reproducible runs).
SPLIT_SEED = 20261122
#: Requests each side answers before the canary starts (not published, not judged).
WARM_UP = 25


def _serve(state: Rehearsal, role: str, version: str) -> None:
    from runtime.local import capture
    from runtime.metrics import VARIANT_BASELINE, VARIANT_CANARY

    state.versions[role] = version
    env = {**capture.server_env(state), **(state.faults.serving_env(role))}
    state.servers[role] = start_scoring_server(
        state.group, role=role, variant=VARIANT_CANARY if role == "candidate" else VARIANT_BASELINE,
        model=state.plan.model, version=version, image_digest=state.image_digest if role == "candidate" else None,
        tracking_uri=state.tracking_uri, scratch=state.workdir / "tmp" / f"serve-{role}",
        log=state.logs / f"serve-{role}.log", env=env)


def serve_champion(state: Rehearsal, version: str) -> None:
    _serve(state, "champion", version)


def serve_candidate(state: Rehearsal, version: str) -> None:
    _serve(state, "candidate", version)


def pulumi_up(state: Rehearsal, run: ActionRun, stack: str) -> str:
    """Serve the pinned version next to the champion and judge a canary; StandInFailed when it does not pass."""
    stack_file = run.cwd / f"Pulumi.{stack}.yaml"
    version = str(read_key(stack_file, "model.version"))
    digest = read_key(stack_file, "model.imageDigest")
    model = state.plan.model
    report = Report(kind="deploy", subject={"model": model, "version": version, "image_digest": digest})
    if state.versions.get("candidate") != version:  # started when Train registered it, unless the pin differs
        serve_candidate(state, version)
    candidate = state.servers["candidate"]
    for role, server in sorted(state.servers.items()):
        took = server.wait_ready("/ping", SERVER_READY_S)
        report.add(passed(f"{role} ready", round(took, 2), f"<= {SERVER_READY_S:.0f} s",
                          f"version {state.versions[role]} serving at {server.url} (ready after {took:.1f} s)"))
    state.facts["candidate endpoint"] = candidate.url
    canary = run_canary(state, run.cwd)
    canary_path = run.cwd / "reports" / "canary.json"
    canary.write(canary_path)
    if canary.verdict is Verdict.PASS:
        report.add(passed("canary", canary.verdict.value, "PASS", f"canary judge: {_first_reasons(canary)}"))
    else:
        report.add(failed("canary", canary.verdict.value, "PASS", stop_reason(canary.to_dict())))
    report.finish()
    path = run.cwd / "reports" / "deploy.json"
    report.write(path)
    run.report = path
    if report.verdict is not Verdict.PASS:
        raise StandInFailed("FAIL", f"the canary rolled version {version} back: {stop_reason(canary.to_dict())}",
                            path)
    return (f"version {version} deployed beside champion version {state.versions.get('champion')}; canary "
            f"{canary.verdict.value} ({_first_reasons(canary)})")


def _first_reasons(report: Report) -> str:
    return "; ".join(c.reason for c in report.checks[:2])


def canary_rows(state: Rehearsal, checkout: Path) -> tuple[Any, str | None]:
    """Rows the canary sends: the deployed stack's evaluation data (else the training data), with the label
    column when the model is a classifier."""
    from runtime.local.faults import read_frame

    evaluation = state.plan.deployed.gates.evaluation
    path = checkout / (evaluation.path if evaluation else state.plan.spec.training_data_path)
    frame = read_frame(path)
    target = state.plan.target_column
    # Labels make the per-period accuracy the canary publishes as model quality: classifiers only.
    labelled = state.plan.deployed.gates.task == "classification" and target in frame.columns
    return frame, target if labelled else None


def run_canary(state: Rehearsal, checkout: Path) -> Report:
    import mlflow
    from mlflow.models import get_model_info

    from runtime.canary.probe_replay import Shot, replay
    from runtime.canary.probe_sample import sample_from_frame

    frame, target = canary_rows(state, checkout)
    model_uri = f"models:/{state.plan.model}/{state.versions['candidate']}"
    mlflow.set_tracking_uri(state.tracking_uri)
    mlflow.set_registry_uri(state.tracking_uri)
    signature = get_model_info(model_uri).signature
    features = signature.inputs.input_names() if signature is not None else [c for c in frame.columns
                                                                              if c != target]
    sample = sample_from_frame(frame, features, target, "evaluation rows")
    local = state.plan.local
    percent = state.plan.deployed.serving.canary.percent
    rng = random.Random(SPLIT_SEED)  # noqa: S311 - traffic split, not cryptography
    urls = {"champion": state.servers["champion"].url, "candidate": state.servers["candidate"].url}
    # Warm-up, not judged: each server's first predictions pay lazy imports and caches, which would show as the
    # newer server's latency.
    warm = [Shot(0.0, side, urls[side], sample.rows[i % len(sample.rows)]) for side in urls for i in range(WARM_UP)]
    replay(warm, tuple(urls), timeout_seconds=30.0, max_in_flight=1, overflow="wait")
    shots = []
    for i in range(local.canary_requests):
        side = "candidate" if rng.random() * 100 < percent else "champion"
        shots.append(Shot(i * local.canary_seconds / local.canary_requests, side, urls[side],
                          sample.rows[i % len(sample.rows)]))
    shots = even_load(shots, ("champion", "candidate"), urls)
    started = datetime.now(UTC)
    served = replay(shots, ("champion", "candidate", FILL), timeout_seconds=10.0, max_in_flight=8, overflow="wait")
    state.canary_window = (started, datetime.now(UTC))
    return judge(state, served)


#: Side name of the unjudged requests that even the load (`even_load`).
FILL = "fill"


def even_load(shots: list[Shot], sides: tuple[str, str], urls: dict[str, str]) -> list[Shot]:
    """The shots, each with an unjudged twin (side `FILL`) to the other server at the same moment: both servers
    answer every moment, so whichever side a judged request goes to, it meets the same load. Without it, two
    scoring processes sharing one machine's CPUs make the side with the smaller share answer measurably slower
    with the very same model, and a twin only for that side would make it faster instead (measured: `python -m
    benchmarks local-split`); in the cloud every task has its own CPUs and steady traffic."""
    from runtime.canary.probe_replay import Shot

    other = {sides[0]: sides[1], sides[1]: sides[0]}
    twins = [Shot(s.at, FILL, urls[other[s.side]], s.row) for s in shots]
    return sorted([*shots, *twins], key=lambda s: s.at)


def judge(state: Rehearsal, served: dict[str, list[Served]]) -> Report:
    """Publish both sides' observations to the moto server and run the canary judge against it."""
    from runtime.canary import act as acting
    from runtime.canary.judge import QualityRule
    from runtime.canary.metrics_source import MetricSource
    from runtime.canary.probe_publish import variant_metric_data
    from runtime.canary.publish import put_metric_data
    from runtime.canary.run import JudgeRequest, run_canary_judge
    from runtime.metrics import VARIANT_BASELINE, VARIANT_CANARY

    assert state.moto is not None
    cfg = state.plan.deployed
    judge_cfg = state.plan.canary_judge()
    quality = cfg.alarms.model_quality
    clients = state.aws_clients(cfg.region)
    cloudwatch = clients("cloudwatch")
    for variant, side in ((VARIANT_BASELINE, "champion"), (VARIANT_CANARY, "candidate")):
        data = variant_metric_data(served[side], model_name=state.plan.model, variant=variant,
                                   period_seconds=judge_cfg.period_seconds, quality_metric=quality.metric_name)
        put_metric_data(cloudwatch, quality.namespace, data)
    source = MetricSource(model_name=state.plan.model, model_namespace=quality.namespace,
                          quality_metric=quality.metric_name, percentiles=False)
    request = JudgeRequest(source=source, config=judge_cfg, quality=QualityRule.from_alarm(quality),
                           end=datetime.now(UTC), subject={"model": state.plan.model,
                                                           "version": state.versions["candidate"]})
    report = run_canary_judge(request, clients)
    action = acting.publish_verdict(cloudwatch, namespace=quality.namespace, model_name=state.plan.model,
                                    passed=report.verdict is Verdict.PASS)
    report.details["verdict_metric"] = action.to_dict()
    return report.finish()
