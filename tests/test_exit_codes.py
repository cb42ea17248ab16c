"""The same fault gives the same exit code and one short message, with no traceback, whichever command meets it.

Faults, each made real: MLflow down and AWS down are closed loopback ports (nothing listens); a bad tracking URI is
a scheme typo; missing credentials is an environment without any (no keys, no files, no instance metadata); a
missing file is a path that does not exist; a bad config is a stack file that fails validation. The registry the
model gate reads is a real MLflow sqlite store. `FAULT_CODE` is the contract (docs/architecture.md, "Errors and
exit codes"); every case is checked against it, never against a code of its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config import load_stack
from runtime.report import Check, Report, Verdict
from tests.harness import ROOT, stack_config
from tests.servers import closed_port

#: The contract: one exit code per fault, whatever the command.
FAULT_CODE = {"mlflow-down": 3, "aws-down": 3, "bad-uri": 2, "no-credentials": 2, "missing-file": 2,
              "bad-config": 2}
REGION = "eu-west-1"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
             "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None, "AWS_REGION": None, "AWS_ENDPOINT_URL": None,
             "AWS_MAX_ATTEMPTS": "2"}
NO_CREDENTIALS = {**DUMMY_AWS, "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
                  "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", "AWS_CONFIG_FILE": "/nonexistent/config",
                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI": None, "AWS_WEB_IDENTITY_TOKEN_FILE": None}
MODEL = "exit-codes"


@dataclass(frozen=True)
class World:
    """Everything the cases point at: ports with nothing behind them, a real registry, files, projects."""

    mlflow_down: str
    aws_down: str
    registry: str
    data: Path
    broken: Path
    """A project whose Pulumi.broken.yaml fails validation."""
    gate_s3: Path
    """A project whose Pulumi.gate.yaml reads the gate's evaluation data from S3."""
    gate_missing: Path
    """A project whose Pulumi.gate.yaml names an evaluation file that does not exist."""
    promote: Path
    evidence: Path


def _project(root: Path, stack: str, config: dict[str, Any], *, with_production: bool = False) -> Path:
    root.mkdir(parents=True)
    for name in ("Pulumi.yaml", *(("Pulumi.production.yaml",) if with_production else ())):
        shutil.copy2(ROOT / name, root / name)
    doc = {"config": {f"ml-cicd:{key}": value for key, value in config.items()}}
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return root


def _gate_project(root: Path, path: str) -> Path:
    raw = stack_config("staging", {"gates": None, "pipeline": None})  # only the deploy stack hosts the pipeline
    raw["gates"] = {"evaluation": {"path": path, "targetColumn": "y"}}
    raw.pop("pipeline", None)  # only the stack the pipeline deploys may host it
    return _project(root, "gate", raw)


def _passing(kind: str, version: str, digest: str) -> dict[str, Any]:
    report = Report(kind=kind, subject={"model": "churn-classifier", "version": version, "imageDigest": digest})
    report.add(Check("all", Verdict.PASS, 1, None, "passed"))
    return report.finish().to_dict()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("exit-codes")
    registry = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=registry, registry_uri=registry)
    client.create_registered_model(MODEL)
    client.create_model_version(MODEL, source=(root / "model").as_uri())
    (root / "data.csv").write_text("x,y\n1,0\n2,1\n3,0\n", encoding="utf-8")
    promote = root / "promote"
    promote.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy2(ROOT / name, promote / name)
    staged = load_stack("staging", ROOT).config.model
    assert staged.version is not None
    assert staged.image_digest is not None
    evidence = root / "evidence"
    evidence.mkdir()
    for kind in ("model-gate", "smoke"):
        (evidence / f"{kind}.json").write_text(json.dumps(_passing(kind, staged.version, staged.image_digest)))
    return World(
        mlflow_down=f"http://127.0.0.1:{closed_port()}", aws_down=f"http://127.0.0.1:{closed_port()}",
        registry=registry, data=root / "data.csv",
        broken=_project(root / "broken", "broken", {"environment": "nonsense", "region": 42}, with_production=True),
        gate_s3=_gate_project(root / "gate-s3", "s3://evaluation/eval.csv"),
        gate_missing=_gate_project(root / "gate-missing", "missing.csv"),
        promote=promote, evidence=evidence)


