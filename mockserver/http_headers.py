"""Header values from fixtures and errors made safe to send (HTTP headers are Latin-1 lines)."""

from __future__ import annotations

from collections.abc import Mapping


def header_safe(headers: Mapping[str, str]) -> dict[str, str]:
    """One line each, Latin-1 only: other characters become \\uXXXX escapes, never a 500."""
    return {
        name: " ".join(value.splitlines()).encode("latin-1", "backslashreplace").decode("latin-1")
        for name, value in headers.items()
    }
