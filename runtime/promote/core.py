"""`promote`: pin a model version and image digest that passed every gate into a stack file, and nothing else.

Order of decisions: bad input and malformed files first (PromotionError, exit 2), then the registry (an unknown
version is exit 2, an unreachable one INCONCLUSIVE), then the evidence (anything but PASS for this exact version
and digest refuses: FAIL, exit 1), then the write: atomic, and only if the file is byte for byte what was read.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.promote import gather, stackfile
from runtime.promote.errors import PromotionError
from runtime.promote.plan import Plan, plan_promotion
from runtime.report import Check, Report, Verdict, failed, inconclusive, passed

_VERSION = re.compile(r"^[1-9]\d*$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

BeforeWrite = Callable[[Path], None]


@dataclass
class PromotionResult:
    report: Report
    """Kind `promotion`: one check per evidence report (and the registry); PASS only if promotion happened or
    would happen (dry run)."""
    target_path: Path
    diff: str = ""
    """Unified diff of the stack file (empty when refused or when the stack already pins this version)."""
    new_text: str | None = None
    pr_body: str | None = None
    """Markdown pull-request body with the evidence (None when refused)."""
    written: bool = False

    @property
    def exit_code(self) -> int:
        return self.report.exit_code


def promote(source: str = "staging", target: str = "production", *, project_dir: Path | None = None,
            version: str | None = None, image_digest: str | None = None, evidence_dir: Path | None = None,
            tracking_uri: str | None = None, dry_run: bool = False,
            before_write: BeforeWrite | None = None) -> PromotionResult:
    """Copy the model reference of stack `source` (or `version`/`image_digest`) into `Pulumi.<target>.yaml`.

    `before_write` runs after the new file is prepared and right before the check that the target is unchanged
    (tests use it to change the file concurrently). Raises PromotionError for bad input, malformed files, an
    unknown version or a concurrent change; returns a FAIL report when the evidence does not allow promotion.
    """
    _check_arguments(source, target, version, image_digest, evidence_dir=evidence_dir, tracking_uri=tracking_uri)
    plan = plan_promotion(source, target, project_dir, version, image_digest)
    what = plan.what
    report = Report(kind="promotion", subject={"model": what.model, "version": what.version,
                                               "imageDigest": what.image_digest, "from": source, "to": target})
    tags = _registry_check(report, tracking_uri, what) if tracking_uri is not None else None
    evidence = _collect(evidence_dir, tags, what, plan.stage_kinds)
    for item in evidence:
        if item.found or item.required:
            report.add(_evidence_check(item, what, evidence_dir, tags is not None))
    report.details = {
        "target": str(plan.target_path), "source": None if plan.source_file is None else str(plan.source_file),
        "previous": {"version": _plain(plan.previous.version), "imageDigest": _plain(plan.previous.image_digest)},
        "dryRun": dry_run, "changed": plan.changed, "written": False,
        "evidence": {e.kind: {"source": e.source, "verdict": e.verdict, "problem": e.problem} for e in evidence},
    }
    result = PromotionResult(report=report, target_path=plan.target_path)
    if report.verdict is not Verdict.PASS:
        return result
    _propose(result, plan, evidence)
    if plan.changed and not dry_run:
        _write_if_unchanged(plan.snapshot, plan.new_text, before_write)
        result.written = True
        report.details["written"] = True
    return result


def _check_arguments(source: str, target: str, version: str | None, image_digest: str | None, *,
                     evidence_dir: Path | None, tracking_uri: str | None) -> None:
    """Refuse bad input before any file is read: the same stack twice, a malformed version or digest, no evidence."""
    if source == target:
        raise PromotionError(f"--from and --to are both {source!r}; promote between two stacks")
    if version is not None and not _VERSION.match(version):
        raise PromotionError(f"--version {version!r}: a registered-model version is a positive integer, e.g. 13")
    if image_digest is not None and not _DIGEST.match(image_digest):
        raise PromotionError(f"--image-digest {image_digest!r}: expected sha256:<64 lowercase hex>")
    if evidence_dir is None and tracking_uri is None:
        raise PromotionError("no evidence to judge: pass --evidence DIR (gate reports) and/or --tracking-uri URI "
                             "(MLflow model-version tags)")
    if evidence_dir is not None and not evidence_dir.is_dir():
        raise PromotionError(f"--evidence {evidence_dir}: not a directory")


def _propose(result: PromotionResult, plan: Plan, evidence: list[gather.Evidence]) -> None:
    """Fill a passing result with the new text, its diff and the pull-request body (nothing is written here)."""
    from runtime.promote import pr_body

    report, what = result.report, plan.what
    result.new_text = plan.new_text
    result.diff = stackfile.unified_diff(plan.target_path.name, plan.snapshot.text, plan.new_text)
    report.details["diff"] = result.diff
    if not plan.changed:
        report.add(passed("stack file", what.version, None, f"{plan.target_path.name} already pins version "
                          f"{what.version} with this image digest; nothing to change"))
    result.pr_body = pr_body.render(
        target=what, previous_version=_plain(plan.previous.version),
        previous_digest=_plain(plan.previous.image_digest), source_label=plan.source_label, stack=plan.target,
        file_name=plan.target_path.name, evidence=evidence, config=plan.config, diff=result.diff or "(no change)")


def _plain(value: object) -> str | None:
    return None if value is None else str(value)


def _registry_check(report: Report, tracking_uri: str, what: gather.Target) -> dict[str, str] | None:
    from runtime.promote.registry import RegistryUnavailable, fetch_version

    try:
        found = fetch_version(tracking_uri, what.model, what.version)
    except RegistryUnavailable as exc:
        report.add(inconclusive("registry", f"cannot confirm {what.model} version {what.version} exists: {exc}",
                                threshold="version exists and is READY"))
        return None
    report.add(passed("registry", found.status, "version exists and is READY",
                      f"{what.model} version {what.version} is registered ({found.status}, run {found.run_id})"))
    return found.tags


def _collect(evidence_dir: Path | None, tags: dict[str, str] | None, what: gather.Target,
             stage_kinds: tuple[str, ...]) -> list[gather.Evidence]:
    """Per kind: the evidence directory first, then the model version's tags. `stage_kinds`: required too (the
    reports of the optional stages the source stack's pipeline runs)."""
    out: list[gather.Evidence] = []
    kinds = ([(k, True) for k in (*gather.REQUIRED_KINDS, *stage_kinds)]
             + [(k, False) for k in gather.OPTIONAL_KINDS])
    for kind, required in kinds:
        item = gather.Evidence(kind, required)
        if evidence_dir is not None:
            item = gather.from_directory(evidence_dir, kind, required, what)
        if not item.found and tags is not None:
            item = gather.from_tags(tags, kind, required, what)
        out.append(item)
    return out


