"""`mlcicd gate model` against real MLflow: a sqlite-backed registry (most tests) and an `mlflow server` over HTTP
(marked slow), with real scikit-learn models trained on datasets that ship with scikit-learn.

Models are trained and saved once per session; each test registers fresh versions under its own model name
(a run with the model's real evaluation metrics, the saved model as the run's artifact), so tests do not share
aliases or tags.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config import ConfigError, validate_config
from runtime.config.gates import ModelGateConfig
from runtime.errors import UsageError
from runtime.gates.model_gate import gate_model
from runtime.local.processes import ManagedProcess
from runtime.report import Check, Report, Verdict
from tests.harness import ROOT, stack_config, use_fake_aws
from tests.servers import closed_port
from tests.tracking_server import mlflow_server_process

TARGET = "target"
SENSITIVE = "group"
TREE = ["sklearn.tree._tree.Tree"]
#: Thresholds of the tests (the shape of the staging stack's `gates.metrics`).
METRICS = {
    "accuracy": {"min": 0.9, "maxRegression": 0.02},
    "f1_score": {"min": 0.9, "maxRegression": 0.02},
    "log_loss": {"max": 0.3, "maxRegression": 0.05, "higherIsBetter": False},
}
#: Bounds every zoo model passes, so only the comparison with the champion decides.
REGRESSION = {
    "accuracy": {"min": 0.8, "maxRegression": 0.01},
    "log_loss": {"max": 5.0, "maxRegression": 0.01, "higherIsBetter": False},
}
#: Loose enough that only the prediction checks decide, for models whose metrics are poor by construction.
LOOSE = {"accuracy": {"min": 0.5}}


# Models that misbehave on purpose (pyfunc wrappers around a real classifier) ----------------------------------
class SlowModel(mlflow.pyfunc.PythonModel):
    """A good classifier that takes `delay_s` per call: the latency check must catch it."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        time.sleep(self.delay_s)
        return self.inner.predict(model_input)


class NaNModel(mlflow.pyfunc.PythonModel):
    """A good classifier whose every `every`-th prediction is NaN (a broken post-processing step)."""

    def __init__(self, inner: Any, every: int) -> None:
        self.inner = inner
        self.every = every

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        out = self.inner.predict(model_input).astype(float)
        out[:: self.every] = np.nan
        return out


# Session fixtures: data, trained models, the sqlite registry ----------------------------------------------------
@dataclass(frozen=True)
class Zoo:
    saved: dict[str, Path]
    metrics: dict[str, dict[str, float]]
    evaluation: Path
    """Breast-cancer held-out rows + `group` (assigned at random) + `target`."""
    regression_evaluation: Path
    """Diabetes held-out rows + `target`."""


def _classifier_metrics(model: Any, inputs: pd.DataFrame, truth: pd.Series) -> dict[str, float]:
    predicted = model.predict(inputs)
    return {"accuracy": float(accuracy_score(truth, predicted)), "f1_score": float(f1_score(truth, predicted)),
            "log_loss": float(log_loss(truth, model.predict_proba(inputs), labels=[0, 1]))}


def _save_sklearn(model: Any, path: Path, inputs: pd.DataFrame, **kwargs: Any) -> Path:
    mlflow.sklearn.save_model(model, str(path), pip_requirements=["scikit-learn"],
                              signature=infer_signature(inputs, model.predict(inputs)), **kwargs)
    return path


def _save_pyfunc(model: Any, path: Path, inputs: pd.DataFrame, outputs: Any) -> Path:
    mlflow.pyfunc.save_model(str(path), python_model=model, pip_requirements=["scikit-learn"],
                             signature=infer_signature(inputs, outputs), input_example=inputs.iloc[:2])
    return path


