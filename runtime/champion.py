"""The champion: the registered-model version production serves, held by the alias `gates.championAlias`.

The model gate compares every candidate against it, so it must follow what production really serves. It moves:
- once per project by hand, for the first champion (`mlcicd champion set`);
- after every production rollout (`mlcicd champion sync`, the deploy workflow's step after `verify rollout`):
  to the pinned version when the rollout is verified (rollout complete, the pinned digest and version live, no
  alarm), back to the live version when the platform rolled back, and not at all while the rollout is unsettled.

Every move is recorded with who, when, why and on which evidence: MLflow model-version tags on the new champion
(`mlcicd.champion.since|by|reason|previous|evidence|record`) and on the one it replaces
(`mlcicd.champion.until|successor`), and a record (kind `champion`, with the evidence inside) in the evidence
store at `reports/<model>/<version>/champion.json` (the models bucket, or a directory).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.errors import TrackingUnavailable, UsageError
from runtime.evidence import evidence_key
from runtime.report import Check, Report, Verdict, inconclusive, passed, write_atomic
from runtime.tracking import bounded_mlflow_http, require_registry

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

#: The registry could not be asked (exit 3 through the CLI's one mapping).
RegistryUnavailable = TrackingUnavailable

KIND = "champion"
ROLLOUT_KIND = "rollout-verification"
TAG = "mlcicd.champion."
SINCE, BY, REASON, PREVIOUS, EVIDENCE, RECORD = (f"{TAG}{k}" for k in ("since", "by", "reason", "previous",
                                                                     "evidence", "record"))
UNTIL, SUCCESSOR = f"{TAG}until", f"{TAG}successor"




@dataclass(frozen=True)
class Champion:
    model: str
    alias: str
    version: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceStore:
    """Where champion records go: an S3 bucket (the stack's models bucket) or a local directory."""

    bucket: str | None = None
    directory: Path | None = None
    region: str | None = None

    def write(self, key: str, text: str) -> str:
        if self.directory is not None:
            path = self.directory / key
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text)
            return str(path.resolve())
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
        boto3.client("s3", region_name=self.region, config=config).put_object(
            Bucket=self.bucket, Key=key, Body=text.encode("utf-8"), ContentType="application/json")
        return f"s3://{self.bucket}/{key}"


def _client(uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    require_registry(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _ask(uri: str, what: str, call: Any, *args: Any) -> Any:
    """One registry call; a missing model or version is a UsageError (the user named it), anything else an outage."""
    from mlflow.exceptions import MlflowException

    try:
        return call(*args)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise UsageError(f"{what}: {exc.message}") from None
        raise RegistryUnavailable(f"registry at {uri} could not {what}: {exc.message}") from exc
    except Exception as exc:  # connection errors surface as requests/urllib3 exceptions
        raise RegistryUnavailable(f"registry at {uri} could not {what}: {type(exc).__name__}: {exc}") from exc


def current_champion(uri: str, model: str, alias: str) -> Champion:
    """Which version holds the champion alias (None: no champion yet) and its champion tags."""
    with bounded_mlflow_http(retries=1, timeout_s=10):
        client = _client(uri)
        registered = _ask(uri, f"find registered model {model!r}", client.get_registered_model, model)
        version = (registered.aliases or {}).get(alias)
        if version is None:
            return Champion(model, alias, None)
        mv = _ask(uri, f"read {model} version {version}", client.get_model_version, model, str(version))
    tags = {k: v for k, v in (mv.tags or {}).items() if k.startswith(TAG)}
    return Champion(model, alias, str(version), tags)


def move_champion(uri: str, model: str, version: str, *, alias: str, reason: str, actor: str,
                  evidence: dict[str, Any], store: EvidenceStore | None, now: datetime | None = None) -> Report:
    """Point `alias` at `version` and record the move (see the module doc). A version that is not READY in the
    registry is a UsageError; an already-current champion is left as it is (PASS, nothing written)."""
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    report = Report(kind=KIND, subject={"model": model, "version": version, "alias": alias})
    with bounded_mlflow_http(retries=1, timeout_s=10):
        client = _client(uri)
        mv = _ask(uri, f"find {model} version {version}", client.get_model_version, model, version)
        if str(mv.status) != "READY":
            raise UsageError(f"{model} version {version} has registry status {mv.status}; only a READY version can "
                             "be the champion")
        before = current_champion(uri, model, alias).version
        report.subject["previous"] = before
        if before == version:
            report.add(passed("alias", version, f"@{alias} = {version}", f"version {version} already holds "
                              f"@{alias}; nothing changed"))
            return report.finish()
        record = {"kind": KIND, "model": model, "version": version, "alias": alias, "previous": before,
                  "at": at, "by": actor, "reason": reason, "evidence": evidence}
        stored = report.add(_store_record(store, model, version, record))
        if stored.verdict is not Verdict.PASS:
            return report.finish()  # no move without its record
        location = stored.observed
        _ask(uri, f"set @{alias} on version {version}", client.set_registered_model_alias, model, alias, version)
        tags = {SINCE: at, BY: actor, REASON: reason, PREVIOUS: before or "none",
                EVIDENCE: _evidence_summary(evidence), **({RECORD: location} if location else {})}
        for key, value in tags.items():
            _ask(uri, f"tag version {version}", client.set_model_version_tag, model, version, key, value)
        if before is not None:
            for key, value in ((UNTIL, at), (SUCCESSOR, version)):
                _ask(uri, f"tag version {before}", client.set_model_version_tag, model, before, key, value)
    moved = f"from version {before}" if before is not None else "(first champion)"
    report.add(passed("alias", version, f"@{alias} = {version}", f"@{alias} moved to version {version} {moved}: "
                      f"{reason}"))
    return report.finish()


def _store_record(store: EvidenceStore | None, model: str, version: str, record: dict[str, Any]) -> Check:
    if store is None:
        return passed("record", None, None, "no evidence store given: the move is recorded in the registry tags "
                      "only")
    from botocore.exceptions import BotoCoreError, ClientError

    key = evidence_key(model, version, KIND)
    try:
        location = store.write(key, json.dumps(record, indent=2, sort_keys=True) + "\n")
    except (BotoCoreError, ClientError, OSError) as exc:
        return inconclusive("record", f"could not write the champion record {key}: {exc}; the alias was not "
                            "moved")
    return passed("record", location, None, f"recorded at {location}")


def _evidence_summary(evidence: dict[str, Any]) -> str:
    """One line for the tag (MLflow tags hold at most a few KB): the source and verdict of each piece."""
    parts = [f"{k}: {v}" for k, v in sorted(evidence.items()) if isinstance(v, str | int | float)]
    return "; ".join(parts)[:4000] or "none"


# From a rollout verification ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """What a rollout-verification report says about the champion: the version to hold it (None: leave it)."""

    version: str | None
    check: Check


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("name")): c for c in report.get("checks", []) if isinstance(c, dict)}


