"""The image gate of the Package stage: ECR's scan findings for a pushed image, judged against the severities the
stack refuses (`pipeline.failOnSeverities`, default CRITICAL).

`scan_report(ecr, repository, digest, fail_on)` waits (bounded) for the scan of that digest to complete and returns
a Report of kind "image-scan": FAIL when any refused severity has findings, INCONCLUSIVE when the scan did not
complete (failed, unsupported image, timed out) - an unscanned image is never a PASS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from runtime.errors import InvalidValue, NotEnoughEvidence
from runtime.report import Report, failed, inconclusive, passed

KIND = "image-scan"
#: Severities ECR reports, most severe first.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


class ScanPending(NotEnoughEvidence):
    """The scan has not completed yet (exit 3 if it ever escapes the wait)."""


def findings(ecr: Any, repository: str, digest: str) -> dict[str, Any]:
    """One DescribeImageScanFindings call; ScanPending while ECR is still scanning."""
    from botocore.exceptions import ClientError

    try:
        response = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageDigest": digest})
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ScanNotFoundException":
            raise ScanPending("no scan yet") from exc
        # runtime.errors classifies by the cause: rejected credentials exit 2, throttling or 5xx exit 3.
        raise InvalidValue(f"{repository}@{digest}: {error.get('Message', exc)}") from exc
    if response.get("imageScanStatus", {}).get("status") in ("IN_PROGRESS", "PENDING"):
        raise ScanPending(response["imageScanStatus"]["status"])
    return response


def judge(response: dict[str, Any], fail_on: Sequence[str], subject: dict[str, Any]) -> Report:
    """The verdict on one completed DescribeImageScanFindings response (pure)."""
    report = Report(kind=KIND, subject=subject)
    status = response.get("imageScanStatus", {})
    if status.get("status") != "COMPLETE":
        report.add(inconclusive("scan.status", f"scan status {status.get('status')}: "
                                f"{status.get('description', 'no description')}; the image is not judged",
                                observed=status.get("status")))
        return report
    counts = response.get("imageScanFindings", {}).get("findingSeverityCounts", {}) or {}
    report.details["findingSeverityCounts"] = {s: counts[s] for s in SEVERITIES if s in counts}
    report.add(passed("scan.status", "COMPLETE", None, "scan completed"))
    for severity in fail_on:
        count = int(counts.get(severity, 0))
        check = failed if count else passed
        report.add(check(f"findings.{severity}", count, "0",
                         f"{count} {severity} finding{'s' * (count != 1)}"
                         + (": fix the base image or the model's dependencies" if count else "")))
    return report


def scan_report(ecr: Any, repository: str, digest: str, fail_on: Sequence[str] = ("CRITICAL",), *,
                timeout_s: float = 900.0, poll_s: float = 10.0,
                sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Report:
    """Wait (at most `timeout_s`) for the scan of `digest`, then judge it."""
    subject = {"repository": repository, "digest": digest}
    unknown = sorted(set(fail_on) - set(SEVERITIES))
    if unknown:
        raise InvalidValue(f"unknown severities {unknown}; use {', '.join(SEVERITIES)}")
    deadline = clock() + timeout_s
    while True:
        try:
            return judge(findings(ecr, repository, digest), fail_on, subject).finish()
        except ScanPending as pending:
            if clock() >= deadline:
                report = Report(kind=KIND, subject=subject)
                report.add(inconclusive("scan.status", f"scan not complete after {timeout_s:g} s ({pending})"))
                return report.finish()
            sleep(poll_s)
