"""The local stand-ins for the step list's cloud lines, and the dispatcher that runs every other line in bash.

A line of an action (rendered exactly as its buildspec renders it) that calls a cloud-only tool (Pulumi, Docker,
ECR, git against GitHub, the GitHub API) matches one entry of `STANDINS`; an `mlcicd` invocation that needs a
cloud service the rehearsal has no stand-in for matches `MLCICD_STANDINS`. Everything else runs as written.
`cloud_lines_without_stand_in` lets a test prove that no line of any action would reach a cloud tool unreplaced.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime import stack_outputs as outputs
from runtime.local.shellrun import ActionRun, CommandFailed, run_shell
from runtime.local.state import Rehearsal
from runtime.pipeline.model import Command, Mlcicd, Stage
from runtime.pipeline.render import render_command
from runtime.report import Report, failed, passed

Handler = Callable[[Rehearsal, ActionRun, "re.Match[str]"], str | None]
#: First words of a line that reach the cloud (or GitHub) and so must never run unreplaced.
CLOUD_TOOLS = ("pulumi", "docker", "git", "curl", "jq")


@dataclass(frozen=True)
class StandIn:
    pattern: re.Pattern[str]
    stands_for: str
    run: Handler


def _noop(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> str | None:
    return None


def expand(run: ActionRun, words: str) -> list[str]:
    """Shell words as bash expands them in the action's environment (quotes, `$VAR`)."""
    done = subprocess.run(["bash", "-c", f"printf '%s\\0' {words}"], env=run.env, cwd=run.cwd, capture_output=True)
    if done.returncode != 0:
        raise CommandFailed("ERROR", f"cannot expand {words!r}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode().split("\0")[:-1]


def _config_set(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> None:
    from runtime.local.workspace import set_keys

    (value,) = expand(run, match["value"])
    set_keys(run.cwd / f"Pulumi.{match['stack']}.yaml", {match["key"]: value})


def _pulumi_up(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> str:
    from runtime.local.deploy import pulumi_up

    return pulumi_up(state, run, match["stack"])


def _stack_output(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> None:
    candidate = state.servers["candidate"]
    state.write_outputs_json(run.cwd / match["file"], {outputs.MODEL_ENDPOINT: candidate.url})


def _jq_read(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> None:
    data = json.loads((run.cwd / match["file"]).read_text(encoding="utf-8"))
    run.env[match["var"]] = str(data[match["key"]])


def _docker_build(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> str:
    """The image's content (the directory it is built from) hashed: what the pushed image's digest pins."""
    directory = run.cwd / match["dir"]
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    state.image_digest = "sha256:" + h.hexdigest()
    return f"image digest {state.image_digest} (content digest of {match['dir']}: no registry locally)"


def _image_digest(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> None:
    assert state.image_digest is not None
    run.env["IMAGE_DIGEST"] = state.image_digest


def _git_clone(state: Rehearsal, run: ActionRun, match: re.Match[str]) -> None:
    """The repository as the project holds it (not the rehearsal's snapshot): what a clone of the branch gives."""
    from runtime.local.workspace import copy_files, project_files

    project = state.plan.project
    copy_files(project, project_files(project, exclude=state.workdir), run.cwd / match["dir"])


STANDINS: tuple[StandIn, ...] = tuple(StandIn(re.compile(p), what, fn) for p, what, fn in (
    (r"^aws configure set ", "the deploy role's profile (moto needs none)", _noop),
    (r"^export AWS_PROFILE=", "the deploy role's profile (moto needs none)", _noop),
    (r"^pulumi config set --stack (?P<stack>\S+) --path (?P<key>\S+) (?P<value>.+?) --type string$",
     "pulumi config set", _config_set),
    (r"^pulumi up --stack (?P<stack>\S+)", "pulumi up: scoring servers and a canary", _pulumi_up),
    (r"^pulumi stack output --stack \S+ --json > (?P<file>\S+)$", "pulumi stack output", _stack_output),
    (r'^(?P<var>\w+)="\$\(jq -er \.(?P<key>\w+) (?P<file>\S+)\)" && export (?P=var)$', "jq", _jq_read),
    (r"^docker build --tag \S+ (?P<dir>\S+)$", "docker build", _docker_build),
    (r"^aws ecr get-login-password", "the ECR login", _noop),
    (r"^docker push ", "docker push (no registry locally)", _noop),
    (r'^IMAGE_DIGEST="\$\(aws ecr describe-images ', "ECR's digest of the pushed image", _image_digest),
    (r"^GIT_AUTH_HEADER=", "the GitHub token (none locally)", _noop),
    (r"^git .*\bclone\b.* (?P<dir>\S+)$", "git clone", _git_clone),
    (r"^git ", "git (the promotion branch is neither committed nor pushed locally)", _noop),
    (r"^jq -n ", "the pull request's JSON", _noop),
    (r"^curl .*api\.github\.com", "opening the pull request (its body is written, not sent)", _noop),
))


def _image_scan(state: Rehearsal, run: ActionRun, argv: tuple[str, ...]) -> str:
    return "ECR image scan not rehearsed (no registry locally)"


def _keep_image(state: Rehearsal, run: ActionRun, argv: tuple[str, ...]) -> str:
    return "promoted image not tagged (no registry locally)"


def _verify_rollout(state: Rehearsal, run: ActionRun, argv: tuple[str, ...]) -> str:
    """What serves is what the deployed stack file pins: the version, its digest, and a live endpoint."""
    from runtime.local.workspace import read_key

    stack = argv[argv.index("--stack") + 1]
    path = run.cwd / argv[argv.index("--report") + 1]
    stack_file = run.cwd / f"Pulumi.{stack}.yaml"
    pinned, digest = str(read_key(stack_file, "model.version")), read_key(stack_file, "model.imageDigest")
    serving = state.versions.get("candidate")
    report = Report(kind="verify-rollout", subject={"model": state.plan.model, "version": pinned,
                                                    "image_digest": digest})
    check = passed if serving == pinned else failed
    report.add(check("version", serving, pinned, f"the scoring server serves version {serving}; the stack pins "
                     f"{pinned}"))
    check = passed if digest == state.image_digest else failed
    report.add(check("image digest", digest, state.image_digest, "the stack pins the digest Package produced"))
    report.finish().write(path)
    run.report = path
    if report.verdict.value != "PASS":
        raise CommandFailed("FAIL", "; ".join(c.reason for c in report.checks if c.verdict.value != "PASS"), path)
    return "rollout verified against the scoring server (the ECS service in the cloud)"


MLCICD_STANDINS: dict[tuple[str, str], Callable[[Rehearsal, ActionRun, tuple[str, ...]], str]] = {
    ("pipeline", "image-scan"): _image_scan,
    ("pipeline", "keep-image"): _keep_image,
    ("verify", "rollout"): _verify_rollout,
}


def find(command: Command) -> StandIn | Callable[[Rehearsal, ActionRun, tuple[str, ...]], str] | None:
    if isinstance(command, Mlcicd):
        return MLCICD_STANDINS.get((command.argv[0], command.argv[1]))
    line = render_command(command)
    return next((s for s in STANDINS if s.pattern.search(line)), None)


def run_command(state: Rehearsal, run: ActionRun, command: Command) -> None:
    """Run one line of the action: its stand-in if it has one, else bash."""
    found = find(command)
    if found is None:
        run_shell(state, run, command)
        return
    line = render_command(command)
    if isinstance(found, StandIn):
        match = found.pattern.search(line)
        assert match is not None
        note = found.run(state, run, match)
        _log(run.log, line, f"local stand-in for {found.stands_for}" + (f": {note}" if note else ""))
    else:
        assert isinstance(command, Mlcicd)
        note = found(state, run, command.argv)
        _log(run.log, line, f"local stand-in: {note}")
    if note:
        run.notes.append(note)


def _log(log: Path, line: str, what: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {line}\n[{what}]\n")


def cloud_lines_without_stand_in(stages: tuple[Stage, ...]) -> list[str]:
    """Lines of build actions that start with a cloud tool (or `aws` outside S3) and have no stand-in."""
    out = []
    for stage in stages:
        for action in stage.actions:
            for command in (*action.commands, *action.finally_commands):
                if find(command) is not None or isinstance(command, Mlcicd):
                    continue
                words = command.replace("$(", " ").replace('"', " ").split()
                cloud = [w for w in words if w in CLOUD_TOOLS]
                aws = [i for i, w in enumerate(words) if w == "aws" and words[i + 1:i + 2] != ["s3"]]
                if cloud or aws:
                    out.append(f"{action.name}: {command}")
    return out