def _split(features: Any, target: Any, test_size: float,
           stratify: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    parts = train_test_split(features, target, test_size=test_size, random_state=0,
                             stratify=target if stratify else None)
    return (cast(pd.DataFrame, parts[0]), cast(pd.DataFrame, parts[1]), cast(pd.Series, parts[2]),
            cast(pd.Series, parts[3]))


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Zoo:
    root = tmp_path_factory.mktemp("zoo")
    features, labels = load_breast_cancer(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = _split(features, labels, 0.4, stratify=True)
    rng = np.random.default_rng(0)
    groups_train = rng.integers(0, 2, len(x_train))
    groups_test = rng.integers(0, 2, len(x_test))
    evaluation = root / "evaluation.parquet"
    x_test.assign(**{SENSITIVE: groups_test, TARGET: y_test.to_numpy()}).to_parquet(evaluation)

    def pipeline() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    good = pipeline().fit(x_train, y_train)
    weak = pipeline().fit(x_train, rng.permutation(y_train.to_numpy()))  # labels shuffled: learns nothing
    stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(x_train, y_train)
    collapsed = DummyClassifier(strategy="most_frequent").fit(x_train, y_train)
    # Unfair by construction: trained on data where group 1 never gets the positive label, with the group as a
    # feature (in the signature, so the gate passes the sensitive column to it; a float there, as MLflow advises
    # for integer inputs; the evaluation file's integers are converted on input).
    x_train_g = x_train.assign(**{SENSITIVE: groups_train.astype(float)})
    x_test_g = x_test.assign(**{SENSITIVE: groups_test.astype(float)})
    unfair = pipeline().fit(x_train_g, np.where(groups_train == 1, 0, y_train.to_numpy()))
    saved = {
        "good": _save_sklearn(good, root / "good", x_test),
        "weak": _save_sklearn(weak, root / "weak", x_test),
        "stump": _save_sklearn(stump, root / "stump", x_test, skops_trusted_types=TREE),
        "collapsed": _save_sklearn(collapsed, root / "collapsed", x_test),
        "unfair": _save_sklearn(unfair, root / "unfair", x_test_g),
        "slow": _save_pyfunc(SlowModel(good, 0.03), root / "slow", x_test, good.predict(x_test)),
        "nan": _save_pyfunc(NaNModel(good, 10), root / "nan", x_test, good.predict(x_test).astype(float)),
    }
    metrics = {
        "good": _classifier_metrics(good, x_test, y_test),
        "weak": _classifier_metrics(weak, x_test, y_test),
        "stump": _classifier_metrics(stump, x_test, y_test),
        "collapsed": _classifier_metrics(collapsed, x_test, y_test),
        "unfair": _classifier_metrics(unfair, x_test_g, y_test),
    }
    metrics["slow"] = metrics["nan"] = metrics["good"]  # what the training code reported; serving differs

    d_features, d_target = load_diabetes(return_X_y=True, as_frame=True)
    d_train, d_test, t_train, t_test = _split(d_features, d_target, 0.3, stratify=False)
    regressor = LinearRegression().fit(d_train, t_train)
    regression_evaluation = root / "diabetes.csv"
    d_test.assign(**{TARGET: t_test.to_numpy()}).to_csv(regression_evaluation, index=False)
    saved["regressor"] = _save_sklearn(regressor, root / "regressor", d_test)
    predicted = regressor.predict(d_test)
    metrics["regressor"] = {"rmse": float(math.sqrt(mean_squared_error(t_test, predicted))),
                            "r2": float(r2_score(t_test, predicted))}
    return Zoo(saved, metrics, evaluation, regression_evaluation)


@dataclass(frozen=True)
class Store:
    uri: str
    experiment_id: str


def _new_store(uri: str, artifact_location: str | None) -> Store:
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return Store(uri, client.create_experiment("model-gate-tests", artifact_location=artifact_location))


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("mlflow")
    return _new_store(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri())


_names = itertools.count(1)


@dataclass
class Registered:
    """One registered model of one test: register versions of zoo models, read aliases and tags back."""

    store: Store
    zoo: Zoo
    name: str
    client: MlflowClient = field(init=False)
    created: bool = False

    def __post_init__(self) -> None:
        self.client = MlflowClient(tracking_uri=self.store.uri, registry_uri=self.store.uri)

    def add(self, kind: str, **metrics: float | None) -> str:
        """Register a version of zoo model `kind`; its run logs the model's real metrics, with `metrics`
        overriding (None: not logged)."""
        logged = {**self.zoo.metrics[kind], **metrics}
        run = self.client.create_run(self.store.experiment_id)
        run_id = run.info.run_id
        for key, value in logged.items():
            if value is not None:
                self.client.log_metric(run_id, key, value)
        self.client.log_artifacts(run_id, str(self.zoo.saved[kind]), "model")
        self.client.set_terminated(run_id)
        if not self.created:
            self.client.create_registered_model(self.name)
            self.created = True
        return str(self.client.create_model_version(self.name, f"{run.info.artifact_uri}/model", run_id).version)

    def alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.name, alias, version)

    def add_champion(self, kind: str, **metrics: float | None) -> str:
        """Register a version of zoo model `kind` (as `add`) and point the champion alias at it."""
        version = self.add(kind, **metrics)
        self.alias("champion", version)
        return version

    def aliases(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.client.get_registered_model(self.name).aliases.items()}

    def tags(self, version: str) -> dict[str, str]:
        return dict(self.client.get_model_version(self.name, version).tags)

    def recorded(self, version: str) -> tuple[dict[str, str], str]:
        """The registry's aliases and the gate verdict tagged on `version`: what a gate run leaves behind."""
        return self.aliases(), self.tags(version)["mlcicd.gate.verdict"]


def _model_name(request: pytest.FixtureRequest) -> str:
    return f"m{next(_names)}-{re.sub(r'[^A-Za-z0-9_-]', '-', request.node.name)[:50]}"


@pytest.fixture
def models(sqlite_store: Store, zoo: Zoo, request: pytest.FixtureRequest) -> Registered:
    return Registered(sqlite_store, zoo, _model_name(request))


def config(metrics: dict[str, Any] | None = None, **sections: Any) -> ModelGateConfig:
    return ModelGateConfig.model_validate({"metrics": METRICS if metrics is None else metrics, **sections})


def evaluation(zoo: Zoo) -> dict[str, str]:
    return {"path": str(zoo.evaluation), "targetColumn": TARGET}


def run_gate(models: Registered, candidate: str, cfg: ModelGateConfig, out: Path | None = None,
             **kwargs: Any) -> Report:
    return gate_model(models.name, candidate, config=cfg, tracking_uri=models.store.uri, report_path=out, **kwargs)


def by_name(report: Report) -> dict[str, Check]:
    return {c.name: c for c in report.checks}


def decision(check: Check) -> dict[str, Any]:
    assert check.decision is not None, check.name
    return check.decision


def failing(report: Report) -> set[str]:
    return {c.name for c in report.checks if c.verdict is Verdict.FAIL}


# Metrics, champion, aliases and tags ----------------------------------------------------------------------------
def test_pass_without_champion_sets_candidate_alias_and_tags(models: Registered, tmp_path: Path) -> None:
    version = models.add("good")
    report = run_gate(models, version, config(), tmp_path / "gate.json")
    assert report.verdict is Verdict.PASS, report.summary_lines()
    checks = by_name(report)
    assert {"metric:accuracy", "metric:f1_score", "metric:log_loss", "champion-comparison"} <= set(checks)
    assert checks["champion-comparison"].reason.startswith("no champion: absolute thresholds only")
    assert models.aliases() == {"candidate": version}
    tags = models.tags(version)
    assert tags["mlcicd.gate.verdict"] == "PASS"
    assert tags["mlcicd.gate.report"] == str((tmp_path / "gate.json").resolve())
    assert report.subject == {"model": models.name, "version": version, "champion": None}


def test_metric_bounds_fail_names_metric_value_and_threshold_and_leave_aliases(models: Registered) -> None:
    champion = models.add_champion("good")
    models.alias("candidate", champion)
    weak = models.add("weak")
    report = run_gate(models, weak, config())
    assert report.verdict is Verdict.FAIL
    checks = by_name(report)
    accuracy = models.zoo.metrics["weak"]["accuracy"]
    assert checks["metric:accuracy"].verdict is Verdict.FAIL
    assert checks["metric:accuracy"].observed == pytest.approx(accuracy)
    assert checks["metric:accuracy"].reason == f"accuracy = {accuracy:.4g} is below the minimum 0.9"
    assert checks["metric:log_loss"].verdict is Verdict.FAIL
    assert "is above the maximum 0.3" in checks["metric:log_loss"].reason
    assert checks["metric:log_loss"].threshold == "<= 0.3"
    assert models.recorded(weak) == ({"champion": champion, "candidate": champion}, "FAIL")


def test_regression_vs_champion_fails_beyond_allowed_worsening(models: Registered) -> None:
    champion = models.add_champion("good")
    worse = models.add("stump")
    cfg = config(REGRESSION)
    report = run_gate(models, worse, cfg)
    checks = by_name(report)
    assert report.verdict is Verdict.FAIL
    assert failing(report) == {"regression:accuracy", "regression:log_loss"}
    good, stump = models.zoo.metrics["good"], models.zoo.metrics["stump"]
    assert checks["regression:accuracy"].observed == pytest.approx(good["accuracy"] - stump["accuracy"])
    assert f"vs {good['accuracy']:.4g} for the champion version {champion} (@champion)" in \
        checks["regression:accuracy"].reason
    assert "> allowed 0.01 (higher is better)" in checks["regression:accuracy"].reason
    assert checks["regression:log_loss"].observed == pytest.approx(stump["log_loss"] - good["log_loss"])
    assert "(lower is better)" in checks["regression:log_loss"].reason
    assert checks["champion-comparison"].verdict is Verdict.PASS
    assert report.subject["champion"] == champion
    assert models.aliases() == {"champion": champion}


def test_regression_vs_champion_passes_when_better(models: Registered) -> None:
    champion = models.add_champion("stump")
    better = models.add("good")
    cfg = config(REGRESSION)
    report = run_gate(models, better, cfg)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    checks = by_name(report)
    assert checks["regression:accuracy"].observed < 0
    assert "no worse" in checks["regression:log_loss"].reason
    assert models.aliases() == {"champion": champion, "candidate": better}


def test_metrics_computed_on_the_evaluation_rows_decide_on_confidence_bounds(models: Registered) -> None:
    """With `evaluation` set, accuracy is recomputed on the rows (exact bounds) and the regression vs the champion
    is paired on the same rows; log_loss (not computable from labels) stays a logged point estimate."""
    champion = models.add("good")
    models.alias("champion", champion)
    worse = models.add("stump")
    cfg = config({"accuracy": {"min": 0.5, "maxRegression": 0.0},
                  "log_loss": {"max": 5.0}}, evaluation=evaluation(models.zoo))
    report = run_gate(models, worse, cfg)
    checks = by_name(report)
    assert decision(checks["metric:accuracy"])["method"] == "exact Clopper-Pearson bounds"
    assert checks["metric:accuracy"].verdict is Verdict.PASS
    regression = checks["regression:accuracy"]
    assert decision(regression)["method"].startswith("exact paired bounds")
    assert decision(regression)["alpha"] == pytest.approx(0.01 / 2)  # split over the two row-computed checks
    assert regression.observed == pytest.approx(models.zoo.metrics["good"]["accuracy"]
                                                 - models.zoo.metrics["stump"]["accuracy"], abs=1e-9)
    assert regression.verdict is Verdict.FAIL, regression.reason
    assert decision(checks["metric:log_loss"])["alpha"] is None  # logged: error rate not controlled
    same = run_gate(models, champion, cfg)
    assert by_name(same)["regression:accuracy"].verdict is Verdict.PASS  # identical predictions: no worse


def test_explicit_champion_and_candidate_alias(models: Registered) -> None:
    first = models.add("stump")
    candidate = models.add("good")
    models.alias("challenger", candidate)
    cfg = config({"accuracy": {"min": 0.8, "maxRegression": 0.0}})
    report = gate_model(models.name, "@challenger", first, config=cfg, tracking_uri=models.store.uri)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    assert report.subject["version"] == candidate
    assert report.subject["champion"] == first
    assert "candidate version 2 (@challenger)" in report.details["candidate"]["metrics_from"]
    assert models.aliases() == {"challenger": candidate, "candidate": candidate}


def test_no_champion_not_allowed_is_inconclusive(models: Registered) -> None:
    version = models.add("good")
    report = run_gate(models, version, config(allowNoChampion=False))
    assert report.verdict is Verdict.INCONCLUSIVE
    check = by_name(report)["champion-comparison"]
    assert check.verdict is Verdict.INCONCLUSIVE
    assert "alias @champion is not set" in check.reason
    assert "gates.allowNoChampion is false" in check.reason
    assert models.recorded(version) == ({}, "INCONCLUSIVE")


def test_no_champion_and_no_absolute_bound_is_inconclusive(models: Registered) -> None:
    version = models.add("good")
    report = run_gate(models, version, config({"accuracy": {"maxRegression": 0.01}}))
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "no metric has an absolute bound" in by_name(report)["champion-comparison"].reason


def test_no_thresholds_configured_is_inconclusive(models: Registered) -> None:
    version = models.add("good")
    report = gate_model(models.name, version, tracking_uri=models.store.uri)  # built-in defaults: no metrics
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "gates.metrics is empty" in by_name(report)["metrics"].reason
    assert models.aliases() == {}


def test_missing_metric_is_inconclusive_naming_it(models: Registered) -> None:
    version = models.add("good", f1_score=None)
    report = run_gate(models, version, config())
    check = by_name(report)["metric:f1_score"]
    assert report.verdict is Verdict.INCONCLUSIVE
    assert check.verdict is Verdict.INCONCLUSIVE
    assert check.reason.startswith("metric f1_score is not logged in run ")
    assert f"of candidate version {version}; threshold >= 0.9" in check.reason
    assert models.aliases() == {}


def test_nan_metric_is_inconclusive_never_pass(models: Registered) -> None:
    version = models.add("good", accuracy=math.nan)
    report = run_gate(models, version, config())
    check = by_name(report)["metric:accuracy"]
    assert check.verdict is Verdict.INCONCLUSIVE
    assert "metric accuracy is nan in run" in check.reason
    assert ">= 0.9" in check.reason
    assert json.loads(report.to_json())["verdict"] == "INCONCLUSIVE"


def test_nan_metric_of_champion_makes_regression_inconclusive(models: Registered) -> None:
    champion = models.add_champion("good", log_loss=math.nan)
    version = models.add("good")
    report = run_gate(models, version, config())
    check = by_name(report)["regression:log_loss"]
    assert check.verdict is Verdict.INCONCLUSIVE
    assert f"metric log_loss is nan for the champion version {champion} (@champion)" in check.reason


# Prediction checks ----------------------------------------------------------------------------------------------
def test_prediction_sanity_passes_for_a_good_classifier(models: Registered) -> None:
    version = models.add("good")
    cfg = config(evaluation=evaluation(models.zoo), predictions={"maxClassShare": 0.9, "minClassShare": 0.2})
    report = run_gate(models, version, cfg)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    checks = by_name(report)
    assert checks["predictions:finite"].reason == f"all {report.details['evaluation']['rows']} predictions are finite"
    assert checks["predictions:class-share"].verdict is Verdict.PASS
    assert set(report.details["class_shares"]) == {"0", "1"}


def test_nan_predictions_fail(models: Registered) -> None:
    version = models.add("nan")
    report = run_gate(models, version, config(LOOSE, evaluation=evaluation(models.zoo)))
    rows = report.details["evaluation"]["rows"]
    assert failing(report) == {"predictions:finite"}
    check = by_name(report)["predictions:finite"]
    assert check.observed == math.ceil(rows / 10)
    assert check.reason == f"{math.ceil(rows / 10)} of {rows} predictions are NaN, inf or null"
    assert models.aliases() == {}


def test_collapsed_classifier_fails_class_share(models: Registered) -> None:
    version = models.add("collapsed")
    report = run_gate(models, version, config(LOOSE, evaluation=evaluation(models.zoo)))
    check = by_name(report)["predictions:class-share"]
    assert failing(report) == {"predictions:class-share"}
    assert check.observed == 1.0
    assert check.reason == ("class 1 is predicted for 100.0% of rows > maxClassShare 98.0% (a collapsed "
                            "classifier)")


def test_min_class_share_fails_for_a_class_never_predicted(models: Registered) -> None:
    version = models.add("collapsed")
    cfg = config(LOOSE, evaluation=evaluation(models.zoo), predictions={"maxClassShare": None, "minClassShare": 0.1})
    check = by_name(run_gate(models, version, cfg))["predictions:class-share"]
    assert check.verdict is Verdict.FAIL
    assert check.reason == "class 0 is predicted for 0.0% of rows < minClassShare 10.0%"


def _regression_config(zoo: Zoo, low: float, high: float) -> ModelGateConfig:
    return config({"r2": {"min": 0.2}, "rmse": {"max": 80.0, "higherIsBetter": False}}, task="regression",
                  evaluation={"path": str(zoo.regression_evaluation), "targetColumn": TARGET},
                  predictions={"scoreMin": low, "scoreMax": high})


def test_regression_outputs_within_score_bounds_pass(models: Registered) -> None:
    version = models.add("regressor")
    report = run_gate(models, version, _regression_config(models.zoo, 0.0, 400.0))
    assert report.verdict is Verdict.PASS, report.summary_lines()
    checks = by_name(report)
    assert "predictions:class-share" not in checks
    low, high = checks["predictions:score-range"].observed
    assert 0 < low < high < 400


def test_regression_outputs_beyond_score_max_fail(models: Registered) -> None:
    version = models.add("regressor")
    report = run_gate(models, version, _regression_config(models.zoo, 0.0, 150.0))
    check = by_name(report)["predictions:score-range"]
    assert failing(report) == {"predictions:score-range"}
    assert check.reason.startswith("highest prediction ")
    assert check.reason.endswith("> scoreMax 150")
    assert check.observed[1] > 150


def _fairness(**overrides: Any) -> dict[str, Any]:
    return {"sensitiveColumn": SENSITIVE, "demographicParityRatioMin": 0.8, "equalizedOddsDifferenceMax": 0.15,
            "metricRatioMin": 0.9, **overrides}


def test_fairness_passes_when_groups_are_treated_alike(models: Registered) -> None:
    version = models.add("good")
    report = run_gate(models, version, config(LOOSE, evaluation=evaluation(models.zoo), fairness=_fairness()))
    assert report.verdict is Verdict.PASS, report.summary_lines()
    checks = by_name(report)
    assert checks["fairness:demographic-parity"].observed >= 0.8
    assert checks["fairness:equalized-odds"].observed <= 0.15
    assert checks["fairness:accuracy-ratio"].observed >= 0.9
    assert set(report.details["fairness"]["groups"]) == {"0", "1"}


def test_fairness_fails_for_a_model_unfair_by_construction(models: Registered) -> None:
    version = models.add("unfair")
    report = run_gate(models, version, config(LOOSE, evaluation=evaluation(models.zoo), fairness=_fairness()))
    assert failing(report) == {"fairness:demographic-parity", "fairness:equalized-odds", "fairness:accuracy-ratio"}
    checks = by_name(report)
    groups = report.details["fairness"]["groups"]
    ratio = groups["1"]["positive_rate"] / groups["0"]["positive_rate"]
    assert checks["fairness:demographic-parity"].observed == pytest.approx(ratio)
    assert f"ratio {ratio:.4g}, upper bound" in checks["fairness:demographic-parity"].reason
    assert checks["fairness:demographic-parity"].reason.endswith("even the upper bound is below 0.8")
    assert decision(checks["fairness:demographic-parity"])["method"] == "exact Clopper-Pearson bounds per group"
    assert "TPR gap" in checks["fairness:equalized-odds"].reason
    assert checks["fairness:equalized-odds"].observed == pytest.approx(groups["0"]["tpr"] - groups["1"]["tpr"])
    assert models.aliases() == {}


def test_fairness_with_groups_below_min_size_is_inconclusive(models: Registered) -> None:
    version = models.add("good")
    cfg = config(LOOSE, evaluation=evaluation(models.zoo), fairness=_fairness(minGroupSize=1000))
    report = run_gate(models, version, cfg)
    assert report.verdict is Verdict.INCONCLUSIVE
    check = by_name(report)["fairness:demographic-parity"]
    assert check.verdict is Verdict.INCONCLUSIVE
    assert "< minGroupSize 1000" in check.reason
    assert "'0' has" in check.reason


def test_latency_passes_for_a_fast_model(models: Registered) -> None:
    version = models.add("good")
    cfg = config(LOOSE, evaluation=evaluation(models.zoo), latency={"p95Ms": 250, "samples": 40, "warmup": 2})
    report = run_gate(models, version, cfg)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    assert report.details["latency"]["samples"] == 40
    assert by_name(report)["latency:p95"].observed < 250


def test_latency_fails_for_a_slow_model_and_stops_early(models: Registered) -> None:
    version = models.add("slow")
    cfg = config(LOOSE, evaluation=evaluation(models.zoo), latency={"p95Ms": 10, "samples": 200, "warmup": 1})
    started = time.perf_counter()
    report = run_gate(models, version, cfg)
    check = by_name(report)["latency:p95"]
    assert failing(report) == {"latency:p95"}
    assert check.observed >= 30
    assert "> 10 ms" in check.reason
    assert "stopped after" in check.reason
    assert report.details["latency"]["samples"] < 200
    assert time.perf_counter() - started < 15


# Bad input and unreachable services (through the CLI: exit codes and messages) ---------------------------------
runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, ["gate", "model", *args], catch_exceptions=False)


