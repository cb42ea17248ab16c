"""The champion follows production: `mlcicd champion set|show|sync` against a real MLflow registry (sqlite, and
`mlflow server` over HTTP), with rollout reports produced by `mlcicd verify rollout`'s own functions (moto for
the ECS APIs; botocore's Stubber for a rolled-back service, which moto cannot produce)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from runtime.champion import BY, PREVIOUS, REASON, RECORD, SINCE, SUCCESSOR, UNTIL, decide
from runtime.cli.main import app
from runtime.config import load_stack
from runtime.report import Report, Verdict
from runtime.verify.ecs import verify_ecs_rollout
from runtime.verify.eks import verify_argo_rollout
from runtime.verify.pins import Expected
from tests.harness import ROOT, use_fake_aws
from tests.test_verify_rollout import rolled_back_service, rollout_object
from tests.tracking_server import mlflow_server_process

PRODUCTION = load_stack("production", ROOT).config
MODEL = PRODUCTION.model.name
PINNED_VERSION = PRODUCTION.model.version or ""
PINNED_DIGEST = PRODUCTION.model.image_digest or ""
OLD_DIGEST = "sha256:" + "1" * 64
EXPECTED = Expected(stack="production", model_name=MODEL, version=PINNED_VERSION, image_digest=PINNED_DIGEST)
REGION = "eu-west-1"


def _register(uri: str, versions: int) -> None:
    """The registered model with `versions` versions (the champion logic never loads a model: the sources are
    names only)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    for i in range(versions):
        client.create_model_version(MODEL, source=f"s3://artifacts/mlflow/{MODEL}/v{i + 1}")


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sqlite registry with versions 1..12 of the production model, created once and copied per test."""
    path = tmp_path_factory.mktemp("registry") / "mlflow.db"
    _register(f"sqlite:///{path}", int(PINNED_VERSION))
    return path


@pytest.fixture
def registry(template_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "mlflow.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


def client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion_of(uri: str) -> str | None:
    version = (client(uri).get_registered_model(MODEL).aliases or {}).get("champion")
    return None if version is None else str(version)


def tags(uri: str, version: str) -> dict[str, str]:
    return dict(client(uri).get_model_version(MODEL, version).tags)


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["champion", *args])


def write(report: Report, path: Path) -> Path:
    report.finish().write(path)
    return path


# Rollout reports, made by `verify rollout` itself -----------------------------------------------------------------
@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch, REGION)


def ecs_deployment(moto_url: str, name: str, *, running: bool, monkeypatch: pytest.MonkeyPatch) -> Report:
    """A production service on moto running the pinned version and digest (COMPLETED, or IN_PROGRESS)."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "3" if running else "0")
    ecs = boto3.client("ecs", region_name=REGION, endpoint_url=moto_url)
    ecs.create_cluster(clusterName=name)
    env = [{"name": "MLCICD_MODEL_NAME", "value": MODEL}, {"name": "MLCICD_MODEL_VERSION", "value": PINNED_VERSION}]
    td = ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "model", "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving@{PINNED_DIGEST}",
         "cpu": 256, "memory": 512, "environment": env}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=name, serviceName=name, taskDefinition=td, desiredCount=3)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION, endpoint_url=moto_url)
    return verify_ecs_rollout(ecs, cloudwatch, cluster=name, service=name, expected=EXPECTED)


