"""The policies of the pack, in the order the engine reports them. Enforcement per policy comes from the policy
pack config (`--policy-pack-config`, e.g. policy/config.json: `{"<policy name>": "advisory"}` or
`{"<policy name>": {"enforcementLevel": "disabled"}}`); the default is mandatory."""

from __future__ import annotations

from .access import least_privilege, required_tags
from .data_protection import encryption_on, kms_via_service, rds_engine_major_only
from .exposure import (
    no_credentials_over_http,
    no_plaintext_credentials,
    no_public_buckets,
    no_unauthenticated_endpoints,
    security_group_rules_described,
)
from .supply_chain import canary_rollback, pinned_images, production_evidence

PACK_NAME = "ml-cicd"
POLICIES = [
    pinned_images, production_evidence, canary_rollback,
    no_public_buckets, no_unauthenticated_endpoints, no_credentials_over_http, no_plaintext_credentials,
    encryption_on, kms_via_service, rds_engine_major_only,
    least_privilege, security_group_rules_described, required_tags,
]
