"""The image gate against moto's ECR: waiting for the scan, judging severities, fail closed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.image_scan import judge, scan_report
from runtime.report import Verdict
from tests.harness import ROOT

REGION = "eu-west-1"
REPO = "serving-images"




def ecr(url: str) -> Any:
    return boto3.client("ecr", region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def repository(moto_url: str) -> str:
    ecr(moto_url).create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    return REPO


def push(url: str, tag: str, repository: str = REPO) -> str:
    """An image manifest pushed under a new tag; its digest."""
    layer = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                                      "digest": layer},
                           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                       "size": 7, "digest": layer}]})
    return ecr(url).put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"]["imageId"][
        "imageDigest"]


def set_findings(url: str, digest: str, counts: dict[str, int], status: str = "COMPLETE") -> None:
    """moto's API for scan results (ECR itself is not scanning anything here)."""
    response = httpx.post(f"{url}/moto-api/static/ecr/scan-finding-results", timeout=10, json={
        "region": REGION, "results": [{
            "registryId": "123456789012", "repositoryName": REPO, "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": status, "description": f"scan {status.lower()}"},
            "imageScanFindings": {"findingSeverityCounts": counts}}]})
    assert response.status_code == 201


def test_waits_for_the_scan_then_fails_on_critical(moto_url: str, repository: str) -> None:
    digest = push(moto_url, "bad-v1")
    client = ecr(moto_url)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        """The scan finishes while the gate waits: first poll finds no scan, the next a finished one."""
        sleeps.append(seconds)
        client.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
        set_findings(moto_url, digest, {"CRITICAL": 2, "HIGH": 5})

    report = scan_report(client, repository, digest, ["CRITICAL"], poll_s=1.5, sleep=sleep)
    assert sleeps == [1.5]
    assert report.verdict is Verdict.FAIL
    critical = next(c for c in report.checks if c.name == "findings.CRITICAL")
    assert (critical.observed, critical.verdict) == (2, Verdict.FAIL)
    assert report.details["findingSeverityCounts"] == {"CRITICAL": 2, "HIGH": 5}


def test_passes_when_no_refused_severity_has_findings(moto_url: str, repository: str) -> None:
    digest = push(moto_url, "ok-v1")
    ecr(moto_url).start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
    set_findings(moto_url, digest, {"HIGH": 3, "MEDIUM": 9})
    report = scan_report(ecr(moto_url), repository, digest, ["CRITICAL"])
    assert report.verdict is Verdict.PASS
    assert scan_report(ecr(moto_url), repository, digest, ["CRITICAL", "HIGH"]).verdict is Verdict.FAIL


def test_a_scan_that_never_completes_is_inconclusive(moto_url: str, repository: str) -> None:
    digest = push(moto_url, "never-v1")
    clock = iter([0.0, 0.0, 5.0, 11.0])
    report = scan_report(ecr(moto_url), repository, digest, timeout_s=10, poll_s=5, sleep=lambda _s: None,
                         clock=lambda: next(clock))
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "not complete after 10 s" in report.checks[0].reason


def test_a_failed_scan_is_inconclusive_never_pass() -> None:
    response = {"imageScanStatus": {"status": "FAILED", "description": "UnsupportedImageError"},
                "imageScanFindings": {"findingSeverityCounts": {}}}
    report = judge(response, ["CRITICAL"], {"digest": "sha256:x"})
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "UnsupportedImageError" in report.checks[0].reason


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown severities"):
        scan_report(None, REPO, "sha256:" + "0" * 64, ["BLOCKER"])


def test_cli_reads_severities_from_the_stack_and_exits_with_the_verdict(moto_url: str, repository: str,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(key, value)
    digest = push(moto_url, "cli-v1")
    ecr(moto_url).start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
    set_findings(moto_url, digest, {"CRITICAL": 1})
    out = tmp_path / "image-scan.json"
    result = CliRunner().invoke(app, ["pipeline", "image-scan", "--repository", repository, "--digest", digest,
                                      "--stack", "production", "--project-dir", str(ROOT), "--report", str(out)])
    assert result.exit_code == 1, result.output
    assert json.loads(out.read_text())["kind"] == "image-scan"
    bad = CliRunner().invoke(app, ["pipeline", "image-scan", "--repository", repository, "--digest", "latest",
                                   "--report", str(out)])
    assert bad.exit_code == 2
    assert "expected sha256:<64 lowercase hex>" in bad.output


# Keeping the promoted image (the Promote action's `mlcicd pipeline keep-image`) --------------------------------
@pytest.fixture(scope="module")
def immutable(moto_url: str) -> str:
    """A repository as the stack creates it: IMMUTABLE tags."""
    ecr(moto_url).create_repository(repositoryName="kept-images", imageTagMutability="IMMUTABLE")
    return "kept-images"


def keep(moto_url: str, monkeypatch: pytest.MonkeyPatch, repository: str, digest: str, version: str) -> Any:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(app, ["pipeline", "keep-image", "--repository", repository, "--digest", digest,
                                    "--version", version])


def test_the_promoted_image_gets_its_promoted_tag_once(moto_url: str, immutable: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    digest = push(moto_url, "churn-classifier-v12-b40", immutable)
    first = keep(moto_url, monkeypatch, immutable, digest, "12")
    assert first.exit_code == 0, first.output
    assert f"tagged {immutable}@{digest} promoted-v12: the lifecycle policy keeps it" in first.output
    tags = ecr(moto_url).describe_images(repositoryName=immutable, imageIds=[{"imageDigest": digest}])[
        "imageDetails"][0]["imageTags"]
    assert set(tags) == {"churn-classifier-v12-b40", "promoted-v12"}
    again = keep(moto_url, monkeypatch, immutable, digest, "12")  # a rerun of the Promote action
    assert again.exit_code == 0, again.output
    assert "is already tagged promoted-v12" in again.output


def test_a_promoted_tag_on_another_image_or_a_missing_image_is_refused(moto_url: str, immutable: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = push(moto_url, "churn-classifier-v13-b41", immutable)
    assert keep(moto_url, monkeypatch, immutable, first, "13").exit_code == 0
    rebuilt = push(moto_url, "churn-classifier-v13-b42", immutable)
    clash = keep(moto_url, monkeypatch, immutable, rebuilt, "13")
    assert clash.exit_code == 2
    assert f"{immutable}:promoted-v13 already names {first}, not {rebuilt}: tags are immutable" in clash.output
    missing = keep(moto_url, monkeypatch, immutable, "sha256:" + "e" * 64, "14")
    assert missing.exit_code == 2
    assert "no such image" in missing.output
    assert keep(moto_url, monkeypatch, immutable, first, "v13").exit_code == 2  # a version number only
    bad_name = keep(moto_url, monkeypatch, "r", first, "13")
    assert bad_name.exit_code == 2
    assert "--repository 'r': expected an ECR repository name" in bad_name.output


def test_the_lifecycle_policy_never_expires_a_promoted_image_by_the_other_rules() -> None:
    """ECR lets no lower-priority rule expire an image a higher-priority rule selects: `promoted-*` comes first."""
    from components.registry.image_repository import lifecycle_policy

    rules = json.loads(lifecycle_policy(7, 50))["rules"]
    assert [r["rulePriority"] for r in rules] == [1, 2, 3]
    assert rules[0]["selection"] == {"tagStatus": "tagged", "tagPrefixList": ["promoted-"],
                                     "countType": "imageCountMoreThan", "countNumber": 1000}
    assert rules[1]["selection"]["tagStatus"] == "untagged"
    assert rules[2]["selection"]["tagPatternList"] == ["*"]
