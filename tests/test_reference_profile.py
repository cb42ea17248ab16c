"""The reference profiles follow the champion, against real components: the Train action's own `mlcicd data
profile` line writes each version's training profile (real data, real profile files) to a moto server's S3;
`mlcicd champion reference`, run as the deploy workflow runs it, reads the champion from a real MLflow registry
(sqlite) and copies its profile to both stacks' `referenceProfileKey`, or refuses and leaves them alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from string import Template
from typing import Any

import boto3
import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config import load_stack
from runtime.data.profile import load_profile, profile_meta
from runtime.evidence import training_profile_key
from runtime.pipeline.model import Mlcicd, PipelineSpec
from runtime.pipeline.steps import train_action
from runtime.pipeline.workflow import PIPELINE_OUTPUTS, REFERENCE_REPORT, TARGET_OUTPUTS, reference_step
from tests.harness import ROOT, use_fake_aws

STAGING = load_stack("staging", ROOT).config
PRODUCTION = load_stack("production", ROOT).config
SPEC = PipelineSpec.from_config(STAGING, "staging")
MODEL = PRODUCTION.model.name
REGION = "eu-west-1"
MODELS, STAGING_DATA, PRODUCTION_DATA = "pipeline-models", "staging-data", "production-data"
STAGING_KEY = STAGING.monitoring.drift.reference_profile_key
PRODUCTION_KEY = PRODUCTION.monitoring.drift.reference_profile_key
REFERENCES = ((STAGING_DATA, STAGING_KEY), (PRODUCTION_DATA, PRODUCTION_KEY))


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sqlite registry with versions 1, 2 and 3 of the model, created once and copied per test."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("registry") / "mlflow.db"
    uri = f"sqlite:///{path}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    for version in range(1, 4):
        client.create_model_version(MODEL, source=f"s3://{MODELS}/mlflow/{MODEL}/v{version}")
    return path


@pytest.fixture
def registry(template_db: Path, tmp_path: Path) -> str:
    """This test's copy of the registry (its own champion alias)."""
    return f"sqlite:///{shutil.copy(template_db, tmp_path / 'mlflow.db')}"


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh moto S3 with the pipeline stack's models bucket and both stacks' data buckets (versioned, so a
    test can count writes); boto3, pyarrow and the CLI all reach it through AWS_ENDPOINT_URL."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    use_fake_aws(monkeypatch, REGION, moto_url)
    client = boto3.client("s3", region_name=REGION)
    for bucket in (MODELS, STAGING_DATA, PRODUCTION_DATA):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return client


