"""AWS regions as botocore knows them (its bundled partition data), for checking `ml-cicd:region`.

The program writes `arn:aws:` ARNs and `com.amazonaws.<region>` endpoint names, so only regions of the standard
`aws` partition can be deployed; a region of another partition (China, GovCloud, ISO) is named as such.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

#: The partition this program deploys to.
PARTITION = "aws"


@cache
def partition_regions() -> dict[str, frozenset[str]]:
    """Partition id -> its regions, from botocore's `partitions.json` (pseudo-regions like `aws-global` left out)."""
    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text(encoding="utf-8"))
    out: dict[str, frozenset[str]] = {}
    for partition in data["partitions"]:
        regions = {r for r in partition.get("regions", {}) if not r.endswith("-global")}
        out[partition["id"]] = frozenset(regions)
    return out


def region_error(region: str) -> str | None:
    """Why `region` cannot be deployed to, or None when it is a region of the `aws` partition."""
    from runtime.config.suggest import close_match

    partitions = partition_regions()
    if region in partitions.get(PARTITION, frozenset()):
        return None
    for partition, regions in partitions.items():
        if region in regions:
            return (f"is a region of partition `{partition}`; this program deploys to the `{PARTITION}` partition "
                    "only (its ARNs are `arn:aws:...`)")
    import botocore

    guess = close_match(region, partitions.get(PARTITION, frozenset()))
    hint = f"did you mean `{guess}`?" if guess else f"e.g. {', '.join(sorted(partitions[PARTITION])[:4])}, ..."
    return (f"unknown AWS region; {hint} (checked against botocore {botocore.__version__}'s partition data; a "
            "region newer than that needs a newer boto3/botocore)")
