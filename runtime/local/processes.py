"""Child processes of the local pipeline (scoring servers, the moto server): free ports, readiness, cleanup.

Every process runs in its own session (process group) so that stopping it also stops the workers it spawned
(MLflow's scoring server runs uvicorn/gunicorn workers). `ProcessGroup` stops everything it started when its
block exits, whether normally, on an exception or on Ctrl-C, and SIGTERM is turned into the same path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STOP_GRACE_S = 5.0


def free_port() -> int:
    """A port the OS considers free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProcessFailed(RuntimeError):
    """A child process exited or never became ready; the message carries the tail of its log."""


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    """Added to (or replacing) this process's environment."""
    unset_env: tuple[str, ...] = ()
    """Variables of this process's environment the child must not inherit."""
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k not in self.unset_env}
        try:
            self.proc = subprocess.Popen(list(self.argv), stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd,
                                         env={**env, **self.env}, start_new_session=True)
        finally:
            log.close()
        return self

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str, timeout_s: float) -> float:
        """Poll `path` until it answers 200; seconds it took. Raises ProcessFailed on exit or timeout."""
        t0 = time.monotonic()
        delay = 0.1
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise ProcessFailed(f"{self.name} exited (code {code}) before it was ready; log "
                                    f"{self.log_path}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2.0).status_code == 200:
                    return time.monotonic() - t0
            if time.monotonic() - t0 > timeout_s:
                raise ProcessFailed(f"{self.name} was not ready after {timeout_s:.0f} s; log {self.log_path}:\n"
                                    f"{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_GRACE_S)


def stop_session(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM to the command's process group (bash and what it started), SIGKILL after `grace_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


class ProcessGroup:
    """Owns child processes; stops all of them when the block exits, however it exits."""

    def __init__(self) -> None:
        self.processes: list[ManagedProcess] = []
        self._previous_sigterm: signal.Handlers | None = None

    def start(self, process: ManagedProcess) -> ManagedProcess:
        self.processes.append(process)
        return process.start()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> ProcessGroup:
        previous = signal.getsignal(signal.SIGTERM)
        self._previous_sigterm = previous if isinstance(previous, signal.Handlers) else None

        def on_sigterm(signum: int, frame: types.FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        with contextlib.suppress(ValueError):  # not in the main thread: leave signals alone
            signal.signal(signal.SIGTERM, on_sigterm)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)
