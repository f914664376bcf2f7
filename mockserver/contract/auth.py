"""Bearer authentication, as OpenAI answers it: 401 for a missing, malformed or unknown key."""

from __future__ import annotations

from collections.abc import Mapping

from mockserver.contract.errors import AuthenticationFailed

MISSING = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


def redact(secret: str) -> str:
    """Show a key the way OpenAI's errors do: its start and end only."""
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:3]}{'*' * min(len(secret) - 7, 20)}{secret[-4:]}"


def authenticate(headers: Mapping[str, str], accepted: frozenset[str]) -> str:
    """The caller's key. Any non-empty key passes unless `accepted` (--api-key) names some."""
    header = headers.get("Authorization", "").strip()
    if not header:
        raise AuthenticationFailed(MISSING)
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise AuthenticationFailed(
            "Malformed Authorization header: expected 'Bearer YOUR_KEY'.", code="invalid_api_key"
        )
    if accepted and key not in accepted:
        raise AuthenticationFailed(
            f"Incorrect API key provided: {redact(key)}. This mock server accepts only the keys "
            "given with --api-key (MOCKSERVER_API_KEY).",
            code="invalid_api_key",
        )
    return key