def _evidence_check(item: gather.Evidence, what: gather.Target, evidence_dir: Path | None,
                    asked_registry: bool) -> Check:
    name = f"evidence {item.kind}"
    threshold = f"PASS for {what.model} version {what.version} on {what.image_digest[:19]}..."
    if item.ok:
        return passed(name, item.verdict, threshold, f"passing {item.kind} report from {item.source}")
    if item.unavailable:
        return inconclusive(name, f"cannot read the {item.kind} report: {item.problem}", item.verdict, threshold)
    if item.found:
        return failed(name, item.verdict, threshold, str(item.problem))
    places = []
    if evidence_dir is not None:
        keyed = gather.report_candidates(evidence_dir, what.model, what.version, item.kind)
        places.append(" or ".join(str(p) for p in keyed))
    if asked_registry:
        from runtime.evidence import verdict_tag

        places.append(f"MLflow tag {verdict_tag(item.kind)} on the version")
    where = "; ".join(places) or "no evidence source could be read"
    return failed(name, "missing", threshold, f"no {item.kind} report for {what.model} version {what.version} "
                  f"(looked in: {where}); run the {item.kind} stage for this version first")


def _write_if_unchanged(snapshot: stackfile.Snapshot, new_text: str, before_write: BeforeWrite | None) -> None:
    """Temp file in the same directory, then `os.replace`, only if the file still hashes as when it was read."""
    path = snapshot.path
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".promote", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(new_text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if before_write is not None:
            before_write(path)
        try:
            now = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            now = "(deleted)"
        if now != snapshot.sha256:
            raise PromotionError(f"{path.name} changed while promoting; rerun (nothing was written)")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
