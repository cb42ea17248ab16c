"""`mlcicd champion show|set|sync|reference`: the registered-model version the model gate compares candidates
against, and the reference profiles that follow it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runtime.cli.common import err, finish, load_config
from runtime.errors import UsageError
from runtime.report import EXIT_INCONCLUSIVE

if TYPE_CHECKING:
    from runtime.champion import EvidenceStore
    from runtime.reference import Destination, S3Clients

app = typer.Typer(help="Show, set (first champion of a project) or sync (after a production rollout) the champion; "
                       "make the reference profiles follow it (reference).", no_args_is_help=True)

TrackingUri = Annotated[str | None, typer.Option(help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, then the "
                                                      "stack output trackingUri).")]
StackOption = Annotated[str | None, typer.Option(help="Stack: model name and gates.championAlias from "
                                                      "Pulumi.<stack>.yaml.")]
ProjectDir = Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")]
Outputs = Annotated[Path | None, typer.Option(help="JSON from `pulumi stack output --json` of the stack hosting the "
                                                   "pipeline, whose registry holds the versions (tracking URI, "
                                                   "models bucket, tracking admin secret).")]
Bucket = Annotated[str | None, typer.Option(help="S3 bucket for the champion record (default: stack output "
                                                 "modelsBucket).")]
Directory = Annotated[Path | None, typer.Option(help="Write the champion record under this directory instead.")]


def _target(stack: str | None, project_dir: Path | None, model: str | None,
            alias: str | None) -> tuple[str, str, str | None]:
    """(model, alias, region) from the options and the stack."""
    cfg = load_config(stack, project_dir).config if stack else None
    name = model or (cfg.model.name if cfg else None)
    if not name:
        raise UsageError("no model: pass --model NAME or --stack S")
    if cfg is not None and model is not None and model != cfg.model.name:
        raise UsageError(f"--model {model} differs from the model of Pulumi.{stack}.yaml ({cfg.model.name})")
    return name, alias or (cfg.gates.champion_alias if cfg else "champion"), cfg.region if cfg else None


def _outputs(path: Path | None) -> dict[str, Any]:
    from runtime.stack_outputs import read_stack_outputs

    return read_stack_outputs(path)


def _tracking_uri(given: str | None, outputs: dict[str, Any], region: str | None) -> str:
    from runtime import stack_outputs as out

    uri = given or os.environ.get("MLFLOW_TRACKING_URI") or outputs.get(out.TRACKING_URI)
    if not uri:
        raise UsageError("no tracking URI: pass --tracking-uri, set MLFLOW_TRACKING_URI or pass --stack-outputs")
    secret = outputs.get(out.TRACKING_ADMIN_SECRET_ARN)
    if secret and "MLFLOW_TRACKING_USERNAME" not in os.environ:
        _use_admin_secret(secret, region)
    return str(uri)


def _use_admin_secret(arn: str, region: str | None) -> None:
    """MLflow basic auth from the stack's admin secret (JSON `username`/`password`), for this process only."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=arn)["SecretString"]
        secret = json.loads(value)
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = (
            secret["username"], secret["password"])
    except (BotoCoreError, ClientError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read the tracking credentials from {arn}: {exc}; set MLFLOW_TRACKING_USERNAME "
                         "and MLFLOW_TRACKING_PASSWORD instead") from None


def _store(bucket: str | None, directory: Path | None, outputs: dict[str, Any],
           region: str | None) -> EvidenceStore | None:
    from runtime import stack_outputs as out
    from runtime.champion import EvidenceStore

    if bucket and directory:
        raise UsageError("give --evidence-bucket or --evidence-dir, not both")
    if directory is not None:
        return EvidenceStore(directory=directory)
    bucket = bucket or outputs.get(out.MODELS_BUCKET)
    return EvidenceStore(bucket=str(bucket), region=region) if bucket else None


def _actor(given: str | None) -> str:
    """Who moves the champion: --actor, else the CI identity (with the run's URL), else the local user."""
    if given:
        return given
    env = os.environ
    if env.get("GITHUB_ACTOR"):
        run = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/" \
              f"{env.get('GITHUB_RUN_ID', '')}"
        return f"{env['GITHUB_ACTOR']} via {run}"
    if env.get("CODEBUILD_BUILD_ARN"):
        return f"CodeBuild {env['CODEBUILD_BUILD_ARN']}"
    return env.get("USER") or env.get("USERNAME") or "unknown"