Args = Callable[[World], list[str]]


@dataclass(frozen=True)
class Case:
    command: str
    fault: str
    args: Args
    mentions: Callable[[World], str]
    """What the output must name (the bad value, the service that did not answer)."""
    env: dict[str, str | None] | None = None
    report: bool = False
    """The command records the fault in its report (an INCONCLUSIVE check) instead of stopping with an error."""


def _aws_down(w: World) -> dict[str, str | None]:
    return {**DUMMY_AWS, "AWS_ENDPOINT_URL": w.aws_down}


def _gate(w: World, *extra: str) -> list[str]:
    return ["gate", "model", "--model", MODEL, "--candidate", "1", "--report", str(w.data.parent / "gate.json"),
            *extra]


def _smoke(w: World, *extra: str) -> list[str]:
    return ["smoke", "--endpoint", w.aws_down, "--report", str(w.data.parent / "smoke.json"), *extra]


def _judge(w: World, *extra: str) -> list[str]:
    return ["canary", "judge", "--model", "m", "--namespace", "Test/ExitCodes", "--region", REGION, *extra]


def _probe(w: World, *extra: str) -> list[str]:
    return ["canary", "probe", "--baseline-url", "http://127.0.0.1:1", "--canary-url", "http://127.0.0.1:2",
            "--model", "m", "--region", REGION, *extra]


def _promote(w: World, *extra: str) -> list[str]:
    return ["promote", "--project-dir", str(w.promote), "--dry-run", *extra]


def _verify(w: World, *extra: str) -> list[str]:
    return ["verify", "rollout", "--stack", "production", "--project-dir", str(ROOT), "--cluster", "c",
            "--service", "s", *extra]


def _validate(reference: str, current: str, *extra: str) -> list[str]:
    return ["data", "validate", "--reference", reference, "--current", current, "--report", "/dev/null", *extra]


def _deployment_cases(command: str, args: Callable[..., list[str]], bad_config: Args) -> list[Case]:
    """The faults of a command that asks AWS about what the stack deployed (`--stack-outputs`): the same four, met
    the same way, by `canary judge` and `verify rollout`."""
    return [
        Case(command, "aws-down", args, lambda w: "AWS did not answer STS GetCallerIdentity"),
        Case(command, "no-credentials", args, lambda w: "no usable AWS credentials", env=NO_CREDENTIALS),
        Case(command, "missing-file", lambda w: args(w, "--stack-outputs", "/nonexistent/outputs.json"),
             lambda w: "--stack-outputs /nonexistent/outputs.json: no such file"),
        Case(command, "bad-config", bad_config, lambda w: "Pulumi.broken.yaml"),
    ]


