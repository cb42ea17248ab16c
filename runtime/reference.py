"""The reference profiles follow the champion: the profile of the data the champion was trained on is the reference
that new training data (the pipeline's DataValidate action) and served data (the drift job) are compared with.

The Train action writes each registered version's training profile beside its gate reports
(`runtime.evidence.training_profile_key` in the models bucket of the stack hosting the pipeline), labelled with the
model and version it was trained for (`mlcicd data profile --model-version`). `mlcicd champion reference`, which
the deploy workflow runs right after `mlcicd champion sync`, copies the champion's to
`monitoring.drift.referenceProfileKey` in the data bucket of each stack it names (the pipeline's and production's):

- only a profile labelled with the champion's model and version is copied; a missing one (versions trained before
  the Train action wrote it), an unlabelled one or one of another version leaves every reference as it is and the
  report INCONCLUSIVE (exit 3), naming the object and the `mlcicd data profile` command that writes it;
- each copy records the model, the version and the bytes' sha256 in the object's metadata; a reference that
  already holds the champion's profile (same sha256) is left alone, so a rerun writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.data.sources import DataInputError
from runtime.evidence import training_profile_key
from runtime.report import Check, Report, inconclusive, passed

KIND = "reference-profile"
#: S3 object metadata (`x-amz-meta-*`) of a reference written here: whose training data it is, and its digest.
META_MODEL, META_VERSION, META_SHA256 = "mlcicd-model", "mlcicd-model-version", "mlcicd-sha256"

S3Clients = Callable[[str | None], Any]
"""An S3 client for a region (None: the default)."""


@dataclass(frozen=True)
class Destination:
    """One stack's reference profile: `monitoring.drift.referenceProfileKey` in the stack's data bucket."""

    stack: str
    bucket: str
    """The stack's data bucket (its stack output `dataBucket`)."""
    key: str
    """The stack's `monitoring.drift.referenceProfileKey`."""
    region: str | None

    @property
    def uri(self) -> str:
        """The reference's `s3://` URI, as the report names it."""
        return f"s3://{self.bucket}/{self.key}"


def follow_champion(model: str, version: str | None, *, models_bucket: str, destinations: Sequence[Destination],
                    s3: S3Clients, region: str | None = None) -> Report:
    """Make every destination hold the training profile of `version` (the champion; None: there is none), read
    from `models_bucket` (in `region`). Nothing is written unless that profile is there and labelled for it."""
    key = training_profile_key(model, version or "<champion version>")
    source = f"s3://{models_bucket}/{key}"
    report = Report(kind=KIND, subject={"model": model, "version": version, "source": source,
                                        "destinations": {d.stack: d.uri for d in destinations}})
    if version is None:
        report.add(inconclusive("champion", f"{model} has no champion, so no reference profile follows one: set "
                                "the first with `mlcicd champion set`, then rerun `mlcicd champion reference`"))
        return report.finish()
    try:
        data = _get(s3(region), models_bucket, key)
    except _s3_errors() as exc:
        report.add(_unreadable("profile", source, exc, version))
        return report.finish()
    refusal = _refusal(data, model, version, source)
    if refusal is not None or data is None:
        report.add(_refused(refusal, source, model, version))
        return report.finish()
    digest = hashlib.sha256(data).hexdigest()
    report.add(passed("profile", source, f"the training profile of version {version}", f"{source}: the training "
                      f"data of {model} version {version} ({len(data) / 1e6:.2f} MB, sha256 {digest[:12]})"))
    for destination in destinations:
        report.add(_place_or_say_why(s3, destination, data, model=model, version=version, digest=digest))
    report.details = {"sha256": digest, "bytes": len(data)}
    return report.finish()


def _refusal(data: bytes | None, model: str, version: str, source: str) -> str | None:
    """Why the object at `source` must not become a reference (None: it is version `version`'s training profile)."""
    from runtime.data.profile import profile_meta

    if data is None:
        return (f"no training profile of {model} version {version} at {source} (versions trained before the Train "
                "action wrote one have none)")
    try:
        label = profile_meta(data, source).get("model")
    except DataInputError as exc:
        return str(exc)
    if not isinstance(label, dict) or "version" not in label:
        return (f"{source} records no model version (written without --model-version): whose training data it is "
                "is unknown")
    if (label.get("name"), str(label["version"])) != (model, version):
        return (f"{source} is the training profile of {label.get('name')} version {label['version']}, not of the "
                f"champion {model} version {version}")
    return None


