"""How much data a decision needs: the sample size at which a test catches a given effect with a given power.

Two kinds of test, two formulas:
- always-valid (sequential) tests cross the normal-mixture boundary b(V) of `sequential.normal_boundary`: the
  information V needed is the smallest with  drift * V - z_power * sqrt(V) >= b_alpha(V)  (the drift is the
  effect per unit of information; crossing at an earlier look only adds power, so this is conservative);
- fixed-sample tests with a one-sided bound at level alpha need  n = ((z_alpha + z_power) * sd / effect)^2,
  sd being the standard deviation of one observation's contribution.
"""

from __future__ import annotations

import math

import numpy as np

from runtime.stats.sequential import normal_boundary


def z(p: float) -> float:
    """Standard normal quantile."""
    from scipy.special import ndtri

    return float(ndtri(p))


def information_needed(drift: float, *, alpha: float, power: float, rho: float) -> float:
    """Smallest information V (variance of the running sum under the null) at which a drift of `drift` per unit
    of V crosses the level-`alpha` always-valid boundary with probability `power` (to 5 %). inf when drift <= 0
    or no V up to 1e15 suffices."""
    if not drift > 0:
        return math.inf
    grid = np.geomspace(1e-6, 1e15, 1000)
    enough = drift * grid - z(power) * np.sqrt(grid) >= normal_boundary(grid, alpha, rho)
    return float(grid[np.argmax(enough)]) if enough.any() else math.inf


def fixed_sample_n(effect: float, sd: float, *, alpha: float, power: float) -> float:
    """Observations a one-sided fixed-sample bound at level `alpha` needs to exclude 0 with probability `power`
    when the true effect is `effect` and one observation has standard deviation `sd`."""
    if not effect > 0:
        return math.inf
    return float(np.ceil(((z(1 - alpha) + z(power)) * sd / effect) ** 2))


def remaining(needed: float, have: float) -> float:
    """What is still missing (0 when enough is there; inf when no amount suffices)."""
    return max(0.0, math.ceil(needed - have)) if math.isfinite(needed) else math.inf