CASES = [
    # data validate
    Case("data validate", "aws-down", lambda w: _validate("s3://data/ref.csv", "s3://data/cur.csv"),
         lambda w: "s3://data/ref.csv"),
    Case("data validate", "no-credentials", lambda w: _validate("s3://data/ref.csv", "s3://data/cur.csv"),
         lambda w: "s3://data/ref.csv", env=NO_CREDENTIALS),
    Case("data validate", "missing-file", lambda w: _validate(str(w.data), "/nonexistent/current.csv"),
         lambda w: "/nonexistent/current.csv"),
    Case("data validate", "bad-config",
         lambda w: _validate(str(w.data), str(w.data), "--stack", "broken", "--project-dir", str(w.broken)),
         lambda w: "Pulumi.broken.yaml"),
    # gate model
    Case("gate model", "mlflow-down", lambda w: _gate(w, "--tracking-uri", w.mlflow_down),
         lambda w: w.mlflow_down.removeprefix("http://"), report=True),
    Case("gate model", "bad-uri", lambda w: _gate(w, "--tracking-uri", "htp://localhost:5000"),
         lambda w: "'htp://localhost:5000': unknown scheme 'htp'; did you mean http://localhost:5000?"),
    Case("gate model", "aws-down", lambda w: _gate(w, "--tracking-uri", w.registry, "--stack", "gate",
                                                   "--project-dir", str(w.gate_s3)),
         lambda w: "S3 could not return s3://evaluation/eval.csv", report=True),
    Case("gate model", "no-credentials", lambda w: _gate(w, "--tracking-uri", w.registry, "--stack", "gate",
                                                         "--project-dir", str(w.gate_s3)),
         lambda w: "needs AWS credentials", env=NO_CREDENTIALS),
    Case("gate model", "missing-file", lambda w: _gate(w, "--tracking-uri", w.registry, "--stack", "gate",
                                                       "--project-dir", str(w.gate_missing)),
         lambda w: "gates.evaluation.path = missing.csv: no such file"),
    Case("gate model", "bad-config", lambda w: _gate(w, "--tracking-uri", w.registry, "--stack", "broken",
                                                     "--project-dir", str(w.broken)),
         lambda w: "Pulumi.broken.yaml"),
    # smoke
    Case("smoke", "mlflow-down", lambda w: _smoke(w, "--model-uri", f"models:/{MODEL}/1", "--tracking-uri",
                                                  w.mlflow_down),
         lambda w: w.mlflow_down.removeprefix("http://")),
    Case("smoke", "bad-uri", lambda w: _smoke(w, "--model-uri", f"models:/{MODEL}/1", "--tracking-uri",
                                              "htp://localhost:5000"),
         lambda w: "unknown scheme 'htp'"),
    Case("smoke", "missing-file", lambda w: _smoke(w, "--sample-data", "/nonexistent/rows.csv"),
         lambda w: "/nonexistent/rows.csv"),
    Case("smoke", "bad-config", lambda w: _smoke(w, "--stack", "broken", "--project-dir", str(w.broken)),
         lambda w: "Pulumi.broken.yaml"),
    *_deployment_cases("canary judge", _judge,
                       lambda w: _judge(w, "--stack", "broken", "--project-dir", str(w.broken))),
    # canary probe
    Case("canary probe", "aws-down", lambda w: _probe(w, "--sample-data", str(w.data)),
         lambda w: "AWS did not answer STS GetCallerIdentity"),
    Case("canary probe", "no-credentials", lambda w: _probe(w, "--sample-data", str(w.data)),
         lambda w: "no usable AWS credentials", env=NO_CREDENTIALS),
    Case("canary probe", "missing-file", lambda w: _probe(w, "--sample-data", "/nonexistent/rows.csv"),
         lambda w: "--sample-data /nonexistent/rows.csv: no such file"),
    Case("canary probe", "bad-config", lambda w: _probe(w, "--stack", "broken", "--project-dir", str(w.broken)),
         lambda w: "Pulumi.broken.yaml"),
    # promote
    Case("promote", "mlflow-down", lambda w: _promote(w, "--evidence", str(w.evidence), "--tracking-uri",
                                                      w.mlflow_down),
         lambda w: "cannot confirm churn-classifier version", report=True),
    Case("promote", "bad-uri", lambda w: _promote(w, "--evidence", str(w.evidence), "--tracking-uri",
                                                  "htp://localhost:5000"),
         lambda w: "unknown scheme 'htp'"),
    Case("promote", "missing-file", lambda w: _promote(w, "--evidence", "/nonexistent/evidence"),
         lambda w: "/nonexistent/evidence"),
    Case("promote", "bad-config", lambda w: ["promote", "--project-dir", str(w.broken), "--from", "broken",
                                             "--evidence", str(w.evidence), "--dry-run"],
         lambda w: "Pulumi.broken.yaml"),
    *_deployment_cases("verify rollout", _verify,
                       lambda w: ["verify", "rollout", "--stack", "broken", "--project-dir", str(w.broken)]),
    # pipeline candidate-version (the Train action)
    Case("pipeline candidate-version", "mlflow-down",
         lambda w: ["pipeline", "candidate-version", "--model", MODEL, "--since-ms", "0", "--tracking-uri",
                    w.mlflow_down],
         lambda w: w.mlflow_down.removeprefix("http://")),
    Case("pipeline candidate-version", "bad-uri",
         lambda w: ["pipeline", "candidate-version", "--model", MODEL, "--since-ms", "0", "--tracking-uri",
                    "localhost:5000"],
         lambda w: "'localhost:5000': no scheme"),
]


