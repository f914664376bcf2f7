"""Bearer authentication, as OpenAI answers it: 401 for a missing, malformed or unknown key."""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping

from mockserver.contract.errors import AuthenticationFailed

# A header (or query parameter) whose name says it carries a credential, in any casing and
# spelling: Authorization, X-Goog-Api-Key, Api_Key, apikey, X-Auth-Token, Cookie, X-Secret...
_SECRET_NAME = re.compile(
    r"auth|key|token|secret|passw|pwd|cookie|session|credential|signature|bearer", re.IGNORECASE
)


@functools.lru_cache(maxsize=256)  # the journal asks for every header of every request
def is_secret_header(name: str) -> bool:
    """Whether a header (or query parameter) of this name is redacted wherever it is shown."""
    return _SECRET_NAME.search(name) is not None


def redact_query(path_qs: str) -> str:
    """A path whose query parameters named like credentials (?api_key=...) are redacted."""
    path, mark, query = path_qs.partition("?")
    if not mark or not _SECRET_NAME.search(query):
        return path_qs
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    kept = [(k, redact(v) if is_secret_header(k) else v) for k, v in pairs]
    return f"{path}?{urllib.parse.urlencode(kept, safe='*')}"


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
