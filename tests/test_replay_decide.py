"""The replay verdict on synthetic pairs with known answers (runtime/replay/decide.py, judge.py): one behaviour per
test, pure functions, no servers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from runtime.config.replay import ReplayGateConfig
from runtime.replay.decide import count_checks, decide
from runtime.replay.judge import Pairs, Task

REGIONS = np.array(["north", "south", "east"], dtype=object)


def pairs(n: int = 2000, *, seed: int = 0, flip: float = 0.0, flip_segment: str | None = None, slower: float = 1.0,
          candidate_errors: float = 0.0, regression_shift: float | None = None,
          labels: bool = False) -> Pairs:
    """Single-row requests; the candidate flips `flip` of decisions (everywhere, or all of one segment)."""
    rng = np.random.default_rng(seed)
    segments = REGIONS[rng.integers(0, 3, n)]
    champ_ms = rng.lognormal(np.log(5), 0.3, n)
    cand_ms = champ_ms * slower * rng.lognormal(0, 0.1, n)
    cand_ok = rng.random(n) >= candidate_errors
    if regression_shift is not None:
        champion = rng.normal(10, 2, n)
        candidate = champion + regression_shift + rng.normal(0, 0.05, n)
        truth: Any = champion + rng.normal(0, 1, n)
    else:
        champion = rng.integers(0, 2, n)
        flipped = segments == flip_segment if flip_segment else rng.random(n) < flip
        candidate = np.where(flipped, 1 - champion, champion)
        truth = np.where(rng.random(n) < 0.9, champion, 1 - champion)  # the champion is right 90 % of the time
    both = cand_ok
    objects = np.empty(int(both.sum()), dtype=object)

    def rows(values: Any) -> np.ndarray:
        out = objects.copy()
        out[:] = list(np.asarray(values)[both])
        return out

    return Pairs(champion_ok=np.ones(n, bool), candidate_ok=cand_ok, champion_ms=champ_ms, candidate_ms=cand_ms,
                 champion=rows(champion), candidate=rows(candidate), segments=rows(segments),
                 labels=rows(truth) if labels else None)


def verdicts(p: Pairs, task: Task = "classification", **cfg: Any) -> dict[str, str]:
    checks, _ = decide(p, ReplayGateConfig(**cfg), task, segment_column="region",
                       labels_expected=p.labels is not None)
    return {c.name: c.verdict.value for c in checks}


def test_identical_models_pass_every_check() -> None:
    assert set(verdicts(pairs()).values()) == {"PASS"}


def test_a_few_flipped_decisions_pass_many_fail() -> None:
    assert verdicts(pairs(flip=0.02))["prediction disagreement"] == "PASS"
    assert verdicts(pairs(flip=0.12))["prediction disagreement"] == "FAIL"


def test_a_flip_confined_to_one_segment_fails_that_segment_by_name() -> None:
    p = pairs(n=3000, flip_segment="east")
    checks, details = decide(p, ReplayGateConfig(), "classification", segment_column="region")
    segment = next(c for c in checks if c.name == "segments by region")
    assert (segment.verdict.value, segment.observed) == ("FAIL", "east")
    assert details["segments"]["worst"] == "east"
    assert [r["segment"] for r in details["segments"]["rows"] if r["verdict"] == "FAIL"] == ["east"]


def test_small_segments_are_listed_not_judged() -> None:
    p = pairs(n=2000)
    assert p.segments is not None
    p.segments[:10] = "tiny"
    checks, _ = decide(p, ReplayGateConfig(min_segment_samples=30), "classification", segment_column="region")
    segment = next(c for c in checks if c.name == "segments by region")
    assert "1 segments under 30 rows not judged" in segment.reason
    assert count_checks(p, ReplayGateConfig(), labelled=False) == 2 + 2 + 3


def test_too_few_rows_is_inconclusive_naming_how_many() -> None:
    checks, details = decide(pairs(n=60, flip=0.02), ReplayGateConfig(), "classification")
    by_name = {c.name: c for c in checks}
    assert by_name["prediction disagreement"].verdict.value == "INCONCLUSIVE"
    assert "needs about" in by_name["prediction disagreement"].reason
    assert by_name["latency p99 ratio"].verdict.value == "INCONCLUSIVE"
    assert details["samples_needed"] >= 1000


def test_candidate_errors_fail_the_error_rate() -> None:
    assert verdicts(pairs(candidate_errors=0.03))["error rate"] == "FAIL"
    assert verdicts(pairs(candidate_errors=0.001))["error rate"] == "PASS"


@pytest.mark.parametrize(("slower", "verdict"), [(1.0, "PASS"), (1.6, "FAIL")])
def test_latency_ratio(slower: float, verdict: str) -> None:
    found = verdicts(pairs(slower=slower))
    assert found["latency p50 ratio"] == verdict
    assert found["latency p99 ratio"] == verdict


def test_regression_equivalence_margin() -> None:
    assert verdicts(pairs(regression_shift=0.0), "regression", equivalenceMargin=0.5)["prediction equivalence"] \
        == "PASS"
    assert verdicts(pairs(regression_shift=1.0), "regression", equivalenceMargin=0.5)["prediction equivalence"] \
        == "FAIL"
    small = verdicts(pairs(n=6, regression_shift=0.3), "regression", equivalenceMargin=0.5)  # exact p >= 1/64
    assert small["prediction equivalence"] == "INCONCLUSIVE"


def test_labels_mcnemar_fails_a_less_accurate_candidate_and_passes_an_equal_one() -> None:
    assert verdicts(pairs(labels=True))["labelled accuracy"] == "PASS"
    worse = verdicts(pairs(flip=0.08, labels=True))
    assert worse["labelled accuracy"] == "FAIL"  # every flip of a mostly right champion is a likely error


def test_labels_regression_absolute_error() -> None:
    found = verdicts(pairs(regression_shift=0.8, labels=True), "regression", equivalenceMargin=5.0)
    assert found["labelled absolute error"] == "FAIL"
    assert found["prediction equivalence"] == "PASS"  # within the margin, yet measurably worse on the labels


def test_labels_expected_but_none_joined_is_inconclusive() -> None:
    p = pairs()
    p.labels = np.full(p.rows, None, dtype=object)
    assert verdicts(p)["labelled accuracy"] == "INCONCLUSIVE"


def test_the_level_of_each_check_is_alpha_over_the_checks_that_can_fail() -> None:
    _, details = decide(pairs(), ReplayGateConfig(alpha=0.06), "classification", segment_column="region")
    assert details["checks_that_can_fail"] == 7  # errors, disagreement, p50, p99, three segments
    assert details["alpha_per_check"] == pytest.approx(0.06 / 7)


@pytest.mark.parametrize(("task", "p", "cfg"), [
    ("classification", pairs(n=1200, flip_segment="east"), {}),
    ("regression", pairs(n=1200, regression_shift=0.2), {"equivalenceMargin": 0.5}),
])
def test_the_html_page_draws_segments_predictions_and_latency_with_the_limits(task: Task, p: Pairs,
                                                                               cfg: dict[str, Any]) -> None:
    from html.parser import HTMLParser

    from runtime.replay.html import render_html
    from runtime.report import Report

    checks, details = decide(p, ReplayGateConfig(**cfg), task, segment_column="region")
    report = Report(kind="replay-gate", subject={"model": "m", "version": "2", "champion": "1"}, checks=checks,
                    details=details)
    page = render_html(report.to_dict())
    HTMLParser().feed(page)  # well-formed enough to parse
    assert "By segment: region" in page
    limit = "limit 0.5" if task == "regression" else "limit 0.05"  # the bound drawn over the segments
    assert limit in page
    assert "p50 allowed" in page
    assert "p99 allowed" in page
    assert ("off the diagonal" in page) is (task == "classification")
    assert "<script" not in page
