"""Secrets out of everything the proxy writes down: recorded fixtures, journal entries, logs.

Headers that carry credentials are redacted by name; strings in bodies by pattern (OpenAI-style
`sk-` keys, `Bearer` tokens, `"api_key": "..."` pairs) and by value (the keys this server knows
of: the upstream key and the client's). Every pattern is linear (no nested quantifiers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mockserver.journal.store import SECRET_HEADERS

MASK = "[REDACTED]"
_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),  # OpenAI and most gateways' key format
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(
        r"""(?i)((?:api[_-]?key|access[_-]?token|secret|password)["']?\s*[:=]\s*["']?)"""
        r"""[^"'\s,}]{6,}"""
    ),
)
# What one of the patterns needs to be there (in lower case): one C-level scan per event.
_HINT = re.compile(rb"sk-|bearer|api[_-]?key|access[_-]?token|accesstoken|secret|password")
MORE_SECRET_HEADERS = frozenset({"set-cookie", "x-goog-api-key", "anthropic-api-key"})


class Redactor:
    """Replaces known secrets and key-shaped strings; cheap when a string holds none."""

    def __init__(self, known: Iterable[str | None] = ()) -> None:
        self._known = sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True)
        self._known_bytes = [k.encode() for k in self._known]

    def may_match(self, data: bytes) -> bool:
        """A cheap first look at raw bytes: False means text() would change nothing."""
        if any(secret in data for secret in self._known_bytes):
            return True
        return _HINT.search(data.lower()) is not None

    def text(self, value: str) -> str:
        for secret in self._known:
            if secret in value:
                value = value.replace(secret, MASK)
        if "sk-" in value:
            value = _PATTERNS[0].sub(MASK, value)
        lowered = value.lower()
        if "bearer" in lowered:
            value = _PATTERNS[1].sub("Bearer " + MASK, value)
        if any(word in lowered for word in ("key", "token", "secret", "password")):
            value = _PATTERNS[2].sub(lambda m: m.group(1) + MASK, value)
        return value

    def tree(self, value: Any) -> Any:
        """A JSON value with every string (keys too) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Credential headers masked whole; the others with their values redacted as text."""
        safe = {}
        for name, value in headers.items():
            lowered = name.lower()
            secret = lowered in SECRET_HEADERS or lowered in MORE_SECRET_HEADERS
            safe[name] = MASK if secret else self.text(value)
        return safe


def bearer_key(headers: Mapping[str, str]) -> str | None:
    """The client's own key (to be redacted wherever it turns up)."""
    scheme, _, key = headers.get("Authorization", "").partition(" ")
    return (key.strip() or None) if scheme.lower() == "bearer" else None
