"""The model gate's metric checks: the candidate's logged metrics against their bounds (`gates.metrics` min/max),
and against the champion's where a metric sets `maxRegression`. The comparisons themselves are
`runtime.gates.model_checks`; this module decides which apply and what a missing champion means."""

from __future__ import annotations

from runtime.config.gates import ModelGateConfig
from runtime.gates import model_checks as mc
from runtime.gates.registry import Resolved
from runtime.report import Report, inconclusive, passed


def metric_checks(report: Report, model: str, cand: Resolved, champ: Resolved | None, cfg: ModelGateConfig) -> None:
    if not cfg.metrics:
        report.add(inconclusive("metrics", "no metric thresholds configured (gates.metrics is empty): nothing to "
                                "judge the candidate on; set them in the stack config and pass --stack"))
    for name, bounds in sorted(cfg.metrics.items()):
        if bounds.min is None and bounds.max is None:
            continue
        if cand.metrics is None:
            report.add(inconclusive(f"metric:{name}", f"cannot read metric {name}: {cand.source}; threshold "
                                    f"{mc.bounds_text(bounds)}", threshold=mc.bounds_text(bounds)))
        else:
            report.add(mc.metric_bounds(name, cand.metrics.get(name), bounds, cand.source))
    if champ is None:
        _no_champion(report, model, cfg)
    else:
        _champion_checks(report, cand, champ, cfg)


def _no_champion(report: Report, model: str, cfg: ModelGateConfig) -> None:
    """Without a champion only absolute bounds can pass a candidate, and only when the config allows it."""
    absolute = any(b.min is not None or b.max is not None for b in cfg.metrics.values())
    alias = f"@{cfg.champion_alias}"
    if not absolute:
        report.add(inconclusive("champion-comparison", f"no champion (alias {alias} is not set on model "
                                f"{model!r}) and no metric has an absolute bound (min/max): nothing to pass on"))
    elif cfg.allow_no_champion:
        report.add(passed("champion-comparison", None, "allowNoChampion",
                          f"no champion: absolute thresholds only (alias {alias} is not set on model {model!r}; "
                          "gates.allowNoChampion is true)"))
    else:
        report.add(inconclusive("champion-comparison", f"no champion: alias {alias} is not set on model "
                                f"{model!r} and gates.allowNoChampion is false; set the alias on the version "
                                "that serves production or pass --champion", threshold="allowNoChampion"))


def _champion_checks(report: Report, cand: Resolved, champ: Resolved, cfg: ModelGateConfig) -> None:
    same = " (the candidate itself)" if champ.version == cand.version else ""
    compared = [n for n, b in sorted(cfg.metrics.items()) if b.max_regression is not None]
    what = f"metrics {', '.join(compared)}" if compared else "no metric (none sets maxRegression)"
    report.add(passed("champion-comparison", champ.version, None, f"compared with {champ.label}{same}: {what}"))
    for name in compared:
        bounds = cfg.metrics[name]
        cand_value = cand.metrics.get(name) if cand.metrics is not None else None
        champ_value = champ.metrics.get(name) if champ.metrics is not None else None
        report.add(mc.metric_regression(name, cand_value, champ_value, bounds, champ.label))
