"""End to end: `mlcicd local run` for every scenario, through the real CLI, in one work directory (reruns).

Each bad scenario must stop at the stage built to catch it, with a reason a person understands; the good one
must pass every stage and promote into a copy of Pulumi.production.yaml. Child processes never outlive the run.
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

from runtime.local.scenarios import DRIFTED_FEATURES, EXPECTED_STOP
from tests.harness import ROOT

pytestmark = pytest.mark.slow
MLCICD = str(Path(sys.executable).parent / "mlcicd")


def _run(workdir: Path, scenario: str) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run([MLCICD, "local", "run", "--workdir", str(workdir), "--scenario", scenario,
                             "--project-dir", str(ROOT)], capture_output=True, text=True, timeout=600)
    summary = json.loads((workdir / "summary.json").read_text())
    return result.returncode, summary, result.stderr


def _processes_using(workdir: Path) -> list[int]:
    """PIDs whose environment names this work dir (the scoring servers get it in MLFLOW_TRACKING_URI)."""
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
    return _run(workdir, "good")


def test_good_scenario_passes_every_stage_and_promotes(workdir: Path, good_run: tuple[int, dict[str, Any], str]
                                                      ) -> None:
    code, summary, stderr = good_run
    assert code == 0, stderr[-3000:]
    assert summary["verdict"] == "PASS"
    assert [s["verdict"] for s in summary["stages"]] == ["PASS"] * 10
    assert [s["name"] for s in summary["stages"]] == ["data-validation", "train", "model-gate", "package", "deploy",
                                                      "smoke", "load", "canary", "promote", "monitor"]
    diff = (workdir / "promotion" / "promotion.diff").read_text()
    changed = [line for line in diff.splitlines() if line.startswith(("+ ", "- ", "+\t", "-\t"))
               or (line[:1] in "+-" and not line.startswith(("+++", "---")))]
    assert len(changed) == 4, diff  # version and imageDigest, each removed and added
    assert "pipeline verdict: PASS" in stderr


def test_good_run_writes_self_contained_html_linking_every_stage(workdir: Path, good_run: tuple) -> None:
    html = (workdir / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", html), "the report must not load external assets"
    assert "<svg" in html
    for stage in ("data-validation", "model-gate", "smoke", "load", "canary", "promote"):
        assert f"reports/{stage}.json" in html
    assert (workdir / "reports" / "data-validation.html").exists()


def test_good_run_leaves_no_child_process(workdir: Path, good_run: tuple) -> None:
    assert _processes_using(workdir) == []


def test_canary_was_judged_from_cloudwatch(workdir: Path, good_run: tuple) -> None:
    canary = json.loads((workdir / "reports" / "canary.json").read_text())
    assert canary["kind"] == "canary-judge"
    assert canary["verdict"] == "PASS"
    assert canary["details"]["verdict_metric"]["ok"] is True


def test_the_canary_traffic_was_captured_and_checked_for_drift(workdir: Path, good_run: tuple) -> None:
    """The production loop locally: every served request captured (moto Firehose), stored as Firehose stores it,
    and the drift job read each version's window (answered requests only: the smoke test's invalid ones are not)."""
    monitor = json.loads((workdir / "reports" / "monitor.json").read_text())
    assert monitor["kind"] == "drift-monitor"
    assert monitor["verdict"] == "PASS"
    assert monitor["details"]["served_rows"] == 700  # the canary's requests (the window starts with the canary)
    assert monitor["details"]["captured_records"] > 700  # smoke and load traffic was captured too
    assert sorted(c["name"] for c in monitor["checks"]) == sorted(
        f"drift v{v}" for v in monitor["details"]["versions"])  # champion and candidate, each decided
    assert len(monitor["checks"]) == 2
    assert list((workdir / "captures" / "inference").glob("model=*/dt=*/*.parquet"))


@pytest.mark.parametrize("scenario", [s for s in EXPECTED_STOP if s != "good"])
def test_bad_scenario_stops_at_the_right_stage(workdir: Path, good_run: tuple, scenario: str) -> None:
    code, summary, stderr = _run(workdir, scenario)
    expected = EXPECTED_STOP[scenario]  # type: ignore[index]
    assert code == 1, stderr[-3000:]
    assert summary["stopped_at"] == expected, summary
    later = [s for s in summary["stages"] if s["verdict"] == "SKIPPED"]
    names = [s["name"] for s in summary["stages"]]
    assert [s["name"] for s in later] == names[names.index(expected) + 1:]
    words = {"drifted": "drift", "broken-schema": "worst symmetry", "degraded": "accuracy",
             "unfair": "fairness", "slow": "latency", "error-spike": "error"}[scenario]
    assert words in summary["reason"], summary["reason"]
    assert "stopped at" in stderr
    assert _processes_using(workdir) == []


def test_drift_is_found_in_exactly_the_drifted_columns(workdir: Path, good_run: tuple) -> None:
    _run(workdir, "drifted")
    report = json.loads((workdir / "reports" / "data-validation.json").read_text())
    drifted = {c["name"].split(":", 1)[1] for c in report["checks"]
               if c["name"].startswith("drift") and c["verdict"] == "FAIL" and ":" in c["name"]}
    assert drifted == set(DRIFTED_FEATURES)


def test_interrupt_stops_every_child_process(tmp_path: Path) -> None:
    proc = subprocess.Popen([MLCICD, "local", "run", "--workdir", str(tmp_path), "--project-dir", str(ROOT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "logs" / "serve-candidate.log"
    deadline = time.monotonic() + 180
    while not log.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert log.exists(), "the run never reached the deploy stage"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert _processes_using(tmp_path) == []


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([MLCICD, "local", "run", "--workdir", str(tmp_path), "--scenario", "chaos"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert "--scenario 'chaos'" in result.stderr
