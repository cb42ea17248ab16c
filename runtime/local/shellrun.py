"""One command of an action in bash, as the build's shell runs it: in the action's checkout, with its environment,
exported variables carried to the next line, output appended to the action's log. A failing `mlcicd` command's
verdict comes from its report (else its exit code: 1 FAIL, 2 ERROR, 3 INCONCLUSIVE); any other failing line is a
FAIL naming the line and the end of its output."""

from __future__ import annotations

import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime.local.processes import stop_session
from runtime.local.state import Rehearsal
from runtime.local.summary import load_json, stop_reason
from runtime.pipeline.model import Action, Command, Mlcicd
from runtime.pipeline.render import render_command

#: Variables bash sets itself; not carried from one line to the next.
_SHELL_VARIABLES = frozenset({"_", "SHLVL", "PWD", "OLDPWD"})
VERDICT_OF_EXIT = {1: "FAIL", 2: "ERROR", 3: "INCONCLUSIVE"}


@dataclass
class ActionRun:
    """One action in progress: where it runs, its shell environment, its log, what it noted."""

    action: Action
    cwd: Path
    env: dict[str, str]
    log: Path
    notes: list[str] = field(default_factory=list)
    report: Path | None = None
    """The action's main report (its first `mlcicd ... --report`, or one a stand-in wrote)."""


class CommandFailed(Exception):
    def __init__(self, verdict: str, reason: str, report: Path | None = None) -> None:
        super().__init__(reason)
        self.verdict = verdict
        self.reason = reason
        self.report = report


def report_of(command: Command, cwd: Path) -> Path | None:
    if isinstance(command, Mlcicd) and "--report" in command.argv:
        return cwd / command.argv[command.argv.index("--report") + 1]
    return None


def run_shell(state: Rehearsal, run: ActionRun, command: Command) -> None:
    """One line in bash, in the action's checkout, with its environment; exported variables carry over."""
    line = render_command(command)
    env_file = state.workdir / "tmp" / f"{run.action.name}.env"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.unlink(missing_ok=True)
    script = (f"{line}\n__mlcicd_rc=$?\nif [ $__mlcicd_rc -eq 0 ]; then env -0 > {shlex.quote(str(env_file))}; fi\n"
              "exit $__mlcicd_rc\n")
    run.log.parent.mkdir(parents=True, exist_ok=True)
    with run.log.open("ab") as log:
        log.write(f"$ {line}\n".encode())
        start = log.tell()
        proc = subprocess.Popen(["bash", "-c", script], cwd=run.cwd, env=run.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        with state.lock:
            state.running.add(proc)
        t0 = time.perf_counter()
        try:
            code = proc.wait()
        except BaseException:  # interrupted: the command's whole session goes too, before the error travels on
            stop_session(proc)
            raise
        finally:
            with state.lock:
                state.running.discard(proc)
        log.write(f"[exit {code} after {time.perf_counter() - t0:.1f} s]\n".encode())
    report = report_of(command, run.cwd)
    if report is not None and run.report is None:
        run.report = report
    if code != 0:
        raise _failure(command, line, code, report, _tail(run.log, start))
    run.env = _read_env(env_file)


def _failure(command: Command, line: str, code: int, report: Path | None, tail: str) -> CommandFailed:
    data = load_json(report) if report is not None and report.exists() else None
    if data and data.get("verdict") in ("FAIL", "INCONCLUSIVE"):
        return CommandFailed(str(data["verdict"]), stop_reason(data), report)
    if isinstance(command, Mlcicd):
        return CommandFailed(VERDICT_OF_EXIT.get(code, "FAIL"), f"`{line}` exited with {code}: {tail}", report)
    return CommandFailed("FAIL", f"`{line}` exited with {code}: {tail}", report)


def _tail(log: Path, start: int, lines: int = 6) -> str:
    """The end of one command's output: its `error:` lines if it printed any, else its last lines."""
    with log.open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode(errors="replace")
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in kept if ln.lower().startswith(("error", "exception")) or ": error:" in ln]
    chosen = errors[-lines:] if errors else kept[-lines:]
    return " | ".join(chosen) or "(no output)"


def _read_env(path: Path) -> dict[str, str]:
    out = {}
    for item in path.read_bytes().split(b"\0"):
        name, sep, value = item.decode(errors="replace").partition("=")
        if sep and name not in _SHELL_VARIABLES:
            out[name] = value
    return out
