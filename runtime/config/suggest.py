"""Did-you-mean help for the stack file: unknown keys at any depth, misspelt choices, wrong namespaces.

The config model is walked by type (pydantic models by their camelCase keys, lists by index, free-form mappings
by value type) to find what the user could have meant at the place where a key or value was rejected.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from runtime.config.base import NAMESPACE
from runtime.config.findings import Problem

#: Pulumi's own namespace (`pulumi:tags`, `pulumi:disable-default-providers`): engine settings, not program config.
PULUMI_NAMESPACE = "pulumi"
#: Provider namespaces whose keys have no effect here: the program builds its providers explicitly from
#: `ml-cicd:` keys, and Pulumi.yaml disables the default providers.
PROVIDER_NAMESPACES = {"aws": "region", "kubernetes": "serving.eks"}


def close_match(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice to `word` (case-insensitive), or None when nothing is close."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def _members(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Annotated and Optional/Union unwrapped)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _members(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in get_args(annotation) if arg is not type(None) for m in _members(arg)]
    return [annotation]


def _child(annotation: Any, part: int | str) -> Any | None:
    for member in _members(annotation):
        origin = get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            for name, info in member.model_fields.items():
                if part in (info.alias, name):
                    return info.annotation
        elif origin is list and isinstance(part, int):
            return get_args(member)[0]
        elif origin is dict and isinstance(part, str):
            return get_args(member)[1]
    return None


def annotation_at(annotation: Any, loc: Sequence[int | str]) -> Any | None:
    """The declared type at `loc` inside a value of type `annotation`; None when the path leaves the model.
    Parts that name a union member (pydantic adds the member's name to the location) are skipped."""
    node = annotation
    for part in loc:
        child = _child(node, part)
        if child is None:
            if isinstance(part, str) and any(getattr(m, "__name__", None) == part for m in _members(node)):
                continue
            return None
        node = child
    return node


def known_keys(annotation: Any) -> list[str]:
    """The keys a mapping of this type accepts, as written in the stack file (camelCase)."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return [info.alias or name for name, info in member.model_fields.items()]
    return []


def literal_choices(annotation: Any) -> list[str]:
    for member in _members(annotation):
        if get_origin(member) is typing.Literal:
            return [str(a) for a in get_args(member)]
    return []


def unknown_key_message(section: Any, loc: Sequence[int | str]) -> str:
    """Message for a key the model does not know, with the closest known key (or the list of known keys)."""
    key = str(loc[-1])
    known = known_keys(annotation_at(section, loc[:-1]))
    guess = close_match(key, known)
    if guess is not None:
        return f"unknown key; did you mean `{guess}`?"
    return f"unknown key; allowed here: {', '.join(known)}" if known else "unknown key"


def literal_message(section: Any, loc: Sequence[int | str], value: Any, message: str) -> str:
    """Pydantic's "Input should be ..." with the closest allowed value, when one is close."""
    choices = literal_choices(annotation_at(section, loc))
    guess = close_match(str(value), choices) if isinstance(value, str) and choices else None
    return f"{message}; did you mean `{guess}`?" if guess is not None else message


@dataclass(frozen=True)
class KeyProblem(Problem):
    """A problem with a whole stack-file key (its namespace): the path is the key exactly as written."""

    def render(self) -> str:
        return f"{self.path}: {self.message}"


def namespace_problem(key: str, sections: Iterable[str]) -> KeyProblem | None:
    """Why a `config:` key outside `ml-cicd:` is wrong, or None for keys Pulumi itself reads (`pulumi:`)."""
    namespace, colon, name = key.partition(":")
    if not colon:
        guess = close_match(key, sections)
        hint = f"; did you mean `{NAMESPACE}:{guess}`?" if guess else f"; write `{NAMESPACE}:{key}`"
        return KeyProblem(key, f"config keys need a namespace (Pulumi rejects a bare key){hint}")
    if namespace == PULUMI_NAMESPACE:
        return None
    if namespace in PROVIDER_NAMESPACES:
        return KeyProblem(key, f"has no effect: the program builds its {namespace} provider from `{NAMESPACE}:` "
                          f"keys (see `{NAMESPACE}:{PROVIDER_NAMESPACES[namespace]}`) and Pulumi.yaml disables the "
                          "default providers; remove it")
    target = name.split(".", 1)[0]
    section = target if target in sections else close_match(target, sections)
    if close_match(namespace, [NAMESPACE]) is not None or section is not None:
        shown = f"{NAMESPACE}:{section}" if section is not None else f"{NAMESPACE}:{name}"
        return KeyProblem(key, f"unknown namespace `{namespace}`; did you mean `{shown}`? (this project reads "
                          f"`{NAMESPACE}:` keys)")
    return KeyProblem(key, f"unknown namespace `{namespace}`: this project reads only `{NAMESPACE}:` keys "
                      f"(and Pulumi's own `{PULUMI_NAMESPACE}:` settings); remove it")
