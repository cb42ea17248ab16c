"""Judge 1: every recorded input, nested keys included, against the provider SDKs' input types, and the values AWS
enumerates against botocore's service models.

The SDKs check only top-level argument names at registration (a misspelt nested key, a wrong value type or an
invalid enum string passes `pulumi preview` and fails at `pulumi up`). Here every resource's inputs are walked
against its `*Args` class: the SDK's own input-type metadata (`pulumi._types.input_type_types`) maps each
recorded camelCase key to its declared type, nested `*Args` classes recursively. JSON-string inputs that AWS
parses itself (ECS container definitions) are walked against botocore's shape of that document, and embedded
Kubernetes objects of custom resources (Argo's pod template and judge job) against pulumi_kubernetes' types.
"""

from __future__ import annotations

import collections.abc
import importlib
import json
import re
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from pulumi import _types as pulumi_types

from runtime.graph import SECRET, UNKNOWN, Graph, Resource

#: Values the recorder writes for secrets and for outputs unknown under mocks: they stand for a value of any type.
PLACEHOLDERS = frozenset({SECRET, UNKNOWN})


@dataclass(frozen=True)
class Finding:
    resource: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.path}: {self.message}"


# Resource type token -> the SDK's *Args class -------------------------------------------------------------------
def args_class(type_token: str) -> type | None:
    """`aws:s3/bucketPolicy:BucketPolicy` -> pulumi_aws.s3.BucketPolicyArgs (`...InitArgs` where the SDK renamed it
    to avoid a clash with a nested input type); `kubernetes:core/v1:Service` -> pulumi_kubernetes.core.v1.ServiceArgs;
    `pulumi:providers:aws` -> pulumi_aws.ProviderArgs. Taken from the resource class's own module."""
    package, module, cls = type_token.split(":")
    if package == "pulumi" and module == "providers":
        return getattr(importlib.import_module(f"pulumi_{cls}"), "ProviderArgs", None)
    if package == "aws":
        path = "pulumi_aws" if module.startswith("index/") else f"pulumi_aws.{module.split('/')[0]}"
    elif package == "kubernetes":
        group, version = module.split("/")
        path = f"pulumi_kubernetes.{group.split('.')[0]}.{version}"
    else:
        return None
    try:
        resource_cls = getattr(importlib.import_module(path), cls, None)
    except ModuleNotFoundError:
        return None
    if resource_cls is None:
        return None
    home = importlib.import_module(resource_cls.__module__)
    for name in (f"{cls}InitArgs", f"{cls}Args"):
        found = getattr(home, name, None)
        if found is not None and pulumi_types.is_input_type(found):
            return found
    return None


@cache
def _fields(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """Declared camelCase field -> type, and the required fields, of an SDK input type."""
    types = pulumi_types.input_type_types(cls)
    py_to_pulumi = pulumi_types.input_type_py_to_pulumi_names(cls)
    required = frozenset(py_to_pulumi.get(n, n) for n in pulumi_types._required_property_names(cls))
    return types, required


def _choices(annotation: Any) -> list[Any]:
    """Input[T] / Optional[T] / Union[T, Awaitable[T], Output[T]] -> [T]; Input[Union[int, str]] -> [int, str]."""
    if typing.get_origin(annotation) is not typing.Union:
        return [annotation]
    plain = [a for a in typing.get_args(annotation) if a is not type(None)
             and typing.get_origin(a) is not collections.abc.Awaitable and getattr(a, "__name__", "") != "Output"]
    return [c for a in plain for c in _choices(a)] or [Any]


def check_value(value: Any, annotation: Any, path: str, out: list[str]) -> None:
    """Append `<path>: <problem>` for every mismatch of `value` (a recorded input) with the SDK type."""
    if value is None or (isinstance(value, str) and value in PLACEHOLDERS):
        return
    choices = _choices(annotation)
    if len(choices) > 1:  # a union of types (e.g. a Kubernetes port: number or name): any one may match
        attempts = []
        for choice in choices:
            attempt: list[str] = []
            check_value(value, choice, path, attempt)
            if not attempt:
                return
            attempts.append(attempt)
        out.extend(min(attempts, key=len))
        return
    (annotation,) = choices
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return
    if isinstance(annotation, type) and pulumi_types.is_input_type(annotation):
        if not isinstance(value, dict):
            out.append(f"{path}: expected an object ({annotation.__name__}), got {type(value).__name__}")
            return
        check_object(value, annotation, path, out)
    elif origin in (list, collections.abc.Sequence):
        if not isinstance(value, list):
            out.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        (item,) = typing.get_args(annotation) or (Any,)
        for i, element in enumerate(value):
            check_value(element, item, f"{path}[{i}]", out)
    elif origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            out.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        _, item = typing.get_args(annotation) or (str, Any)
        for key, element in value.items():
            check_value(element, item, f"{path}.{key}", out)
    elif annotation is bool:
        if not isinstance(value, bool):
            out.append(f"{path}: expected a boolean, got {value!r}")
    elif annotation in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                annotation is int and isinstance(value, float) and not value.is_integer()):
            out.append(f"{path}: expected {'an integer' if annotation is int else 'a number'}, got {value!r}")
    elif (annotation is str or (isinstance(annotation, type) and issubclass(annotation, str))) and not isinstance(
            value, str):
        out.append(f"{path}: expected a string, got {value!r}")