def rolled_back(previous: str) -> Report:
    """ECS rolled the new version back: the PRIMARY deployment runs `previous` again."""
    old_td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/svc:11"
    new_td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/svc:12"
    ecs = boto3.client("ecs", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    with Stubber(ecs) as ecs_stub, Stubber(cloudwatch) as cw_stub:
        ecs_stub.add_response("describe_services", rolled_back_service(new_td, old_td))
        cw_stub.add_response("describe_alarms", {"MetricAlarms": [], "CompositeAlarms": []})
        ecs_stub.add_response("describe_task_definition", {"taskDefinition": {
            "taskDefinitionArn": old_td, "containerDefinitions": [
                {"name": "model", "image": f"repo@{OLD_DIGEST}",
                 "environment": [{"name": "MLCICD_MODEL_VERSION", "value": previous}]}]}, "tags": []})
        return verify_ecs_rollout(ecs, cloudwatch, cluster="c", service="svc", expected=EXPECTED)


# The decision ---------------------------------------------------------------------------------------------------
def test_a_verified_rollout_makes_the_pinned_version_champion(moto_url: str, aws: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    report = ecs_deployment(moto_url, "verified", running=True, monkeypatch=monkeypatch).finish()
    assert report.verdict is Verdict.PASS
    decision = decide(report.to_dict(), MODEL, "r.json")
    assert decision.version == PINNED_VERSION
    assert "verified" in decision.check.reason


def test_a_rollout_in_progress_leaves_the_champion(moto_url: str, aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    report = ecs_deployment(moto_url, "rolling", running=False, monkeypatch=monkeypatch).finish()
    decision = decide(report.to_dict(), MODEL, "r.json")
    assert decision.version is None
    assert decision.check.verdict is Verdict.INCONCLUSIVE
    assert "the champion stays" in decision.check.reason


def test_an_ecs_rollback_names_the_version_that_serves_again(aws: None) -> None:
    decision = decide(rolled_back("11").finish().to_dict(), MODEL, "r.json")
    assert decision.version == "11"
    assert "rolled back" in decision.check.reason


def test_an_aborted_argo_rollout_leaves_the_champion() -> None:
    image = f"repo@{PINNED_DIGEST}"
    aborted = verify_argo_rollout(rollout_object(image=image, phase="Degraded", abort=True, version=PINNED_VERSION),
                                  EXPECTED).finish()
    decision = decide(aborted.to_dict(), MODEL, "r.json")
    assert decision.version is None
    healthy = verify_argo_rollout(rollout_object(image=image, version=PINNED_VERSION), EXPECTED).finish()
    assert decide(healthy.to_dict(), MODEL, "r.json").version == PINNED_VERSION


@pytest.mark.parametrize(("change", "words"), [({"kind": "smoke"}, "expected 'rollout-verification'"),
                                               ({"subject": {"model": "other"}}, "verifies model 'other'")])
def test_a_report_of_something_else_is_a_usage_error(change: dict[str, Any], words: str) -> None:
    from runtime.errors import UsageError

    report = {"kind": "rollout-verification", "subject": {"model": MODEL}, "checks": [], **change}
    with pytest.raises(UsageError, match=words):
        decide(report, MODEL, "r.json")


# The commands against a sqlite registry ---------------------------------------------------------------------------
def test_set_the_first_champion_then_show_it(registry: str, tmp_path: Path) -> None:
    result = cli("set", "--stack", "production", "--project-dir", str(ROOT), "--version", "11", "--reason",
                 "first champion: the version live when the project adopted ml-cicd", "--tracking-uri", registry,
                 "--evidence-dir", str(tmp_path / "evidence"), "--actor", "ana", "--report", str(tmp_path / "c.json"))
    assert result.exit_code == 0, result.output
    assert champion_of(registry) == "11"
    recorded = tags(registry, "11")
    assert (recorded[BY], recorded[PREVIOUS]) == ("ana", "none")
    assert recorded[REASON].startswith("first champion")
    record = json.loads(Path(recorded[RECORD]).read_text())
    assert Path(recorded[RECORD]) == (tmp_path / "evidence/reports" / MODEL / "11/champion.json").resolve()
    assert (record["kind"], record["version"], record["previous"], record["by"]) == ("champion", "11", None, "ana")
    shown = cli("show", "--stack", "production", "--project-dir", str(ROOT), "--tracking-uri", registry)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["version"] == "11"
    assert "champion of churn-classifier: version 11 (@champion)" in shown.stderr


def test_show_without_a_champion_says_how_to_set_one(registry: str) -> None:
    shown = cli("show", "--model", MODEL, "--tracking-uri", registry)
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["version"] is None
    assert "mlcicd champion set --model churn-classifier --version V" in shown.stderr


def test_sync_moves_the_champion_forward_and_back(registry: str, tmp_path: Path, moto_url: str, aws: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client(registry).set_registered_model_alias(MODEL, "champion", "11")
    verified = write(ecs_deployment(moto_url, "forward", running=True, monkeypatch=monkeypatch),
                     tmp_path / "verify-rollout.json")
    monkeypatch.setenv("GITHUB_ACTOR", "release-bot")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn-model")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    evidence = tmp_path / "evidence"
    result = cli("sync", "--stack", "production", "--project-dir", str(ROOT), "--rollout-report", str(verified),
                 "--tracking-uri", registry, "--evidence-dir", str(evidence), "--report", str(tmp_path / "c.json"))
    assert result.exit_code == 0, result.output
    assert champion_of(registry) == PINNED_VERSION
    new, old = tags(registry, PINNED_VERSION), tags(registry, "11")
    assert new[BY] == "release-bot via https://github.com/acme/churn-model/actions/runs/42"
    assert new[PREVIOUS] == "11"
    assert SINCE in new
    assert (old[SUCCESSOR], old[UNTIL]) == (PINNED_VERSION, new[SINCE])
    record = json.loads(Path(new[RECORD]).read_text())
    assert record["evidence"]["rollout_report"]["verdict"] == "PASS"
    assert record["evidence"]["source"] == str(verified.resolve())
    report = json.loads((tmp_path / "c.json").read_text())
    assert (report["kind"], report["verdict"]) == ("champion", "PASS")
    assert [c["name"] for c in report["checks"]] == ["decision", "record", "alias"]

    # The same report again: nothing to do.
    again = cli("sync", "--stack", "production", "--project-dir", str(ROOT), "--rollout-report", str(verified),
                "--tracking-uri", registry, "--evidence-dir", str(evidence))
    assert again.exit_code == 0
    assert "already holds @champion" in again.output

    # Later the platform rolls a deployment back to version 11: the champion follows what serves.
    back = write(rolled_back("11"), tmp_path / "rolled-back.json")
    result = cli("sync", "--stack", "production", "--project-dir", str(ROOT), "--rollout-report", str(back),
                 "--tracking-uri", registry, "--evidence-dir", str(evidence))
    assert result.exit_code == 0, result.output
    assert champion_of(registry) == "11"
    assert tags(registry, "11")[PREVIOUS] == PINNED_VERSION
    assert "rolled back" in tags(registry, "11")[REASON]


def test_sync_on_an_unsettled_rollout_exits_3_and_moves_nothing(registry: str, tmp_path: Path, moto_url: str,
                                                                aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    client(registry).set_registered_model_alias(MODEL, "champion", "11")
    rolling = write(ecs_deployment(moto_url, "unsettled", running=False, monkeypatch=monkeypatch),
                    tmp_path / "verify-rollout.json")
    result = cli("sync", "--stack", "production", "--project-dir", str(ROOT), "--rollout-report", str(rolling),
                 "--tracking-uri", registry)
    assert result.exit_code == 3, result.output
    assert champion_of(registry) == "11"


@pytest.mark.parametrize(("args", "words"), [
    (["--version", "99"], "version 99"),
    (["--version", "v2"], "expected a registered model version number"),
    (["--version", "3", "--reason", " "], "--reason must say why"),
])
def test_set_refuses_bad_input_with_exit_2(registry: str, args: list[str], words: str) -> None:
    full = ["set", "--model", MODEL, "--tracking-uri", registry, *args]
    if "--reason" not in args:
        full += ["--reason", "first champion"]
    result = cli(*full)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert champion_of(registry) is None


def test_an_unreachable_registry_is_inconclusive_within_seconds(tmp_path: Path) -> None:
    import time

    from tests.servers import refusing_port

    with refusing_port() as port:
        t0 = time.monotonic()
        result = cli("set", "--model", MODEL, "--version", "3", "--reason", "first", "--tracking-uri",
                     f"http://127.0.0.1:{port}")
    assert result.exit_code == 3, result.output
    assert time.monotonic() - t0 < 30


# Over HTTP: `mlflow server` --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = mlflow_server_process(tmp_path_factory.mktemp("mlflow-server"))
    try:
        server.start().wait_ready("/health", 120)
        yield server.url
    finally:
        server.stop()


@pytest.mark.slow
def test_sync_over_http_records_evidence_in_the_models_bucket(mlflow_server: str, tmp_path: Path, moto_url: str,
                                                              aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(mlflow_server, int(PINNED_VERSION))
    client(mlflow_server).set_registered_model_alias(MODEL, "champion", "11")
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
    s3.create_bucket(Bucket="models", CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    outputs = tmp_path / "stack-outputs.json"
    outputs.write_text(json.dumps({"trackingUri": mlflow_server, "modelsBucket": "models"}))
    verified = write(ecs_deployment(moto_url, "over-http", running=True, monkeypatch=monkeypatch),
                     tmp_path / "verify-rollout.json")
    result = cli("sync", "--stack", "production", "--project-dir", str(ROOT), "--rollout-report", str(verified),
                 "--stack-outputs", str(outputs), "--actor", "deploy workflow")
    assert result.exit_code == 0, result.output
    assert champion_of(mlflow_server) == PINNED_VERSION
    location = tags(mlflow_server, PINNED_VERSION)[RECORD]
    assert location == f"s3://models/reports/{MODEL}/{PINNED_VERSION}/champion.json"
    body = json.loads(s3.get_object(Bucket="models", Key=location.split("/", 3)[3])["Body"].read())
    assert (body["version"], body["previous"], body["by"]) == (PINNED_VERSION, "11", "deploy workflow")
