"""Shared by the sections of `python -m benchmarks decisions`: the `Row` every section returns, and the registry.

A section is a module `benchmarks/decisions_<name>.py` exposing

    TITLE: str                                   # heading of its table
    def run(trials: int, rng: numpy.random.Generator) -> list[Row]

`sections()` finds every such module (the known ones first, in `ORDER`), so a new gate's section only has to exist.
Each row is one cell of the operating-characteristics table: a check, a truth (null: as good as the baseline /
champion / reference; effect: the documented effect), a sample size and a traffic split, and how often the
decision came out FAIL, INCONCLUSIVE and PASS over `trials` simulated runs through the real decision functions.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np

#: Known sections, in table order; any other `decisions_*` module follows alphabetically.
ORDER = ("decisions_canary", "decisions_gate", "decisions_drift")
Truth = Literal["null", "effect"]


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion k / n."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Row:
    gate: str
    """"canary", "model gate", "drift", ..."""
    check: str
    """The check (metric) as the gate's report names it."""
    scenario: str
    """What was simulated, in words (e.g. "5xx 0.5 % both" or "5xx x2: 0.5 % -> 1 %")."""
    truth: Truth
    n: int
    """Sample size: canary requests (the canary side, all looks), evaluation rows, rows per group, ..."""
    unit: str
    split: str
    """Traffic split canary:baseline ("1:9"), or "-" where there is none."""
    trials: int
    fail: int
    inconclusive: int
    passed: int
    alpha: float
    """The false-FAIL rate the decision is held to (the gate's configured alpha)."""
    power: float
    """The power target at the documented effect."""
    looks: int = 1
    note: str = ""

    @property
    def fail_rate(self) -> float:
        return self.fail / self.trials

    @property
    def inconclusive_rate(self) -> float:
        return self.inconclusive / self.trials

    @property
    def pass_rate(self) -> float:
        return self.passed / self.trials

    @property
    def held(self) -> bool:
        """Null rows: the false-FAIL rate is within alpha plus its Monte Carlo margin (a FAIL count this high or
        higher has probability >= 0.001 when the true rate is alpha)."""
        if self.truth != "null":
            return True
        from scipy.stats import binom

        return float(binom.sf(self.fail - 1, self.trials, self.alpha)) >= 0.001

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, k in (("fail", self.fail), ("inconclusive", self.inconclusive), ("pass", self.passed)):
            lo, hi = wilson(k, self.trials)
            out[f"{key}_rate"] = k / self.trials
            out[f"{key}_interval"] = [lo, hi]
        out["held"] = self.held
        return out


def counts(fail: np.ndarray, passed: np.ndarray) -> tuple[int, int, int]:
    """(FAIL, INCONCLUSIVE, PASS) counts of per-trial outcomes (fail wins over pass)."""
    f = np.asarray(fail, dtype=bool)
    p = np.asarray(passed, dtype=bool) & ~f
    return int(f.sum()), int((~f & ~p).sum()), int(p.sum())


def sequential(fail_by_look: np.ndarray, pass_by_look: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per trial, the outcome of a canary that stops at its first decisive look: arrays (trials, looks) in, final
    (fail, passed) out; no decisive look = INCONCLUSIVE at the end."""
    fails = np.asarray(fail_by_look, dtype=bool)
    passes = np.asarray(pass_by_look, dtype=bool) & ~fails
    decisive = fails | passes
    first = np.where(decisive.any(axis=1), decisive.argmax(axis=1), -1)
    rows = np.arange(fails.shape[0])
    looked = first >= 0
    return looked & fails[rows, first], looked & passes[rows, first]


def sections() -> list[ModuleType]:
    import benchmarks

    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("decisions_") and m.name != "decisions_common")
    ordered = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
    modules = [importlib.import_module(f"benchmarks.{n}") for n in ordered]
    return [m for m in modules if callable(getattr(m, "run", None))]