def test_gate_model_is_registered_in_mlcicd() -> None:
    result = runner.invoke(app, ["gate", "model", "--help"])
    assert result.exit_code == 0
    assert "--candidate" in result.output


def test_cli_without_stack_has_no_thresholds_and_is_inconclusive(models: Registered, tmp_path: Path) -> None:
    version = models.add("good")
    out = tmp_path / "gate.json"
    result = cli("--model", models.name, "--candidate", version, "--tracking-uri", models.store.uri,
                 "--report", str(out))
    # Built-in defaults have no metric thresholds: fail closed.
    assert result.exit_code == 3, result.stderr
    assert json.loads(out.read_text())["verdict"] == "INCONCLUSIVE"
    assert "gates.metrics is empty" in result.stderr


def _stack_project(tmp_path: Path, gates: dict[str, Any]) -> Path:
    """A project dir with Pulumi.yaml and Pulumi.gate.yaml: the real staging stack with these `gates`."""
    raw = stack_config("staging", {"gates": None, "pipeline": None})  # only the deploy stack hosts the pipeline
    raw["gates"] = gates
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    doc = {"config": {f"ml-cicd:{key}": value for key, value in raw.items()}}
    (tmp_path / "Pulumi.gate.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path


def test_cli_with_stack_reads_thresholds_and_relative_evaluation_path(models: Registered, tmp_path: Path) -> None:
    version = models.add("good")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "eval.parquet").write_bytes(models.zoo.evaluation.read_bytes())
    project = _stack_project(tmp_path, {"metrics": METRICS, "evaluation": {"path": "data/eval.parquet",
                                                                           "targetColumn": TARGET}})
    out = tmp_path / "out" / "gate.json"
    digest = "sha256:" + "ab" * 32
    result = cli("--model", models.name, "--candidate", version, "--tracking-uri", models.store.uri,
                 "--stack", "gate", "--project-dir", str(project), "--report", str(out), "--image-digest", digest)
    assert result.exit_code == 0, result.stderr
    written = json.loads(out.read_text())
    assert written["verdict"] == "PASS"
    assert written["subject"] == {"model": models.name, "version": version, "image_digest": digest,
                                  "champion": None}
    assert {"metric:accuracy", "predictions:finite"} <= {c["name"] for c in written["checks"]}
    assert models.tags(version)["mlcicd.gate.digest"] == digest
    assert models.aliases() == {"candidate": version}


