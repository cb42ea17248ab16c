"""docs/security.md is a contract: its opt-out table is exactly the keys the config warns about (with their
warnings), every file its secure-defaults table points at exists, and the README points reviewers at it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from runtime.config import validate_config
from runtime.config.loader import deep_merge
from tests.harness import PRODUCTION_SELF_HOSTED, ROOT, stack_config

SECURITY_MD = ROOT / "docs" / "security.md"
PUBLIC_SUBNETS = ["subnet-0f1e2d3c4b5a60011", "subnet-0f1e2d3c4b5a60012"]
#: Each opt-out, turned on in a stack file it applies to.
OPT_OUTS: dict[str, tuple[str, dict[str, Any]]] = {
    "serving.loadBalancer.internal": ("production", {"serving": {"loadBalancer": {"internal": False}},
                                                     "network": {"publicSubnetIds": PUBLIC_SUBNETS}}),
    "serving.loadBalancer.deletionProtection": ("production", {"serving": {"loadBalancer": {
        "deletionProtection": False}}}),
    "storage.forceDestroy": ("staging", {"storage": {"forceDestroy": True}}),
    "registry.mutableTags": ("staging", {"registry": {"mutableTags": True}}),
    "registry.scanOnPush": ("staging", {"registry": {"scanOnPush": False}}),
    # Production keeping its own MLflow (it uses staging's as written: `tracking.mode: external`).
    "tracking.selfHosted.database.deletionProtection": ("production", {"tracking": deep_merge(
        PRODUCTION_SELF_HOSTED, {"selfHosted": {"database": {"deletionProtection": False}}})}),
    "tracking.selfHosted.database.multiAz": ("production", {"tracking": deep_merge(
        PRODUCTION_SELF_HOSTED, {"selfHosted": {"database": {"multiAz": False}}})}),
    "serving.eks.createNamespace": ("eks", {"serving": {"eks": {"createNamespace": False}}}),
    "serving.eks.judgePodIdentity": ("eks", {"serving": {"eks": {"judgePodIdentity": False}}}),
    "gates.shadow": ("staging", {"gates": {"shadow": {
        "stack": "production", "deployRoleArn": "arn:aws:iam::123456789012:role/ml-cicd-production-deploy"}}}),
}


def _table(heading: str) -> list[list[str]]:
    section = SECURITY_MD.read_text(encoding="utf-8").split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|")]
    return rows[2:]


def _advice_paths_in_rules() -> set[str]:
    """Every key a config rule warns about: the `Advice` of every rule module (`runtime/config/*rules.py`)."""
    source = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "runtime" / "config").glob("*rules.py")))
    return set(re.findall(r'Advice\("([^"]+)"', source))


def test_the_opt_out_table_is_exactly_the_keys_the_config_warns_about() -> None:
    documented = {row[0].strip("`") for row in _table("## Opt-out keys and their warnings")}
    assert documented == _advice_paths_in_rules() == set(OPT_OUTS)


@pytest.mark.parametrize("key", OPT_OUTS)
def test_each_opt_out_warns_with_the_documented_words(key: str) -> None:
    stack, overrides = OPT_OUTS[key]
    advice = {a.path: a.message for a in validate_config(stack_config(stack, overrides), stack).advice}
    assert key in advice, advice
    row = next(r for r in _table("## Opt-out keys and their warnings") if r[0].strip("`") == key)
    words = re.sub(r"`<\w+>`", "`[^`]+`", re.escape(row[1]))  # `<stack>` in the table stands for a value
    assert re.match(words, advice[key]), (advice[key], row[1])


def test_every_file_the_secure_defaults_table_names_exists() -> None:
    text = SECURITY_MD.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:components|runtime|infra|tests|policy|\.github)/[\w./-]+)`", text))
    assert len(paths) > 20
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, missing


def test_every_finding_of_issue_14_is_answered() -> None:
    rows = _table("## Findings of issue 14 and what changed")
    assert [r[0] for r in rows] == [str(i) for i in range(1, 11)]
    assert "docs/serving.md" in rows[0][2]


def test_the_readme_points_reviewers_at_the_security_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/security.md" in readme
    assert "see the table in `docs/architecture.md`" not in readme
