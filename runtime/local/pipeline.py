"""`mlcicd local run`: the delivery pipeline's stages, in order, on one machine, calling the same runtime functions.

    data validation -> train -> model gate -> package -> deploy (staging) -> smoke -> load -> canary -> promote

Real components only: MLflow with a sqlite store in the work dir, MLflow's scoring server for the champion and the
candidate, a moto server as CloudWatch. Thresholds come from `Pulumi.staging.yaml`; the few keys that describe the
team's own data (evaluation file, target and sensitive columns, the minimum row count) are replaced by the local
dataset's (`LOCAL_OVERRIDES`), and the load test and canary are bounded so the run stays short.

The first stage that does not PASS stops the pipeline; its verdict is the run's verdict and exit code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.config import LoadedConfig, StackConfig, validate_config
from runtime.config.loader import deep_merge, read_stack_file, stack_file
from runtime.local.processes import ManagedProcess, ProcessGroup, free_port
from runtime.local.scenarios import GROUP, TARGET, Datasets, Scenario, prepare, write
from runtime.local.summary import StageResult, stop_reason, terminal_table, write_html
from runtime.report import EXIT_CODES, Report, Verdict, inconclusive, passed

STAGES: tuple[tuple[str, str], ...] = (
    ("data-validation", "Data validation"),
    ("train", "Train"),
    ("model-gate", "Model gate"),
    ("package", "Package"),
    ("deploy", "Deploy (staging)"),
    ("smoke", "Smoke test"),
    ("load", "Load test"),
    ("canary", "Canary"),
    ("promote", "Promote"),
)

#: Keys of the staging config that describe the team's own data, replaced by the local dataset's.
LOCAL_OVERRIDES: dict[str, Any] = {
    # 341 reference rows: a range inferred from so few rows is exceeded by ~0.6 % of new rows per column by chance.
    "data": {"schema": {"excludeFromDrift": []}, "quality": {"minRows": 100, "maxOutOfRangeRate": 0.05}},
    "gates": {"fairness": {"sensitiveColumn": GROUP}, "evaluation": {"targetColumn": TARGET}},
    # Bounded traffic on one machine: a short load test, a 1-second-period canary.
    "smoke": {"requests": 200, "concurrency": 4, "readinessTimeoutSeconds": 120,
              "load": {"rps": 20, "durationSeconds": 8}},
    "serving": {"canary": {"judge": {"windowMinutes": 1, "periodSeconds": 1, "minPoints": 5}}},
}
CANARY_REQUESTS = 700
CANARY_SECONDS = 12.0
SERVER_READY_S = 180.0
MOTO_READY_S = 60.0


@dataclass
class LocalRun:
    workdir: Path
    scenario: Scenario
    project_dir: Path
    stack: str = "staging"
    stages: list[StageResult] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def reports(self) -> Path:
        return self.workdir / "reports"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.workdir / 'mlflow.db'}"


class StageStop(Exception):
    """A stage did not PASS: the pipeline stops here."""


def local_config(project_dir: Path, stack: str, evaluation: Path) -> LoadedConfig:
    """The stack's config with the local dataset's keys; validated by the same model as every stack."""
    raw, _ = read_stack_file(stack_file(stack, project_dir))
    overrides = deep_merge(LOCAL_OVERRIDES, {"gates": {"evaluation": {"path": str(evaluation)}}})
    return validate_config(deep_merge(raw, overrides), f"Pulumi.{stack}.yaml + local overrides")


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """MLflow and its dependencies talk a lot on stderr; the run prints its own summary instead."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic", "urllib3", "botocore", "werkzeug")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def artifact_digest(directory: Path) -> str:
    """sha256 over the model artifact's files (names and bytes): what the serving image is built from."""
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(path.relative_to(directory).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return "sha256:" + h.hexdigest()


# Stages -----------------------------------------------------------------------------------------------------
class Pipeline:
    """Runs the stages in order; each returns a Report which is written to `reports/<stage>.json`."""

    def __init__(self, run: LocalRun, loaded: LoadedConfig, data: Datasets, paths: dict[str, Path], *,
                 group: ProcessGroup, on_stage: Callable[[str, str], None]) -> None:
        self.run = run
        self.cfg: StackConfig = loaded.config
        self.data = data
        self.paths = paths
        self.group = group
        self.on_stage = on_stage
        self.model = self.cfg.model.name
        self.champion_version: str | None = None
        self.candidate_version: str | None = None
        self.digest: str | None = None
        self.servers: dict[str, ManagedProcess] = {}
        self.moto: ManagedProcess | None = None

    # -- bookkeeping
    def stage(self, name: str, fn: Callable[[], Report], extra: dict[str, Path] | None = None) -> Report:
        title = dict(STAGES)[name]
        self.on_stage(name, title)
        t0 = time.perf_counter()
        try:
            report = fn()
        except Exception as exc:  # a stage that could not finish is never a PASS: it stops the run, with the reason
            report = Report(kind=name, subject=self.subject())
            report.add(inconclusive(name, f"{type(exc).__name__}: {exc}"))
        report.finish()
        path = self.run.reports / f"{name}.json"
        report.write(path)
        result = StageResult(name=name, title=title, verdict=report.verdict.value,
                             duration_s=time.perf_counter() - t0, report=path, extra_links=extra or {})
        result.reason = stop_reason(report.to_dict()) if report.verdict is not Verdict.PASS else _pass_note(report)
        self.run.stages.append(result)
        if report.verdict is not Verdict.PASS:
            raise StageStop(name)
        return report

    def subject(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model}
        if self.candidate_version:
            out["version"] = self.candidate_version
        if self.digest:
            out["image_digest"] = self.digest
        return out

    # -- 1. data validation
    def data_validation(self) -> Report:
        from runtime.data.html import write_html as write_data_html
        from runtime.data.validate import validate_data

        report = validate_data(self.paths["reference"], self.paths["current"], self.cfg.data)
        write_data_html(report, self.run.reports / "data-validation.html")
        return report

    # -- 2. train
    def train(self) -> Report:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        from runtime.local.training import train_and_register

        report = Report(kind="train", subject={"model": self.model})
        mlflow.set_tracking_uri(self.run.tracking_uri)
        experiment = "mlcicd-local"
        client = MlflowClient(self.run.tracking_uri, self.run.tracking_uri)
        if client.get_experiment_by_name(experiment) is None:
            client.create_experiment(experiment, artifact_location=(self.run.workdir / "artifacts").as_uri())
        champion_alias = self.cfg.gates.champion_alias
        try:
            self.champion_version = client.get_model_version_by_alias(self.model, champion_alias).version
            report.add(passed("champion", self.champion_version, None,
                              f"champion is version {self.champion_version} (@{champion_alias})"))
        except MlflowException as exc:  # no registered model or no champion alias yet: this is the first run
            if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
            first = train_and_register(prepare("good"), "good", self.model, self.run.tracking_uri, experiment)
            client.set_registered_model_alias(self.model, champion_alias, first.version)
            self.champion_version = first.version
            report.add(passed("champion", first.version, None, f"first run: registered version {first.version} "
                              f"as @{champion_alias} (accuracy {first.metrics['accuracy']:.3f})"))
        trained = train_and_register(self.data, self.run.scenario, self.model, self.run.tracking_uri, experiment)
        self.candidate_version = trained.version
        report.subject["version"] = trained.version
        report.add(passed("candidate", trained.version, None, "registered version " + trained.version + ": " +
                          ", ".join(f"{k} {v:.3f}" for k, v in trained.metrics.items())))
        report.details["candidate_metrics"] = trained.metrics
        return report

    # -- 3. model gate
    def model_gate(self) -> Report:
        from runtime.gates.model_gate import gate_model

        assert self.candidate_version is not None
        return gate_model(self.model, self.candidate_version, None, config=self.cfg.gates,
                          tracking_uri=self.run.tracking_uri, base_dir=self.run.workdir,
                          report_path=self.run.reports / "model-gate.json")

    # -- 4. package
    def package(self) -> Report:
        from mlflow import MlflowClient
        from mlflow.artifacts import download_artifacts

        assert self.candidate_version is not None
        client = MlflowClient(self.run.tracking_uri, self.run.tracking_uri)
        source = client.get_model_version(self.model, self.candidate_version).source
        local = Path(download_artifacts(artifact_uri=source, dst_path=str(self.run.workdir / "package" /
                                                                              self.candidate_version)))
        self.digest = artifact_digest(local)
        client.set_model_version_tag(self.model, self.candidate_version, "mlcicd.local.artifact_digest", self.digest)
        report = Report(kind="package", subject=self.subject())
        report.add(passed("artifact digest", self.digest, None, "content digest of the model artifact (locally it "
                          "stands in for the serving image digest the Package stage pushes to ECR)"))
        return report

    # -- 5. deploy: the champion (baseline) and the candidate (canary) behind their own scoring servers
    def deploy(self) -> Report:
        from runtime.local.training import FAULT_ENV
        from runtime.metrics import VARIANT_BASELINE, VARIANT_CANARY
        from runtime.serving import command as serving

        report = Report(kind="deploy", subject=self.subject())
        logs = self.run.workdir / "logs"
        scratch = self.run.workdir / "scratch"
        for role, version in (("champion", self.champion_version), ("candidate", self.candidate_version)):
            port = free_port()
            fault = {FAULT_ENV: "0.05"} if role == "candidate" and self.run.scenario == "error-spike" else {}
            # The one serving command (runtime/serving/command.py), as the image, ECS and EKS run it.
            argv = serving.serve_argv(f"models:/{self.model}/{version}", port=port, host="127.0.0.1", workers=1,
                                      python=sys.executable)
            env = serving.serving_environment(
                model_name=self.model, model_version=str(version), image_digest=self.digest,
                variant=VARIANT_CANARY if role == "candidate" else VARIANT_BASELINE,
                extra={"MLFLOW_TRACKING_URI": self.run.tracking_uri, **fault})
            (scratch / role).mkdir(parents=True, exist_ok=True)
            env.update(HOME=str(scratch / role), TMPDIR=str(scratch / role))  # this machine's stand-in for /tmp
            self.servers[role] = self.group.start(ManagedProcess(f"{role} scoring server", argv, port,
                                                                 logs / f"serve-{role}.log", env))
        moto_port = free_port()
        self.moto = self.group.start(ManagedProcess("moto server", [sys.executable, "-m", "moto.server", "-H",
                                                                    "127.0.0.1", "-p", str(moto_port)],
                                                    moto_port, logs / "moto.log"))
        for role, server in self.servers.items():
            took = server.wait_ready("/ping", SERVER_READY_S)
            version = self.champion_version if role == "champion" else self.candidate_version
            report.add(passed(f"{role} ready", round(took, 2), f"<= {SERVER_READY_S:.0f} s",
                              f"version {version} serving at {server.url} after {took:.1f} s"))
        took = self.moto.wait_ready("/moto-api/", MOTO_READY_S)
        report.add(passed("cloudwatch (moto) ready", round(took, 2), None, f"moto server at {self.moto.url}"))
        self.run.facts["candidate endpoint"] = self.servers["candidate"].url
        self.run.facts["champion endpoint"] = self.servers["champion"].url
        return report

    def payloads(self) -> Any:
        from runtime.smoke.payloads import from_sample_data

        return from_sample_data(self.paths["current-sample"],
                                model_uri=f"models:/{self.model}/{self.candidate_version}")

    # -- 6. smoke
    def smoke(self) -> Report:
        from runtime.smoke.runner import smoke_test

        return smoke_test(self.servers["candidate"].url, config=self.cfg.smoke, payloads=self.payloads(),
                          subject=self.subject())

    # -- 7. load
    def load(self) -> Report:
        from runtime.smoke.runner import load_test

        return load_test(self.servers["candidate"].url, config=self.cfg.smoke, payloads=self.payloads(),
                         subject=self.subject())

    # -- 8. canary: split traffic, publish what each side served to CloudWatch (moto), judge from there
    def canary(self) -> Report:
        from runtime.canary.probe_replay import replay_split

        assert self.moto is not None
        canary_cfg = self.cfg.serving.canary
        rows = self.data.evaluation
        observations = replay_split(self.servers["champion"].url, self.servers["candidate"].url, rows,
                                    features=[GROUP, *self.data.features], target=TARGET,
                                    canary_percent=canary_cfg.percent, total=CANARY_REQUESTS,
                                    seconds=CANARY_SECONDS)
        return judge_local(self, observations)

    # -- 9. promote: edit a copy of Pulumi.production.yaml with the evidence of this run
    def promote(self) -> Report:
        from runtime.evidence import evidence_key
        from runtime.promote import promote

        assert self.candidate_version is not None
        assert self.digest is not None
        target = self.run.workdir / "promotion"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("Pulumi.yaml", f"Pulumi.{self.run.stack}.yaml", "Pulumi.production.yaml"):
            shutil.copyfile(self.run.project_dir / name, target / name)
        evidence = self.run.workdir / "evidence"
        for kind in ("data-validation", "model-gate", "smoke", "load", "canary"):
            src = self.run.reports / f"{kind}.json"
            if src.exists():
                dst = evidence / evidence_key(self.model, self.candidate_version, kind)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
        result = promote(self.run.stack, "production", project_dir=target, version=self.candidate_version,
                         image_digest=self.digest, evidence_dir=evidence)
        (target / "promotion.diff").write_text(result.diff, encoding="utf-8")
        if result.pr_body is not None:
            (target / "pull-request.md").write_text(result.pr_body, encoding="utf-8")
        if result.written:
            from mlflow import MlflowClient

            MlflowClient(self.run.tracking_uri, self.run.tracking_uri).set_registered_model_alias(
                self.model, self.cfg.gates.champion_alias, self.candidate_version)
            self.run.facts["promotion"] = (f"version {self.candidate_version} pinned in {target}/Pulumi.production"
                                           f".yaml and now @{self.cfg.gates.champion_alias}")
        return result.report


def judge_local(pipeline: Pipeline, observations: dict[str, list[Any]]) -> Report:
    """Publish both sides' observations to the moto server and run the canary judge against it."""
    from runtime.canary import act as acting
    from runtime.canary.judge import QualityRule
    from runtime.canary.metrics_source import MetricSource
    from runtime.canary.probe_publish import variant_metric_data
    from runtime.canary.publish import put_metric_data
    from runtime.canary.run import JudgeRequest, run_canary_judge
    from runtime.metrics import VARIANT_BASELINE, VARIANT_CANARY

    assert pipeline.moto is not None
    cfg = pipeline.cfg
    judge_cfg = cfg.serving.canary.judge
    namespace = cfg.alarms.model_quality.namespace
    clients = moto_clients(cfg.region, pipeline.moto.url)
    cloudwatch = clients("cloudwatch")
    quality_name = cfg.alarms.model_quality.metric_name
    for variant, side in ((VARIANT_BASELINE, "champion"), (VARIANT_CANARY, "candidate")):
        data = variant_metric_data(observations[side], model_name=pipeline.model, variant=variant,
                                   period_seconds=judge_cfg.period_seconds, quality_metric=quality_name)
        put_metric_data(cloudwatch, namespace, data)
    source = MetricSource(model_name=pipeline.model, model_namespace=namespace, quality_metric=quality_name,
                          percentiles=False)
    request = JudgeRequest(source=source, config=judge_cfg, quality=QualityRule.from_alarm(cfg.alarms.model_quality),
                           end=datetime.now(UTC), subject=pipeline.subject())
    report = run_canary_judge(request, clients)
    action = acting.publish_verdict(cloudwatch, namespace=namespace, model_name=pipeline.model,
                                    passed=report.verdict is Verdict.PASS)
    report.details["verdict_metric"] = action.to_dict()
    return report


def moto_clients(region: str, endpoint_url: str) -> Callable[[str], Any]:
    """boto3 clients for the local moto server, with its dummy credentials (never the user's real ones)."""
    from runtime.canary.run import boto3_clients

    return boto3_clients(region, endpoint_url, credentials=("testing", "testing"), max_attempts=2)


def _pass_note(report: Report) -> str:
    """All checks passed: say how many, and the first two in words."""
    notes = [c.reason for c in report.checks][:2]
    count = len(report.checks)
    return f"{count} check{'s' * (count != 1)} passed: " + "; ".join(notes)


# Entry point ------------------------------------------------------------------------------------------------
def run_local(workdir: Path, scenario: Scenario, project_dir: Path, console: Any | None = None) -> LocalRun:
    """Run the pipeline; returns the run (stages, verdict). Child processes are stopped whatever happens."""
    from rich.console import Console

    out: Any = console or Console(stderr=True)
    run = LocalRun(workdir=workdir.resolve(), scenario=scenario, project_dir=project_dir.resolve())
    run.reports.mkdir(parents=True, exist_ok=True)
    for stale in run.reports.glob("*.json"):
        stale.unlink()
    run.facts.update({"scenario": scenario, "work dir": str(run.workdir), "tracking": run.tracking_uri,
                      "thresholds": f"Pulumi.{run.stack}.yaml + local overrides (runtime/local/pipeline.py)"})
    data = prepare(scenario)
    paths = write(data, run.workdir / "data")
    sample = data.current.drop(columns=[c for c in data.current.columns if c not in [GROUP, *data.features]])
    paths["current-sample"] = run.workdir / "data" / "current-sample.parquet"
    sample.head(20).to_parquet(paths["current-sample"], index=False)
    loaded = local_config(run.project_dir, run.stack, paths["evaluation"])
    random.seed(20261122)

    def on_stage(name: str, title: str) -> None:
        status.update(f"[bold]{title}[/] ({scenario})")

    t0 = time.perf_counter()
    with quiet_libraries(), ProcessGroup() as group, out.status("starting") as status:
        pipeline = Pipeline(run, loaded, data, paths, group=group, on_stage=on_stage)
        steps: list[tuple[str, Callable[[], Report], dict[str, Path] | None]] = [
            ("data-validation", pipeline.data_validation, {"data report": run.reports / "data-validation.html"}),
            ("train", pipeline.train, None),
            ("model-gate", pipeline.model_gate, None),
            ("package", pipeline.package, None),
            ("deploy", pipeline.deploy, {"serving logs": run.workdir / "logs"}),
            ("smoke", pipeline.smoke, None),
            ("load", pipeline.load, None),
            ("canary", pipeline.canary, None),
            ("promote", pipeline.promote, {"diff": run.workdir / "promotion" / "promotion.diff",
                                           "pull request": run.workdir / "promotion" / "pull-request.md"}),
        ]
        with contextlib.suppress(StageStop):
            for name, fn, extra in steps:
                pipeline.stage(name, fn, extra)
                out.print(f"  [green]✓[/] {dict(STAGES)[name]} ({run.stages[-1].duration_s:.1f} s)")
    done = {s.name for s in run.stages}
    run.stages += [StageResult(name, title, "SKIPPED") for name, title in STAGES if name not in done]
    run.facts["total time"] = f"{time.perf_counter() - t0:.1f} s"
    return run


def verdict_of(run: LocalRun) -> Verdict:
    for stage in run.stages:
        if stage.verdict in ("FAIL", "INCONCLUSIVE"):
            return Verdict(stage.verdict)
    return Verdict.PASS if run.stages and all(s.verdict == "PASS" for s in run.stages) else Verdict.INCONCLUSIVE


def stopped_at(run: LocalRun) -> StageResult | None:
    return next((s for s in run.stages if s.verdict in ("FAIL", "INCONCLUSIVE")), None)


def finish(run: LocalRun, console: Any) -> int:
    verdict = verdict_of(run)
    stop = stopped_at(run)
    html_path = write_html(run.workdir / "report.html", run.stages, verdict.value, run.facts)
    summary = {"verdict": verdict.value, "scenario": run.scenario, "stopped_at": stop.name if stop else None,
               "reason": stop.reason if stop else "", "report": str(html_path),
               "stages": [{"name": s.name, "verdict": s.verdict, "duration_s": round(s.duration_s, 2),
                           "report": str(s.report) if s.report else None} for s in run.stages]}
    (run.workdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    console.print(terminal_table(run.stages, verdict.value, f"ml-cicd local run: scenario {run.scenario}"))
    if stop is not None:
        console.print(f"[bold]stopped at {stop.title}[/]: {stop.reason}")
    console.print(f"HTML report: {html_path}")
    return EXIT_CODES[verdict]
