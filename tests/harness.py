"""Test harness: build a stack's graph from its real `Pulumi.<stack>.yaml` under recording mocks.

Overrides are deep-merged into the stack file's config (`{"serving": {"canary": {"percent": 5}}}`), so every
test starts from a file a team would really deploy. Graphs are cached per (stack, overrides).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from runtime.config.loader import deep_merge, read_stack_file, stack_file
from runtime.graph import Graph, Resource, build_graph

#: The pipeline stack's repository that production and the fixtures serve from (`registry.imageRepositoryArn` in
#: Pulumi.production.yaml and tests/fixtures), as the mocks name it in URLs.
PIPELINE_REPOSITORY = "serving-images-5d0c3b2"
PIPELINE_REPOSITORY_ARN = f"arn:aws:ecr:eu-west-1:123456789012:repository/{PIPELINE_REPOSITORY}"

#: The self-hosted MLflow production ran before it used staging's (`tracking.mode: external` in
#: Pulumi.production.yaml), as an override: `graph("production", {"tracking": PRODUCTION_SELF_HOSTED})` is a production
#: stack that keeps its own tracking server, with the production protections.
PRODUCTION_SELF_HOSTED: dict[str, Any] = {"mode": "self-hosted", "external": None, "selfHosted": {
    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlflow-server:3.17.2@sha256:"
             "9b2e6c1d4a7f0e3b8c5d2a9f6e1b4c7d0a3e6f9b2c5d8e1a4b7c0d3e6f9a2b5c",
    "cpu": 1024, "memory": 4096, "desiredCount": 2,
    "database": {"instanceClass": "db.t4g.medium", "allocatedStorageGb": 100, "backupRetentionDays": 14,
                 "multiAz": True},
    "auth": {"mode": "basic"},
    "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
    "hostname": "mlflow-production.ml.example.com",
}}

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Raw `ml-cicd:` config of a real stack file (or a fixture file `tests/fixtures/<name>.yaml`)."""
    path = stack_file(stack, ROOT)
    if not path.exists():
        path = FIXTURES / f"Pulumi.{stack}.yaml"
    raw, _ = read_stack_file(path)
    return deep_merge(raw, overrides or {})


@cache
def _graph(stack: str, overrides_json: str, secret_keys: frozenset[str]) -> Graph:
    return build_graph(stack, ROOT, raw_config=stack_config(stack, json.loads(overrides_json)),
                       secret_keys=secret_keys)


def graph(stack: str, overrides: dict[str, Any] | None = None, secret_keys: frozenset[str] = frozenset()) -> Graph:
    return _graph(stack, json.dumps(overrides or {}, sort_keys=True), secret_keys)


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A JSON policy input, parsed."""
    value = resource.inputs[key]
    return json.loads(value) if isinstance(value, str) else value


def use_fake_aws(monkeypatch: Any, region: str, endpoint_url: str | None = None) -> None:
    """Dummy credentials and a region for boto3 (and the moto endpoint when given): never the user's real ones."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": region}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    if endpoint_url is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)


def missing_tool(message: str) -> NoReturn:
    """A system tool a test needs is absent: a failure in CI (.ci/run installs Chromium and bubblewrap),
    a skip naming the install command on a developer machine without it."""
    import os

    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
