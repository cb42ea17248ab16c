"""All checks of a replay or shadow verdict from one `Pairs`: errors, the prediction comparison, labelled quality,
latency p50 and p99, and segments; the per-check level is alpha over the number of checks that can fail.

Segments screen for local harm: a segment FAILs when its own comparison is beyond the bound at the corrected
level; the evidence that the candidate is within bounds comes from the overall comparison, so a segment too small
to prove anything does not block a good candidate. Segments with fewer than `minSegmentSamples` rows are listed,
not judged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from runtime.config.replay import ReplayGateConfig
from runtime.replay import judge as j
from runtime.replay import stats
from runtime.report import Check, Verdict, failed, inconclusive, passed

#: Latency quantiles judged, with the config key of each bound.
QUANTILES = ((0.5, "max_latency_ratio_p50"), (0.99, "max_latency_ratio_p99"))
#: Points of the candidate-vs-champion scatter kept for the HTML report (regression).
SCATTER_POINTS = 400
#: Classes shown in the champion-by-candidate table (classification); the rest are "other".
TABLE_CLASSES = 8


def _segments(p: j.Pairs, cfg: ReplayGateConfig) -> tuple[list[Any], list[Any]]:
    """(judged segment values, too-small segment values), sorted by their text."""
    if p.segments is None:
        return [], []
    values, counts = np.unique(np.asarray([str(v) for v in p.segments]), return_counts=True)
    judged = [v for v, c in zip(values, counts, strict=True) if c >= cfg.min_segment_samples]
    small = [v for v, c in zip(values, counts, strict=True) if c < cfg.min_segment_samples]
    return judged, small


def describe(r: dict[str, Any]) -> str:
    """One segment's result in words (a disagreement rate, or a median prediction difference)."""
    if "rate" in r:
        return f"{r['segment']}: {j.pct(r['rate'])} of {r['rows']} rows disagree (lower bound {j.pct(r['lower'])})"
    return (f"{r['segment']}: median difference {j.fmt(r['median_difference'])} over {r['rows']} rows (outside "
            f"p = {r['p_outside']:.2g})")


def segment_check(p: j.Pairs, cfg: ReplayGateConfig, task: j.Task, alpha: float,
                  column: str) -> tuple[Check, list[dict[str, Any]]]:
    assert p.segments is not None
    judged, small = _segments(p, cfg)
    keys = np.asarray([str(v) for v in p.segments])
    name = f"segments by {column}"
    if not judged:
        return inconclusive(name, f"no {column} segment has {cfg.min_segment_samples} rows (segments: "
                            f"{len(small)})"), []
    rows: list[dict[str, Any]] = []
    if task == "classification":
        same = j.same(p.champion, p.candidate)
        for value in judged:
            rows.append({"segment": value, **j.disagreement(same[keys == value], cfg.max_disagreement, alpha,
                                                            cfg.power)})
        rows.sort(key=lambda r: (-r["rate"], r["segment"]))
        threshold = f"lower bound <= {j.pct(cfg.max_disagreement)} at {alpha:.3g} per check"
    else:
        diff = j.numeric(p.candidate, "candidate") - j.numeric(p.champion, "champion")
        margin = cfg.equivalence_margin or 0.0
        for value in judged:
            rows.append({"segment": value, **j.equivalence(diff[keys == value], margin, alpha, cfg.power)})
        rows.sort(key=lambda r: (-abs(r["median_difference"]), r["segment"]))
        threshold = f"shift within +-{j.fmt(margin)} at {alpha:.3g} per check"
    bad = [r for r in rows if r["verdict"] == "FAIL"]
    skipped = f"; {len(small)} segments under {cfg.min_segment_samples} rows not judged" if small else ""
    if bad:
        return failed(name, bad[0]["segment"], threshold, f"{len(bad)} of {len(rows)} segments beyond the bound, "
                      f"worst {describe(bad[0])}" + "".join(f"; {describe(r)}" for r in bad[1:3]) + skipped), rows
    return passed(name, rows[0]["segment"], threshold, f"no segment beyond the bound ({len(rows)} judged); worst "
                  f"{describe(rows[0])}{skipped}"), rows


def count_checks(p: j.Pairs, cfg: ReplayGateConfig, labelled: bool) -> int:
    """Checks that can FAIL: errors, the prediction comparison, labelled quality, two latency quantiles, and one
    per judged segment."""
    return 2 + int(labelled) + len(QUANTILES) + len(_segments(p, cfg)[0])


