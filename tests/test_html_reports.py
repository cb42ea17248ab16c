"""The HTML pages of every gate, rendered from real runs: the model gate against a sqlite MLflow registry (binary,
multiclass and regression models trained here), smoke and load tests against the local scoring servers, the canary
judge against a moto CloudWatch, data validation on generated Parquet, and the local run's summary linking them.
Pass, fail and inconclusive runs of each.

Each page is opened in headless Chromium (tests/chromium.py, the DevTools protocol): it must load with no console
message, script error, rendering error or network request, no horizontal overflow, and no chart label cut off or
drawn over another. Screenshots are taken of every page; with MLCICD_SCREENSHOTS=DIR the docs' screenshots are
written there (docs/images/ holds the ones the docs show). Without a `chromium` binary the browser tests skip,
saying so; CI installs it (.ci/run).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from runtime import html as pages
from runtime.canary.publish import Observation
from runtime.cli.main import app
from runtime.local.summary import StageResult, write_html
from tests.chromium import Chromium, PageResult, find_chromium
from tests.harness import ROOT, missing_tool, stack_config, use_fake_aws
from tests.servers import serve
from tests.test_canary_aws import END, NAMESPACE, REGION, publish, traffic
from tests.test_data_validation import frame, write_parquet

#: Pages whose screenshots the docs show (docs/images/<name>.png), written when MLCICD_SCREENSHOTS is set.
DOCS_SHOTS = {"gate-binary-fail": "report-model-gate", "gate-regression-pass": "report-model-gate-regression",
              "smoke-fail": "report-smoke", "load-pass": "report-load", "canary-fail": "report-canary",
              "data-fail": "report-data-validation"}


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def project(where: Path, **sections: Any) -> Path:
    """A project directory whose stack `test` is the real staging stack with `sections` replaced."""
    where.mkdir()
    # Stack `test` deploys no pipeline: only the stack a pipeline deploys may host it.
    raw = {**stack_config("staging", {"pipeline": None, **dict.fromkeys(sections)}), **sections}
    (where / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text(), encoding="utf-8")
    (where / "Pulumi.test.yaml").write_text(json.dumps({"config": {f"ml-cicd:{k}": v for k, v in raw.items()}}),
                                            encoding="utf-8")
    return where


# Real runs ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registry:
    uri: str
    client: MlflowClient
    experiment: str
    root: Path

    def register(self, name: str, model: Any, inputs: Any, metrics: dict[str, float]) -> str:
        path = self.root / f"{name}-{len(list(self.root.iterdir()))}"
        mlflow.sklearn.save_model(model, str(path), pip_requirements=["scikit-learn"],
                                  signature=infer_signature(inputs, model.predict(inputs)))
        run = self.client.create_run(self.experiment)
        for key, value in metrics.items():
            self.client.log_metric(run.info.run_id, key, value)
        self.client.log_artifacts(run.info.run_id, str(path), "model")
        self.client.set_terminated(run.info.run_id)
        if not self.client.search_registered_models(f"name = '{name}'"):
            self.client.create_registered_model(name)
        return str(self.client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id).version)


def _split(features: Any, target: Any, size: float, *,
           stratify: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    parts = train_test_split(features, target, test_size=size, random_state=0, stratify=target if stratify else None)
    return (cast(pd.DataFrame, parts[0]), cast(pd.DataFrame, parts[1]), cast(pd.Series, parts[2]),
            cast(pd.Series, parts[3]))


def _model_gate_pages(out: Path) -> dict[str, Path]:
    root = out / "mlflow"
    root.mkdir()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    reg = Registry(uri, client, client.create_experiment("html", artifact_location=(root / "artifacts").as_uri()),
                   root)
    made: dict[str, Path] = {}

    def gate(page: str, model: str, version: str, gates: dict[str, Any], expected: int) -> None:
        code, output = cli("gate", "model", "--model", model, "--candidate", version, "--stack", "test",
                           "--project-dir", str(project(out / page, gates=gates)), "--tracking-uri", uri,
                           "--report", str(out / f"{page}.json"), "--html", str(out / f"{page}.html"))
        assert code == expected, output
        made[page] = out / f"{page}.html"

    # Binary: a weak candidate against a good champion, with fairness and latency checks.
    features, labels = load_breast_cancer(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = _split(features, labels, 0.4, stratify=True)
    evaluation = out / "binary.parquet"
    groups = np.random.default_rng(0).integers(0, 2, len(x_test))
    x_test.assign(group=groups, target=y_test.to_numpy()).to_parquet(evaluation)
    good = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    weak = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=0.0005)).fit(x_train, y_train)

    def scores(model: Any) -> dict[str, float]:
        predicted = model.predict(x_test)
        return {"accuracy": float(accuracy_score(y_test, predicted)), "f1_score": float(f1_score(y_test, predicted))}

    champion = reg.register("binary", good, x_test, scores(good))
    client.set_registered_model_alias("binary", "champion", champion)
    candidate = reg.register("binary", weak, x_test, scores(weak))
    binary = {"metrics": {"accuracy": {"min": 0.9, "maxRegression": 0.01}, "f1_score": {"min": 0.9,
                                                                                      "maxRegression": 0.02}},
              "evaluation": {"path": str(evaluation), "targetColumn": "target"},
              "fairness": {"sensitiveColumn": "group", "metricRatioMin": 0.9},
              "latency": {"p95Ms": 1000, "samples": 40}, "predictions": {"minClassShare": 0.1}}
    gate("gate-binary-fail", "binary", candidate, binary, 1)
    gate("gate-binary-pass", "binary", champion, binary, 0)
    # Multiclass (three wine cultivars), no champion.
    features, labels = load_wine(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = _split(features, labels, 0.5, stratify=True)
    evaluation = out / "wine.csv"
    x_test.assign(target=y_test.to_numpy()).to_csv(evaluation, index=False)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    version = reg.register("wine", model, x_test, {"accuracy": float(accuracy_score(y_test, model.predict(x_test)))})
    gate("gate-multiclass-pass", "wine", version, {"metrics": {"accuracy": {"min": 0.9}},
                                                   "evaluation": {"path": str(evaluation), "targetColumn": "target"}},
         0)
    # Regression (diabetes progression): PASS, and INCONCLUSIVE when a champion is required but none is set.
    features, target = load_diabetes(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = _split(features, target, 0.3, stratify=False)
    evaluation = out / "diabetes.csv"
    x_test.assign(target=y_test.to_numpy()).to_csv(evaluation, index=False)
    model = LinearRegression().fit(x_train, y_train)
    predicted = model.predict(x_test)
    version = reg.register("diabetes", model, x_test, {"rmse": math.sqrt(mean_squared_error(y_test, predicted)),
                                                       "r2": float(r2_score(y_test, predicted))})
    # The effect to rule out is in the metric's unit: 0.02 (the default) of an rmse near 55 would need millions of
    # rows; 6 (about a tenth of the bound) is decided on the 133 rows here.
    regression = {"task": "regression", "metrics": {"rmse": {"max": 60, "higherIsBetter": False, "effectSize": 6},
                                                    "r2": {"min": 0.3}},
                  "evaluation": {"path": str(evaluation), "targetColumn": "target"},
                  "predictions": {"scoreMin": 0, "scoreMax": 300}}
    gate("gate-regression-pass", "diabetes", version, regression, 0)
    gate("gate-regression-inconclusive", "diabetes", version, {**regression, "allowNoChampion": False}, 3)
    return made


#: Latency limits far above what a busy 2-core machine shows, so only the fault under test decides.
SMOKE = {"requests": 200, "concurrency": 4, "p50Ms": 1000, "p95Ms": 3000, "p99Ms": 6000, "maxErrorRate": 0,
         "load": {"rps": 40, "durationSeconds": 2, "p95Ms": 3000, "maxErrorRate": 0.01, "minAchievedRatio": 0.5}}


def _smoke_pages(out: Path) -> dict[str, Path]:
    rows = out / "rows.csv"
    rows.write_text("x1,x2,x3\n1,2,3\n4,5,6\n7,8,9\n", encoding="utf-8")
    stack = project(out / "smoke-project", smoke=SMOKE)
    made = {}
    for page, behaviour, expected, extra in (
            ("smoke-pass", "correct", 0, []), ("smoke-fail", "flaky-5xx", 1, []),
            ("smoke-inconclusive", "correct", 3, ["--requests", "10"]), ("load-pass", "correct", 0, ["--load"])):
        with serve(behaviour) as server:
            code, output = cli("smoke", "--endpoint", server.url, "--sample-data", str(rows), *extra, "--stack",
                               "test", "--project-dir", str(stack),
                               "--report", str(out / f"{page}.json"), "--html", str(out / f"{page}.html"))
        assert code == expected, output
        made[page] = out / f"{page}.html"
    return made


def _scores(seed: int, shift: float) -> list[Observation]:
    """Regression-style traffic: each request returns one score in [0, 1]."""
    rng = np.random.default_rng(seed)
    out = []
    for minute in range(10):
        base = END - timedelta(minutes=10 - minute)
        for i in range(40):
            score = float(np.clip(rng.beta(2, 5) + shift, 0, 1))
            out.append(Observation(base + timedelta(seconds=i * 1.4), 0.1 + rng.normal(0, 0.01), 200, (score,)))
    return out


def _canary_pages(out: Path, moto_url: str) -> dict[str, Path]:
    # A clean canary passes once its requests rule out the errors check's effect (about 3,500 canary requests).
    publish(moto_url, "good", traffic(3, requests_per_minute=2700), traffic(4, requests_per_minute=900))
    publish(moto_url, "errors", traffic(3, requests_per_minute=90), traffic(4, requests_per_minute=30,
                                                                            error_every=20))
    publish(moto_url, "thin", traffic(3, requests_per_minute=90), traffic(4, requests_per_minute=5))
    publish(moto_url, "scores", _scores(5, 0.0), _scores(6, 0.25))
    made = {}
    for page, model, expected in (("canary-pass", "good", 0), ("canary-fail", "errors", 1),
                                  ("canary-inconclusive", "thin", 3), ("canary-regression-fail", "scores", 1)):
        code, output = cli("canary", "judge", "--namespace", NAMESPACE, "--model", model, "--endpoint-url", moto_url,
                           "--region", REGION, "--end-time", END.isoformat(), "--no-percentiles",
                           "--report", str(out / f"{page}.json"), "--html", str(out / f"{page}.html"))
        assert code == expected, output
        made[page] = out / f"{page}.html"
    return made


def _data_pages(out: Path) -> dict[str, Path]:
    rng = np.random.default_rng(4)
    reference = write_parquet(out / "reference.parquet", frame(rng, 3000))
    drifted = write_parquet(out / "drifted.parquet", frame(rng, 3000, score=rng.normal(1, 1, 3000)))
    same = write_parquet(out / "same.parquet", frame(rng, 3000))
    # More rows required than either side has: INCONCLUSIVE, whatever the columns show.
    strict = ["--stack", "test", "--project-dir", str(project(out / "data-project", data={"quality": {
        "minRows": 5000}}))]
    made = {}
    for page, current, expected, extra in (("data-fail", drifted, 1, []), ("data-pass", same, 0, []),
                                           ("data-inconclusive", same, 3, strict)):
        code, output = cli("data", "validate", "--reference", str(reference), "--current", str(current), *extra,
                           "--report", str(out / f"{page}.json"), "--html", str(out / f"{page}.html"))
        assert code == expected, output
        made[page] = out / f"{page}.html"
    return made


def _summary_page(out: Path) -> Path:
    stages = [StageResult("data-validation", "Data validation", "PASS", 1.2, "", out / "data-pass.json",
                          {"data report": out / "data-pass.html"}),
              StageResult("model-gate", "Model gate", "FAIL", 2.5, "regression:accuracy failed",
                          out / "gate-binary-fail.json", {"gate report": out / "gate-binary-fail.html"}),
              StageResult("smoke", "Smoke test"), StageResult("canary", "Canary")]
    return write_html(out / "summary.html", stages, "FAIL", {"scenario": "weak-candidate", "stack": "staging"})


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_fake_aws(monkeypatch, REGION)
        found = {**_model_gate_pages(out), **_smoke_pages(out), **_canary_pages(out, moto_url), **_data_pages(out)}
    found["local-summary"] = _summary_page(out)
    return found


def report_of(page: Path) -> dict[str, Any]:
    return json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))


PAGES = ["gate-binary-fail", "gate-binary-pass", "gate-multiclass-pass", "gate-regression-pass",
         "gate-regression-inconclusive", "smoke-pass", "smoke-fail", "smoke-inconclusive", "load-pass", "canary-pass",
         "canary-fail", "canary-inconclusive", "canary-regression-fail", "data-fail", "data-pass", "data-inconclusive",
         "local-summary"]


# In the browser -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        missing_tool("no chromium binary on PATH (Debian: apt-get install chromium; .ci/run installs it): the pages "
                     "are not opened in a browser here")
    chromium = Chromium(binary)
    yield chromium
    chromium.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium_without_errors(page: str, made: dict[str, Path], browser: Chromium,
                                                 tmp_path: Path) -> None:
    shots = os.environ.get("MLCICD_SCREENSHOTS")
    shot = Path(shots) / f"{DOCS_SHOTS[page]}.png" if shots and page in DOCS_SHOTS else tmp_path / f"{page}.png"
    result: PageResult = browser.open(made[page], shot)
    layout = result.layout
    assert result.problems == [], result.problems
    assert result.requests == [], "a self-contained page loads nothing"
    assert layout["scripts"] == 0
    assert layout["width"] <= layout["viewport"], f"horizontal overflow: {layout['wide']}"
    assert layout["clipped"] == [], "labels cut off at a chart's edge"
    assert layout["overlaps"] == [], "labels drawn over each other"
    assert layout["empty"] == []
    assert layout["svgs"] >= 1
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if page != "local-summary":
        assert layout["title"].endswith(report_of(made[page])["verdict"])


# The pages' content ---------------------------------------------------------------------------------------------
def _rows(text: str) -> list[str]:
    return re.findall(r'<tr><td><span class="badge" data-v="(\w+)">', text)


@pytest.mark.parametrize("page", PAGES)
def test_page_is_self_contained_and_lists_failing_checks_first(page: str, made: dict[str, Path]) -> None:
    text = made[page].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.IGNORECASE)
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    if page == "local-summary":
        return
    verdicts = _rows(text.split("</table>", 1)[0])
    assert verdicts == sorted(verdicts, key=["FAIL", "INCONCLUSIVE", "PASS"].index)
    verdict = report_of(made[page])["verdict"]
    assert verdicts[0] == verdict if verdict != "PASS" else set(verdicts) == {"PASS"}
    sections = re.findall(r'<h2>[^<]*(?:<span class="badge" data-v="(\w+)">)?', text)[1:]
    ranked = [{"FAIL": 0, "INCONCLUSIVE": 1}.get(v, 2) for v in sections]
    assert ranked == sorted(ranked), f"sections with failing checks come first: {sections}"


#: Charts whose limit is not a position on their axes: the limit is written on the chart instead.
NOTED = ("Confusion matrix", "Prediction distribution", "share of rows per bin")


@pytest.mark.parametrize("page", [p for p in PAGES if p != "local-summary"])
def test_thresholds_are_drawn_on_every_chart(page: str, made: dict[str, Path]) -> None:
    text = made[page].read_text(encoding="utf-8")
    charts = re.findall(r'<svg [^>]*aria-label="([^"]*)"[^>]*>(.*?)</svg>', text, re.S)
    assert charts
    for label, body in charts:
        if any(n in label for n in NOTED):
            continue
        assert re.search(r'stroke="#(cf222e|bc4c00)" stroke-width="[\d.]+" stroke-dasharray', body), (
            f"{page}: chart {label!r} draws no threshold")


def test_model_gate_pages_show_each_task(made: dict[str, Path]) -> None:
    binary = made["gate-binary-fail"].read_text(encoding="utf-8")
    for title in ("accuracy (higher is better)", "Confusion matrix", "Class shares", "Positive-prediction rate",
                  "Single-row prediction latency"):
        assert title in binary
    assert "champion - 0.01" in binary  # the allowed regression below the champion's accuracy
    multiclass = made["gate-multiclass-pass"].read_text(encoding="utf-8")
    confusion = report_of(made["gate-multiclass-pass"])["details"]["plots"]["confusion"]
    assert confusion["labels"] == ["0", "1", "2"]
    assert sum(map(sum, confusion["counts"])) == confusion["rows"] == 89
    assert "Confusion matrix" in multiclass
    regression = made["gate-regression-pass"].read_text(encoding="utf-8")
    residuals = report_of(made["gate-regression-pass"])["details"]["plots"]["residuals"]
    assert sum(map(sum, residuals["counts"])) + residuals["clipped"] == residuals["rows"] == 133
    assert "Residuals vs prediction" in regression
    assert "Confusion matrix" not in regression
    assert "score max: 300" in regression


def test_plot_data_is_compact(made: dict[str, Path]) -> None:
    for page in ("gate-binary-fail", "gate-regression-pass", "smoke-pass", "load-pass", "canary-fail"):
        plots = report_of(made[page])["details"]["plots"]
        assert len(json.dumps(plots)) < 20_000, page
    smoke = report_of(made["smoke-pass"])["details"]
    hist = smoke["plots"]["latency"]
    assert sum(hist["counts"]) + hist["overflow"] == hist["n"] == smoke["latency"]["successes"] == 200
    assert hist["thresholds"] == {"p50": 1000.0, "p95": 3000.0, "p99": 6000.0}
    timeline = report_of(made["canary-fail"])["details"]["plots"]["timeline"]
    assert len(timeline["periods"]) == 10
    assert sum(timeline["canary"]["requests"]) == 300


def test_canary_page_charts_latency_errors_and_predictions(made: dict[str, Path]) -> None:
    text = made["canary-fail"].read_text(encoding="utf-8")
    for title in ("Score (0-100)", "Latency (average per period)", "5xx error rate", "Requests (cumulative)",
                  "Prediction distribution", "baseline rate +0.1 pp"):
        assert title in text
    scores = made["canary-regression-fail"].read_text(encoding="utf-8")
    labels = re.findall(r"<title>([\d.]+-[\d.]+): baseline", scores)
    assert labels == sorted(labels, key=lambda x: float(x.split("-")[0])), "score bins in numeric order"


# Robustness: reports the renderers do not fully know ------------------------------------------------------------
def test_unknown_checks_and_kinds_render_as_rows(made: dict[str, Path]) -> None:
    report = report_of(made["gate-binary-fail"])
    report["checks"].append({"name": "calibration:ece", "verdict": "FAIL", "observed": 0.12, "threshold": "<= 0.05",
                             "reason": "expected calibration error 0.12", "decision": {"bounds": {"alpha": [0.09,
                                                                                                           0.15]}}})
    accuracy = next(c for c in report["checks"] if c["name"] == "metric:accuracy")
    accuracy["decision"] = {"method": "exact", "bounds": {"alpha": [0.76, 0.84]}}
    text = pages.render(report)
    assert "calibration:ece" in text
    assert "0.12 [0.09, 0.15]" in text
    assert re.search(r"0\.\d+ \[0\.76, 0\.84\]", text)
    older = report_of(made["canary-fail"])
    older["details"] = {k: v for k, v in older["details"].items() if k != "plots"}
    older["details"]["metrics"].append({"name": "tail", "status": "INCONCLUSIVE", "weight": 0.1, "critical": False,
                                        "reason": "needs 4,000 more requests", "stats": {}})
    text = pages.render(older)
    assert "needs 4,000 more requests" in text
    assert "Latency (average per period)" not in text  # no timeline in an older report: no chart, no crash
    unknown = {"kind": "replay", "verdict": "INCONCLUSIVE", "subject": {"model": "m"}, "started_at": "t",
               "duration_s": 1.0, "checks": [{"name": "paired-accuracy", "verdict": "INCONCLUSIVE",
                                              "observed": {"delta": 0.01}, "threshold": None, "reason": "few rows"}],
               "details": {"rows": 12, "per_slice": {"a": 1}}}
    text = pages.render(unknown)
    assert "paired-accuracy" in text
    assert "delta=0.01" in text
    assert "per_slice" in text


def test_not_a_report_and_unwritable_path_are_usage_errors(made: dict[str, Path], tmp_path: Path) -> None:
    from runtime.errors import InvalidValue, UsageError

    with pytest.raises(InvalidValue, match="not a report"):
        pages.render({"verdict": "PASS"})
    with pytest.raises(UsageError, match="--html"):
        pages.write(report_of(made["smoke-pass"]), tmp_path)  # a directory
    with serve("correct") as server:
        code, output = cli("smoke", "--endpoint", server.url, "--requests", "5", "--report",
                           str(tmp_path / "r.json"), "--html", str(tmp_path))
    assert code == 2
    assert "--html" in output


# Degenerate inputs ----------------------------------------------------------------------------------------------
def _degenerate_charts() -> list[str]:
    from runtime.html.charts import HBar, Mark, confusion_matrix, density, grouped_bars, hbars, histogram, line_chart

    nan = float("nan")
    return [histogram([0.0, 0.0], [0], title="one empty bin", x_label="x", marks=[Mark(nan, "nan limit")]),
            histogram([5.0, 6.0, 7.0], [3, 0], title="far limit", x_label="x", marks=[Mark(1e9, "far")]),
            grouped_bars([], {}, title="nothing", y_label="y"),
            grouped_bars(["a"], {"s": [None]}, title="only a gap", y_label="y", marks=[Mark(-1.0, "below")]),
            grouped_bars([f"category number {i}" for i in range(60)], {"s": list(range(60))}, title="many",
                         y_label="y"),
            hbars([HBar("all equal", 0.5, 0.5, 0.5, mark=Mark(0.5, "same"))], title="flat", x_label="x",
                  zero=False),
            hbars([HBar("negative", -3.0), HBar("none", None), HBar("nan", nan)], title="signs", x_label="x"),
            line_chart([], {}, title="no points", y_label="y"),
            line_chart(["a", "b", "c"], {"gaps": [None, 1.0, None], "nan": [nan, nan, 2.0]}, title="gaps",
                       y_label="y", marks=[Mark(0.0, "zero")]),
            confusion_matrix(["only"], [[0]], title="one empty class"),
            confusion_matrix([str(i) for i in range(25)], [[i == j for j in range(25)] for i in range(25)],
                             title="many classes"),
            density([0.0, 1.0], [-1.0, 1.0], [[0]], title="empty grid", x_label="x", y_label="y")]


def test_charts_of_degenerate_data_have_valid_geometry() -> None:
    for svg in _degenerate_charts():
        assert not re.search(r'="[^"]*(nan|inf)[^"]*"', svg, re.IGNORECASE), svg[:200]
        assert not re.search(r'(width|height)="-', svg), svg[:200]


def test_charts_of_degenerate_data_render_in_chromium(browser: Chromium, tmp_path: Path) -> None:
    from runtime.html.page import charts, document, figure

    page = tmp_path / "degenerate.html"
    page.write_text(document("degenerate", charts([figure("chart", svg) for svg in _degenerate_charts()])),
                    encoding="utf-8")
    result = browser.open(page, tmp_path / "degenerate.png")
    assert result.problems == []
    assert result.layout["width"] <= result.layout["viewport"]
    assert result.layout["clipped"] == []
