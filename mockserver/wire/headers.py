"""Header values from fixtures and errors made safe to send (HTTP headers are Latin-1 lines)."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Headers that frame the reply are the server's to set: a fixture setting them would break it.
SERVER_OWNED = frozenset({"content-type", "content-length", "transfer-encoding", "connection"})


# RFC 9110 field names are tokens; values may not hold controls other than tab (a NUL or a
# DEL in a header makes aiohttp drop the connection without a response).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _value(value: str) -> str:
    text = " ".join(str(value).splitlines())
    text = text.encode("latin-1", "backslashreplace").decode("latin-1")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def header_safe(headers: Mapping[str, str]) -> dict[str, str]:
    """One line each, Latin-1 only: other characters become \\uXXXX escapes and control
    characters \\xNN, never a 500 or a dropped connection; framing headers (SERVER_OWNED) and
    names that are not HTTP tokens are left out."""
    if not headers:  # a generated reply has none
        return {}
    return {
        name: _value(value)
        for name, value in headers.items()
        if name.lower() not in SERVER_OWNED and _TOKEN.fullmatch(name)
    }
