"""Entry point the Pulumi CLI runs (`pulumi preview --policy-pack policy`): serves the pack's policies."""

from mlcicd_policies.pack import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
