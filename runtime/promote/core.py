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
from typing import TYPE_CHECKING

from runtime.promote import gather, stackfile
from runtime.promote.errors import PromotionError
from runtime.report import Check, Report, Verdict, failed, inconclusive, passed

if TYPE_CHECKING:
    from runtime.config import LoadedConfig

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
    from runtime.config import ConfigError, load_stack, project_root, stack_file

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
    digest_given = image_digest is not None
    root = project_dir or project_root()
    target_path = stack_file(target, root)
    source_path = stack_file(source, root)

    # The source stack: where the version and digest come from unless both are given.
    source_model = None
    stage_kinds: tuple[str, ...] = ()
    if source_path.is_file() or version is None or image_digest is None:
        try:
            source_cfg = load_stack(source, root).config
        except ConfigError as exc:
            raise PromotionError(f"source stack {source!r}: {exc}") from None
        source_model = source_cfg.model
        stage_kinds = gather.stage_kinds(source_cfg)
    chosen_version = version or (source_model.version if source_model else None)
    if chosen_version is None:
        raise PromotionError(f"{source_path.name} pins no model.version (only an alias); pass --version N")
    if image_digest is None:
        assert source_model is not None
        if source_model.version != chosen_version:
            raise PromotionError(f"--version {chosen_version} differs from {source_path.name}'s version "
                                 f"{source_model.version}, whose image digest belongs to that version; pass "
                                 "--image-digest for version " + chosen_version)
        image_digest = source_model.image_digest
        if image_digest is None:
            raise PromotionError(f"{source_path.name} pins no model.imageDigest; deploy version {chosen_version} "
                                 "to staging first, or pass --image-digest")

    # The target stack file: parsed for a byte-exact round trip, edited, validated before anything is written.
    snapshot = stackfile.Snapshot.read(target_path)
    doc = stackfile.parse(snapshot)
    current = doc.model
    if current.alias is not None and (doc.environment == "production" or target == "production"):
        raise PromotionError(f"{target_path.name}: model.alias = {current.alias!r} is not allowed in production "
                             "(production serves an exact version, not an alias); remove the `alias` line, then "
                             "rerun promote")
    model_name = str(current.name) if current.name is not None else None
    if model_name is None:
        raise PromotionError(f"{target_path.name}: model.name is missing; set the registered model name")
    if source_model is not None and source_model.name != model_name:
        raise PromotionError(f"model names differ: {source_path.name} has {source_model.name!r}, "
                             f"{target_path.name} has {model_name!r}; promotion copies version and digest only")
    new_text = stackfile.edit_model_ref(doc, chosen_version, image_digest)
    loaded = _validate(new_text, target_path)
    what = gather.Target(model_name, chosen_version, image_digest)
    source_label = (f"stack `{source}` (`{source_path.name}`)" if version is None else
                    f"`--version {chosen_version}`" + (" and `--image-digest`" if digest_given else
                                                       f" with the image digest of stack `{source}`"))

    report = Report(kind="promotion", subject={"model": model_name, "version": chosen_version,
                                               "imageDigest": image_digest, "from": source, "to": target})
    tags: dict[str, str] | None = None
    if tracking_uri is not None:
        tags = _registry_check(report, tracking_uri, what)
    evidence = _collect(evidence_dir, tags, what, stage_kinds)
    for item in evidence:
        if item.found or item.required:
            report.add(_evidence_check(item, what, evidence_dir, tags is not None))
    changed = new_text != snapshot.text
    report.details = {
        "target": str(target_path), "source": str(source_path) if version is None else None,
        "previous": {"version": _plain(current.version), "imageDigest": _plain(current.image_digest)},
        "dryRun": dry_run, "changed": changed, "written": False,
        "evidence": {e.kind: {"source": e.source, "verdict": e.verdict, "problem": e.problem} for e in evidence},
    }
    result = PromotionResult(report=report, target_path=target_path)
    if report.verdict is not Verdict.PASS:
        return result

    from runtime.promote import pr_body

    result.new_text = new_text
    result.diff = stackfile.unified_diff(target_path.name, snapshot.text, new_text)
    report.details["diff"] = result.diff
    if not changed:
        report.add(passed("stack file", chosen_version, None, f"{target_path.name} already pins version "
                          f"{chosen_version} with this image digest; nothing to change"))
    result.pr_body = pr_body.render(
        target=what, previous_version=_plain(current.version), previous_digest=_plain(current.image_digest),
        source_label=source_label, stack=target, file_name=target_path.name, evidence=evidence,
        config=loaded.config, diff=result.diff or "(no change)")
    if changed and not dry_run:
        _write_if_unchanged(snapshot, new_text, before_write)
        result.written = True
        report.details["written"] = True
    return result


def _plain(value: object) -> str | None:
    return None if value is None else str(value)


def _validate(new_text: str, target_path: Path) -> LoadedConfig:
    """Validate the edited file with the stack model, exactly as `mlcicd config validate` reads it."""
    from runtime.config import ConfigError, validate_config
    from runtime.config.loader import read_stack_file

    with tempfile.TemporaryDirectory(prefix="mlcicd-promote-") as scratch:
        probe = Path(scratch) / target_path.name
        probe.write_text(new_text, encoding="utf-8")
        try:
            raw, _ = read_stack_file(probe)
            return validate_config(raw, str(target_path))
        except ConfigError as exc:
            problems = "\n".join(f"  - {p.render()}" for p in exc.problems)
            raise PromotionError(f"{target_path.name} would be invalid after promotion, so nothing was written "
                                 f"({len(exc.problems)} problem{'s' * (len(exc.problems) != 1)}):\n{problems}"
                                 ) from None


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
