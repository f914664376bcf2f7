"""The request journal: every API request with what was decided and sent, in a bounded ring.

Written in one place (journal_middleware's `finally`); the pipeline stages only fill in the
ServeEvent that the middleware opened. Secrets never enter it: Authorization and API-key headers
are redacted on the way in.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.app.state import EVENT, IN_FLIGHT, JOURNAL, REQUEST_ID
from mockserver.contract.auth import redact
from mockserver.journal.sink import JournalFile
from mockserver.settings import DEFAULT_JOURNAL_LIMIT
from mockserver.wire import json_bytes

if TYPE_CHECKING:
    from mockserver.replies.reply import Reply
    from mockserver.upstream.exchange import Exchange

log = logging.getLogger("mockserver.requests")
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "openai-api-key", "cookie"}
)
MAX_FRAMES = 5000  # per stream; the rest is counted, not kept


BODY_KEPT = 64 * 1024  # of an unparsable body, this much text is kept in the journal
MAX_KEPT_STRING = 4096  # longer strings of a large body are kept cut, with their length


def summarized(value: Any) -> Any:
    """The value with every long string cut (a 10 MB image stays 4 KB in the journal)."""
    if isinstance(value, str):
        if len(value) <= MAX_KEPT_STRING:
            return value
        return f"{value[:MAX_KEPT_STRING]}... [{len(value)} characters in all]"
    if isinstance(value, dict):
        return {k: summarized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [summarized(v) for v in value]
    return value


def _as_json(value: Any) -> Any:
    """Bodies are kept as bytes (no object trees for the garbage collector to walk on every
    pass over a full journal) and parsed only when someone reads them."""
    if not isinstance(value, bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.decode("utf-8", "replace")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every credential reduced to its first and last characters."""
    safe = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} {redact(secret)}" if secret else redact(value)
        safe[name] = value
    return safe


@dataclass(slots=True, kw_only=True)
class Frame:
    at_ms: float
    raw: bytes  # as sent; decoded only when someone reads the journal
    fault: str | None = None

    @property
    def data(self) -> str:
        return self.raw.decode("utf-8", "replace")


@dataclass(slots=True, kw_only=True)
class ServeEvent:
    """One request and its answer, as it happened."""

    id: str
    at: float
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None  # bytes as received (JSON, parsed when read), or a JSON value
    model: str | None = None
    stream: bool = False
    status: int | None = None
    fixture: str | None = None
    generated: bool = False
    violations: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    response: Any = None  # the JSON body sent (non-stream replies): bytes, or a JSON value
    frames: list[Frame] = field(default_factory=list)
    frames_dropped: int = 0
    client_hung_up: bool = False
    cut_by_shutdown: bool = False  # the server stopped and --shutdown-timeout ran out
    fault: str | None = None
    duration_ms: float | None = None
    first_byte_ms: float | None = None
    upstream: Exchange | None = None  # forwarded to the gateway: what went and came back
    started: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def body_json(self) -> Any:
        """The body as JSON (its text when it was not JSON)."""
        return _as_json(self.body)

    def received(self, raw: bytes) -> None:
        """The body as it came, kept (cut) before parsing: a body that fails to parse is
        journaled too."""
        self.body = raw[:BODY_KEPT]

    def parsed(self, raw: bytes, body: dict[str, Any]) -> None:
        """A large body is journaled with its long strings cut: memory stays flat (parsing
        bounded its depth, so the walk cannot recurse too far)."""
        self.body = raw if len(raw) <= BODY_KEPT else json_bytes.dumps(summarized(body))
        self.model, self.stream = body.get("model"), body.get("stream") is True

    def decided(self, reply: Reply) -> None:
        """What the respond stage chose: the fixture (or generation), drift warnings."""
        self.fixture, self.generated = reply.fixture, reply.generated
        self.warnings = list(reply.warnings)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def add_frame(self, data: bytes, fault: str | None = None) -> None:
        if self.first_byte_ms is None:
            self.first_byte_ms = self.elapsed_ms()
        if len(self.frames) < MAX_FRAMES:
            self.frames.append(Frame(at_ms=self.elapsed_ms(), raw=data, fault=fault))
        else:
            self.frames_dropped += 1

    def to_json(self, *, frames: bool = True) -> dict[str, Any]:
        data = {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body_json,
            "model": self.model,
            "stream": self.stream,
            "status": self.status,
            "fixture": self.fixture,
            "generated": self.generated,
            "violations": self.violations,
            "warnings": self.warnings,
            "error": self.error,
            "response": _as_json(self.response),
            "client_hung_up": self.client_hung_up,
            "cut_by_shutdown": self.cut_by_shutdown,
            "fault": self.fault,
            "duration_ms": self.duration_ms,
            "first_byte_ms": self.first_byte_ms,
            "frame_count": len(self.frames) + self.frames_dropped,
            "upstream": self.upstream.to_json() if self.upstream is not None else None,
        }
        if frames:
            data["frames"] = [
                {"at_ms": f.at_ms, "data": f.data, "fault": f.fault} for f in self.frames
            ]
        return data