@app.command()
def show(
    *,
    model: Annotated[str | None, typer.Option(help="Registered model name (default: the stack's).")] = None,
    stack: StackOption = None, project_dir: ProjectDir = None,
    alias: Annotated[str | None, typer.Option(help="Champion alias (default: gates.championAlias, else champion).")]
    = None,
    tracking_uri: TrackingUri = None, stack_outputs: Outputs = None,
) -> None:
    """Print the champion (version and how it got there) as JSON on stdout. Exit 3 if the registry is unreachable."""
    from runtime.champion import RegistryUnavailable, current_champion

    name, alias_name, region = _target(stack, project_dir, model, alias)
    uri = _tracking_uri(tracking_uri, _outputs(stack_outputs), region)
    try:
        champion = current_champion(uri, name, alias_name)
    except RegistryUnavailable as exc:
        err(f"INCONCLUSIVE: {exc}")
        raise typer.Exit(EXIT_INCONCLUSIVE) from None
    typer.echo(json.dumps({"model": name, "alias": alias_name, "version": champion.version, "tags": champion.tags},
                          indent=2, sort_keys=True))
    if champion.version is None:
        err(f"{name} has no champion (@{alias_name} is not set): set the first one with `mlcicd champion set "
            f"--model {name} --version V --reason ...`")
    else:
        tags = champion.tags
        err(f"champion of {name}: version {champion.version} (@{alias_name}) since "
            f"{tags.get('mlcicd.champion.since', 'unknown')} by {tags.get('mlcicd.champion.by', 'unknown')}")


