"""The report every gate writes (design.md section 4): the machine contract of the runtime.

The overall verdict is FAIL if any check fails, else INCONCLUSIVE if any is inconclusive, else PASS; a report
with no checks is INCONCLUSIVE (no evidence is never a pass). Values that JSON cannot carry (NaN, inf) are
written as null and the check that saw them must not be a PASS.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from runtime import errors


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"


#: Process exit codes of every `mlcicd` command (defined with the error hierarchy in runtime/errors.py).
EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = (errors.EXIT_PASS, errors.EXIT_FAIL, errors.EXIT_USAGE,
                                                      errors.EXIT_INCONCLUSIVE)
EXIT_CODES: dict[Verdict, int] = {Verdict.PASS: EXIT_PASS, Verdict.FAIL: EXIT_FAIL,
                                  Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    seen = list(verdicts)
    if not seen:
        return Verdict.INCONCLUSIVE
    if Verdict.FAIL in seen:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in seen:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


def _json_safe(value: Any) -> Any:
    """Make a value strict-JSON: NaN/inf become None, numpy scalars and tuples become plain Python."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return _json_safe(value.item())
    return value


@dataclass
class Check:
    name: str
    verdict: Verdict
    observed: Any = None
    threshold: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "verdict": self.verdict.value, "observed": _json_safe(self.observed),
                "threshold": self.threshold, "reason": self.reason}


def passed(name: str, observed: Any, threshold: str | None, reason: str) -> Check:
    return Check(name, Verdict.PASS, observed, threshold, reason)


def failed(name: str, observed: Any, threshold: str | None, reason: str) -> Check:
    return Check(name, Verdict.FAIL, observed, threshold, reason)


def inconclusive(name: str, reason: str, observed: Any = None, threshold: str | None = None) -> Check:
    return Check(name, Verdict.INCONCLUSIVE, observed, threshold, reason)


@dataclass
class Report:
    kind: str
    subject: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    """Kind-specific extra evidence (per-column statistics, latency histograms, ...)."""
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def verdict(self) -> Verdict:
        return combine(c.verdict for c in self.checks)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def finish(self) -> Report:
        self.duration_s = round(time.perf_counter() - self._t0, 4)
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "verdict": self.verdict.value,
            "subject": _json_safe(self.subject),
            "checks": [c.to_dict() for c in self.checks],
            "started_at": self.started_at,
            "duration_s": self.duration_s,
        }
        if self.details:
            out["details"] = _json_safe(self.details)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def write(self, path: Path) -> Path:
        """Write atomically (temp file in the same directory, then rename)."""
        write_atomic(path, self.to_json())
        return path

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def summary_lines(self) -> list[str]:
        """Human-readable summary, failing checks first."""
        order = {Verdict.FAIL: 0, Verdict.INCONCLUSIVE: 1, Verdict.PASS: 2}
        subject = " ".join(f"{k}={v}" for k, v in self.subject.items() if v is not None)
        lines = [f"{self.kind}: {self.verdict.value} ({subject})"]
        for check in sorted(self.checks, key=lambda c: order[c.verdict]):
            lines.append(f"  [{check.verdict.value:^12}] {check.name}: {check.reason}")
        return lines


def write_atomic(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_report(path: Path) -> dict[str, Any]:
    """Read a report written by any gate; raises InvalidValue (a ValueError) naming the file when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise errors.InvalidValue(f"{path}: not a readable report ({exc})") from exc
    if not isinstance(data, dict) or not {"kind", "verdict", "checks"} <= set(data):
        raise errors.InvalidValue(f"{path}: not a report (needs kind, verdict, checks)")
    return data
