"""Recording the model gate's verdict where promotion looks for it (`runtime.evidence`): the report in the
artifacts bucket, the verdict, report location and image digest as model-version tags, and on PASS only the
candidate alias. A step that fails adds an INCONCLUSIVE check; it never leaves a silent PASS behind."""

from __future__ import annotations

import contextlib
from pathlib import Path

from runtime.config.gates import ModelGateConfig
from runtime.evidence import KIND_MODEL_GATE, digest_tag, evidence_key, report_tag, verdict_tag
from runtime.gates.reasons import one_line
from runtime.gates.registry import WRITE_ERRORS, Registry
from runtime.gates.s3 import s3_client
from runtime.report import Report, Verdict, inconclusive

KIND = KIND_MODEL_GATE


def upload_report(bucket: str, key: str, body: str) -> str:
    s3_client().put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
    return f"s3://{bucket}/{key}"


def record_verdict(report: Report, registry: Registry, version: str, cfg: ModelGateConfig, *,
                   report_path: Path | None, report_bucket: str | None, image_digest: str | None) -> None:
    """Record the verdict where promotion looks for it, in this order: upload the report (the evidence), tag the
    version (verdict, report location, image digest), and on PASS only move the candidate alias, so the alias
    never points at a version whose evidence is missing. A step that fails adds an INCONCLUSIVE check (never a
    silent PASS); the report is then finished again and re-uploaded. Otherwise the report is not touched after
    the upload, so the uploaded copy and the one the caller writes are the same bytes."""
    report.finish()
    location = str(Path(report_path).resolve()) if report_path is not None else None
    uploaded: tuple[str, str] | None = None
    if report_bucket is not None:
        key = evidence_key(registry.model, version, KIND)
        if _upload(report, report_bucket, key, f"could not upload the report to s3://{report_bucket}/{key}"):
            location, uploaded = f"s3://{report_bucket}/{key}", (report_bucket, key)
    checks_before = len(report.checks)
    _tag_version(report, registry, version, location, image_digest)
    if report.verdict is Verdict.PASS:
        _move_alias(report, registry, version, cfg.candidate_alias)
    if len(report.checks) == checks_before:
        return
    report.finish()
    if uploaded is not None and not _upload(report, *uploaded, f"could not refresh s3://{'/'.join(uploaded)}"):
        report.finish()


def _upload(report: Report, bucket: str, key: str, failure: str) -> bool:
    """Upload the report as it is now; on failure add an INCONCLUSIVE `report-upload` check saying `failure`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        upload_report(bucket, key, report.to_json())
    except (BotoCoreError, ClientError) as exc:
        report.add(inconclusive("report-upload", f"{failure}: {one_line(exc)}"))
        return False
    return True


def _tag_version(report: Report, registry: Registry, version: str, location: str | None,
                 image_digest: str | None) -> None:
    tags = {verdict_tag(KIND): report.verdict.value}
    if location is not None:
        tags[report_tag(KIND)] = location
    if image_digest is not None:
        tags[digest_tag(KIND)] = image_digest
    try:
        for key, value in tags.items():
            registry.tag(version, key, value)
    except WRITE_ERRORS as exc:
        report.add(inconclusive("registry-update", f"could not tag version {version} with the verdict: {exc}"))


def _move_alias(report: Report, registry: Registry, version: str, alias: str) -> None:
    try:
        registry.set_alias(alias, version)
    except WRITE_ERRORS as exc:
        report.add(inconclusive("registry-update", f"could not set alias @{alias} on version {version}: {exc}"))
        with contextlib.suppress(*WRITE_ERRORS):  # already reported: the registry is failing
            registry.tag(version, verdict_tag(KIND), report.verdict.value)
