"""Progress of long steps: shown on a terminal (a real pseudo-terminal here), silent when stderr is a file or a
pipe, so pipeline logs and captured output stay as they were."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.progress import enabled, progress
from tests.harness import ROOT


def _data(tmp_path: Path) -> tuple[Path, Path]:
    rows = "".join(f"{i},{i % 7},{'abc'[i % 3]}\n" for i in range(2000))
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    for path in (ref, cur):
        path.write_text("a,b,c\n" + rows, encoding="utf-8")
    return ref, cur


def _command(tmp_path: Path) -> list[str]:
    ref, cur = _data(tmp_path)
    return [sys.executable, "-m", "runtime.cli.main", "data", "validate", "--reference", str(ref), "--current",
            str(cur), "--report", str(tmp_path / "report.json")]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLCICD_PROGRESS"}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "120"}


def _run_on_a_terminal(command: list[str]) -> tuple[int, str]:
    """Run with stderr (and stdout) on a pseudo-terminal; return the exit code and everything it drew."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, cwd=ROOT,
                               env=_env())
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_data_validation_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    code, drawn = _run_on_a_terminal(_command(tmp_path))
    assert code == 0, drawn
    assert "data validation: summarising the reference" in drawn
    assert "\x1b[" in drawn  # drawn with terminal control sequences, then removed


def test_data_validation_is_silent_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    result = subprocess.run(_command(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=120, env=_env())
    assert result.returncode == 0, result.stderr
    assert "data validation:" not in result.stderr
    assert "\x1b[" not in result.stderr


@pytest.mark.parametrize(("value", "tty", "shown"), [("", False, False), ("", True, True), ("0", True, False),
                                                      ("1", False, True), ("off", True, False)])
def test_when_progress_is_shown(monkeypatch: pytest.MonkeyPatch, value: str, tty: bool, shown: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    monkeypatch.setenv("MLCICD_PROGRESS", value)
    assert enabled(Stream()) is shown


def test_off_a_terminal_the_helper_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("load test", 10, unit="requests") as advance:
        for _ in range(10):
            advance()
        advance(0, "draining")
    assert capsys.readouterr() == ("", "")


def test_the_load_test_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    from tests.servers import serve_process

    rows = tmp_path / "rows.csv"
    rows.write_text("x1,x2,x3\n1,2,3\n4,5,6\n", encoding="utf-8")
    with serve_process("correct") as server:
        code, drawn = _run_on_a_terminal([sys.executable, "-m", "runtime.cli.main", "smoke", "--load", "--endpoint",
                                          server.url, "--sample-data", str(rows), "--rps", "20", "--duration", "1.5",
                                          "--report", str(tmp_path / "load.json")])
    assert code == 0, drawn
    assert "load test" in drawn
    assert "requests" in drawn
