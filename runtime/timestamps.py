"""Times given on the command line (`--end-time`, `--since`, `--until`, `--end`): ISO 8601, read as UTC when they
carry no offset."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.errors import UsageError


def parse_time(value: str | None, option: str) -> datetime | None:
    """`value` as an aware datetime (None stays None); anything else is a UsageError naming `option`."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not an ISO 8601 time; use e.g. 2026-01-31T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