def decide(rollout: dict[str, Any], model: str, source: str) -> Decision:
    """The champion after a production rollout, from `mlcicd verify rollout`'s report (see the module doc)."""
    if rollout.get("kind") != ROLLOUT_KIND:
        raise UsageError(f"{source}: is a {rollout.get('kind')!r} report; expected {ROLLOUT_KIND!r} from "
                         "`mlcicd verify rollout --report`")
    subject = rollout.get("subject") or {}
    if subject.get("model") != model:
        raise UsageError(f"{source}: verifies model {subject.get('model')!r}, the stack serves {model!r}")
    checks = _checks(rollout)
    verdict = {name: (checks.get(name) or {}).get("verdict") for name in ("rollout", "image-digest", "model-version")}
    live = (checks.get("model-version") or {}).get("observed")
    live = str(live) if isinstance(live, str | int) and str(live).isdigit() else None
    pinned = subject.get("version")
    if rollout.get("verdict") == "PASS" and set(verdict.values()) == {"PASS"} and live is not None:
        return Decision(live, passed("decision", live, "verified rollout", f"production serves version {live}, "
                                     "verified (rollout complete, pinned digest and version live, no alarm)"))
    if verdict["rollout"] == "FAIL" and verdict["model-version"] == "FAIL" and live is not None:
        return Decision(live, passed("decision", live, "rolled back", f"the platform rolled back: production "
                                     f"serves version {live}, not the pinned {pinned}"))
    shown = ", ".join(f"{c.get('name')} {c.get('verdict')}" for c in checks.values())
    why = ("the platform rolled back, and the report does not say which version serves now (the champion still "
           "is the one that served before the rollout)" if verdict["rollout"] == "FAIL" else
           "production's model is not settled or not verified")
    return Decision(None, inconclusive("decision", f"{why} ({shown}; live version {live or 'unknown'}): the "
                                       "champion stays; rerun `mlcicd verify rollout` and `mlcicd champion sync` "
                                       "once the rollout settles", live, "verified rollout or rollback"))


def rollout_evidence(rollout: dict[str, Any], location: str, stack: str) -> dict[str, Any]:
    """The evidence a sync records: where the verification report came from, its verdict and the report itself."""
    return {"source": location, "stack": stack, "verdict": str(rollout.get("verdict")),
            "verified_at": str(rollout.get("started_at")), "rollout_report": rollout}


def load_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{what} {path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} {path}: not a JSON report object")
    return data
