"""Header values from fixtures and errors made safe to send (HTTP headers are Latin-1 lines)."""

from __future__ import annotations

from collections.abc import Mapping

# Headers that frame the reply are the server's to set: a fixture setting them would break it.
SERVER_OWNED = frozenset({"content-type", "content-length", "transfer-encoding", "connection"})


def header_safe(headers: Mapping[str, str]) -> dict[str, str]:
    """One line each, Latin-1 only: other characters become \\uXXXX escapes, never a 500;
    framing headers (SERVER_OWNED) are left out."""
    return {
        name: " ".join(value.splitlines()).encode("latin-1", "backslashreplace").decode("latin-1")
        for name, value in headers.items()
        if name.lower() not in SERVER_OWNED
    }
