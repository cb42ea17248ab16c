"""Rules of `ml-cicd:gates.replay`, `gates.shadow` and `serving.shadow` (`REPLAY_RULES`, listed in
`rules.RULES`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.config.findings import Advice, Finding, Problem, RuleList

REPLAY_RULES = RuleList()
rule = REPLAY_RULES.rule


@rule("gates")
def replay_gate(s: dict[str, Any]) -> Iterator[Finding]:
    gates = s["gates"]
    replay = gates.replay
    if replay is None:
        return
    task = replay.task or gates.task
    if task == "regression" and replay.equivalence_margin is None:
        yield Problem("gates.replay.equivalenceMargin", "a regression model's replay needs the largest shift of "
                      "predictions still called equivalent, in the model's units (e.g. 0.5)")
    if replay.labels_uri is not None and replay.label_column is not None:
        yield Problem("gates.replay.labelColumn", "give the labels either as files (`labelsUri`) or as a capture "
                      "column (`labelColumn`), not both")


@rule("gates")
def shadow_stage(s: dict[str, Any]) -> Iterator[Finding]:
    if s["gates"].shadow is not None:
        yield Advice("gates.shadow", f"default: no Shadow stage; set, the pipeline deploys each candidate as the "
                     f"shadow of stack `{s['gates'].shadow.stack}` with its deploy role, outside a pull request (the "
                     "shadow never answers a caller, but it runs on that stack's live requests)")


@rule("serving")
def shadow_variant(s: dict[str, Any]) -> Iterator[Finding]:
    if not s["serving"].shadow.enabled:
        return
    shadow = s["serving"].shadow
    path = "serving.shadow"
    if shadow.model_version is None:
        yield Problem(f"{path}.modelVersion", "the shadow runs an exact registered-model version (the candidate)")
    if shadow.image_digest is None:
        yield Problem(f"{path}.imageDigest", "the shadow runs an image pinned by digest (sha256:<64 hex>): the "
                      "candidate's, from the Package stage")
    if "model" in s and s["model"].image_digest is None:
        yield Problem(f"{path}.enabled", "a shadow needs the model service it copies traffic from: pin "
                      "`model.imageDigest` first")
    if "monitoring" in s:
        capture = s["monitoring"].capture
        if not capture.enabled:
            yield Problem(f"{path}.enabled", "the shadow is judged on captured pairs: turn on `monitoring.capture` "
                          "(the capture layer also mirrors the traffic)")
        elif shadow.mirror_percent > capture.sample_percent:
            yield Problem(f"{path}.mirrorPercent", f"mirrors more than is captured ({capture.sample_percent:g} %): "
                          "a mirrored request without a baseline record cannot be paired; at most "
                          "`monitoring.capture.samplePercent`", shadow.mirror_percent)
