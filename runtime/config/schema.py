"""JSON Schema of a `Pulumi.<stack>.yaml` file, for editor completion and validation."""

from __future__ import annotations

from typing import Any

from runtime.config.base import NAMESPACE
from runtime.config.stack import StackConfig
from runtime.config.suggest import PULUMI_NAMESPACE

_SECURE = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
           "additionalProperties": False, "description": "Encrypted value written by `pulumi config set --secret`."}


def _allow_secure(node: Any) -> Any:
    """Secret fields (format password) may hold Pulumi's `{secure: ...}` form instead of a string."""
    if isinstance(node, dict):
        if node.get("format") == "password":
            return {"anyOf": [node, _SECURE]}
        return {k: _allow_secure(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_allow_secure(v) for v in node]
    return node


def stack_file_schema() -> dict[str, Any]:
    model = StackConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = _allow_secure(model.pop("$defs", {}))
    properties = {f"{NAMESPACE}:{k}": _allow_secure(v) for k, v in model["properties"].items()}
    required = [f"{NAMESPACE}:{k}" for k in model.get("required", [])]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ml-cicd stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "required": required,
                # Pulumi's own settings (`pulumi:tags`); provider keys (`aws:region`) have no effect here (the
                # program builds its providers from `ml-cicd:` keys), so like any other namespace they are errors.
                "patternProperties": {f"^{PULUMI_NAMESPACE}:": {}},
                "additionalProperties": False,
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "required": ["config"],
        "$defs": defs,
    }
