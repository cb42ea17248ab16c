"""One direction of dependencies: infra/ (the Pulumi program) -> components/ -> runtime/, and no import loops.

Every import statement of every module under the three folders is read with `ast` (module level, inside functions
and under TYPE_CHECKING alike: a lazy upward import is still upward). A failure names the module, the line and the
import.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.harness import ROOT

#: Lower layers never import higher ones: runtime is a pure library, components use it, the program uses both.
LAYERS = {"runtime": 0, "components": 1, "infra": 2}


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module (dotted)."""
    target: str
    """The imported module (dotted; `from pkg import submodule` is `pkg.submodule`)."""
    where: str
    """`path:line` of the statement."""


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(root, p): p for layer in LAYERS for p in sorted((root / layer).rglob("*.py"))}


def _resolve(name: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _known(target: str, known: dict[str, Path]) -> str | None:
    """The nearest module of ours that `target` names (a name imported from a module is that module)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def imports(root: Path) -> list[Import]:
    """Every import of one of our modules by one of our modules."""
    known = modules(root)
    found: list[Import] = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path, node)
                subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
                targets = subs + ([base] if len(subs) < len(node.names) else [])
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            for target in targets:
                resolved = _known(target, known)
                if resolved is not None and resolved != name:
                    found.append(Import(name, resolved, where))
    return found


def upward_imports(found: list[Import]) -> list[str]:
    return sorted(f"{i.module} ({i.where}) imports {i.target}: {i.module.split('.')[0]}/ must not import "
                  f"{i.target.split('.')[0]}/ (direction: infra -> components -> runtime)"
                  for i in found if LAYERS[i.target.split(".")[0]] > LAYERS[i.module.split(".")[0]])


def import_cycles(found: list[Import]) -> list[str]:
    """Each import loop once, as `a (a.py:3) -> b (b.py:7) -> a`."""
    edges: dict[str, dict[str, str]] = {}
    for i in found:
        edges.setdefault(i.module, {}).setdefault(i.target, i.where)
    cycles: list[str] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, {})):
            if state.get(target) == 1:
                loop = path[path.index(target):]
                if frozenset(loop) not in seen:
                    seen.add(frozenset(loop))
                    hops = [f"{m} ({edges[m][n]})" for m, n in zip(loop, [*loop[1:], target], strict=True)]
                    cycles.append(" -> ".join([*hops, target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    return cycles


def test_no_layer_imports_a_higher_one() -> None:
    assert upward_imports(imports(ROOT)) == []


def test_no_import_cycles_between_modules() -> None:
    assert import_cycles(imports(ROOT)) == []


def test_every_layer_is_read() -> None:
    found = modules(ROOT)
    assert {"infra.program", "components.serving.ecs", "runtime.graph"} <= set(found)
    assert len(imports(ROOT)) > 100


# The checks themselves, on a small tree with one violation of each kind ----------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_an_upward_import_is_named_with_its_line(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "infra/__init__.py": "", "infra/outputs.py": "NAME = 'x'\n",
        "components/__init__.py": "", "runtime/__init__.py": "",
        "components/thing.py": "import json\n\ndef f():\n    from infra import outputs\n",
        "runtime/lib.py": "from components.thing import f\nfrom runtime import other\n", "runtime/other.py": "",
    })
    assert upward_imports(imports(root)) == [
        "components.thing (components/thing.py:4) imports infra.outputs: components/ must not import infra/ "
        "(direction: infra -> components -> runtime)",
        "runtime.lib (runtime/lib.py:1) imports components.thing: runtime/ must not import components/ "
        "(direction: infra -> components -> runtime)",
    ]


def test_an_import_cycle_is_named_hop_by_hop(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "infra/__init__.py": "", "components/__init__.py": "", "runtime/__init__.py": "",
        "components/tracking/__init__.py": "",
        "components/tracking/server.py": "from components.tracking.mode import build\n",
        "components/tracking/mode.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                       "    from .server import Args\n",
        "components/tracking/ok.py": "from components.tracking import mode\n",
    })
    assert import_cycles(imports(root)) == [
        "components.tracking.mode (components/tracking/mode.py:3) -> components.tracking.server "
        "(components/tracking/server.py:1) -> components.tracking.mode",
    ]