@app.command(name="set")
def set_(
    *,
    version: Annotated[str, typer.Option(help="Registered model version that production serves.")],
    reason: Annotated[str, typer.Option(help="Why (recorded), e.g. 'first champion: the version live since ...'.")],
    model: Annotated[str | None, typer.Option(help="Registered model name (default: the stack's).")] = None,
    stack: StackOption = None, project_dir: ProjectDir = None,
    alias: Annotated[str | None, typer.Option(help="Champion alias (default: gates.championAlias, else champion).")]
    = None,
    tracking_uri: TrackingUri = None, stack_outputs: Outputs = None,
    evidence_bucket: Bucket = None, evidence_dir: Directory = None,
    actor: Annotated[str | None, typer.Option(help="Who (default: the CI identity or $USER).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
) -> None:
    """Make VERSION the champion by hand: the first champion of a new project, or a correction. Recorded like the
    pipeline's moves. Exit 0 done, 2 bad input (unknown version), 3 registry unreachable."""
    from runtime.champion import RegistryUnavailable, move_champion

    if not version.isdigit():
        raise UsageError(f"--version {version!r}: expected a registered model version number, e.g. 12")
    if not reason.strip():
        raise UsageError("--reason must say why (it is recorded with the move)")
    name, alias_name, region = _target(stack, project_dir, model, alias)
    outputs = _outputs(stack_outputs)
    uri = _tracking_uri(tracking_uri, outputs, region)
    store = _store(evidence_bucket, evidence_dir, outputs, region)
    try:
        result = move_champion(uri, name, version, alias=alias_name, reason=reason.strip(),
                               actor=_actor(actor), evidence={"source": "set by hand"}, store=store)
    except RegistryUnavailable as exc:
        err(f"INCONCLUSIVE: {exc}")
        raise typer.Exit(EXIT_INCONCLUSIVE) from None
    finish(result, report)


@app.command()
def sync(
    *,
    stack: Annotated[str, typer.Option(help="The production stack: its model and gates.championAlias.")],
    rollout_report: Annotated[Path, typer.Option(help="The report of `mlcicd verify rollout --stack S --report`.")],
    project_dir: ProjectDir = None, tracking_uri: TrackingUri = None, stack_outputs: Outputs = None,
    evidence_bucket: Bucket = None, evidence_dir: Directory = None,
    actor: Annotated[str | None, typer.Option(help="Who (default: the CI identity or $USER).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
) -> None:
    """After a production rollout: move the champion to the version production serves, as `verify rollout` found
    it (the pinned version once verified; the live one after a rollback). Exit 0 moved or already there, 2 bad
    input, 3 the rollout is not settled or the registry is unreachable (the champion stays)."""
    from runtime.champion import RegistryUnavailable, decide, load_json, move_champion, rollout_evidence
    from runtime.report import Report

    name, alias_name, region = _target(stack, project_dir, None, None)
    rollout = load_json(rollout_report, "--rollout-report")
    decision = decide(rollout, name, str(rollout_report))
    if decision.version is None:
        result = Report(kind="champion", subject={"model": name, "alias": alias_name})
        result.add(decision.check)
        finish(result, report)
    outputs = _outputs(stack_outputs)
    uri = _tracking_uri(tracking_uri, outputs, region)
    store = _store(evidence_bucket, evidence_dir, outputs, region)
    try:
        result = move_champion(uri, name, decision.version, alias=alias_name, reason=decision.check.reason,
                               actor=_actor(actor), store=store,
                               evidence=rollout_evidence(rollout, str(rollout_report.resolve()), stack))
    except RegistryUnavailable as exc:
        err(f"INCONCLUSIVE: {exc}; the champion was not moved: rerun `mlcicd champion sync` where the "
            "tracking server is reachable")
        raise typer.Exit(EXIT_INCONCLUSIVE) from None
    result.checks.insert(0, decision.check)
    finish(result, report)


@app.command()
def reference(
    *,
    stack: Annotated[str, typer.Option(help="The production stack: its model and gates.championAlias.")],
    target: Annotated[list[str], typer.Option(help="STACK=OUTPUTS: a stack whose reference profile follows the "
                                                   "champion (monitoring.drift.referenceProfileKey of "
                                                   "Pulumi.STACK.yaml) and the JSON of `pulumi stack output "
                                                   "--stack STACK --json` naming its data bucket. Repeat: the "
                                                   "stack hosting the pipeline, and production.")],
    project_dir: ProjectDir = None, tracking_uri: TrackingUri = None, stack_outputs: Outputs = None,
    models_bucket: Annotated[str | None, typer.Option(help="Bucket of the versions' evidence and training "
                                                           "profiles (default: stack output modelsBucket).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
) -> None:
    """After `champion sync`: copy the champion's training profile (written by the Train action beside its
    reports) to the reference profile of every --target, so the data gate and the drift job compare with the data
    the model in production was trained on. Exit 0 copied or already in place, 2 bad input, 3 no champion, no
    profile recorded for it (the message gives the command that writes it), or the registry or S3 did not answer:
    the references stay as they are; also 3 when one reference could not be written (the report names it, the
    others moved)."""
    from runtime import stack_outputs as out
    from runtime.champion import RegistryUnavailable, current_champion
    from runtime.reference import follow_champion, unreachable_registry

    name, alias_name, region = _target(stack, project_dir, None, None)
    outputs = _outputs(stack_outputs)
    destinations = [_destination(t, project_dir) for t in target]
    bucket = models_bucket or outputs.get(out.MODELS_BUCKET)
    if not bucket:
        raise UsageError(f"no models bucket: pass --models-bucket, or --stack-outputs with the output "
                         f"{out.MODELS_BUCKET} of the stack hosting the pipeline")
    uri = _tracking_uri(tracking_uri, outputs, region)
    try:
        champion = current_champion(uri, name, alias_name)
    except RegistryUnavailable as exc:
        finish(unreachable_registry(name, destinations, str(exc)), report)
    finish(follow_champion(name, champion.version, models_bucket=str(bucket), destinations=destinations,
                           s3=_s3_clients(), region=region), report)


def _destination(target: str, project_dir: Path | None) -> Destination:
    """One --target STACK=OUTPUTS: the stack's referenceProfileKey in the data bucket its outputs name."""
    from runtime import stack_outputs as out
    from runtime.reference import Destination

    stack, sep, path = target.partition("=")
    if not sep or not stack or not path:
        raise UsageError(f"--target {target!r}: expected STACK=OUTPUTS, e.g. production=stack-outputs.json")
    cfg = load_config(stack, project_dir).config
    bucket = out.read_stack_outputs(Path(path), "--target").get(out.DATA_BUCKET)
    if not bucket:
        raise UsageError(f"--target {target}: {path} has no output {out.DATA_BUCKET}; save it with `pulumi stack "
                         f"output --stack {stack} --json > {path}`")
    return Destination(stack, str(bucket), cfg.monitoring.drift.reference_profile_key, cfg.region)


def _s3_clients() -> S3Clients:
    """S3 clients per region, with the runtime's bounded retries and timeouts."""
    from runtime.aws import boto3_clients

    return lambda region: boto3_clients(region)("s3")
