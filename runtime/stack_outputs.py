"""The deployed stack's outputs as `pulumi stack output --json` saved them (names in infra/outputs.py): what the
canary judge and the rollout check read to find the load balancer, target groups, cluster and service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.errors import UsageError


def read_stack_outputs(path: Path | None, option: str = "--stack-outputs") -> dict[str, Any]:
    """The outputs in `path` (empty when no file is given); UsageError (exit 2) for a missing or malformed file."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such file; save `pulumi stack output --json --stack S > FILE`") \
            from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{option} {path}: not readable JSON ({exc}); save `pulumi stack output --json`") from None
    if not isinstance(data, dict):
        raise UsageError(f"{option} {path}: expected a JSON object of outputs")
    return data
