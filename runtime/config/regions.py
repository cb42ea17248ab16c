"""AWS regions as botocore knows them (its bundled partition data), for checking `ml-cicd:region`.

The program takes the partition (ARN prefix, endpoint DNS suffix) from the provider, so regions of the commercial,
China and GovCloud partitions deploy; a region of another partition (the ISO partitions) is named as such.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

#: The partitions this program deploys to (their ARNs and endpoint names are tested in tests/test_partitions.py).
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
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


def region_partition(region: str) -> str | None:
    """The partition `region` belongs to (`aws`, `aws-cn`, `aws-us-gov`, ...), or None for an unknown region."""
    return next((p for p, regions in partition_regions().items() if region in regions), None)


def region_error(region: str) -> str | None:
    """Why `region` cannot be deployed to, or None when it is a region of a supported partition."""
    from runtime.config.suggest import close_match

    partitions = partition_regions()
    if any(region in partitions.get(p, frozenset()) for p in PARTITIONS):
        return None
    for partition, regions in partitions.items():
        if region in regions:
            return (f"is a region of partition `{partition}`; this program deploys to the partitions "
                    f"{', '.join(PARTITIONS)} only")
    import botocore

    known = frozenset().union(*(partitions.get(p, frozenset()) for p in PARTITIONS))
    guess = close_match(region, known)
    hint = f"did you mean `{guess}`?" if guess else f"e.g. {', '.join(sorted(partitions[PARTITION])[:4])}, ..."
    return (f"unknown AWS region; {hint} (checked against botocore {botocore.__version__}'s partition data; a "
            "region newer than that needs a newer boto3/botocore)")
