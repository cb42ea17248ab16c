"""Text the model gate puts into reasons and reports: one line per failure, never a credential."""

from __future__ import annotations

import re

from runtime.tracking import redact

__all__ = ["one_line", "redact"]

_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line for a reason, credentials in URLs (`scheme://user:pass@`) removed."""
    text = _USERINFO.sub(r"\1", " ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
