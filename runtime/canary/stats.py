"""The canary judge's tests: from per-period counts of both sides to FAIL / PASS / undecided, per metric.

Each metric has three outcomes (docs/canary.md, "How it decides"):
- FAIL when an always-valid test (runtime.stats.sequential) rejects "the canary is no worse" at the metric's
  share of alpha, and the estimated worsening is of practical size (half the documented effect, or the absolute
  tolerance for errors). Exact at every sample size and traffic split, over every look since `--start-time`.
- PASS when an always-valid bound rules the documented effect out at level 1 - power (split where a PASS has
  two routes), and the metric did not fail.
- undecided otherwise: the judge reports INCONCLUSIVE and the canary requests the metric still needs.

Arrays: counts are (..., periods) or (..., periods, bins); every function broadcasts over the leading axes (the
decision benchmark passes thousands of trials at once) and returns an `Outcome` of arrays of that leading shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from runtime.stats import histograms as h
from runtime.stats import sequential as seq
from runtime.stats.planning import information_needed, remaining

Array = NDArray[np.float64]
#: Tail share the tail check compares at: the p99.
TAIL = 0.01
#: Nominal effect scale (ridit-score tilt) of the rank tests' mixtures: 12 x (Phi(0.2 / sqrt 2) - 1/2), a 0.2 sd
#: shift. Fixed in advance: a mixture chosen from the data would not be a martingale.
RANK_SCALE = 0.68
#: Mixture scale of the one-sample rate tests (log odds).
RATE_SCALE = 1.0
#: Prior mass the zero-rate route puts on "practically no errors" (a tilt of -20 in log odds).
ZERO_MASS = 0.5


@dataclass(frozen=True)
class Levels:
    """Error budget of one metric: `alpha` its share of the false-FAIL rate, `beta` = 1 - power."""

    alpha: float
    beta: float

    @property
    def fail_bar(self) -> float:
        return -math.log(self.alpha)

    def pass_bar(self, routes: int = 1) -> float:
        return -math.log(self.beta / routes)


@dataclass(frozen=True)
class Outcome:
    fail: NDArray[np.bool_]
    passed: NDArray[np.bool_]
    """PASS (never together with fail)."""
    stats: dict[str, Array] = field(default_factory=dict)
    """Named statistics of the leading shape (estimates, log e-values, bounds)."""


def _f(values: ArrayLike) -> Array:
    return np.asarray(values, dtype=np.float64)


def _ratio(num: Array, den: Array) -> Array:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def with_zero_route(mixture: seq.Mixture) -> seq.Mixture:
    """Add a point mass at the extreme of a one-sided mixture ("(practically) no events" for a downward one, "all
    events" for an upward one): a side with no errors at all then proves a rate below the tolerance after about
    -log(beta) / tolerance requests, not twice that; a sign test that sees every period go one way decides after
    log2(1 / level) + 1 periods."""
    tilts = np.concatenate([mixture.tilts, [20.0 * np.sign(mixture.tilts[0])]])
    weights = np.concatenate([mixture.log_weights + math.log(1 - ZERO_MASS), [math.log(ZERO_MASS)]])
    return seq.Mixture(tilts, weights)


# Errors -------------------------------------------------------------------------------------------------------------
def errors(base_requests: ArrayLike, base_errors: ArrayLike, canary_requests: ArrayLike, canary_errors: ArrayLike, *,
           levels: Levels, ratio: float, tolerance: float) -> Outcome:
    """5xx rate. Per period, given its total errors k, the canary's share of them is (at most) Bin(k, n_c / N)
    when both rates are equal: the test tilts that share's odds by the rate ratio. PASS when the ratio is bounded
    below `ratio`, or the canary's own rate below `tolerance` (a baseline without errors has no ratio)."""
    nb, xb, nc, xc = (_f(v) for v in (base_requests, base_errors, canary_requests, canary_errors))
    xb, xc = np.minimum(xb, nb), np.minimum(xc, nc)  # a 5xx counted in another period than its request
    total, events = nb + nc, xb + xc
    share = _ratio(nc, total)
    share = np.where(np.isfinite(share), share, 0.0)
    log_ratio = math.log(ratio)
    worse = seq.binomial_log_e(xc, events, share, seq.half_normal(log_ratio))
    rate_b, rate_c = _ratio(xb.sum(-1), nb.sum(-1)), _ratio(xc.sum(-1), nc.sum(-1))
    fail = (worse >= levels.fail_bar) & (rate_c - rate_b > tolerance)
    at_effect = share * ratio / (share * ratio + 1.0 - share)
    below_ratio = seq.binomial_log_e(xc, events, at_effect, seq.half_normal(log_ratio, sign=-1))
    routes = 2 if tolerance > 0 else 1
    ok = below_ratio >= levels.pass_bar(routes)
    below_floor = np.full_like(worse, -np.inf)
    if tolerance > 0:
        below_floor = seq.binomial_log_e(xc, nc, tolerance, with_zero_route(seq.half_normal(RATE_SCALE, sign=-1)))
        ok |= below_floor >= levels.pass_bar(routes)
    stats = {"baseline_rate": rate_b, "canary_rate": rate_c, "rate_ratio": _ratio(rate_c, rate_b),
             "log_e_worse": worse, "log_e_below_ratio": below_ratio, "log_e_below_tolerance": below_floor}
    return Outcome(fail, ok & ~fail, stats)


def errors_needed(base_requests: float, base_errors: float, canary_requests: float, *, levels: Levels,
                  ratio: float, tolerance: float) -> float:
    """Canary requests at which the errors check decides with the configured power: catching `ratio` at the
    observed baseline rate, or (at a rate below the tolerance) proving the canary's rate below it."""
    total = base_requests + canary_requests
    rate = base_errors / base_requests if base_requests > 0 else 0.0
    baseline_share = base_requests / total if total > 0 else 0.5
    needed = math.inf
    if rate > 0:
        v = information_needed(math.log(ratio), alpha=levels.alpha, power=1 - levels.beta,
                               rho=1 / math.log(ratio) ** 2)
        needed = v / (rate * baseline_share)
    if tolerance > 0 and rate < tolerance:
        mix = with_zero_route(seq.half_normal(RATE_SCALE, sign=-1))
        grid = np.geomspace(1.0, 1e12, 600)[:, None]  # 5 % steps
        ok = seq.binomial_log_e(rate * grid, grid, tolerance, mix) >= levels.pass_bar(2)
        if ok.any():
            needed = min(needed, float(grid[np.argmax(ok), 0]))
    return needed


# Rank tests on histograms (latency, predictions) --------------------------------------------------------------------
def _rank_parts(baseline: ArrayLike, canary: ArrayLike) -> tuple[h.Pooled, Array, Array, Array, Array]:
    b, c = np.broadcast_arrays(_f(baseline), _f(canary))
    pooled = h.pool(b, c)
    scores = h.ridits(pooled.shares)
    totals, centred, var = h.score_moments(pooled, scores, c)
    return pooled, scores, totals, centred, var


def _bounds(centred: Array, var: Array, weight: Array, level: float) -> tuple[Array, Array]:
    """Always-valid (Gaussian mixture) bounds of the score-mean difference canary - baseline, one-sided each."""
    b = seq.normal_boundary(var, level, 1 / RANK_SCALE ** 2)
    return _ratio(centred - b, weight), _ratio(centred + b, weight)


def shift_effect(pooled: h.Pooled, boundaries: ArrayLike | None, shift: float) -> Array:
    """The rank effect (mean ridit - 1/2) the per-period test sees when the canary is moved by `shift` on the
    latent scale of `boundaries` (None: normal quantiles of each period's pooled shares): per period from its own
    pooled distribution (ties included), averaged with the periods' weights in the test."""
    edges = h.normal_boundaries(pooled.shares) if boundaries is None else boundaries
    per_period = h.ridit_effect(pooled.shares, h.shifted_shares(pooled.shares, edges, shift))
    weight = pooled.canary * (1.0 - pooled.canary_share)
    total = weight.sum(axis=-1)
    return np.divide(np.sum(per_period * weight, axis=-1), total, out=np.zeros_like(total), where=total > 0)


def latency(baseline: ArrayLike, canary: ArrayLike, log_edges: ArrayLike, *, levels: Levels,
            tolerance: float) -> Outcome:
    """Location of the per-request response time from the response-time histograms (..., periods, bins): a rank
    (Mann-Whitney-type) test on mid-ranks of each period's pooled histogram, one-sided (canary slower)."""
    b, c = np.broadcast_arrays(_f(baseline), _f(canary))
    pooled, scores, totals, centred, var = _rank_parts(b, c)
    worse = seq.multinomial_log_e(totals, pooled.canary, pooled.shares, scores, seq.half_normal(RANK_SCALE))
    weight = pooled.weight
    estimate = _ratio(centred, weight)
    effect = shift_effect(pooled, log_edges, math.log1p(tolerance))
    fail = (worse >= levels.fail_bar) & (estimate > effect / 2)
    _, upper = _bounds(centred, var, weight, levels.beta)
    stats = {"rank_effect": estimate, "rank_effect_upper": upper, "effect_at_tolerance": effect,
             "log_e_worse": worse, "information": var}
    return Outcome(fail, (upper < effect) & ~fail, stats)


def tail(baseline: ArrayLike, canary: ArrayLike, log_edges: ArrayLike, *, levels: Levels,
         tolerance: float) -> Outcome:
    """The p99 of the per-request response time. FAIL: per period, the requests beyond the pooled p99 edge are
    split between the sides like errors (exact conditional test), and the canary's estimated p99 exceeds the
    baseline's by more than half the tolerance. PASS: the canary's share of requests beyond (1 + tolerance) x the
    baseline's p99 is bounded below 1 % (its p99 is below that)."""
    b, c = np.broadcast_arrays(_f(baseline), _f(canary))
    edges = _f(log_edges)
    pooled = h.pool(b, c)
    beyond_share = np.cumsum(pooled.shares[..., ::-1], axis=-1)[..., ::-1][..., 1:]  # share in bins > edge e
    distance = np.where(beyond_share > 0, np.abs(np.log(np.maximum(beyond_share, 1e-300)) - math.log(TAIL)), np.inf)
    edge = np.argmin(distance, axis=-1)[..., None]  # the inner edge nearest the pooled p99, per period
    above = np.arange(b.shape[-1]) > edge  # bins beyond it
    events = np.sum((b + c) * above, axis=-1)
    x_canary = np.sum(c * above, axis=-1)
    worse = seq.binomial_log_e(x_canary, events, pooled.canary_share, seq.half_normal(math.log(2.0)))
    p99_b = h.quantile(b.sum(axis=-2), edges, 1 - TAIL)
    p99_c = h.quantile(c.sum(axis=-2), edges, 1 - TAIL)
    increase = np.expm1(p99_c - p99_b)
    fail = (worse >= levels.fail_bar) & (increase > tolerance / 2)
    bar = h.quantile(b, edges, 1 - TAIL) + math.log1p(tolerance)  # each period's own baseline p99 (its level)
    seen = np.isfinite(bar)
    slow = np.where(seen, h.count_above(c, edges, np.where(seen, bar, edges[-1])), 0.0)
    mixture = with_zero_route(seq.half_normal(RATE_SCALE, sign=-1))
    below = seq.binomial_log_e(slow, np.where(seen, c.sum(axis=-1), 0.0), TAIL, mixture)
    stats = {"baseline_p99_log": p99_b, "canary_p99_log": p99_c, "p99_increase": increase,
             "log_e_worse": worse, "log_e_p99_within_tolerance": below}
    return Outcome(fail, (below >= levels.pass_bar()) & ~fail, stats)


def predictions_ordered(baseline: ArrayLike, canary: ArrayLike, *, levels: Levels, shift_sd: float) -> Outcome:
    """Ordered predictions (scores, regression outputs) binned: a two-sided rank test per period."""
    b, c = np.broadcast_arrays(_f(baseline), _f(canary))
    pooled, scores, totals, centred, var = _rank_parts(b, c)
    shifted = seq.multinomial_log_e(totals, pooled.canary, pooled.shares, scores, seq.two_sided(RANK_SCALE))
    weight = pooled.weight
    estimate = _ratio(centred, weight)
    effect = shift_effect(pooled, None, shift_sd)
    fail = (shifted >= levels.fail_bar) & (np.abs(estimate) > effect / 2)
    lower, upper = _bounds(centred, var, weight, levels.beta / 2)
    stats = {"rank_effect": estimate, "rank_effect_lower": lower, "rank_effect_upper": upper,
             "effect_at_shift": effect, "log_e_shift": shifted, "information": var}
    return Outcome(fail, (upper < effect) & (lower > -effect) & ~fail, stats)


def predictions_classes(baseline: ArrayLike, canary: ArrayLike, *, levels: Levels, share_change: float) -> Outcome:
    """Class-label predictions: an omnibus (Dirichlet-mixture) test of the canary's class shares against each
    period's pooled shares; PASS when every class's share difference is bounded within +-share_change."""
    b, c = np.broadcast_arrays(_f(baseline), _f(canary))
    pooled = h.pool(b, c)
    if b.shape[-1] == 1:  # one class on both sides: PASS once a share of `share_change` elsewhere is ruled out
        none = seq.binomial_log_e(np.zeros_like(pooled.canary), pooled.canary, share_change,
                                  with_zero_route(seq.half_normal(RATE_SCALE, sign=-1)))
        return Outcome(np.zeros_like(none, dtype=bool), none >= levels.pass_bar(),
                       {"largest_share_change": np.zeros_like(none), "log_e_other_classes_ruled_out": none})
    changed = seq.dirichlet_log_e(c, pooled.shares)
    totals_b, totals_c = b.sum(axis=-2), c.sum(axis=-2)
    diff = _ratio(totals_c, totals_c.sum(-1, keepdims=True)) - _ratio(totals_b, totals_b.sum(-1, keepdims=True))
    largest = np.max(np.abs(np.nan_to_num(diff)), axis=-1)
    fail = (changed >= levels.fail_bar) & (largest > share_change / 2)
    bins = b.shape[-1]
    indicator = np.eye(bins)
    ok = np.ones_like(changed, dtype=bool)
    worst = np.zeros_like(changed)
    for k in range(bins):
        _, centred, var = h.score_moments(pooled, np.broadcast_to(indicator[k], b.shape), c)
        lower, upper = _bounds(centred, var, pooled.weight, levels.beta / (2 * bins))
        ok &= (upper < share_change) & (lower > -share_change)
        worst = np.maximum(worst, np.nan_to_num(np.maximum(upper, -lower), nan=np.inf))
    stats = {"largest_share_change": largest, "share_change_bound": worst, "log_e_changed": changed}
    return Outcome(fail, ok & ~fail, stats)


def rank_needed(effect: float, canary_share: float, score_var: float, *, levels: Levels) -> float:
    """Canary requests at which a rank test catches a rank effect `effect` with the configured power (the exact
    test's information per canary request is the pooled score variance; the drift per unit of it is
    effect x (1 - canary share) / variance)."""
    if not (effect > 0 and score_var > 0):
        return math.inf
    drift = effect * (1 - canary_share) / score_var
    v = information_needed(drift, alpha=levels.alpha, power=1 - levels.beta, rho=1 / RANK_SCALE ** 2)
    return v / score_var


# Quality (one value per period and side) ----------------------------------------------------------------------------
def quality(baseline: ArrayLike, canary: ArrayLike, *, levels: Levels, higher_is_better: bool, tolerance: float,
            threshold: float | None, min_points: int) -> Outcome:
    """Sign tests over the periods where both sides have a value (exact when the sides' per-period values are
    exchangeable, e.g. equal traffic): FAIL when the canary is worse in significantly more than half of them (and
    its median relative worsening exceeds half the tolerance) or breaches the alarm threshold in significantly
    more than half; PASS when "worse by the tolerance in at least half" and "breaches in at least half" are both
    ruled out."""
    qb, qc = np.broadcast_arrays(_f(baseline), _f(canary))
    sign = 1.0 if higher_is_better else -1.0
    both = np.isfinite(qb) & np.isfinite(qc)
    gain = np.where(both, sign * (qc - qb), 0.0)
    worse, decided = (gain < 0).astype(float), (both & (gain != 0)).astype(float)
    up = with_zero_route(seq.half_normal(RATE_SCALE))
    down = with_zero_route(seq.half_normal(RATE_SCALE, sign=-1))
    checks = 1 if threshold is None else 2
    worse_e = seq.binomial_log_e(worse, decided, 0.5, up)
    relative = np.where(both, _ratio(gain, np.abs(qb)), np.nan)
    median = np.nanmedian(np.where(both, relative, np.nan), axis=-1) if both.any() else np.full(qb.shape[:-1], np.nan)
    fail = (worse_e >= -math.log(levels.alpha / checks)) & (-median > tolerance / 2)
    beyond = (both & (relative < -tolerance)).astype(float)
    ok = seq.binomial_log_e(beyond, both.astype(float), 0.5, down) >= levels.pass_bar(checks)
    stats = {"median_relative_change": median, "periods": both.sum(axis=-1).astype(float), "log_e_worse": worse_e}
    if threshold is not None:
        seen = np.isfinite(qc)
        breach = (seen & (sign * (qc - threshold) < 0)).astype(float)
        breach_e = seq.binomial_log_e(breach, seen.astype(float), 0.5, up)
        fail |= breach_e >= -math.log(levels.alpha / checks)
        ok &= seq.binomial_log_e(breach, seen.astype(float), 0.5, down) >= levels.pass_bar(checks)
        stats["log_e_breach"] = breach_e
    ok &= both.sum(axis=-1) >= min_points
    return Outcome(fail, ok & ~fail, stats)


__all__ = ["Levels", "Outcome", "errors", "errors_needed", "latency", "predictions_classes", "predictions_ordered",
           "quality", "rank_needed", "remaining", "tail"]