def _refused(why: str | None, source: str, model: str, version: str) -> Check:
    """The profile check when `source` must not be copied: why, and the command that writes the right profile."""
    fix = (f"mlcicd data profile --reference <the training data of version {version}> --out {source} --model "
           f"{model} --model-version {version}")
    return inconclusive("profile", f"{why}; every reference profile stays as it is. Write it from the data version "
                        f"{version} was trained on: `{fix}`, then rerun `mlcicd champion reference`", source,
                        f"the training profile of version {version}")


def _place(client: Any, to: Destination, data: bytes, *, model: str, version: str, digest: str) -> Check:
    """Write the profile to one destination unless it already holds exactly these bytes."""
    held = _metadata(client, to)
    name, wanted = f"reference {to.stack}", f"the training profile of version {version}"
    if held is not None and held.get(META_SHA256) == digest:
        return passed(name, "unchanged", wanted, f"{to.uri} already holds the training profile of version "
                      f"{version}; nothing written")
    client.put_object(Bucket=to.bucket, Key=to.key, Body=data, ContentType="application/octet-stream",
                      Metadata={META_MODEL: model, META_VERSION: version, META_SHA256: digest})
    before = ("nothing" if held is None else f"the training profile of version {held[META_VERSION]}"
              if META_VERSION in held else "a profile written by hand")
    return passed(name, "written", wanted, f"{to.uri} now holds the training profile of version {version} (it "
                  f"held {before})")


def _place_or_say_why(s3: S3Clients, to: Destination, data: bytes, *, model: str, version: str,
                      digest: str) -> Check:
    """`_place`, or, when S3 refuses or does not answer, an INCONCLUSIVE check naming the reference and the cause:
    the other destinations are still handled and the report still written (it records which references moved)."""
    try:
        return _place(s3(to.region), to, data, model=model, version=version, digest=digest)
    except _s3_errors() as exc:
        return _unreadable(f"reference {to.stack}", to.uri, exc, version, writing=True)


def _s3_errors() -> tuple[type[Exception], ...]:
    """What an S3 call raises when S3 refuses or does not answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _unreadable(name: str, uri: str, exc: Exception, version: str, *, writing: bool = False) -> Check:
    """INCONCLUSIVE: S3 refused or did not answer for `uri`; the cause as the runtime's error hierarchy words it,
    and what a rerun does. Nothing is copied from a source that could not be read; a destination keeps what it
    held."""
    from runtime.errors import classify

    fault = classify(exc)
    what = (f"could not write {uri}: {fault} ({fault.hint}); it keeps what it held" if writing else
            f"could not read {uri}: {fault} ({fault.hint}); every reference profile stays as it is")
    return inconclusive(name, f"{what}. Rerun `mlcicd champion reference` once fixed: references already holding "
                        "the champion's profile are left alone", None, f"the training profile of version {version}")


def unreachable_registry(model: str, destinations: Sequence[Destination], reason: str) -> Report:
    """The report when the registry naming the champion did not answer: INCONCLUSIVE, nothing written."""
    report = Report(kind=KIND, subject={"model": model, "version": None,
                                        "destinations": {d.stack: d.uri for d in destinations}})
    report.add(inconclusive("champion", f"{reason}; the reference profiles were not changed: rerun `mlcicd champion "
                            "reference` where the tracking server is reachable"))
    return report.finish()


def _get(client: Any, bucket: str, key: str) -> bytes | None:
    """The object's bytes; None when there is no such object."""
    found = _unless_missing(lambda: client.get_object(Bucket=bucket, Key=key))
    return None if found is None else found["Body"].read()


def _metadata(client: Any, to: Destination) -> dict[str, str] | None:
    """The destination object's user metadata; None when there is no object yet."""
    found = _unless_missing(lambda: client.head_object(Bucket=to.bucket, Key=to.key))
    return None if found is None else dict(found.get("Metadata") or {})


def _unless_missing(call: Callable[[], Any]) -> Any:
    """The S3 call's response, None when its object does not exist; any other error is raised (its exit code is
    runtime/errors.py's: access denied is a configuration error, an S3 that does not answer an outage)."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