@pytest.mark.parametrize(("candidate", "champion", "message"), [
    ("7", None, "--candidate 7: registered model '{name}' has no version 7"),
    ("@nope", None, "--candidate @nope: registered model '{name}' has no alias 'nope' (its aliases: @champion)"),
    ("1", "9", "--champion 9: registered model '{name}' has no version 9"),
    ("1", "@gone", "--champion @gone: registered model '{name}' has no alias 'gone'"),
    ("v1", None, "--candidate 'v1': expected a model version number (e.g. 3) or an alias (e.g. @champion)"),
])
def test_cli_missing_version_or_alias_is_a_usage_error(models: Registered, tmp_path: Path, candidate: str,
                                                       champion: str | None, message: str) -> None:
    version = models.add_champion("good")
    args = ["--model", models.name, "--candidate", candidate, "--tracking-uri", models.store.uri,
            "--report", str(tmp_path / "gate.json")]
    if champion is not None:
        args += ["--champion", champion]
    result = cli(*args)
    assert result.exit_code == 2
    assert message.format(name=models.name) in result.stderr
    assert not (tmp_path / "gate.json").exists()
    assert models.tags(version) == {}


def test_cli_unknown_model_is_a_usage_error(sqlite_store: Store, tmp_path: Path) -> None:
    result = cli("--model", "no-such-model", "--candidate", "1", "--tracking-uri", sqlite_store.uri,
                 "--report", str(tmp_path / "gate.json"))
    assert result.exit_code == 2
    assert "--model no-such-model: no registered model named 'no-such-model'" in result.stderr


