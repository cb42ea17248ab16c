"""The runtime runs the project's program the way the engine does: from `main` in Pulumi.yaml, never by import."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import UsageError
from runtime.graph import build_graph
from runtime.program import program_path
from tests.harness import ROOT, stack_config


def _project(tmp_path: Path, pulumi_yaml: str, files: dict[str, str]) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(pulumi_yaml, encoding="utf-8")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_this_project_runs_the_infra_directory() -> None:
    assert program_path(ROOT) == ROOT / "infra"


def test_graph_runs_whatever_program_main_names(tmp_path: Path) -> None:
    program = "import pulumi\n\npulumi.export('ran', 'elsewhere')\n"
    root = _project(tmp_path, "name: other\nruntime: python\nmain: deploy/\n", {"deploy/__main__.py": program})
    graph = build_graph("staging", root, raw_config=stack_config("staging"))
    assert graph.outputs == {"ran": "elsewhere"}
    assert graph.resources == []


def test_main_defaults_to_the_project_directory(tmp_path: Path) -> None:
    root = _project(tmp_path, "name: flat\nruntime: python\n", {"__main__.py": ""})
    assert program_path(root) == root.resolve()


@pytest.mark.parametrize(("pulumi_yaml", "words"), [
    (None, "no Pulumi.yaml"),
    ("name: x\nruntime: python\nmain: nowhere/\n", "`main` = 'nowhere/'"),
    ("name: x\nruntime: python\nmain: [infra]\n", "must be a path"),
    ("- just a list\n", "expected a mapping"),
])
def test_a_bad_project_file_is_a_usage_error_naming_it(tmp_path: Path, pulumi_yaml: str | None,
                                                        words: str) -> None:
    if pulumi_yaml is not None:
        (tmp_path / "Pulumi.yaml").write_text(pulumi_yaml, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        program_path(tmp_path)
    assert words in str(info.value)
