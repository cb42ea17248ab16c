"""`mlcicd init`: a new team project on the platform, from the templates under `template/` (package data).

`*.tmpl` files are text with `@@NAME@@` placeholders; other files (the example data) are copied as they are; a
leading `github/` or `gitignore` becomes `.github/` and `.gitignore`. The stack files are rendered by `stacks.py`.
The example project (`training/`, `data/`) and the deploy, preview and graph-comment workflows are copies of the
platform repository's own; `sync(root)` refreshes them and a test keeps them equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

from runtime.errors import UsageError
from runtime.scaffold.stacks import StackOptions, render_stack

TEMPLATE = Path(str(resources.files("runtime.scaffold") / "template"))
#: Files of the platform repository the template carries verbatim (relative paths there).
SYNCED_DIRS = ("training", "data")
SYNCED_WORKFLOWS = ("deploy.yml", "preview.yml", "graph-comment.yml")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ProjectOptions:
    model_name: str
    backend: Literal["ecs", "eks"] = "ecs"
    tracking: Literal["self-hosted", "sagemaker"] = "self-hosted"
    region: str = "eu-west-1"
    repository: str | None = None

    def check(self) -> None:
        if not _NAME.match(self.model_name):
            raise UsageError(f"--model-name {self.model_name!r}: letters, digits, `.`, `_`, `-` (a registered "
                             "model name, at most 64 characters)")
        if self.repository is not None and not _REPOSITORY.match(self.repository):
            raise UsageError(f"--repository {self.repository!r}: expected owner/name")


def platform_version() -> str:
    try:
        return version("ml-cicd")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.1.0"


def target_path(relative: str) -> str:
    """Where a template file lands in the project."""
    name = relative.removesuffix(".tmpl")
    if name.startswith("github/"):
        return "." + name
    return ".gitignore" if name == "gitignore" else name


def render(directory: Path, options: ProjectOptions) -> dict[str, bytes]:
    """Every file of the new project: relative path -> content."""
    options.check()
    project = directory.resolve().name
    values = {"PROJECT": project, "MODEL_NAME": options.model_name, "REGION": options.region,
              "REPOSITORY": options.repository or f"OWNER/{project}", "PLATFORM_VERSION": platform_version()}
    files: dict[str, bytes] = {}
    for path in sorted(p for p in TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = path.relative_to(TEMPLATE).as_posix()
        if relative.endswith(".tmpl"):
            text = path.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace(f"@@{key}@@", value)
            files[target_path(relative)] = text.encode()
        else:
            files[target_path(relative)] = path.read_bytes()
    stack = StackOptions(options.model_name, options.backend, options.tracking, options.region,
                         values["REPOSITORY"], _sample_rows(TEMPLATE / "data" / "evaluation.parquet"))
    for environment in ("staging", "production"):
        files[f"Pulumi.{environment}.yaml"] = render_stack(stack, environment).encode()
    return files


def _sample_rows(path: Path) -> tuple[tuple[str, ...], tuple[tuple[object, ...], ...]]:
    import pandas as pd

    frame = pd.read_parquet(path).drop(columns=["benign"]).head(3)
    rows = tuple(tuple(round(v, 4) if isinstance(v, float) else v for v in row)
                 for row in frame.itertuples(index=False))
    return tuple(str(c) for c in frame.columns), rows


def write_project(directory: Path, options: ProjectOptions, *, force: bool = False) -> list[Path]:
    """Write the project into `directory`; refuses (UsageError listing them) to overwrite files unless `force`."""
    files = render(directory, options)
    existing = sorted(rel for rel in files if (directory / rel).exists())
    if existing and not force:
        shown = "\n  ".join(existing)
        raise UsageError(f"{directory} already has {len(existing)} of the files init writes; nothing was written:\n"
                         f"  {shown}\npass --force to overwrite them")
    written = []
    for rel, content in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def sync(root: Path) -> list[str]:
    """Copy the platform repository's example project and workflows into the template; the files changed."""
    changed = []
    pairs = [(root / d / rel, TEMPLATE / d / (rel + ("" if rel.endswith(".parquet") else ".tmpl")))
             for d in SYNCED_DIRS for rel in _relative_files(root / d)]
    pairs += [(root / ".github" / "workflows" / w, TEMPLATE / "github" / "workflows" / f"{w}.tmpl")
              for w in SYNCED_WORKFLOWS]
    for source, target in pairs:
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            changed.append(str(target.relative_to(TEMPLATE)))
    return changed


def _relative_files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
