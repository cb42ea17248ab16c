"""The one exception of promotion: bad input, a malformed or changed file, an unknown version (exit 2)."""

from __future__ import annotations

from runtime.errors import UsageError


class PromotionError(UsageError):
    """Promotion cannot even be judged: the message names the bad value or file and the fix. Exit code 2."""
