"""Gate evidence for one exact model version and image digest, from a directory or MLflow model-version tags.

A report counts only when it is of the expected kind, names the same model and version (and the same image
digest where it records one), says PASS, and its checks agree with that verdict. Anything else (missing,
unreadable, another version, FAIL, INCONCLUSIVE) is a reason to refuse, stated in the promotion report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import AwsUnavailable, CredentialsError, InvalidValue, ServiceUnavailable, classify
from runtime.evidence import (
    KIND_DATA_VALIDATION,
    KIND_LOAD,
    KIND_MODEL_GATE,
    KIND_SMOKE,
    digest_tag,
    evidence_key,
    report_tag,
    verdict_tag,
)
from runtime.report import Verdict, combine, load_report

if TYPE_CHECKING:
    from runtime.config import StackConfig

#: Reports promotion cannot do without.
REQUIRED_KINDS = (KIND_MODEL_GATE, KIND_SMOKE)
#: Reports that must pass when they exist (a failing load test blocks promotion as much as a failing smoke test).
OPTIONAL_KINDS = (KIND_DATA_VALIDATION, KIND_LOAD)


def stage_kinds(cfg: StackConfig) -> tuple[str, ...]:
    """Reports promotion requires because the stack's pipeline runs the stage that writes them: the replay gate
    (`gates.replay`) and the shadow gate (`gates.shadow`), decided as the step list decides (`PipelineSpec`)."""
    from runtime.pipeline.model import ReplayStep, ShadowStep
    from runtime.replay import KIND_REPLAY, KIND_SHADOW

    return tuple(kind for kind, step in ((KIND_REPLAY, ReplayStep.from_config(cfg)),
                                         (KIND_SHADOW, ShadowStep.from_config(cfg))) if step is not None)


#: Kinds whose report may lack subject.model/version when where it was found names them (the evidence key or the
#: version's tags): data validation runs before training, when there is no model version to name yet.
BOUND_BY_LOCATION_KINDS = frozenset({KIND_DATA_VALIDATION})
#: Subject keys a report may record the image digest under.
_DIGEST_KEYS = ("imageDigest", "image_digest", "digest")


@dataclass(frozen=True)
class Target:
    """What is being promoted: the evidence must be about exactly this."""

    model: str
    version: str
    image_digest: str


@dataclass
class Evidence:
    """One kind of gate evidence as found: where, what it said, and why it does not count (None: it counts)."""

    kind: str
    required: bool
    source: str | None = None
    report: dict[str, Any] | None = None
    verdict: str | None = None
    problem: str | None = None
    unavailable: bool = False
    """The report could not be read because its store did not answer: no evidence either way (INCONCLUSIVE)."""

    @property
    def found(self) -> bool:
        return self.source is not None

    @property
    def ok(self) -> bool:
        return self.found and self.problem is None


def judge_report(data: dict[str, Any], kind: str, target: Target, *, keyed: bool = False) -> str | None:
    """Why this report is not passing evidence for the target (None: it is). `keyed`: it was found under the
    target's model and version (evidence key or model-version tag)."""
    if data.get("kind") != kind:
        return f"is a {data.get('kind')!r} report, not {kind!r}"
    subject = data.get("subject")
    if not isinstance(subject, dict):
        subject = {}
    unnamed = subject.get("model") is None or subject.get("version") is None
    if unnamed and not (keyed and kind in BOUND_BY_LOCATION_KINDS):
        return "does not name its subject (needs subject.model and subject.version)"
    if subject.get("model") is not None and str(subject["model"]) != target.model:
        return f"is for model {subject['model']!r}, not {target.model!r}"
    if subject.get("version") is not None and str(subject["version"]) != target.version:
        return f"is for version {subject['version']}, not {target.version}"
    digests = {str(subject[k]) for k in _DIGEST_KEYS if subject.get(k) is not None}
    if digests and digests != {target.image_digest}:
        return f"was taken on image {', '.join(sorted(digests))}, not {target.image_digest}"
    verdict = data.get("verdict")
    raw_checks = data.get("checks")
    checks: list[Any] = raw_checks if isinstance(raw_checks, list) else []
    if verdict != Verdict.PASS.value:
        reasons = [f"{c.get('name')}: {c.get('reason')}" for c in checks
                   if isinstance(c, dict) and c.get("verdict") != Verdict.PASS.value]
        detail = f" ({'; '.join(reasons[:3])})" if reasons else ""
        return f"verdict {verdict}; promotion needs PASS{detail}"
    try:
        from_checks = combine(Verdict(c["verdict"]) for c in checks)
    except (KeyError, TypeError, ValueError):
        return "has malformed checks (each needs a verdict PASS, FAIL or INCONCLUSIVE)"
    if from_checks is not Verdict.PASS:
        return f"says PASS but its checks say {from_checks.value}"
    return None


def report_candidates(directory: Path, model: str, version: str, kind: str) -> list[Path]:
    """Where a report may sit under an evidence directory, most specific first: the bucket layout
    (`reports/<model>/<version>/<kind>.json`), the same without `reports/`, and flat `<kind>.json`."""
    keyed = Path(evidence_key(model, version, kind))
    return [directory / keyed, directory / Path(*keyed.parts[1:]), directory / f"{kind}.json"]


def from_directory(directory: Path, kind: str, required: bool, target: Target) -> Evidence:
    evidence = Evidence(kind, required)
    candidates = report_candidates(directory, target.model, target.version, kind)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return evidence
    evidence.source = str(path)
    _judge_loaded(evidence, path, target, keyed=path != candidates[-1])
    return evidence


def _judge_loaded(evidence: Evidence, location: str | Path, target: Target, *, keyed: bool) -> None:
    try:
        evidence.report = read_report(location)
    except ServiceUnavailable as exc:
        evidence.problem, evidence.unavailable = str(exc), True
        return
    except ValueError as exc:
        evidence.problem = str(exc)
        return
    evidence.verdict = str(evidence.report.get("verdict"))
    problem = judge_report(evidence.report, evidence.kind, target, keyed=keyed)
    evidence.problem = f"{location} {problem}" if problem else None


def from_tags(tags: dict[str, str], kind: str, required: bool, target: Target) -> Evidence:
    """Evidence from the model version's tags: the verdict tag, and the report behind the location tag."""
    evidence = Evidence(kind, required)
    verdict = tags.get(verdict_tag(kind))
    if verdict is None:
        return evidence
    evidence.source = f"MLflow tag {verdict_tag(kind)}"
    evidence.verdict = verdict
    if verdict != Verdict.PASS.value:
        evidence.problem = f"{verdict_tag(kind)} = {verdict}; promotion needs PASS"
        return evidence
    tagged_digest = tags.get(digest_tag(kind))
    if tagged_digest is not None and tagged_digest != target.image_digest:
        evidence.problem = f"{digest_tag(kind)} = {tagged_digest}: taken on another image than {target.image_digest}"
        return evidence
    location = tags.get(report_tag(kind))
    if location is None:
        return evidence  # the tag sits on this exact version; there is no report to read the digest from
    evidence.source += f" (report {location})"
    _judge_loaded(evidence, location, target, keyed=True)
    return evidence


def read_report(location: str | Path) -> dict[str, Any]:
    """A report from a path, a `file://` URI or an `s3://bucket/key` URI; ValueError naming what went wrong,
    AwsUnavailable when S3 did not answer, CredentialsError when there are no usable credentials."""
    text = str(location)
    if text.startswith("s3://"):
        return _read_s3_report(text)
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        text = unquote(urlparse(text).path)
    return load_report(Path(text))


def _read_s3_report(uri: str) -> dict[str, Any]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise InvalidValue(f"{uri}: not an s3://bucket/key URI")
    client = boto3.client("s3", config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2}))
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        data = json.loads(body)
    except (BotoCoreError, ClientError) as exc:
        fault = classify(exc)
        if isinstance(fault, CredentialsError | ServiceUnavailable):
            cls = AwsUnavailable if isinstance(fault, ServiceUnavailable) else CredentialsError
            raise cls(f"{uri}: S3 did not return the report ({exc})") from exc
        raise InvalidValue(f"{uri}: not a readable report ({exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidValue(f"{uri}: not a readable report ({exc})") from exc
    if not isinstance(data, dict) or not {"kind", "verdict", "checks"} <= set(data):
        raise InvalidValue(f"{uri}: not a report (needs kind, verdict, checks)")
    return data