def test_cli_missing_sqlite_database_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("--model", "m", "--candidate", "1", "--tracking-uri", f"sqlite:///{tmp_path / 'typo.db'}",
                 "--report", str(tmp_path / "gate.json"))
    assert result.exit_code == 2
    assert "no MLflow database at" in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_cli_without_tracking_uri_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = cli("--model", "m", "--candidate", "1", "--report", str(tmp_path / "gate.json"))
    assert result.exit_code == 2
    assert "pass --tracking-uri" in result.stderr


@pytest.mark.parametrize(("evaluation_cfg", "message"), [
    ({"path": "missing.parquet", "targetColumn": TARGET}, "gates.evaluation.path = missing.parquet: no such file"),
    ({"path": "eval.txt", "targetColumn": TARGET}, "unsupported file type '.txt'"),
    ({"path": "corrupt.parquet", "targetColumn": TARGET}, "cannot read it as parquet"),
    ({"path": "eval.parquet", "targetColumn": "churned"}, "gates.evaluation.targetColumn = churned: no such column"),
])
def test_cli_bad_evaluation_data_is_a_usage_error(models: Registered, tmp_path: Path, evaluation_cfg: dict[str, str],
                                                  message: str) -> None:
    version = models.add("good")
    (tmp_path / "eval.parquet").write_bytes(models.zoo.evaluation.read_bytes())
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    project = _stack_project(tmp_path, {"metrics": METRICS, "evaluation": evaluation_cfg})
    result = cli("--model", models.name, "--candidate", version, "--tracking-uri", models.store.uri,
                 "--stack", "gate", "--project-dir", str(project), "--report", str(tmp_path / "gate.json"))
    assert result.exit_code == 2
    assert message in result.stderr
    assert models.tags(version) == {}


