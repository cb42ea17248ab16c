"""Statistics the gates decide with, as plain functions on counts and arrays (no I/O).

- `sequential`: always-valid tests (mixtures of likelihood ratios, Ville's inequality) for decisions that look at
  data while it keeps arriving: the canary judge.
- `intervals`: exact (Clopper-Pearson, conditional McNemar) and bootstrap confidence bounds for decisions taken
  once on a fixed sample: the model gate.
- `planning`: how much data a decision needs for a given power.

Every function broadcasts over leading axes, so the decision benchmark (`python -m benchmarks decisions`) runs
thousands of simulated trials through the same code the gates run once.
"""