def _labelled(p: j.Pairs) -> NDArray[np.bool_]:
    if p.labels is None:
        return np.zeros(p.rows, dtype=bool)
    return np.fromiter((v is not None for v in p.labels), dtype=bool, count=p.rows)


def _predictions_detail(p: j.Pairs, task: j.Task, rng: np.random.Generator) -> dict[str, Any]:
    if task == "regression":
        take = rng.choice(p.rows, size=min(p.rows, SCATTER_POINTS), replace=False) if p.rows else np.array([], int)
        return {"scatter": [[float(p.champion[i]), float(p.candidate[i])] for i in sorted(take)]}
    champ = np.asarray([str(v) for v in p.champion])
    cand = np.asarray([str(v) for v in p.candidate])
    classes, counts = np.unique(np.concatenate([champ, cand]), return_counts=True)
    top = [str(c) for c in classes[np.argsort(-counts, kind="stable")][:TABLE_CLASSES]]

    def label(v: str) -> str:
        return v if v in top else "other"

    shown = top + (["other"] if len(classes) > len(top) else [])
    table = {a: dict.fromkeys(shown, 0) for a in shown}
    for a, b in zip(champ, cand, strict=True):
        table[label(a)][label(b)] += 1
    return {"classes": shown, "table": table}


def _latency_detail(p: j.Pairs) -> dict[str, Any]:
    both = p.champion_ok & p.candidate_ok
    values = np.concatenate([p.champion_ms[both], p.candidate_ms[both]])
    if values.size == 0:
        return {}
    low, high = max(float(values.min()), 1e-3), max(float(values.max()), 1e-3)
    edges = np.geomspace(low, high * 1.0001, 25) if high > low else np.array([low, low * 1.01])
    return {"edges": edges.tolist(),
            "champion": np.histogram(p.champion_ms[both], edges)[0].tolist(),
            "candidate": np.histogram(p.candidate_ms[both], edges)[0].tolist()}


def decide(p: j.Pairs, cfg: ReplayGateConfig, task: j.Task, *, segment_column: str | None = None,
           labels_expected: bool = False) -> tuple[list[Check], dict[str, Any]]:
    """Every check and the evidence behind them (for the report's `details` and the HTML page)."""
    rng = np.random.default_rng(cfg.seed)
    known = _labelled(p)
    k = count_checks(p, cfg, labels_expected)
    alpha = stats.bonferroni(cfg.alpha, k)
    details: dict[str, Any] = {"alpha": cfg.alpha, "checks_that_can_fail": k, "alpha_per_check": alpha,
                               "requests": p.requests, "rows": p.rows, "labelled_rows": int(known.sum()),
                               "task": task,
                               "bound": cfg.max_disagreement if task == "classification" else cfg.equivalence_margin}
    checks = [j.errors_check(p, cfg, alpha)]
    if p.rows == 0:
        checks.append(inconclusive("predictions", f"no request was answered with predictions by both sides (of "
                                   f"{p.requests})"))
        return checks, details
    check, primary = (j.disagreement_check if task == "classification" else j.equivalence_check)(p, cfg, alpha)
    checks.append(check)
    details["primary"] = primary
    if labels_expected:
        name = "labelled accuracy" if task == "classification" else "labelled absolute error"
        if known.any():
            checks.append((j.accuracy_check if task == "classification" else j.abs_error_check)(p, cfg, alpha, known))
        else:
            checks.append(inconclusive(name, f"labels are configured but none joined the {p.rows} replayed rows"))
    details["latency"] = {}
    both = p.champion_ok & p.candidate_ok
    judged = [q for q, _ in QUANTILES if both.sum() >= stats.tail_samples_needed(q)]
    intervals = dict(zip(judged, stats.quantile_ratios(p.candidate_ms[both], p.champion_ms[both], judged, alpha,
                                                       rng=rng), strict=True)) if judged else {}
    for q, key in QUANTILES:
        check, info = j.latency_check(p, q, getattr(cfg, key), alpha, intervals.get(q))
        checks.append(check)
        details["latency"][f"p{round(q * 100)}"] = info
    details["latency"]["histogram"] = _latency_detail(p)
    if segment_column is not None:
        check, rows = segment_check(p, cfg, task, alpha, segment_column)
        checks.append(check)
        details["segments"] = {"column": segment_column, "rows": rows,
                               "worst": rows[0]["segment"] if rows else None}
    details["predictions"] = _predictions_detail(p, task, rng)
    needed = [c for c in checks if c.verdict == Verdict.INCONCLUSIVE]
    if needed:
        details["samples_needed"] = max([primary.get("needed", 0),
                                         *(info.get("needed", 0) for info in details["latency"].values())])
    return checks, details