def test_positive_label_absent_from_target_is_a_usage_error(models: Registered) -> None:
    version = models.add("good")
    cfg = config(LOOSE, evaluation=evaluation(models.zoo), fairness=_fairness(positiveLabel="yes"))
    with pytest.raises(UsageError, match=r"positiveLabel = 'yes' does not occur in target column 'target'"):
        run_gate(models, version, cfg)


def test_cli_nan_metric_exits_3_naming_the_metric(models: Registered, tmp_path: Path) -> None:
    version = models.add("good", accuracy=math.nan)
    project = _stack_project(tmp_path, {"metrics": METRICS})
    out = tmp_path / "gate.json"
    result = cli("--model", models.name, "--candidate", version, "--tracking-uri", models.store.uri,
                 "--stack", "gate", "--project-dir", str(project), "--report", str(out))
    assert result.exit_code == 3
    assert "metric accuracy is nan" in result.stderr
    check = next(c for c in json.loads(out.read_text())["checks"] if c["name"] == "metric:accuracy")
    assert check["verdict"] == "INCONCLUSIVE"
    assert check["observed"] is None  # NaN is not JSON


def test_cli_unreachable_tracking_server_is_inconclusive_quickly(tmp_path: Path) -> None:
    uri = f"http://user:secret@127.0.0.1:{closed_port()}"
    out = tmp_path / "gate.json"
    started = time.perf_counter()
    result = cli("--model", "m", "--candidate", "@candidate", "--tracking-uri", uri, "--report", str(out))
    elapsed = time.perf_counter() - started
    assert result.exit_code == 3, result.stderr
    assert elapsed < 15
    written = json.loads(out.read_text())
    assert [c["name"] for c in written["checks"]] == ["tracking"]
    reason = written["checks"][0]["reason"]
    assert reason.startswith("tracking server http://127.0.0.1:")
    assert reason.endswith("could not read registered model 'm': [Errno 111] Connection refused")
    assert "secret" not in out.read_text()


def test_tracking_server_that_never_answers_times_out(tmp_path: Path) -> None:
    """A port that accepts connections but never answers: bounded by the configured timeout and retries."""
    with socket.socket() as sink:
        sink.bind(("127.0.0.1", 0))
        sink.listen(16)
        uri = f"http://127.0.0.1:{sink.getsockname()[1]}"
        started = time.perf_counter()
        report = gate_model("m", "1", config=config(trackingTimeoutSeconds=1, trackingRetries=0), tracking_uri=uri)
        elapsed = time.perf_counter() - started
    assert report.verdict is Verdict.INCONCLUSIVE
    assert report.checks[0].reason.endswith("could not read registered model 'm': Read timed out. (read timeout=1)")
    assert elapsed < 10