@pytest.fixture(autouse=True)
def _fresh_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's default session caches the credentials it found; each command here runs as a fresh process would."""
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def _env(case: Case, world: World) -> dict[str, str | None]:
    if case.fault == "aws-down":
        return _aws_down(world)
    return {**DUMMY_AWS, **(case.env or {})}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.command}:{c.fault}" for c in CASES])
def test_same_fault_same_exit_code_one_message(case: Case, world: World) -> None:
    result = CliRunner().invoke(app, case.args(world), env=_env(case, world))
    output = result.stdout + result.stderr
    assert result.exit_code == FAULT_CODE[case.fault], output
    assert "Traceback" not in output
    assert case.mentions(world) in " ".join(output.split()), output
    if case.report:
        return  # a verdict: the summary of an INCONCLUSIVE report, not an error
    message = result.stderr[result.stderr.index("error: "):]
    assert "\n\n" not in message.strip(), message  # one paragraph
    assert len(message.strip().splitlines()) <= 12, message
    assert message.strip().splitlines()[-1].startswith("hint: "), message


def test_every_fault_is_covered_in_every_command_it_applies_to() -> None:
    covered = {(c.command, c.fault) for c in CASES}
    assert {f for _, f in covered} == set(FAULT_CODE)
    for command in ("data validate", "gate model", "smoke", "canary judge", "canary probe", "promote",
                    "verify rollout"):
        faults = {f for c, f in covered if c == command}
        assert {"missing-file", "bad-config"} <= faults, command
        assert faults & {"mlflow-down", "aws-down"}, command


def test_the_real_entry_point_prints_no_traceback_and_debug_does() -> None:
    args = [sys.executable, "-m", "runtime.cli.main", "gate", "model", "--model", "m", "--candidate", "1",
            "--tracking-uri", "htp://localhost:5000", "--report", "/dev/null"]
    plain = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert plain.returncode == 2
    assert plain.stderr.startswith("error: --tracking-uri 'htp://localhost:5000': unknown scheme 'htp'")
    assert "Traceback" not in plain.stderr
    debug = subprocess.run([*args[:3], "--debug", *args[3:]], capture_output=True, text=True, timeout=60,
                           check=False)
    assert debug.returncode == 2
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert "error: --tracking-uri 'htp://localhost:5000'" in debug.stderr


def test_a_bug_is_an_internal_error_exit_2_never_fail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import runtime.smoke.plan

    def broken(*_: Any, **__: Any) -> Report:
        return {}["missing"]  # a bug: KeyError

    monkeypatch.setattr(runtime.smoke.plan, "smoke_endpoint", broken)
    result = CliRunner().invoke(app, ["smoke", "--endpoint", "http://127.0.0.1:1", "--report",
                                      str(tmp_path / "r.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: internal error: KeyError: 'missing'")
    assert "hint: this is a bug in mlcicd: rerun with --debug (or MLCICD_DEBUG=1) for the traceback and report it " \
           "(exit 2, never FAIL)" in result.stderr
    assert "Traceback" not in result.stderr
    debug = CliRunner().invoke(app, ["smoke", "--endpoint", "http://127.0.0.1:1", "--report",
                                     str(tmp_path / "r.json")], env={"MLCICD_DEBUG": "1"})
    assert debug.exit_code == 2
    assert "Traceback (most recent call last):" in debug.stderr


def test_interrupt_is_130_not_fail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import runtime.smoke.plan

    def interrupted(*_: Any, **__: Any) -> Report:
        raise KeyboardInterrupt

    monkeypatch.setattr(runtime.smoke.plan, "smoke_endpoint", interrupted)
    result = CliRunner().invoke(app, ["smoke", "--endpoint", "http://127.0.0.1:1", "--report",
                                      str(tmp_path / "r.json")])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"
