"""`mlcicd init`: a new project that validates and rehearses as generated, and that a team can make its own.

The slow test does what a team does on day one: generate a project, replace the example with another model
family and task (a gradient-boosted regression on scikit-learn's diabetes data, other column names, no sensitive
column), adapt the thresholds, and rehearse: PASS; then with its labels shuffled: stopped by the model gate, naming
the metric.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runtime.scaffold import SYNCED_DIRS, SYNCED_WORKFLOWS, TEMPLATE, target_path
from tests.harness import ROOT

MLCICD = str(Path(sys.executable).parent / "mlcicd")


def mlcicd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MLCICD, *args], capture_output=True, text=True, timeout=900, cwd=cwd)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("team") / "diabetes-model"
    done = mlcicd("init", str(directory), "--model-name", "diabetes-progression", "--repository", "acme/diabetes")
    assert done.returncode == 0, done.stderr
    return directory


def test_init_writes_a_project_that_validates(project: Path) -> None:
    expected = {"Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml", "pyproject.toml", "README.md",
                ".gitignore", "infra/__main__.py", "training/train.py", "training/tests/test_model.py",
                "data/train.parquet", "data/evaluation.parquet", ".github/workflows/ci.yml",
                ".github/workflows/deploy.yml", ".github/workflows/preview.yml"}
    written = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert expected <= written
    for stack in ("staging", "production"):
        done = mlcicd("config", "validate", "--stack", stack, "--project-dir", str(project))
        assert done.returncode == 0, done.stderr
    staging = yaml.safe_load((project / "Pulumi.staging.yaml").read_text())["config"]
    assert staging["ml-cicd:model"]["name"] == "diabetes-progression"
    assert staging["ml-cicd:pipeline"]["repository"] == "acme/diabetes"
    # Staging's MLflow is reached by the name its certificate covers (never the load balancer's own): a placeholder
    # marked CHANGE, with the output its DNS record points at; production's placeholder URI is that name.
    hostname = staging["ml-cicd:tracking"]["selfHosted"]["hostname"]
    assert hostname == "staging-mlflow.invalid"
    staging_text = (project / "Pulumi.staging.yaml").read_text()
    assert "# CHANGE: the name that certificate covers" in staging_text
    assert "trackingLoadBalancerDnsName --stack staging" in staging_text
    # Production runs no MLflow: it names staging's, a placeholder marked like the other cross-stack values.
    production = (project / "Pulumi.production.yaml").read_text()
    assert yaml.safe_load(production)["config"]["ml-cicd:tracking"] == {
        "mode": "external", "external": {"uri": f"https://{hostname}"}}
    assert "CHANGE once staging is up: `pulumi stack output trackingUri --stack staging`" in production
    assert "selfHosted" not in production
    assert "ml-cicd[local]==" in (project / "pyproject.toml").read_text()
    assert (project / "infra" / "__main__.py").read_text().count("from infra.program import run") == 1


def test_the_generated_workflows_are_valid(project: Path) -> None:
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 4
    check = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(check), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("backend", "tracking"), [("eks", "sagemaker"), ("ecs", "sagemaker"), ("eks", "self-hosted")])
def test_every_backend_and_tracking_mode_validates(tmp_path: Path, backend: str, tracking: str) -> None:
    done = mlcicd("init", str(tmp_path / "p"), "--model-name", "m", "--backend", backend, "--tracking", tracking,
                  "--region", "us-east-1")
    assert done.returncode == 0, done.stderr
    for stack in ("staging", "production"):
        assert mlcicd("config", "validate", "--stack", stack, "--project-dir", str(tmp_path / "p")).returncode == 0


def test_init_refuses_to_overwrite_and_lists_the_files(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: mine\n")
    done = mlcicd("init", str(tmp_path), "--model-name", "m")
    assert done.returncode == 2
    assert "Pulumi.yaml" in done.stderr
    assert "--force" in done.stderr
    assert (tmp_path / "Pulumi.yaml").read_text() == "name: mine\n"
    assert not (tmp_path / "Pulumi.staging.yaml").exists()
    assert mlcicd("init", str(tmp_path), "--model-name", "m", "--force").returncode == 0


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    for args, word in ((["--backend", "k8s"], "--backend"), (["--repository", "nope"], "--repository"),
                       (["--tracking", "x"], "--tracking")):
        done = mlcicd("init", str(tmp_path / "p"), "--model-name", "m", *args)
        assert done.returncode == 2
        assert word in done.stderr


def test_the_template_carries_this_repositorys_example_and_workflows() -> None:
    """The example project and the shared workflows are copies; `python -m runtime.scaffold` refreshes them."""
    stale = []
    for directory in SYNCED_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            copy = TEMPLATE / (rel if rel.endswith(".parquet") else rel + ".tmpl")
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                stale.append(rel)
    for workflow in SYNCED_WORKFLOWS:
        if (TEMPLATE / "github" / "workflows" / f"{workflow}.tmpl").read_bytes() != (
                ROOT / ".github" / "workflows" / workflow).read_bytes():
            stale.append(workflow)
    assert stale == [], "template out of date: run `python -m runtime.scaffold`"
    assert target_path("github/workflows/ci.yml.tmpl") == ".github/workflows/ci.yml"


# A team's own model: regression, other columns, no sensitive column ---------------------------------------------
TRAIN = '''"""Gradient-boosted regression of diabetes progression, registered under the training contract."""

import os

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def main() -> None:
    target = os.environ["MLCICD_TARGET_COLUMN"]
    train = pd.read_parquet(os.environ["MLCICD_TRAINING_DATA"])
    evaluation = pd.read_parquet(os.environ["MLCICD_EVALUATION_DATA"])
    x, y = train.drop(columns=[target]), train[target]
    x_eval, y_eval = evaluation.drop(columns=[target]), evaluation[target]
    model = GradientBoostingRegressor(n_estimators=120, learning_rate=0.05, max_depth=2, random_state=0).fit(x, y)
    predicted = model.predict(x_eval)
    with mlflow.start_run():
        mlflow.log_metrics({"r2": r2_score(y_eval, predicted), "rmse": root_mean_squared_error(y_eval, predicted),
                            "mae": mean_absolute_error(y_eval, predicted)})
        mlflow.sklearn.log_model(model, name="model", signature=infer_signature(x_eval, predicted),
                                 input_example=x_eval.head(5), pip_requirements=["scikit-learn", "pandas"],
                                 registered_model_name=os.environ["MLCICD_MODEL_NAME"],
                                 serialization_format="cloudpickle")


if __name__ == "__main__":
    main()
'''
UNIT_TEST = '''from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "data"


def test_the_data_has_the_label_and_ten_features() -> None:
    frame = pd.read_parquet(DATA / "train.parquet")
    assert "progression" in frame.columns
    assert len(frame.columns) == 11
'''
COLUMNS = {"age": "age_years", "sex": "sex_code", "bmi": "body_mass_index", "bp": "blood_pressure",
           "s1": "serum_tc", "s2": "serum_ldl", "s3": "serum_hdl", "s4": "serum_tch", "s5": "serum_ltg",
           "s6": "serum_glucose", "target": "progression"}


def make_it_a_regression(project: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns=COLUMNS)  # type: ignore[attr-defined]
    frame = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    cut = int(len(frame) * 0.6)
    frame.iloc[:cut].to_parquet(project / "data" / "train.parquet", index=False)
    frame.iloc[cut:].to_parquet(project / "data" / "evaluation.parquet", index=False)
    for name in ("model.py", "prepare_data.py"):
        (project / "training" / name).unlink()
    (project / "training" / "train.py").write_text(TRAIN)
    (project / "training" / "tests" / "test_model.py").write_text(UNIT_TEST)
    for stack in ("staging", "production"):
        path = project / f"Pulumi.{stack}.yaml"
        doc = yaml.safe_load(path.read_text())
        config = doc["config"]
        gates = config["ml-cicd:gates"]
        gates.pop("fairness")
        gates["task"] = "regression"
        gates["metrics"] = {"r2": {"min": 0.3, "maxRegression": 0.05},
                            "rmse": {"max": 65, "maxRegression": 5, "higherIsBetter": False}}
        gates["evaluation"]["targetColumn"] = "progression"
        gates["latency"]["p95Ms"] = 250  # this team's bound for one prediction
        config["ml-cicd:data"]["quality"]["minRows"] = 250
        # The judge compares what a regression publishes: errors and latency (no class histogram, no accuracy).
        judge = config["ml-cicd:serving"]["canary"]["judge"]
        judge["weights"] = {**judge.get("weights", {}), "predictions": 0, "quality": 0}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.slow
def test_a_teams_own_regression_is_rehearsed_and_its_shuffled_labels_are_stopped(project: Path,
                                                                                 tmp_path: Path) -> None:
    make_it_a_regression(project)
    work = tmp_path / "work"
    done = mlcicd("local", "run", "--project-dir", str(project), "--workdir", str(work))
    summary = json.loads((work / "summary.json").read_text())
    assert done.returncode == 0, done.stderr[-4000:]
    assert summary["verdict"] == "PASS"
    gate = json.loads((work / "reports" / "model-gate.json").read_text())
    assert {c["name"] for c in gate["checks"]} >= {"metric:r2", "metric:rmse"}

    done = mlcicd("local", "run", "--project-dir", str(project), "--workdir", str(work), "--scenario", "degraded")
    summary = json.loads((work / "summary.json").read_text())
    assert done.returncode == 1, done.stderr[-4000:]
    assert summary["stopped_at"] == "ModelGate"
    assert "r2" in summary["reason"], summary["reason"]
