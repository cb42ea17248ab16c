"""A container stand-in without Docker: bubblewrap gives the serving command the filesystem its task gets.

`sandbox_prefix` builds the `bwrap` argv from the serving definition (runtime/serving/command.py), not from a
copy of it: the whole host read-only; `/opt` a read-only tmpfs holding the image layout (the serving package at
PACKAGE_ROOT as `runtime/serving/image.py` copies it, the model at MODEL_DIR); a tmpfs at each of WRITABLE_PATHS
and nowhere else; /dev read-only; its own user namespace running as RUN_AS_UID:RUN_AS_UID; its own PID namespace;
an environment of exactly the given variables. Bubblewrap (Debian package `bubblewrap`) is installed by .ci/run.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from runtime.serving import command
from tests.harness import missing_tool


def require_bwrap() -> str:
    """bwrap's path. Missing: a failure in CI (.ci/run installs it), a skip on a developer machine without it."""
    found = shutil.which("bwrap")
    if found is None:
        missing_tool("bubblewrap is not installed: `apt-get install -y bubblewrap` (.ci/run does)")
    return found


def sandbox_prefix(*, package_root: Path, model_dir: Path, env: Mapping[str, str]) -> list[str]:
    argv = [require_bwrap(), "--ro-bind", "/", "/",
            "--tmpfs", "/opt", "--ro-bind", str(package_root), command.PACKAGE_ROOT,
            "--ro-bind", str(model_dir), command.MODEL_DIR, "--remount-ro", "/opt",
            "--dev", "/dev", "--remount-ro", "/dev", "--proc", "/proc"]
    for writable in command.WRITABLE_PATHS:
        argv += ["--tmpfs", writable.path]
    # A checkout (and its virtualenv) under a writable path such as /tmp would be hidden by that tmpfs: bind the
    # interpreter and the checkout back, read-only, as the image has them.
    for kept in sorted({Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[1]}):
        if any(kept.is_relative_to(w.path) for w in command.WRITABLE_PATHS):
            argv += ["--ro-bind", str(kept), str(kept)]
    argv += ["--unshare-user", "--uid", str(command.RUN_AS_UID), "--gid", str(command.RUN_AS_UID),
             "--unshare-pid", "--die-with-parent", "--chdir", command.SCRATCH, "--clearenv"]
    for key, value in sorted(env.items()):
        argv += ["--setenv", key, value]
    return [*argv, "--"]
