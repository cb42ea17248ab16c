"""Read and validate a stack's config, from `Pulumi.<stack>.yaml` (runtime) or from Pulumi's config (program).

Each top-level section is validated on its own, so one run reports every bad key path at once; the cross-field
rules (`runtime.config.rules`) then run over every section that validated.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from runtime.config.base import NAMESPACE
from runtime.config.findings import Advice, Problem
from runtime.config.rules import RULES
from runtime.config.stack import StackConfig
from runtime.config.stackrules import DEFAULT_PROJECT, sibling_pipeline_problems, stack_rules
from runtime.config.suggest import literal_message, namespace_problem, unknown_key_message
from runtime.errors import ConfigurationError

#: What an undecryptable secure value (`{secure: v1:...}`) reads as outside a Pulumi deployment.
SECRET_PLACEHOLDER = "[secret]"


class ConfigError(ConfigurationError):
    """The stack config is invalid (exit 2). `problems` lists every bad key path; str() is the message users see."""

    #: Set by the graph runner: how many resources the program had registered when it stopped (always 0).
    registered_resources: int | None = None

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"invalid stack config in {source} ({len(problems)} problem{'s' * (len(problems) != 1)}):"]
        lines += [f"  - {p.render()}" for p in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class LoadedConfig:
    config: StackConfig
    advice: list[Advice] = field(default_factory=list)
    secret_keys: frozenset[str] = frozenset()
    """Top-level keys (`ml-cicd:<key>`) holding secure values."""


def _section_adapters() -> dict[str, tuple[str, TypeAdapter[Any], bool]]:
    """Top-level section name as written (camelCase alias) -> (field name, adapter, required)."""
    out: dict[str, tuple[str, TypeAdapter[Any], bool]] = {}
    for name, info in StackConfig.model_fields.items():
        alias = info.alias or name
        # The field's constraints (patterns, bounds) live in its metadata, not in its annotation.
        annotated = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        out[alias] = (name, TypeAdapter(annotated), info.is_required())  # type: ignore[arg-type]
    return out


_ADAPTERS: dict[str, tuple[str, TypeAdapter[Any], bool]] | None = None


def _adapters() -> dict[str, tuple[str, TypeAdapter[Any], bool]]:
    global _ADAPTERS  # noqa: PLW0603 - built once on first use, keeps `mlcicd --help` free of this cost
    if _ADAPTERS is None:
        _ADAPTERS = _section_adapters()
    return _ADAPTERS


def _loc_to_path(section: str, loc: tuple[int | str, ...]) -> str:
    path = section
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _section_problems(key: str, annotation: Any, exc: ValidationError) -> list[Problem]:
    """One problem per pydantic error, with the closest known key or choice where the user likely misspelt one."""
    problems = []
    for err in exc.errors(include_url=False):
        loc, message = err["loc"], err["msg"]
        if err["type"] == "extra_forbidden":
            message = unknown_key_message(annotation, loc)
        elif err["type"] == "literal_error":
            message = literal_message(annotation, loc, err.get("input"), message)
        problems.append(Problem(_loc_to_path(key, loc), message, err.get("input"), has_value=err["type"] != "missing"))
    return problems


def validate_config(raw: Mapping[str, Any], source: str, *, stack: str | None = None, project: str | None = None,
                    root: Path | None = None) -> LoadedConfig:
    """Validate un-namespaced top-level keys; raise ConfigError listing every problem.

    Sections left out of the stack file take their defaults before the cross-field rules run: the rules judge the
    config the program will build, not only what is written (a left-out `network` is `mode: existing`, which needs
    a VPC id). With `stack`, also the rules that need the stack's name (pipeline hosting, AWS name limits); with
    `root` too, the project's other stack files (a second pipeline on the same repository and branch)."""
    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    adapters = _adapters()
    for key, value in raw.items():
        if key not in adapters:
            close = difflib.get_close_matches(key, list(adapters), n=1)
            hint = f"did you mean `{NAMESPACE}:{close[0]}`?" if close else f"known keys: {', '.join(adapters)}"
            problems.append(Problem(key, f"unknown config key; {hint}", value, has_value=True))
            continue
        name, adapter, _ = adapters[key]
        try:
            sections[name] = adapter.validate_python(value)
        except ValidationError as exc:
            problems += _section_problems(key, StackConfig.model_fields[name].annotation, exc)
    defaulted: set[str] = set()
    for key, (name, _, required) in adapters.items():
        if key in raw:
            continue
        if required:
            problems.append(Problem(key, f"required; set `{NAMESPACE}:{key}` in the stack file"))
        else:
            sections[name] = StackConfig.model_fields[name].get_default(call_default_factory=True)
            defaulted.add(key)
    advice: list[Advice] = []
    findings = [finding for check in RULES for finding in check(sections)]
    if stack is not None:
        findings += stack_rules(sections, stack, project or DEFAULT_PROJECT)
        if root is not None:
            findings += sibling_pipeline_problems(_other_stack_files(root, stack), sections)
    for finding in findings:
        if isinstance(finding, Problem):
            problems.append(_note_default(finding, defaulted))
        else:
            advice.append(finding)
    if problems:
        raise ConfigError(source, problems)
    return LoadedConfig(config=StackConfig.model_validate(sections), advice=advice)


