"""End to end: `mlcicd local run` of this repository's example project, through the real CLI, in one work dir.

The run must execute the pipeline's own step list (every build action, in order, each command line exactly as the
buildspec renders it, cloud lines through their stand-ins); each scenario's fault must stop the run at the action
built to catch it, with a reason a person understands; the good run must promote into a copy of
Pulumi.production.yaml. Child processes never outlive the run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.config import load_stack
from runtime.local.faults import EXPECTED_STOP
from runtime.pipeline.model import PipelineSpec, build_actions
from runtime.pipeline.render import render_command
from runtime.pipeline.steps import delivery_stages
from tests.harness import ROOT

pytestmark = pytest.mark.slow
MLCICD = str(Path(sys.executable).parent / "mlcicd")
SETUP_ROWS = ["Source", "Stand-ins"]


def step_list() -> list[Any]:
    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    return [action for _, action in build_actions(delivery_stages(spec))]


def run(workdir: Path, scenario: str, project: Path = ROOT) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run([MLCICD, "local", "run", "--workdir", str(workdir), "--scenario", scenario,
                             "--project-dir", str(project)], capture_output=True, text=True, timeout=900)
    summary = json.loads((workdir / "summary.json").read_text())
    return result.returncode, summary, result.stderr


def processes_using(workdir: Path) -> list[int]:
    """PIDs whose environment names this work dir (every child gets it in MLFLOW_TRACKING_URI)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if str(workdir).encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-run")


@pytest.fixture(scope="module")
def good_run(workdir: Path) -> tuple[int, dict[str, Any], str]:
    return run(workdir, "good")


def test_good_run_passes_every_action_of_the_step_list_in_order(good_run: tuple[int, dict[str, Any], str]) -> None:
    code, summary, stderr = good_run
    assert code == 0, stderr[-3000:]
    assert summary["verdict"] == "PASS"
    names = [s["name"] for s in summary["stages"]]
    assert "Champion" in names  # a fresh work dir trains the champion first, from the project as it is
    # The promotion is merged (stand-in) and the deploy workflow's reference step follows the new champion; with
    # capture on (the staging stack), the scheduled drift job runs last on the canary's captured traffic.
    assert [n for n in names if n != "Champion"] == SETUP_ROWS + [a.name for a in step_list()] + [
        "ChampionReference", "DriftMonitor"]
    assert {s["verdict"] for s in summary["stages"] if s["in_pipeline"]} == {"PASS"}
    assert "pipeline verdict: PASS" in stderr
    shown = " ".join(stderr.split())  # the terminal wraps long lines
    assert "smoke.load.durationSeconds of Pulumi.staging.yaml: 60.0 -> 8.0 (local.loadTestSeconds)" in shown


def test_every_command_line_ran_as_the_buildspec_renders_it(workdir: Path, good_run: tuple) -> None:
    for action in step_list():
        logged = [line[2:] for line in (workdir / "logs" / f"{action.name}.log").read_text().splitlines()
                  if line.startswith("$ ")]
        expected = [render_command(c) for c in (*action.commands, *action.finally_commands)]
        assert logged == expected, action.name


def test_good_run_promotes_into_a_copy_of_the_production_stack(workdir: Path, good_run: tuple) -> None:
    diff = (workdir / "promotion" / "promotion.diff").read_text()
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(changed) == 4, diff  # version and imageDigest, each removed and added
    assert (workdir / "promotion" / "pull-request.md").read_text().strip()
    assert "version: \"12\"" in (ROOT / "Pulumi.production.yaml").read_text()  # the project is never touched
    promotion = json.loads((workdir / "reports" / "promotion.json").read_text())
    assert promotion["verdict"] == "PASS"
    assert {c["name"] for c in promotion["checks"]} >= {"evidence model-gate", "evidence smoke", "evidence load",
                                                        "evidence data-validation"}


def test_the_reference_profiles_follow_the_promoted_champion(workdir: Path, good_run: tuple) -> None:
    """The deploy workflow's `champion reference` line: the training profile Train wrote for the promoted version
    became the pipeline stack's reference (the next DataValidate's and the drift job's) and production's."""
    reference = json.loads((workdir / "reports" / "reference-profile.json").read_text())
    assert (reference["kind"], reference["verdict"]) == ("reference-profile", "PASS")
    assert reference["subject"]["version"] == "2"  # a fresh work dir: champion version 1, candidate version 2
    assert reference["subject"]["source"].endswith("/reports/churn-classifier/2/training-profile.npz")
    checks = {c["name"]: c for c in reference["checks"]}
    assert {checks[f"reference {s}"]["observed"] for s in ("staging", "production")} == {"written"}
    assert "it held a profile written by hand" in checks["reference staging"]["reason"]  # the one-time write
    assert "it held nothing" in checks["reference production"]["reason"]
    row = next(s for s in good_run[1]["stages"] if s["name"] == "ChampionReference")
    assert (row["verdict"], row["in_pipeline"]) == ("PASS", True)
    assert "version 2 is the champion" in row["reason"]