def check_object(value: dict[str, Any], cls: type, path: str, out: list[str]) -> None:
    fields, required = _fields(cls)
    for key, element in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            close = [f for f in fields if f.lower() == key.lower()]
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            out.append(f"{where}: unknown key for {cls.__name__}{hint}")
            continue
        check_value(element, fields[key], where, out)
    for key in sorted(required - set(value)):
        out.append(f"{f'{path}.' if path else ''}{key}: required by {cls.__name__}, missing")


# Inputs the provider passes on as JSON strings that AWS parses, and objects embedded in custom resources ----------
#: (type, input) -> (botocore service, shape of the parsed JSON document).
JSON_DOCUMENTS = {("aws:ecs/taskDefinition:TaskDefinition", "containerDefinitions"): ("ecs", "ContainerDefinitions")}
#: (type, dotted path with [] for list items) -> pulumi_kubernetes input type of the object found there.
EMBEDDED_K8S = {
    ("kubernetes:argoproj.io/v1alpha1:Rollout", "spec.template"): "core.v1.PodTemplateSpecArgs",
    ("kubernetes:argoproj.io/v1alpha1:AnalysisTemplate", "spec.metrics[].provider.job"): "batch.v1.JobArgs",
}


def _at(value: Any, path: str) -> list[tuple[str, Any]]:
    """The values at a dotted path (`[]` steps into every list item), each with its concrete path."""
    found = [("", value)]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        step = []
        for where, v in found:
            if not isinstance(v, dict) or key not in v:
                continue
            child, at = v[key], f"{where}.{key}" if where else key
            step += [(f"{at}[{i}]", c) for i, c in enumerate(child)] if many and isinstance(child, list) else [
                (at, child)]
        found = step
    return found


def check_botocore_shape(value: Any, shape: Any, path: str, out: list[str]) -> None:
    """A parsed JSON document against a botocore shape: unknown members, types and enums."""
    if isinstance(value, str) and value in PLACEHOLDERS:
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: expected an object ({shape.name}), got {type(value).__name__}")
            return
        for key, element in value.items():
            if key not in shape.members:
                out.append(f"{path}.{key}: unknown member of {shape.name}")
            else:
                check_botocore_shape(element, shape.members[key], f"{path}.{key}", out)
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{path}: expected a list ({shape.name}), got {type(value).__name__}")
            return
        for i, element in enumerate(value):
            check_botocore_shape(element, shape.member, f"{path}[{i}]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(f"{path}: expected a map ({shape.name}), got {type(value).__name__}")
            return
        for key, element in value.items():
            check_botocore_shape(element, shape.value, f"{path}.{key}", out)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(f"{path}: expected a string, got {value!r}")
        elif shape.enum and value not in shape.enum:
            out.append(f"{path}: {value!r} is not one of {shape.name} {shape.enum}")
    elif kind in ("integer", "long") and (isinstance(value, bool) or not isinstance(value, int)):
        out.append(f"{path}: expected an integer, got {value!r}")
    elif kind == "boolean" and not isinstance(value, bool):
        out.append(f"{path}: expected a boolean, got {value!r}")


@cache
def botocore_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def schema_findings(resource: Resource) -> list[Finding]:
    """Every input of one resource against the SDK's types (and the documents inside it)."""
    cls = args_class(resource.type)
    out: list[str] = []
    for (token, path), k8s_type in EMBEDDED_K8S.items():
        if resource.type == token:
            module, name = k8s_type.rsplit(".", 1)
            embedded = getattr(importlib.import_module(f"pulumi_kubernetes.{module}"), name)
            for where, value in _at(resource.inputs, path):
                check_value(value, embedded, where, out)
    if cls is None:
        return [Finding(resource.name, *line.split(": ", 1)) for line in out]
    if resource.type.startswith("pulumi:providers:"):
        # The engine hands provider inputs over as strings (JSON-encoded): only the keys are checked.
        fields, _ = _fields(cls)
        out += [f"{k}: unknown key for {cls.__name__}" for k in resource.inputs if k not in fields and k != "version"]
        return [Finding(resource.name, *line.split(": ", 1)) for line in out]
    check_object(resource.inputs, cls, "", out)
    for (token, key), (service, shape) in JSON_DOCUMENTS.items():
        if resource.type == token and isinstance(resource.inputs.get(key), str):
            check_botocore_shape(json.loads(resource.inputs[key]), botocore_model(service).shape_for(shape), key,
                                 out)
    return [Finding(resource.name, *line.split(": ", 1)) for line in out]


def graph_schema_findings(g: Graph) -> list[Finding]:
    return [f for r in g.resources for f in schema_findings(r)]


def unchecked_types(g: Graph) -> list[str]:
    """Resource types of the graph no SDK input type covers (component resources excluded)."""
    return sorted({r.type for r in g.resources if not r.type.startswith("mlcicd:") and args_class(r.type) is None
                   and not re.match(r"^kubernetes:argoproj\.io/", r.type)})