class JournalListener(Protocol):
    """Told of each change as it happens (the dashboard's live feed); must return at once."""

    def recorded(self, event: ServeEvent) -> None: ...

    def cleared(self) -> None: ...


class Journal:
    """The newest `limit` events, oldest dropped first; optionally mirrored to a JSON-lines file."""

    def __init__(self, limit: int = DEFAULT_JOURNAL_LIMIT, file: Path | None = None) -> None:
        self.listeners: list[JournalListener] = []
        self._events: deque[ServeEvent] = deque(maxlen=limit)
        self._by_id: dict[str, ServeEvent] = {}
        self._sink = JournalFile(file) if file else None

    def record(self, event: ServeEvent) -> None:
        if len(self._events) == self._events.maxlen:
            self._by_id.pop(self._events[0].id, None)
        self._events.append(event)
        self._by_id[event.id] = event
        if self._sink is not None:
            self._sink.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        for listener in self.listeners:
            listener.recorded(event)

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[ServeEvent]:
        """Newest first."""
        return reversed(self._events)

    def get(self, event_id: str) -> ServeEvent | None:
        return self._by_id.get(event_id)

    def clear(self) -> None:
        self._events.clear()
        self._by_id.clear()
        for listener in self.listeners:
            listener.cleared()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


@web.middleware
async def journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Open a ServeEvent for each API request and record it however the request ends."""
    if not request.path.startswith("/v1/") or request.method == "OPTIONS":
        return await handler(request)
    event = ServeEvent(
        id=request[REQUEST_ID],
        at=time.time(),
        method=request.method,
        path=request.path_qs,
        headers=redact_headers(request.headers),
    )
    request[EVENT] = event
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        return response
    except asyncio.CancelledError:  # the client hung up, or shutdown cancelled the handler
        if request.app[IN_FLIGHT].cut.is_set():
            event.cut_by_shutdown = True
        else:
            event.client_hung_up = True
        raise
    finally:
        # A cancelled stream already sent its status (delivery noted it); else nothing was sent.
        event.status = response.status if response is not None else (event.status or 500)
        event.duration_ms = event.elapsed_ms()
        request.app[JOURNAL].record(event)
        if log.isEnabledFor(logging.INFO):
            _log(event)


def _log(event: ServeEvent) -> None:
    """One line per request; with --log-format json its fields become JSON keys."""
    fixture = event.fixture or ("generated" if event.generated else "-")
    if event.upstream is not None:
        fixture = "upstream"
    fields = {
        "request_id": event.id,
        "method": event.method,
        "path": event.path,
        "model": event.model,
        "fixture": fixture,
        "status": event.status,
        "duration_ms": event.duration_ms,
        "stream": event.stream,
    }
    log.info(
        "%s %s %s fixture=%s status=%s %.1fms",
        event.id,
        event.method,
        event.path,
        fixture,
        event.status,
        event.duration_ms,
        extra=fields,
    )
