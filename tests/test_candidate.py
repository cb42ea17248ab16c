"""Which version a training run registered, read back from a real MLflow registry (sqlite store)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runtime.candidate import CandidateError, candidate_version, versions_since
from runtime.cli.main import app


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """One sqlite registry for the module (creating its schema takes seconds)."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


@pytest.fixture
def registry(store: tuple[Any, str], request: pytest.FixtureRequest) -> tuple[Any, str, str]:
    """The store with two fresh registered models: `<test>-churn` (returned) and `<test>-other`."""
    client, uri = store
    name = request.node.name.replace("_", "-")[:40]
    client.create_registered_model(f"{name}-churn")
    client.create_registered_model(f"{name}-other")
    return client, uri, f"{name}-churn"


def register(client: Any, model: str, tmp_path: Path) -> str:
    source = tmp_path / f"model-{time.monotonic_ns()}"
    source.mkdir()
    return str(client.create_model_version(model, source=source.as_uri()).version)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_the_version_registered_since_training_started(registry: tuple[Any, str, str], tmp_path: Path) -> None:
    client, _, model = registry
    register(client, model, tmp_path)
    time.sleep(0.01)
    started = now_ms()
    version = register(client, model, tmp_path)
    register(client, model.replace("-churn", "-other"), tmp_path)
    assert candidate_version(client, model, started).version == version == "2"


def test_training_that_registered_nothing_is_an_error(registry: tuple[Any, str, str], tmp_path: Path) -> None:
    client, _, model = registry
    register(client, model, tmp_path)
    time.sleep(0.01)
    with pytest.raises(CandidateError, match=f"no version of registered model '{model}' was created since"):
        candidate_version(client, model, now_ms())


def test_two_registrations_are_ambiguous_never_a_guess(registry: tuple[Any, str, str], tmp_path: Path) -> None:
    client, _, model = registry
    started = now_ms()
    register(client, model, tmp_path)
    register(client, model, tmp_path)
    assert [c.version for c in versions_since(client, model, started)] == ["2", "1"]
    with pytest.raises(CandidateError, match=f"2 versions of '{model}' were created"):
        candidate_version(client, model, started)


def log_version(uri: str, model: str, tmp_path: Path, *, metrics: bool = True, signature: bool = True,
                example: bool = True) -> None:
    """What a training command does: fit, log metrics, log and register the model."""
    import mlflow
    import numpy as np
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    x = np.arange(20, dtype=float).reshape(10, 2)
    y = x.sum(axis=1)
    fitted = LinearRegression().fit(x, y)
    from runtime.tracking import global_tracking_uri

    # The process-wide tracking URI (and MLFLOW_TRACKING_URI, which MLflow sets with it) restored afterwards: later
    # tests' commands read that variable first.
    with global_tracking_uri(uri):
        experiment = f"contract-{time.monotonic_ns()}"
        mlflow.MlflowClient(uri, uri).create_experiment(experiment, artifact_location=(tmp_path / "art").as_uri())
        mlflow.set_experiment(experiment)
        with mlflow.start_run():
            if metrics:
                mlflow.log_metric("r2", 1.0)
            extra: dict[str, Any] = {}
            if signature:
                extra["signature"] = infer_signature(x, y)
            if example:
                extra["input_example"] = x[:2]
            mlflow.sklearn.log_model(fitted, name="model", registered_model_name=model,
                                     pip_requirements=["scikit-learn"], **extra)


def test_cli_prints_only_the_version_on_stdout(registry: tuple[Any, str, str], tmp_path: Path) -> None:
    _, uri, model = registry
    started = now_ms()
    log_version(uri, model, tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["pipeline", "candidate-version", "--model", model, "--since-ms", str(started),
                                 "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1\n"
    none = runner.invoke(app, ["pipeline", "candidate-version", "--model", model, "--since-ms",
                               str(now_ms() + 60_000), "--tracking-uri", uri])
    assert none.exit_code == 2
    assert "must register one" in none.output


@pytest.mark.parametrize(("broken", "named"), [
    ({"metrics": False}, "logged no metrics"),
    ({"signature": False, "example": False}, "has no signature"),  # MLflow infers a signature from an example
    ({"example": False}, "has no input example"),
])
def test_a_broken_training_contract_is_a_usage_error_naming_the_cause(store: tuple[Any, str], tmp_path: Path,
                                                                       broken: dict[str, bool], named: str) -> None:
    _, uri = store
    model = f"contract-{time.monotonic_ns()}"
    started = now_ms()
    log_version(uri, model, tmp_path, **broken)
    result = CliRunner().invoke(app, ["pipeline", "candidate-version", "--model", model, "--since-ms", str(started),
                                      "--tracking-uri", uri])
    assert result.exit_code == 2
    assert named in result.output
    assert "training contract" in result.output
    assert result.stdout == ""


def test_a_version_registered_without_a_run_breaks_the_contract(registry: tuple[Any, str, str],
                                                                tmp_path: Path) -> None:
    client, uri, model = registry
    started = now_ms()
    register(client, model, tmp_path)
    result = CliRunner().invoke(app, ["pipeline", "candidate-version", "--model", model, "--since-ms", str(started),
                                      "--tracking-uri", uri])
    assert result.exit_code == 2
    assert "registered without a run" in result.output
    assert "no MLmodel file" in result.output
