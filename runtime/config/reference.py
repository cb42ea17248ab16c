"""Render the config reference (docs/config-reference.md) from the model: every key, type, default, description.

    python -m runtime.config.reference > docs/config-reference.md
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from runtime.config.base import NAMESPACE
from runtime.config.stack import StackConfig


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (list, dict):
        inner = ", ".join(_type_name(a) for a in get_args(annotation))
        return f"{origin.__name__}[{inner}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.default
    if value is PydanticUndefined or value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "(see below)"
    return f"`{value!r}`".replace("|", "\\|")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _rows(model: type[BaseModel], prefix: str, out: list[str], nested: list[tuple[str, type[BaseModel]]]) -> None:
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        doc = " ".join((info.description or "").split()).replace("|", "\\|")
        out.append(f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} | {doc} |")
        sub = _model_of(info.annotation)
        if sub is not None and get_origin(info.annotation) is not dict:
            nested.append((key, sub))


def render() -> str:
    lines = ["# Stack config reference", "",
             "Generated from the config model (`python -m runtime.config.reference`); a test keeps it current.",
             f"Every key is written `{NAMESPACE}:<key>` in `Pulumi.<stack>.yaml`; nested keys are camelCase.",
             "Validate a file with `mlcicd config validate --stack <stack>`.", ""]
    queue: list[tuple[str, type[BaseModel]]] = [("", StackConfig)]
    while queue:
        prefix, model = queue.pop(0)
        title = f"`{NAMESPACE}:{prefix}`" if prefix else "Top-level keys"
        lines += [f"## {title}", "", "| key | type | default | description |", "|---|---|---|---|"]
        nested: list[tuple[str, type[BaseModel]]] = []
        _rows(model, f"{prefix}." if prefix else "", lines, nested)
        lines.append("")
        queue[:0] = nested
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
