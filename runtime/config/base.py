"""Base model for every config section: camelCase keys as users write them in `Pulumi.<stack>.yaml`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

#: The Pulumi config namespace of this project; every key in the stack files is `ml-cicd:<section>`.
NAMESPACE = "ml-cicd"


class ConfigModel(BaseModel):
    """Frozen, strict-keyed model. Unknown keys are errors so a typo never silently falls back to a default."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )
