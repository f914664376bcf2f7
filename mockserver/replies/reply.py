"""Reply: what the respond stage decided to send, before any bytes are written.

The payload is one of a closed set; delivery `match`es on it, and is the only code that turns
any of them into bytes (with the fault plan's delays and transport faults).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.replies.completion import Completion
from mockserver.stubs.recorded import RecordedStream
from mockserver.wire.faults import NO_FAULT, FaultPlan


@dataclass(frozen=True, slots=True)
class Completed:
    """A chat.completion: one JSON body, or its chunks when the request streams (the recorded
    events instead, when the fixture was recorded from a stream that fits the request)."""

    completion: Completion
    recorded: RecordedStream | None = None


@dataclass(frozen=True, slots=True)
class Encoded:
    """A generated completion sent again for the same request, as bytes made from the first
    reply's (wire/prepared.py) with this reply's id and created: the JSON body, or the
    stream's frames ending with [DONE], joined (one write, one journal piece)."""

    body: bytes
    sizes: tuple[int, ...]  # each frame's length, in order (a JSON body: one)


@dataclass(frozen=True, slots=True)
class Forward:
    """--upstream: the gateway answers (delivered by mockserver.upstream)."""


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """OpenAI's error object, sent as {"error": {...}} with the reply's 4xx/5xx status."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None

    def error_object(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}


@dataclass(frozen=True, slots=True)
class RawBody:
    """A JSON value sent as written (a fixture's `raw`)."""

    body: Any


@dataclass(frozen=True, slots=True)
class RawEvents:
    """SSE events sent as written (a fixture's `raw_sse`), each ending with a blank line."""

    events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HtmlPage:
    """A reverse proxy's own error page: text/html, no OpenAI body."""

    html: str


Payload = Completed | Encoded | ErrorBody | RawBody | RawEvents | HtmlPage | Forward


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    payload: Payload
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    fixture: str | None = None  # the fixture that answered; None: no fixture
    warnings: tuple[str, ...] = ()  # contract drift of a scripted reply
    plan: FaultPlan = NO_FAULT  # the final fault plan: server < fixture < header

    @property
    def generated(self) -> bool:
        """Answered by the generator because no fixture matched."""
        return self.fixture is None and isinstance(self.payload, Completed | Encoded)
