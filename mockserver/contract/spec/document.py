"""What a contract document says about POST /v1/chat/completions, whatever its format.

Every reader (the API-doc export, OpenAPI 3.0, OpenAPI 3.1, the bundled schemas/) produces one
SpecDocument: self-contained request and response schemas plus the examples, so that everything
downstream (validation, overlays, diff, example checks) works on one shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

SpecFormat = Literal["bundled", "api-doc export", "openapi 3.0", "openapi 3.1"]

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT2020 = "https://json-schema.org/draft/2020-12/schema"


class SpecError(Exception):
    """A document that cannot serve as the contract; the message is one line naming why."""


@dataclass(frozen=True, slots=True)
class Example:
    """A named example body, with the line of the document that holds it (when found)."""

    name: str
    body: Any
    line: int | None = None


@dataclass(frozen=True, slots=True)
class SpecDocument:
    source: str  # the path as given, or "bundled"
    digest: str  # "sha256:" and the first 12 hex digits of the file's bytes
    format: SpecFormat
    request: dict[str, Any]  # the request body schema, $refs local to it
    response: dict[str, Any]  # the 200 response body schema, $refs local to it
    request_examples: tuple[Example, ...] = ()
    response_examples: tuple[Example, ...] = ()

    def describe(self) -> str:
        return f"{self.source} ({self.format}, {self.digest})"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "format": self.format, "digest": self.digest}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


def line_of(text: str, needle: str, start: int = 0) -> int | None:
    """The 1-based line where `needle` first occurs at or after `start`, if it does."""
    at = text.find(needle, start)
    return text.count("\n", 0, at) + 1 if at >= 0 else None