# S3: evaluation data and the report in the artifacts bucket (moto server) --------------------------------------


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_fake_aws(monkeypatch, "us-east-1", moto_url)
    return boto3.client("s3")


def test_report_uploaded_to_bucket_and_tag_points_at_it(models: Registered, s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="models-bucket")
    s3.create_bucket(Bucket="data-bucket")
    s3.upload_file(str(models.zoo.evaluation), "data-bucket", "eval/holdout.parquet")
    version = models.add("good")
    out = tmp_path / "gate.json"
    project = _stack_project(tmp_path, {"metrics": METRICS, "evaluation": {
        "path": "s3://data-bucket/eval/holdout.parquet", "targetColumn": TARGET}})
    result = cli("--model", models.name, "--candidate", version, "--tracking-uri", models.store.uri,
                 "--stack", "gate", "--project-dir", str(project), "--report", str(out),
                 "--report-bucket", "models-bucket")
    assert result.exit_code == 0, result.stderr
    key = f"reports/{models.name}/{version}/model-gate.json"
    uploaded = s3.get_object(Bucket="models-bucket", Key=key)["Body"].read()
    assert uploaded == out.read_bytes()
    assert json.loads(uploaded)["details"]["evaluation"]["path"] == "s3://data-bucket/eval/holdout.parquet"
    assert models.tags(version)["mlcicd.gate.report"] == f"s3://models-bucket/{key}"
    assert models.aliases() == {"candidate": version}


def test_failed_upload_is_inconclusive_and_sets_no_alias(models: Registered, s3: Any, tmp_path: Path) -> None:
    version = models.add("good")
    report = run_gate(models, version, config(), tmp_path / "gate.json", report_bucket="no-such-bucket")
    check = by_name(report)["report-upload"]
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "could not upload the report to s3://no-such-bucket/reports/" in check.reason
    assert "NoSuchBucket" in check.reason
    assert models.recorded(version) == ({}, "INCONCLUSIVE")


def test_missing_evaluation_object_is_a_usage_error(models: Registered, s3: Any) -> None:
    s3.create_bucket(Bucket="empty-data")
    version = models.add("good")
    cfg = config(evaluation={"path": "s3://empty-data/none.parquet", "targetColumn": TARGET})
    with pytest.raises(UsageError, match=r"s3://empty-data/none\.parquet: cannot read it"):
        run_gate(models, version, cfg)


# The pure checks, on numbers computed by hand ---------------------------------------------------------------------
def test_group_rates_and_fairness_statistics_by_hand() -> None:
    from runtime.config.gates import FairnessConfig
    from runtime.gates.model_checks import fairness, group_rates

    # Eight rows by hand, each repeated 1000 times: the rates as on the eight, with tight confidence bounds.
    truth = np.repeat([1, 1, 0, 0, 1, 1, 0, 0], 1000)
    predicted = np.repeat([1, 1, 1, 0, 1, 0, 0, 0], 1000)
    groups = np.repeat(["a", "a", "a", "a", "b", "b", "b", "b"], 1000)
    rates = group_rates(truth, predicted, groups, 1)
    assert rates["a"].positive_rate == 0.75
    assert rates["b"].positive_rate == 0.25
    assert (rates["a"].tpr, rates["a"].fpr, rates["b"].tpr, rates["b"].fpr) == (1.0, 0.5, 0.5, 0.0)
    assert (rates["a"].accuracy, rates["b"].accuracy) == (0.75, 0.75)
    cfg = FairnessConfig(sensitive_column="g", demographic_parity_ratio_min=0.5, equalized_odds_difference_max=0.5,
                         metric_ratio_min=1.0, min_group_size=4)
    checks = {c.name: c for c in fairness(truth, predicted, groups, 1, cfg, alpha=0.01, power=0.9)[0]}
    assert checks["fairness:demographic-parity"].observed == pytest.approx(1 / 3)
    assert checks["fairness:demographic-parity"].verdict is Verdict.FAIL
    # TPR gap 0.5 and FPR gap 0.5 at the maximum 0.5: not beyond it, and 0.6 (max + effectSize) is ruled out.
    assert checks["fairness:equalized-odds"].observed == 0.5
    assert checks["fairness:equalized-odds"].verdict is Verdict.PASS
    assert checks["fairness:accuracy-ratio"].observed == 1.0
    assert checks["fairness:accuracy-ratio"].verdict is Verdict.PASS
    few = {c.name: c for c in fairness(truth[::1000], predicted[::1000], groups[::1000], 1, cfg, alpha=0.01,
                                       power=0.9)[0]}
    assert {c.verdict for c in few.values()} == {Verdict.INCONCLUSIVE}  # four rows a group decide nothing
    assert "rows per group" in few["fairness:demographic-parity"].reason


def test_equalized_odds_undefined_without_positive_labels_is_inconclusive() -> None:
    from runtime.config.gates import FairnessConfig
    from runtime.gates.model_checks import fairness

    truth = np.array([1, 0, 0, 0])
    groups = np.array(["a", "a", "b", "b"])
    cfg = FairnessConfig(sensitive_column="g", min_group_size=1)
    checks = {c.name: c for c in fairness(truth, np.array([1, 0, 1, 0]), groups, 1, cfg, alpha=0.01, power=0.9)[0]}
    assert checks["fairness:equalized-odds"].verdict is Verdict.INCONCLUSIVE
    assert "group 'b' of g has no positive labels" in checks["fairness:equalized-odds"].reason


