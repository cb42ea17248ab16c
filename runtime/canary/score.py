"""The canary score: the weighted share of passing metrics, widened into a range by metrics that cannot decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ScoreRange:
    low: float
    high: float
    """Score (0-100) if every undecided metric failed (low) or passed (high); equal when all decided."""


def score_range(outcomes: Sequence[tuple[float, bool | None]]) -> ScoreRange:
    """Weighted share of passing metrics, 0-100. Each outcome is (weight, passed), passed None = undecided."""
    total = sum(weight for weight, _ in outcomes)
    if total <= 0:
        raise ValueError("at least one metric needs a positive weight")
    passed = sum(weight for weight, ok in outcomes if ok is True)
    unknown = sum(weight for weight, ok in outcomes if ok is None)
    return ScoreRange(100.0 * passed / total, 100.0 * (passed + unknown) / total)


Label = Literal["PASS", "MARGINAL", "FAIL", "INCONCLUSIVE"]


def classify_score(score: ScoreRange, *, pass_score: float, marginal_score: float) -> Label:
    """PASS when even the worst case passes; FAIL or MARGINAL (by the best case) when even the best case misses
    `pass_score`; INCONCLUSIVE when the undecided metrics decide."""
    if score.low >= pass_score:
        return "PASS"
    if score.high < pass_score:
        return "MARGINAL" if score.high >= marginal_score else "FAIL"
    return "INCONCLUSIVE"
