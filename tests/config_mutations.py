"""Mutations of a real stack config, generated from the config model: every choice of every enum, every flag
flipped, every optional value removed, every list emptied, every bounded number at its bounds, every optional
section left out. `tests/test_config_program.py` checks that the program accepts whatever validation accepts.

The full sweep (every mutation of every given stack; about 0.5 s per config that validates):

    python -m tests.config_mutations staging production eks sagemaker
"""

from __future__ import annotations

import re
import sys
import types
import typing
from collections.abc import Iterator
from typing import Any, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from runtime.config.stack import StackConfig

Mutation = tuple[str, dict[str, Any]]
"""(key path as written in the stack file, overrides for `deep_merge`: None deletes a key)."""


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path):
        out = {part: out}
    return out


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type without Annotated/None, whether None is allowed)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        inner, _ = _unwrap(members[0]) if len(members) == 1 else (annotation, False)
        return inner, type(None) in get_args(annotation)
    return annotation, False


def _bounds(info: FieldInfo) -> list[float]:
    values: list[float] = []
    for meta in info.metadata:
        if isinstance(meta, Ge | Le):
            values.append(float(meta.ge if isinstance(meta, Ge) else meta.le))  # type: ignore[arg-type]
        elif isinstance(meta, Gt | Lt):
            bound = float(meta.gt if isinstance(meta, Gt) else meta.lt)  # type: ignore[arg-type]
            values.append(bound + (1 if isinstance(meta, Gt) else -1) * (1e-3 if bound < 1 else 1))
    return values


def _field_mutations(path: list[str], info: FieldInfo, current: Any) -> Iterator[Mutation]:
    kind, nullable = _unwrap(info.annotation)
    where = ".".join(path)
    if current is not None and (nullable or not info.is_required()) and not isinstance(current, dict | list):
        yield f"{where}=<removed>", _nest(path, None)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        if isinstance(current, dict):
            yield from _model_mutations(path, kind, current)
        return
    if get_origin(kind) is typing.Literal:
        for choice in get_args(kind):
            if choice != current:
                yield f"{where}={choice}", _nest(path, choice)
    elif kind is bool:
        yield f"{where}={not current}", _nest(path, not current)
    elif get_origin(kind) is list and current:
        yield f"{where}=[]", _nest(path, [])
    elif kind in (int, float):
        for bound in _bounds(info):
            value = int(bound) if kind is int else bound
            if value != current:
                yield f"{where}={value}", _nest(path, value)


def _model_mutations(path: list[str], model: type[BaseModel], current: dict[str, Any]) -> Iterator[Mutation]:
    for name, info in model.model_fields.items():
        key = info.alias or name
        yield from _field_mutations([*path, key], info, current.get(key))


def mutations(config: StackConfig) -> list[Mutation]:
    """Single-key mutations of a validated stack config (its effective values, defaults included)."""
    dumped = config.model_dump(mode="json", by_alias=True)
    out: list[Mutation] = []
    for name, info in StackConfig.model_fields.items():
        key = info.alias or name
        if not info.is_required():
            out.append((f"{key}=<section left out>", {key: None}))
        if key in ("tags", "model"):  # free-form tags; the model reference is covered by the explicit table
            continue
        out.extend(_field_mutations([key], info, dumped.get(key)))
    return out


#: Sections the program reads to decide what it builds; the others hold thresholds it passes through.
PROGRAM_SECTIONS = ("environment", "network", "storage", "registry", "serving", "tracking", "alarms", "pipeline",
                    "monitoring")
#: Values the program copies into a resource input without deciding anything on them (every choice builds the same
#: resources); the canary judge's and probe's settings decide something only with backend eks (its judge files).
PASS_THROUGH = ("pipeline.computeType", "pipeline.trainComputeType", "pipeline.pythonVersion",
                "pipeline.failOnSeverities", "tracking.selfHosted.database.instanceClass",
                "tracking.sagemaker.serverSize", "alarms.periodSeconds", "alarms.modelQuality.comparison")
JUDGE_SETTINGS = ("serving.canary.judge.", "serving.canary.probe.")


def _structural(label: str) -> bool:
    """A mutation that changes what the program builds (a choice, a flag, a removal), not only a number."""
    return not re.fullmatch(r"-?[0-9.e+-]+", label.split("=", 1)[1])


def program_mutation(label: str, eks: bool, only: tuple[str, ...] = ()) -> bool:
    """Whether a mutation can change what the program builds (see PASS_THROUGH), restricted to key paths starting
    with one of `only` when given."""
    key = label.split("=", 1)[0]
    section = re.split(r"[.=]", label, maxsplit=1)[0]
    return (section in PROGRAM_SECTIONS and _structural(label) and not key.startswith(PASS_THROUGH)
            and (eks or not key.startswith(JUDGE_SETTINGS)) and (not only or key.startswith(only)))


def sweep(base: str, program_only: bool, only: tuple[str, ...] = (),
          overrides: dict[str, Any] | None = None) -> tuple[int, list[str]]:
    """Build every mutation of `base` (with `overrides` merged in first) that validation accepts; return (configs
    built, program errors). With `program_only`, only the mutations that can change what the program builds
    (`program_mutation`)."""
    from runtime.config import ConfigError, validate_config
    from runtime.config.loader import deep_merge
    from runtime.graph import build_graph
    from tests.harness import ROOT, stack_config

    raw_base = stack_config(base, overrides)
    config = validate_config(raw_base, base).config
    built, failures = 0, []
    for label, mutation in mutations(config):
        if program_only and not program_mutation(label, config.serving.backend == "eks", only):
            continue
        raw = deep_merge(raw_base, mutation)
        try:
            validate_config(raw, base)
        except ConfigError:
            continue
        try:
            build_graph(base if base in ("staging", "production") else "staging", ROOT, raw_config=raw)
        except Exception as exc:  # any error of the program is a gap in validation
            failures.append(f"{base}: {label}: {type(exc).__name__}: {exc}")
        built += 1
    return built, failures


if __name__ == "__main__":
    total = 0
    for stack in sys.argv[1:] or ["staging"]:
        count, gaps = sweep(stack, program_only=False)
        total += count
        print("\n".join(gaps) or f"{stack}: {count} accepted configs built, no gaps", flush=True)
    print(f"{total} configs built")