def _note_default(problem: Problem, defaulted: set[str]) -> Problem:
    """Say so when the problem lies in a section the stack file leaves out (its defaults apply)."""
    section = problem.path.split(".", 1)[0].split("[", 1)[0]
    if section not in defaulted:
        return problem
    return Problem(problem.path, f"{problem.message} (`{NAMESPACE}:{section}` is not in the stack file, so its "
                   "defaults apply: add the section)", problem.value, problem.has_value)


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `overrides` into a copy of `base` (nested mappings merge, other values replace; None deletes)."""
    import copy

    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _mask_secure(value: Any) -> tuple[Any, bool]:
    """Replace Pulumi `{secure: ...}` values (undecryptable here) with a placeholder; report whether any was."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], hit = _mask_secure(v)
            found = found or hit
        return out, found
    if isinstance(value, list):
        items = [_mask_secure(v) for v in value]
        return [v for v, _ in items], any(h for _, h in items)
    return value, False


def read_stack_file(path: Path) -> tuple[dict[str, Any], frozenset[str]]:
    """Raw `ml-cicd:` keys of a stack file (namespace stripped) and which of them hold secure values."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [Problem("(file)", f"stack file not found: {path}; create it with "
                                              "`pulumi stack init` or pass the right --stack")]) from None
    except OSError as exc:
        raise ConfigError(str(path), [Problem("(file)", f"cannot read {path}: {exc.strerror}")]) from None
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [Problem("(file)", f"not valid YAML: {exc}")]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise ConfigError(str(path), [Problem("(file)", "expected a mapping with a `config:` mapping")])
    raw: dict[str, Any] = {}
    secrets: set[str] = set()
    foreign: list[Problem] = []
    for key, value in (doc.get("config") or {}).items():
        namespace, _, name = str(key).partition(":")
        if namespace != NAMESPACE or not name:
            problem = namespace_problem(str(key), _adapters())
            if problem is not None:
                foreign.append(problem)
            continue
        raw[name], secret = _mask_secure(value)
        if secret:
            secrets.add(name)
    if foreign:
        # Report the keys of the project's own namespace too, so one run lists every problem.
        try:
            validate_config(raw, str(path))
        except ConfigError as exc:
            foreign += exc.problems
        raise ConfigError(str(path), foreign)
    return raw, frozenset(secrets)


def stack_file(stack: str, root: Path | None = None) -> Path:
    return (root or project_root()) / f"Pulumi.{stack}.yaml"


def project_root(start: Path | None = None) -> Path:
    """The directory holding Pulumi.yaml: the current directory or its nearest parent that has one."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return here


def _other_stack_files(root: Path, stack: str) -> dict[str, dict[str, Any]]:
    """The project's other stack files, read (file name -> raw top-level keys). A file that does not read is left
    out: that stack's own validation reports it."""
    others: dict[str, dict[str, Any]] = {}
    for path in sorted(root.glob("Pulumi.*.yaml")):
        if path.name == f"Pulumi.{stack}.yaml":
            continue
        try:
            others[path.name] = read_stack_file(path)[0]
        except ConfigError:
            continue
    return others


def project_name(root: Path) -> str | None:
    """The `name:` of the project's Pulumi.yaml (None when there is none)."""
    import yaml

    try:
        doc = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    name = doc.get("name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) else None


def load_stack(stack: str, root: Path | None = None) -> LoadedConfig:
    """Load and validate `Pulumi.<stack>.yaml` (as the runtime sees it: secure values are placeholders)."""
    path = stack_file(stack, root)
    raw, secrets = read_stack_file(path)
    loaded = validate_config(raw, str(path), stack=stack, project=project_name(path.parent), root=path.parent)
    return LoadedConfig(config=loaded.config, advice=loaded.advice, secret_keys=secrets)


def load_from_pulumi() -> LoadedConfig:
    """Load and validate the running Pulumi program's config (decrypted secrets included)."""
    from pulumi.runtime import config as pulumi_config

    raw: dict[str, Any] = {}
    secrets: set[str] = set()
    prefix = f"{NAMESPACE}:"
    merged = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    for key, value in merged.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        raw[name] = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
        if pulumi_config.is_config_secret(key):
            secrets.add(name)
    import pulumi

    loaded = validate_config(raw, "Pulumi config", stack=pulumi.get_stack(), project=pulumi.get_project(),
                             root=project_root())
    return LoadedConfig(config=loaded.config, advice=loaded.advice, secret_keys=frozenset(secrets))
