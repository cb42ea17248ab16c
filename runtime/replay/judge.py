"""The paired verdict of the replay and shadow gates: `Pairs` in, checks and evidence out, no I/O.

One rule for every check: FAIL needs evidence beyond the configured bound at the per-check level (the lower
confidence bound above it, or a significant one-sided test with the effect beyond its tolerance); PASS needs
evidence within it where the check can show that (the upper bound below it, equivalence shown, or enough pairs to
have detected the configured effect); anything else is INCONCLUSIVE with the sample size still needed. The level
of each check is `alpha` divided by the number of checks that can fail (Bonferroni), so a candidate as good as the
champion fails the gate with probability at most `alpha` whatever the number of segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from runtime.config.replay import ReplayGateConfig
from runtime.replay import stats
from runtime.report import Check, failed, inconclusive, passed

Task = Literal["classification", "regression"]


@dataclass
class Pairs:
    """What both sides answered. Request-level arrays have one entry per replayed (or mirrored) request; row-level
    arrays one per row of the requests both answered with predictions."""

    champion_ok: NDArray[np.bool_]
    candidate_ok: NDArray[np.bool_]
    champion_ms: NDArray[np.float64]
    candidate_ms: NDArray[np.float64]
    champion: NDArray[Any]
    candidate: NDArray[Any]
    segments: NDArray[Any] | None = None
    labels: NDArray[Any] | None = None
    """None where a row has no label."""

    @property
    def requests(self) -> int:
        return int(self.champion_ok.size)

    @property
    def rows(self) -> int:
        return int(self.champion.size)


def fmt(x: float) -> str:
    return f"{x:.4g}"


def pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def needs(needed: int, have: int, unit: str) -> str:
    """"needs about N <unit>", or why no practical sample decides (the estimate sits on the bound)."""
    if needed >= stats.UNREACHABLE or needed > 10_000_000:
        return f"the estimate sits at the bound: more {unit} narrow the bounds but may never decide"
    return f"needs about {needed} {unit} (have {have})"


def same(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.bool_]:
    return np.fromiter((x == y for x, y in zip(a, b, strict=True)), dtype=bool, count=a.size)


def numeric(values: NDArray[Any], side: str) -> NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"regression needs numeric predictions; the {side} answered "
                         f"{values[:3].tolist()!r}...: set gates.replay.task to classification") from None


# Errors --------------------------------------------------------------------------------------------------------
def errors_check(p: Pairs, cfg: ReplayGateConfig, alpha: float) -> Check:
    n = p.requests
    worse = int(np.sum(p.champion_ok & ~p.candidate_ok))
    better = int(np.sum(~p.champion_ok & p.candidate_ok))
    increase = (worse - better) / n if n else 0.0
    value = stats.mcnemar_worse(worse, better)
    rates = (f"candidate failed {int(np.sum(~p.candidate_ok))} of {n} requests, champion "
             f"{int(np.sum(~p.champion_ok))}; {worse} only the candidate, {better} only the champion")
    threshold = f"increase <= {pct(cfg.max_error_rate_increase)} or p > {alpha:.3g}"
    if n and value <= alpha and increase > cfg.max_error_rate_increase:
        return failed("error rate", increase, threshold, f"{rates}: an increase of {pct(increase)} "
                      f"(McNemar exact p = {value:.2g})")
    return passed("error rate", increase, threshold, f"{rates} (McNemar exact p = {value:.2g})")


# Predictions -----------------------------------------------------------------------------------------------------
def disagreement(same: NDArray[np.bool_], bound: float, alpha: float, power: float) -> dict[str, Any]:
    n = int(same.size)
    x = int(n - np.sum(same))
    lower, upper = stats.clopper_pearson(x, n, alpha)
    rate = x / n if n else 0.0
    verdict = "FAIL" if lower > bound else "PASS" if upper <= bound else "INCONCLUSIVE"
    needed = 0 if verdict != "INCONCLUSIVE" else stats.n_for_rate_bound(rate, bound, alpha, power)
    return {"rows": n, "disagree": x, "rate": rate, "lower": lower, "upper": upper, "verdict": verdict,
            "needed": needed}


def disagreement_check(p: Pairs, cfg: ReplayGateConfig, alpha: float) -> tuple[Check, dict[str, Any]]:
    d = disagreement(same(p.champion, p.candidate), cfg.max_disagreement, alpha, cfg.power)
    threshold = f"<= {pct(cfg.max_disagreement)} (one-sided {1 - alpha:.4g} bounds)"
    what = (f"{d['disagree']} of {d['rows']} rows predicted differently ({pct(d['rate'])}, bounds "
            f"{pct(d['lower'])} .. {pct(d['upper'])})")
    if d["verdict"] == "FAIL":
        return failed("prediction disagreement", d["rate"], threshold, f"{what}: above the bound"), d
    if d["verdict"] == "PASS":
        return passed("prediction disagreement", d["rate"], threshold, what), d
    return inconclusive("prediction disagreement", f"{what}: the bounds straddle {pct(cfg.max_disagreement)}; "
                        f"{needs(d['needed'], d['rows'], 'rows')} for power {cfg.power:g}", d["rate"], threshold), d


def equivalence(diff: NDArray[np.float64], margin: float, alpha: float, power: float) -> dict[str, Any]:
    e = stats.equivalence(diff, margin)
    shift = float(np.median(diff)) if diff.size else 0.0
    if min(e.p_above, e.p_below) <= alpha:
        verdict = "FAIL"
    elif e.p_equivalent <= alpha:
        verdict = "PASS"
    else:
        verdict = "INCONCLUSIVE"
    sd = float(np.std(diff)) if diff.size > 1 else 0.0
    needed = 0 if verdict != "INCONCLUSIVE" else stats.n_for_location(sd, margin - abs(shift), alpha, power)
    return {"rows": int(diff.size), "median_difference": shift, "p_equivalent": e.p_equivalent,
            "p_outside": min(e.p_above, e.p_below), "verdict": verdict, "needed": needed}


def equivalence_check(p: Pairs, cfg: ReplayGateConfig, alpha: float) -> tuple[Check, dict[str, Any]]:
    margin = cfg.equivalence_margin
    if margin is None:
        raise ValueError("gates.replay.equivalenceMargin is required for regression")
    diff = numeric(p.candidate, "candidate") - numeric(p.champion, "champion")
    e = equivalence(diff, margin, alpha, cfg.power)
    threshold = f"|shift| < {fmt(margin)} (two one-sided signed-rank tests at {alpha:.3g})"
    what = (f"median prediction difference {fmt(e['median_difference'])} over {e['rows']} rows (equivalence "
            f"p = {e['p_equivalent']:.2g}, outside p = {e['p_outside']:.2g})")
    name = "prediction equivalence"
    if e["verdict"] == "FAIL":
        return failed(name, e["median_difference"], threshold, f"{what}: shifted beyond the margin"), e
    if e["verdict"] == "PASS":
        return passed(name, e["median_difference"], threshold, what), e
    return inconclusive(name, f"{what}: equivalence not shown; {needs(e['needed'], e['rows'], 'rows')} for power "
                        f"{cfg.power:g}", e["median_difference"], threshold), e


# Labels ----------------------------------------------------------------------------------------------------------
def accuracy_check(p: Pairs, cfg: ReplayGateConfig, alpha: float, known: NDArray[np.bool_]) -> Check:
    assert p.labels is not None
    labels = p.labels[known]
    right_champ = same(p.champion[known], labels)
    right_cand = same(p.candidate[known], labels)
    n = int(known.sum())
    worse, better = int(np.sum(right_champ & ~right_cand)), int(np.sum(~right_champ & right_cand))
    drop = (worse - better) / n
    value = stats.mcnemar_worse(worse, better)
    needed = stats.n_for_mcnemar((worse + better) / n, cfg.detectable_accuracy_drop, alpha, cfg.power)
    threshold = f"drop <= {pct(cfg.max_accuracy_drop)} or McNemar p > {alpha:.3g}"
    what = (f"accuracy {pct(right_cand.mean())} vs champion {pct(right_champ.mean())} on {n} labelled rows "
            f"({worse} only the champion right, {better} only the candidate; McNemar exact p = {value:.2g})")
    if value <= alpha and drop > cfg.max_accuracy_drop:
        return failed("labelled accuracy", drop, threshold, f"{what}: worse")
    if n < needed:
        return inconclusive("labelled accuracy", f"{what}; needs about {needed} labelled rows to detect a "
                            f"{pct(cfg.detectable_accuracy_drop)} drop with power {cfg.power:g}", drop, threshold)
    return passed("labelled accuracy", drop, threshold, what)


def abs_error_check(p: Pairs, cfg: ReplayGateConfig, alpha: float, known: NDArray[np.bool_]) -> Check:
    assert p.labels is not None
    y = numeric(p.labels[known], "labels")
    champ = np.abs(numeric(p.champion[known], "champion") - y)
    cand = np.abs(numeric(p.candidate[known], "candidate") - y)
    diff = cand - champ
    value = stats.signed_rank(diff - cfg.max_error_increase, "greater")
    detectable = cfg.detectable_error_increase or max(float(champ.mean()) / 10, 1e-12)
    needed = stats.n_for_location(float(np.std(diff)), detectable, alpha, cfg.power)
    n = int(known.sum())
    threshold = f"increase <= {fmt(cfg.max_error_increase)} or signed-rank p > {alpha:.3g}"
    what = (f"mean absolute error {fmt(float(cand.mean()))} vs champion {fmt(float(champ.mean()))} on {n} "
            f"labelled rows (median paired increase {fmt(float(np.median(diff)))}, signed-rank p = {value:.2g})")
    if value <= alpha:
        return failed("labelled absolute error", float(np.median(diff)), threshold, f"{what}: worse")
    if n < needed:
        return inconclusive("labelled absolute error", f"{what}; needs about {needed} labelled rows to detect an "
                            f"increase of {fmt(detectable)} with power {cfg.power:g}", float(np.median(diff)),
                            threshold)
    return passed("labelled absolute error", float(np.median(diff)), threshold, what)


# Latency ---------------------------------------------------------------------------------------------------------
def latency_check(p: Pairs, q: float, bound: float, alpha: float,
                  r: stats.RatioInterval | None) -> tuple[Check, dict[str, Any]]:
    """`r`: the bootstrap of the quantile ratio over the requests both answered, None when too few for q."""
    both = p.champion_ok & p.candidate_ok
    n = int(both.sum())
    name = f"latency p{round(q * 100)} ratio"
    threshold = f"candidate/champion <= {bound:g} (paired bootstrap, one-sided {1 - alpha:.4g})"
    needed = stats.tail_samples_needed(q)
    if r is None or n < needed:
        return inconclusive(name, f"{n} requests answered by both; the p{round(q * 100)} needs at least {needed}",
                            None, threshold), {"n": n, "needed": needed}
    cand, champ = p.candidate_ms[both], p.champion_ms[both]
    info = {"n": n, "ratio": r.ratio, "lower": r.lower, "upper": r.upper, "bound": bound,
            "candidate_ms": float(np.quantile(cand, q, method="inverted_cdf")),
            "champion_ms": float(np.quantile(champ, q, method="inverted_cdf"))}
    what = (f"{info['candidate_ms']:.1f} ms vs champion {info['champion_ms']:.1f} ms: ratio {r.ratio:.3g} (bounds "
            f"{r.lower:.3g} .. {r.upper:.3g}, {r.resamples} resamples of {n} pairs)")
    if r.lower > bound:
        return failed(name, r.ratio, threshold, f"{what}: slower than allowed"), info
    if r.upper <= bound:
        return passed(name, r.ratio, threshold, what), info
    info["needed"] = stats.n_for_interval(n, r.ratio, bound, r.upper if r.ratio < bound else r.lower)
    return inconclusive(name, f"{what}: the bounds straddle {bound:g}; {needs(info['needed'], n, 'requests')}",
                        r.ratio, threshold), info
