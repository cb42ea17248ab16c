"""Graph diffs for pull-request review and the stacks a change affects (pure functions, and the CLI on real
graphs of the stack files)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.graph_diff import MAX_ROWS, changed_stacks, diff_graphs, render_markdown
from tests.harness import ROOT, graph


def res(urn: str, type_: str = "aws:s3/bucket:Bucket", parent: str | None = None, **inputs: object) -> dict:
    return {"urn": urn, "type": type_, "name": urn.rsplit("::", 1)[-1], "parent": parent, "inputs": inputs,
            "dependencies": [], "propertyDependencies": {}}


BASE = {"resources": [res("u::a", forceDestroy=False), res("u::gone"), res("u::same", x=1)]}
HEAD = {"resources": [res("u::a", forceDestroy=True, tags={"t": "1"}), res("u::new"), res("u::same", x=1)]}


def test_added_removed_and_changed_inputs_by_urn() -> None:
    diff = diff_graphs(BASE, HEAD)
    assert [c.name for c in diff.added] == ["new"]
    assert [c.name for c in diff.removed] == ["gone"]
    (changed,) = diff.changed
    assert changed.inputs == ("forceDestroy", "tags")
    assert (changed.before, changed.after) == ({"forceDestroy": False}, {"forceDestroy": True, "tags": {"t": "1"}})
    assert diff_graphs(BASE, BASE).empty


def test_a_moved_parent_is_a_change() -> None:
    moved = {"resources": [res("u::a", parent="u::p", forceDestroy=False), res("u::gone"), res("u::same", x=1)]}
    assert diff_graphs(BASE, moved).changed[0].inputs == ("(parent)",)


def test_markdown_summarises_every_stack_and_tabulates_changes() -> None:
    text = render_markdown({"staging": diff_graphs(BASE, HEAD), "production": diff_graphs(BASE, BASE)})
    assert "- **production**: no changes" in text
    assert "- **staging**: 1 to add, 1 to change, 1 to delete" in text
    assert "| ~ | `aws:s3/bucket:Bucket` | `a` | `forceDestroy`: false → true<br>`tags`: ∅ → {\"t\": \"1\"} |" in text
    assert "<details><summary>production</summary>" not in text


def test_markdown_is_capped_and_cells_escaped() -> None:
    many = {"resources": [res(f"u::r{i}", note="a|b" * 50) for i in range(MAX_ROWS + 5)]}
    text = render_markdown({"s": diff_graphs({"resources": []}, many)})
    assert "| … | | | 5 more |" in text
    changed = render_markdown({"s": diff_graphs({"resources": [res("u::x", v="a|b")]},
                                                {"resources": [res("u::x", v="c")]})})
    assert "a\\|b → c" in changed


def test_changed_stacks_for_config_and_program_changes() -> None:
    stacks = ["production", "staging"]
    assert changed_stacks(["Pulumi.staging.yaml", "README.md"], stacks) == ["staging"]
    assert changed_stacks(["components/delivery/pipeline.py"], stacks) == stacks
    assert changed_stacks(["pyproject.toml"], stacks) == stacks
    assert changed_stacks(["docs/pipeline.md", ".github/workflows/ci.yml"], stacks) == []
    assert changed_stacks(["runtime/report.py", "Pulumi.production.yaml"], stacks, config_only=True) == ["production"]
    assert changed_stacks(["Pulumi.dev.yaml"], stacks) == []


def test_cli_diffs_real_graphs(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    (base / "staging.json").write_text(graph("staging").to_json(), encoding="utf-8")
    (head / "staging.json").write_text(graph("staging", {"pipeline": {"manualApproval": True}}).to_json(),
                                       encoding="utf-8")
    out = tmp_path / "diff.md"
    result = CliRunner().invoke(app, ["ci", "graph-diff", "--base", str(base), "--head", str(head), "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "**staging**: 0 to add, 1 to change, 0 to delete" in text
    assert "`aws:codepipeline/pipeline:Pipeline` | `delivery` | `stages`:" in text


def test_cli_changed_stacks_reads_a_file_list(tmp_path: Path) -> None:
    files = tmp_path / "changed.txt"
    files.write_text("Pulumi.production.yaml\ndocs/x.md\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ci", "changed-stacks", "--files", str(files), "--project-dir", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ["production"]
