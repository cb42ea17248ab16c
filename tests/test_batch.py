"""The batch-inference summary: every input file scored, every row predicted, nothing non-finite."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from runtime.batch import batch_summary, summarize_predictions
from runtime.cli.main import app
from runtime.report import Verdict


def csv_file(directory: Path, name: str, rows: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("x1,x2\n" + "".join(f"{i},{i * 2}\n" for i in range(rows)), encoding="utf-8")
    return path


def predictions(directory: Path, name: str, values: list) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps({"predictions": values}), encoding="utf-8")


def test_every_file_scored_passes_with_counts(tmp_path: Path) -> None:
    csv_file(tmp_path / "in", "a.csv", 3)
    csv_file(tmp_path / "in", "b.csv", 2)
    predictions(tmp_path / "out", "a.json", [0, 1, 1])
    predictions(tmp_path / "out", "b.json", [1, 1])
    report = batch_summary(tmp_path / "in", tmp_path / "out")
    assert report.verdict is Verdict.PASS
    assert report.details["rows"] == report.details["predictions"] == 5
    assert report.details["summary"] == {"type": "labels", "count": 5, "counts": {"1": 4, "0": 1}}
    assert report.kind == "batch-inference"


def test_a_missing_or_short_output_fails(tmp_path: Path) -> None:
    csv_file(tmp_path / "in", "a.csv", 3)
    csv_file(tmp_path / "in", "b.csv", 2)
    predictions(tmp_path / "out", "a.json", [0, 1])
    report = batch_summary(tmp_path / "in", tmp_path / "out")
    assert report.verdict is Verdict.FAIL
    reasons = {c.name: c.reason for c in report.checks}
    assert reasons["scored:a.csv"] == "2 predictions for 3 rows"
    assert reasons["scored:b.csv"].startswith("no predictions file b.json")


def test_unreadable_or_non_finite_predictions_fail(tmp_path: Path) -> None:
    csv_file(tmp_path / "in", "a.csv", 2)
    csv_file(tmp_path / "in", "b.csv", 1)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.json").write_text("<html>500</html>", encoding="utf-8")
    (tmp_path / "out" / "b.json").write_text('{"predictions": [NaN]}', encoding="utf-8")
    report = batch_summary(tmp_path / "in", tmp_path / "out")
    by_name = {c.name: c for c in report.checks}
    assert "unreadable" in by_name["scored:a.csv"].reason
    assert by_name["predictions.finite"].verdict is Verdict.FAIL
    assert by_name["predictions.finite"].observed == 1


def test_nothing_to_score_is_inconclusive(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    assert batch_summary(tmp_path / "in", tmp_path / "out").verdict is Verdict.INCONCLUSIVE
    assert batch_summary(tmp_path / "missing", tmp_path / "out").verdict is Verdict.INCONCLUSIVE


def test_numeric_predictions_are_summarised_by_range() -> None:
    values = [[float(i) / 10] for i in range(30)]
    summary = summarize_predictions(values)
    assert summary["type"] == "numeric"
    assert (summary["min"], summary["max"], summary["count"]) == (0.0, 2.9, 30)


def test_cli_writes_the_report_and_exits_with_the_verdict(tmp_path: Path) -> None:
    csv_file(tmp_path / "in", "a.csv", 1)
    predictions(tmp_path / "out", "a.json", [{"label": 1}])
    out = tmp_path / "out" / "summary.json"
    result = CliRunner().invoke(app, ["monitor", "batch-summary", "--inputs", str(tmp_path / "in"),
                                      "--predictions", str(tmp_path / "out"), "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["verdict"] == "PASS"
