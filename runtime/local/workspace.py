"""The rehearsal's files: a snapshot of the project (what CodePipeline's Source action hands every build), one
fresh checkout of it per action, and the few stack-file values a stand-in sets.

The project itself is never written to: faults and `local` settings change the snapshot, actions work in their
own checkouts under the work dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from runtime.config.base import NAMESPACE

#: Never part of the snapshot (caches, environments, VCS data), whatever the project's .gitignore says.
SKIPPED_DIRS = frozenset({".git", ".venv", "venv", ".mlcicd", "__pycache__", ".pytest_cache", ".ruff_cache",
                          "node_modules", ".tools", "mlruns", "build", "dist"})


def project_files(project: Path, exclude: Path | None = None) -> list[Path]:
    """Files of the project, relative: git's view (tracked and untracked, not ignored) in a git work tree, else
    every file outside the skipped directories. `exclude` (the work dir) is left out either way."""
    listed = _git_files(project)
    if listed is None:
        listed = []
        for root, dirs, files in os.walk(project):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
            listed += [Path(root, name).relative_to(project) for name in sorted(files)]
    skip = exclude.resolve() if exclude is not None else None
    out = []
    for rel in listed:
        path = project / rel
        if not path.is_file() or set(rel.parts) & SKIPPED_DIRS:
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        out.append(rel)
    return out


def _git_files(project: Path) -> list[Path] | None:
    if shutil.which("git") is None or not (project / ".git").exists():
        return None
    done = subprocess.run(["git", "-C", str(project), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True)
    if done.returncode != 0:
        return None
    return [Path(p) for p in done.stdout.decode().split("\0") if p]


def copy_files(source: Path, files: list[Path], dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)


def checkout(snapshot: Path, dest: Path) -> None:
    """A fresh copy of the snapshot for one action (CodeBuild gives every action its own source checkout)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(snapshot, dest, symlinks=True)


# Stack files ----------------------------------------------------------------------------------------------------
def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def read_key(path: Path, dotted: str) -> Any:
    """The value at `section.key.sub` under `ml-cicd:` of a stack file, or None."""
    import yaml

    node: Any = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config", {})
    section, *rest = dotted.split(".")
    node = node.get(f"{NAMESPACE}:{section}")
    for part in rest:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def set_keys(path: Path, values: dict[str, Any]) -> None:
    """Set `section.key.sub` values under `ml-cicd:` (comments and order kept), as `pulumi config set --path`
    does; missing mappings are created."""
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml()
    doc = yaml.load(path.read_text(encoding="utf-8"))
    config = doc.setdefault("config", CommentedMap())
    for dotted, value in values.items():
        section, *rest = dotted.split(".")
        node = config.setdefault(f"{NAMESPACE}:{section}", CommentedMap())
        for part in rest[:-1]:
            node = node.setdefault(part, CommentedMap())
        node[rest[-1]] = value
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
