"""Find and run the project's Pulumi program the way the Pulumi engine does, without importing it.

`Pulumi.yaml` names the program's directory in `main` (default: the project directory); the Python language host
executes that directory's `__main__.py` as `__main__`. `mlcicd graph` does the same inside its recording mocks, so
the runtime never imports `infra/`: imports go infra -> components -> runtime, never back.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from runtime.errors import UsageError

PROJECT_FILE = "Pulumi.yaml"


def program_path(root: Path) -> Path:
    """What the engine runs for the project at `root`: the `main` directory (holding `__main__.py`), or `main`
    itself when it names a Python file. Raises UsageError naming the bad file or key and the fix."""
    import yaml

    project = root / PROJECT_FILE
    try:
        doc = yaml.safe_load(project.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no {PROJECT_FILE} in {root}: run from the project directory or pass --project-dir") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {project}: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{project}: expected a mapping with `name`, `runtime` and optionally `main`")
    main = doc.get("main") or "."
    if not isinstance(main, str):
        raise UsageError(f"{project}: `main` = {main!r} must be a path relative to the project, e.g. `infra/`")
    target = (root / main).resolve()
    entry = target / "__main__.py" if target.is_dir() else target
    if not entry.is_file() or entry.suffix != ".py":
        raise UsageError(f"{project}: `main` = {main!r} has no Python program ({entry} not found); point `main` at "
                         "the directory holding the program's __main__.py")
    return target


def run_program(program: Path, root: Path) -> None:
    """Execute the program as `__main__` with the project directory importable (as the engine's working
    directory is). Call it inside a Pulumi run context (the engine's, or mocks)."""
    project_dir = str(root.resolve())
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    runpy.run_path(str(program), run_name="__main__")
