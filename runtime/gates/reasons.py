"""Text the model gate puts into reasons and reports: one line per failure, never a credential."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def redact(uri: str) -> str:
    """A tracking URI fit for reports and logs: user and password removed."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line for a reason, credentials in URLs (`scheme://user:pass@`) removed."""
    text = _USERINFO.sub(r"\1", " ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