@pytest.fixture
def deploy_dir(tmp_path: Path, registry: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deploy workflow's working directory: the checkout's stack files and both stacks' saved outputs."""
    work = tmp_path / "deploy"
    work.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy(ROOT / name, work / name)
    (work / PIPELINE_OUTPUTS).write_text(json.dumps({"trackingUri": registry, "modelsBucket": MODELS,
                                                     "dataBucket": STAGING_DATA}))
    (work / TARGET_OUTPUTS).write_text(json.dumps({"dataBucket": PRODUCTION_DATA}))
    monkeypatch.chdir(work)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return work


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def train_profile_line() -> Mlcicd:
    """The Train action's `mlcicd data profile` line, as the step list holds it."""
    return next(c for c in train_action(SPEC).commands if isinstance(c, Mlcicd) and c.argv[:2] == ("data", "profile"))


def write_training_profile(checkout: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the Train action's profile line in `checkout` for `version`, with the variables the build sets."""
    env = {"MODEL_NAME": MODEL, "MODEL_VERSION": version, "MODELS_BUCKET": MODELS}
    monkeypatch.chdir(checkout)
    result = cli(*(Template(a).substitute(env) for a in train_profile_line().argv))
    assert result.exit_code == 0, result.output
    return result


def checkout_with(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    """A checkout whose training data (`pipeline.trainingDataPath`) is `frame`."""
    checkout = tmp_path / name
    (checkout / Path(SPEC.training_data_path).parent).mkdir(parents=True)
    for stack_file in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy(ROOT / stack_file, checkout / stack_file)
    frame.to_parquet(checkout / SPEC.training_data_path, index=False)
    return checkout


def training_data() -> pd.DataFrame:
    return pd.read_parquet(ROOT / SPEC.training_data_path)


def make_champion(registry: str, version: str) -> None:
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=registry, registry_uri=registry).set_registered_model_alias(MODEL, "champion", version)


def follow() -> Any:
    """`mlcicd champion reference` exactly as the deploy workflow runs it (runtime.pipeline.workflow)."""
    (line,) = reference_step(SPEC).commands
    assert isinstance(line, Mlcicd)
    return cli(*line.argv)


def versions_of(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    return s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])


def body(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def report(work: Path) -> dict[str, Any]:
    return json.loads((work / REFERENCE_REPORT).read_text())


# The Train action writes the profile per version ---------------------------------------------------------------
def test_train_writes_each_versions_training_profile_beside_its_evidence(s3: Any, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = training_data()
    write_training_profile(checkout_with(tmp_path, "v1", data), "1", monkeypatch)
    write_training_profile(checkout_with(tmp_path, "v2", data.iloc[: len(data) // 2]), "2", monkeypatch)
    for version, rows in (("1", len(data)), ("2", len(data) // 2)):
        key = training_profile_key(MODEL, version)
        assert key == f"reports/{MODEL}/{version}/training-profile.npz"
        meta = profile_meta(body(s3, MODELS, key), key)
        assert meta["model"] == {"name": MODEL, "version": version}
        assert meta["rows"] == rows
        loaded = load_profile(f"s3://{MODELS}/{key}")  # a reference the data gate reads as it is
        assert set(loaded.summary.columns) == set(data.columns)


# The reference follows the champion -----------------------------------------------------------------------------
def test_the_champions_profile_becomes_both_references_and_a_rerun_writes_nothing(
        s3: Any, registry: str, deploy_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = training_data()
    write_training_profile(checkout_with(tmp_path, "v1", data), "1", monkeypatch)
    write_training_profile(checkout_with(tmp_path, "v2", data.iloc[:200]), "2", monkeypatch)
    monkeypatch.chdir(deploy_dir)
    for bucket, key in REFERENCES:  # the one-time first write of a new project (docs/pipeline.md)
        s3.put_object(Bucket=bucket, Key=key, Body=body(s3, MODELS, training_profile_key(MODEL, "1")))
    make_champion(registry, "2")

    result = follow()
    assert result.exit_code == 0, result.output
    champion_profile = body(s3, MODELS, training_profile_key(MODEL, "2"))
    for bucket, key in REFERENCES:
        assert body(s3, bucket, key) == champion_profile
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"]["mlcicd-model-version"] == "2"
        assert len(versions_of(s3, bucket, key)) == 2  # the hand-written first one, then the champion's
    written = report(deploy_dir)
    assert (written["kind"], written["verdict"]) == ("reference-profile", "PASS")
    assert written["subject"]["destinations"] == {"staging": f"s3://{STAGING_DATA}/{STAGING_KEY}",
                                                  "production": f"s3://{PRODUCTION_DATA}/{PRODUCTION_KEY}"}
    checks = {c["name"]: c for c in written["checks"]}
    assert [c["observed"] for c in checks.values()][1:] == ["written", "written"]
    assert "(it held a profile written by hand)" in checks["reference staging"]["reason"]

    again = follow()
    assert again.exit_code == 0, again.output
    assert [c["observed"] for c in report(deploy_dir)["checks"]][1:] == ["unchanged", "unchanged"]
    for bucket, key in REFERENCES:
        assert len(versions_of(s3, bucket, key)) == 2  # nothing written


def test_a_reference_s3_refuses_is_reported_and_the_others_still_move(
        s3: Any, registry: str, deploy_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production's data bucket is gone (NoSuchBucket): staging's reference still follows, the report records both
    outcomes, and the command exits 3 naming production's reference; a rerun after the fix writes only that one."""
    write_training_profile(checkout_with(tmp_path, "v1", training_data()), "1", monkeypatch)
    monkeypatch.chdir(deploy_dir)
    make_champion(registry, "1")
    s3.delete_bucket(Bucket=PRODUCTION_DATA)

    result = follow()
    assert result.exit_code == 3, result.output
    written = report(deploy_dir)
    checks = {c["name"]: c for c in written["checks"]}
    assert written["verdict"] == "INCONCLUSIVE"
    assert checks["reference staging"]["observed"] == "written"
    assert checks["reference production"]["verdict"] == "INCONCLUSIVE"
    assert f"could not write s3://{PRODUCTION_DATA}/{PRODUCTION_KEY}" in checks["reference production"]["reason"]
    assert "NoSuchBucket" in checks["reference production"]["reason"]
    assert body(s3, STAGING_DATA, STAGING_KEY) == body(s3, MODELS, training_profile_key(MODEL, "1"))

    s3.create_bucket(Bucket=PRODUCTION_DATA, CreateBucketConfiguration={"LocationConstraint": REGION})
    again = follow()
    assert again.exit_code == 0, again.output
    assert [c["observed"] for c in report(deploy_dir)["checks"]][1:] == ["unchanged", "written"]


def test_a_rolled_back_champion_takes_its_own_profile_back(s3: Any, registry: str, deploy_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = training_data()
    write_training_profile(checkout_with(tmp_path, "v1", data), "1", monkeypatch)
    write_training_profile(checkout_with(tmp_path, "v2", data.iloc[:200]), "2", monkeypatch)
    monkeypatch.chdir(deploy_dir)
    for version in ("2", "1"):
        make_champion(registry, version)
        assert follow().exit_code == 0
    checks = {c["name"]: c for c in report(deploy_dir)["checks"]}
    assert "it held the training profile of version 2" in checks["reference production"]["reason"]
    for bucket, key in REFERENCES:
        assert profile_meta(body(s3, bucket, key), key)["model"]["version"] == "1"


# Fail closed ------------------------------------------------------------------------------------------------------
def test_a_champion_without_a_stored_profile_fails_closed_naming_the_object_and_the_fix(
        s3: Any, registry: str, deploy_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = training_data()
    write_training_profile(checkout_with(tmp_path, "v2", data), "2", monkeypatch)
    monkeypatch.chdir(deploy_dir)
    make_champion(registry, "2")
    assert follow().exit_code == 0
    make_champion(registry, "3")  # trained before the Train action wrote profiles

    result = follow()
    assert result.exit_code == 3, result.output
    missing = f"s3://{MODELS}/reports/{MODEL}/3/training-profile.npz"
    fix = (f"mlcicd data profile --reference <the training data of version 3> --out {missing} --model {MODEL} "
           "--model-version 3")
    shown = " ".join(result.output.split())
    assert f"no training profile of {MODEL} version 3 at {missing}" in shown
    assert fix in shown
    assert report(deploy_dir)["verdict"] == "INCONCLUSIVE"
    for bucket, key in REFERENCES:  # still version 2's, written once
        assert profile_meta(body(s3, bucket, key), key)["model"]["version"] == "2"
        assert len(versions_of(s3, bucket, key)) == 1

    # The fix the message gives, then the same step again.
    frame = tmp_path / "v3-training-data.parquet"
    data.iloc[:250].to_parquet(frame, index=False)
    done = cli("data", "profile", "--reference", str(frame), "--out", missing, "--model", MODEL, "--model-version", "3")
    assert done.exit_code == 0, done.output
    assert follow().exit_code == 0
    for bucket, key in REFERENCES:
        assert profile_meta(body(s3, bucket, key), key)["model"]["version"] == "3"


@pytest.mark.parametrize(("label", "words"), [
    (("1",), f"is the training profile of {MODEL} version 1, not of the champion {MODEL} version 3"),
    ((), "records no model version (written without --model-version)"),
])
def test_a_profile_of_another_version_is_never_copied(s3: Any, registry: str, deploy_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, label: tuple[str, ...],
                                                      words: str) -> None:
    """Version 3's evidence key holds a profile recorded for version 1 (copied there by hand), or for no version."""
    data = training_data()
    checkout = checkout_with(tmp_path, "v1", data)
    monkeypatch.chdir(checkout)
    wrong = f"s3://{MODELS}/{training_profile_key(MODEL, '3')}"
    labelled = ["--model", MODEL, "--model-version", label[0]] if label else []
    done = cli("data", "profile", "--reference", SPEC.training_data_path, "--out", wrong, *labelled)
    assert done.exit_code == 0, done.output
    monkeypatch.chdir(deploy_dir)
    make_champion(registry, "3")

    result = follow()
    assert result.exit_code == 3, result.output
    assert words in " ".join(result.output.split())
    assert "every reference profile stays as it is" in result.output
    for bucket, key in REFERENCES:
        assert versions_of(s3, bucket, key) == []


def test_an_unreadable_models_bucket_is_inconclusive_with_its_report_and_writes_nothing(
        s3: Any, registry: str, deploy_dir: Path) -> None:
    """The pipeline stack's models bucket is gone: the profile cannot be read, the report says why, nothing moves."""
    make_champion(registry, "1")
    s3.delete_bucket(Bucket=MODELS)

    result = follow()
    assert result.exit_code == 3, result.output
    written = report(deploy_dir)
    (check,) = [c for c in written["checks"] if c["name"] == "profile"]
    assert (written["verdict"], check["verdict"]) == ("INCONCLUSIVE", "INCONCLUSIVE")
    assert f"could not read s3://{MODELS}/{training_profile_key(MODEL, '1')}" in check["reason"]
    assert "NoSuchBucket" in check["reason"]
    for bucket, key in REFERENCES:
        assert versions_of(s3, bucket, key) == []


def test_an_unreachable_registry_is_inconclusive_with_its_report(s3: Any, deploy_dir: Path) -> None:
    outputs = json.loads((deploy_dir / PIPELINE_OUTPUTS).read_text())
    (deploy_dir / PIPELINE_OUTPUTS).write_text(json.dumps(outputs | {"trackingUri": "http://127.0.0.1:9"}))

    result = follow()
    assert result.exit_code == 3, result.output
    written = report(deploy_dir)
    assert written["verdict"] == "INCONCLUSIVE"
    assert "the reference profiles were not changed" in written["checks"][0]["reason"]
    for bucket, key in REFERENCES:
        assert versions_of(s3, bucket, key) == []


def test_no_champion_is_inconclusive_and_writes_nothing(s3: Any, deploy_dir: Path) -> None:
    result = follow()
    assert result.exit_code == 3, result.output
    assert f"{MODEL} has no champion" in result.output
    for bucket, key in REFERENCES:
        assert versions_of(s3, bucket, key) == []


@pytest.mark.parametrize(("target", "words"), [
    ("production", "expected STACK=OUTPUTS"),
    (f"production={PIPELINE_OUTPUTS}x", "no such file"),
])
def test_a_bad_target_is_a_usage_error(s3: Any, deploy_dir: Path, target: str, words: str) -> None:
    result = cli("champion", "reference", "--stack", "production", "--stack-outputs", PIPELINE_OUTPUTS,
                 "--target", target)
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_outputs_without_a_data_bucket_are_a_usage_error(s3: Any, deploy_dir: Path) -> None:
    (deploy_dir / "empty.json").write_text("{}")
    result = cli("champion", "reference", "--stack", "production", "--stack-outputs", PIPELINE_OUTPUTS,
                 "--target", "production=empty.json")
    assert result.exit_code == 2, result.output
    assert "empty.json has no output dataBucket" in " ".join(result.output.split())


@pytest.mark.parametrize(("args", "words"), [
    (["--model-version", "v3"], "expected a registered model version number"),
    (["--model", MODEL], "--model names the model of --model-version"),
    (["--model-version", "3"], "--model-version needs the registered model"),
])
def test_profile_labels_are_checked(tmp_path: Path, args: list[str], words: str) -> None:
    result = cli("data", "profile", "--reference", str(ROOT / SPEC.training_data_path), "--out",
                 str(tmp_path / "p.npz"), *args)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not (tmp_path / "p.npz").exists()