@pytest.mark.parametrize("samples", [20, 30, 47, 100, 200, 1000])
def test_latency_early_stop_count_decides_the_p95(samples: int) -> None:
    """`time_single_rows` stops at `samples - floor(0.95 (samples - 1))` slow calls: with that many the p95 of all
    planned samples (and of those taken so far) is over the threshold; one fewer can still pass."""
    decisive = samples - math.floor(0.95 * (samples - 1))
    slow_enough = np.array([1.0] * (samples - decisive) + [100.0] * decisive)
    assert np.percentile(slow_enough, 95) > 10
    assert np.percentile(np.array([100.0] * decisive), 95) > 10  # stopped after exactly those
    one_fewer = np.array([1.0] * (samples - decisive + 1) + [100.0] * (decisive - 1))
    assert np.percentile(one_fewer, 95) < 100


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"image_digest": "latest"}, "--image-digest 'latest': expected sha256:<64 lowercase hex>"),
    ({"report_bucket": "s3://bucket/x"}, "--report-bucket 's3://bucket/x': expected an S3 bucket name"),
    ({"champion": "@"}, "--champion '@': expected a model version number"),
])
def test_malformed_options_are_usage_errors(sqlite_store: Store, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        gate_model("m", "1", config=config(), tracking_uri=sqlite_store.uri, **kwargs)
    assert str(info.value).startswith(message)


# Config rules of the gate section -------------------------------------------------------------------------------
@pytest.mark.parametrize(("gates", "path", "words"), [
    ({"metrics": {"accuracy": {"higherIsBetter": True}}}, "gates.metrics.accuracy", "set at least one of min"),
    ({"task": "regression", "evaluation": {"path": "e.csv", "targetColumn": "y"}, "fairness": {"sensitiveColumn": "g"}},
     "gates.task", "use `task: classification`"),
    ({"evaluation": {"path": "e.csv", "targetColumn": "y"}, "fairness": {
        "sensitiveColumn": "g", "demographicParityRatioMin": None, "equalizedOddsDifferenceMax": None}},
     "gates.fairness", "checks nothing"),
    ({"predictions": {"minClassShare": 0.5, "maxClassShare": 0.4}}, "gates.predictions.minClassShare",
     "must not exceed maxClassShare (0.4)"),
    ({"predictions": {"scoreMin": 2, "scoreMax": 1}}, "gates.predictions.scoreMin", "must not exceed scoreMax (1)"),
    ({"latency": {"p95Ms": 20}}, "gates.evaluation", "checks latency score the model"),
])
def test_gate_config_rules_name_the_key(gates: dict[str, Any], path: str, words: str) -> None:
    raw = stack_config("staging", {"gates": None})
    raw["gates"] = gates
    with pytest.raises(ConfigError) as info:
        validate_config(raw, "Pulumi.staging.yaml")
    rendered = {p.path: p.render() for p in info.value.problems}
    assert path in rendered, rendered
    assert words in rendered[path]


def test_staging_gates_section_is_a_complete_example() -> None:
    raw = stack_config("staging")
    gates = validate_config(raw, "Pulumi.staging.yaml").config.gates
    assert gates.evaluation is not None
    assert gates.fairness is not None
    assert gates.latency is not None
    assert set(gates.metrics) == set(METRICS)


# A real `mlflow server` over HTTP -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """`mlflow server` started without waiting, stopped with its process group at the end."""
    server = mlflow_server_process(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module", autouse=True)
def _boot_server_early(request: pytest.FixtureRequest) -> None:
    """The server takes 10-30 s to boot: start it before the first test when a selected test needs it, so it
    boots while the sqlite tests run."""
    if any("mlflow_server" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("_server_process")


@pytest.fixture(scope="session")
def mlflow_server(_server_process: ManagedProcess) -> Store:
    _server_process.wait_ready("/health", 120)
    return _new_store(_server_process.url, None)


@pytest.fixture
def served_models(mlflow_server: Store, zoo: Zoo, request: pytest.FixtureRequest) -> Registered:
    return Registered(mlflow_server, zoo, _model_name(request))


@pytest.mark.slow
def test_http_pass_sets_alias_and_tags(served_models: Registered, tmp_path: Path) -> None:
    champion = served_models.add_champion("stump")
    version = served_models.add("good")
    out = tmp_path / "gate.json"
    cfg = {"metrics": {**METRICS, "accuracy": {"min": 0.9, "maxRegression": 0.0}},
           "evaluation": evaluation(served_models.zoo), "fairness": _fairness(),
           "latency": {"p95Ms": 250, "samples": 20, "warmup": 1}}
    project = _stack_project(tmp_path, cfg)
    result = cli("--model", served_models.name, "--candidate", version, "--tracking-uri", served_models.store.uri,
                 "--stack", "gate", "--project-dir", str(project), "--report", str(out))
    assert result.exit_code == 0, result.stderr
    written = json.loads(out.read_text())
    assert written["subject"]["champion"] == champion
    assert {"regression:accuracy", "fairness:demographic-parity", "latency:p95", "predictions:finite"} <= {
        c["name"] for c in written["checks"]}
    assert served_models.aliases() == {"champion": champion, "candidate": version}
    assert served_models.tags(version)["mlcicd.gate.verdict"] == "PASS"
    assert served_models.tags(version)["mlcicd.gate.report"] == str(out.resolve())


@pytest.mark.slow
def test_http_fail_tags_verdict_and_leaves_aliases(served_models: Registered) -> None:
    champion = served_models.add_champion("good")
    version = served_models.add("weak")
    report = gate_model(served_models.name, version, config=config(), tracking_uri=served_models.store.uri)
    assert report.verdict is Verdict.FAIL
    assert {"metric:accuracy", "regression:accuracy"} <= failing(report)
    assert served_models.aliases() == {"champion": champion}
    assert served_models.tags(version)["mlcicd.gate.verdict"] == "FAIL"