def test_good_run_writes_self_contained_html_linking_every_report(workdir: Path, good_run: tuple) -> None:
    html = (workdir / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html), "the report must not load external assets"
    assert "<svg" in html
    for report in ("data-validation", "model-gate", "deploy", "smoke", "load", "promotion", "reference-profile"):
        assert f"reports/{report}.json" in html


def test_the_canary_was_judged_from_cloudwatch(workdir: Path, good_run: tuple) -> None:
    canary = json.loads((workdir / "reports" / "canary.json").read_text())
    assert canary["kind"] == "canary-judge"
    assert canary["verdict"] == "PASS"
    assert canary["details"]["verdict_metric"]["ok"] is True


def test_the_canary_traffic_was_captured_and_judged_for_drift(workdir: Path, good_run: tuple) -> None:
    drift = json.loads((workdir / "reports" / "drift-monitor.json").read_text())
    assert drift["kind"] == "drift-monitor"
    # Every judged canary request was captured by the serving command's capture layer (moto Firehose) and
    # delivered as Parquet partitions the drift job read: the champion's and the candidate's versions.
    canary = json.loads((workdir / "reports" / "canary.json").read_text())
    # Each server answers every canary row once (the judged request or its twin): local.canaryRequests each.
    assert drift["details"]["served_rows"] == 2 * 700
    # The label column (the model gate's target) is optional in label-free served traffic.
    # Served traffic repeats rows (the canary cycles through the evaluation rows): no duplicate-row limit there.
    for version in drift["details"]["versions"].values():
        assert not [c for c in version["checks"] if c["name"].startswith("schema.missing")], version["checks"]
        assert version["verdict"] == "PASS", [c for c in version["checks"] if c["verdict"] != "PASS"]
    by_version = {c["name"]: c for c in drift["checks"]}
    assert set(by_version) == {"drift v1", "drift v2"}, drift["checks"]
    for check in by_version.values():  # the evaluation rows are drawn like the training data: no drift
        assert check["verdict"] == "PASS", check
        assert check["observed"] == 0, check
    row = next(s for s in good_run[1]["stages"] if s["name"] == "DriftMonitor")
    assert row["in_pipeline"] is False
    assert row["verdict"] == drift["verdict"] == "PASS"
    assert "1400 captured canary requests" in row["reason"]
    assert canary["verdict"] == "PASS"


def test_good_run_leaves_no_child_process(workdir: Path, good_run: tuple) -> None:
    assert processes_using(workdir) == []


WORDS = {"drifted": "drift", "broken-schema": "worst fractal dimension", "degraded": "accuracy",
         "unfair": "fairness", "slow": "latency", "error-spike": "canary"}


@pytest.mark.parametrize("scenario", [s for s in EXPECTED_STOP if s != "good"])
def test_each_fault_stops_the_run_at_the_action_built_to_catch_it(workdir: Path, good_run: tuple,
                                                                  scenario: str) -> None:
    code, summary, stderr = run(workdir, scenario)
    expected = EXPECTED_STOP[scenario]  # type: ignore[index]
    assert code == 1, stderr[-3000:]
    assert summary["stopped_at"] == expected, summary
    names = [s["name"] for s in summary["stages"]]
    skipped = [s["name"] for s in summary["stages"] if s["verdict"] == "SKIPPED"]
    parallel = {"DataValidate": {"UnitTests", "Lint"}}.get(str(expected), set())
    assert set(skipped) == set(names[names.index(str(expected)) + 1:]) - parallel
    assert WORDS[scenario] in summary["reason"], summary["reason"]
    assert "stopped at" in stderr
    assert processes_using(workdir) == []
    if scenario == "drifted":
        report = json.loads((workdir / "reports" / "data-validation.json").read_text())
        drifted = {c["name"].split(":", 1)[1] for c in report["checks"]
                   if c["name"].startswith("drift") and c["verdict"] == "FAIL" and ":" in c["name"]}
        assert drifted == {"mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness"}


def test_interrupt_stops_every_child_process(tmp_path: Path) -> None:
    proc = subprocess.Popen([MLCICD, "local", "run", "--workdir", str(tmp_path), "--project-dir", str(ROOT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "logs" / "Train.log"
    deadline = time.monotonic() + 300
    while not log.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert log.exists(), "the run never reached training"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    time.sleep(0.5)
    assert processes_using(tmp_path) == []


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([MLCICD, "local", "run", "--workdir", str(tmp_path), "--scenario", "chaos"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert "--scenario 'chaos'" in result.stderr
