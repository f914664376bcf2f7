"""The request journal: every API request with what was decided and sent, bounded in entries
and in bytes.

Written in one place (the request scope's `finally`, app/scope.py); the pipeline stages only
fill in the ServeEvent that the scope opened. Secrets never enter it: every header (and query
parameter) named like a credential is redacted on the way in. Large bodies and long streams are
kept summarized, and what is served back is always encodable JSON (valid UTF-8, bounded depth).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import orjson

from mockserver.journal.headers import ReceivedHeaders, header_dict, header_size
from mockserver.journal.sink import JournalFile
from mockserver.journal.text import utf8_safe
from mockserver.settings import DEFAULT_JOURNAL_LIMIT, DEFAULT_JOURNAL_MAX_BYTES
from mockserver.wire import json_bytes

if TYPE_CHECKING:
    from mockserver.replies.reply import Reply
    from mockserver.upstream.exchange import Exchange

MAX_FRAMES = 5000  # per stream; the rest is counted, not kept
MAX_FRAME_BYTES = 256 * 1024  # of one stream's frames; the rest is counted, not kept
MAX_KEPT_BYTES = 256 * 1024  # a request or reply body larger than this is kept summarized
EVENT_OVERHEAD = 1024  # what an entry costs beyond its bodies and frames (objects, headers)
FRAME_OVERHEAD = 120  # a Frame object and its bytes header, beyond the bytes themselves

BODY_KEPT = 64 * 1024  # of an unparsable body, this much text is kept in the journal
MAX_KEPT_STRING = 4096  # longer strings of a large body are kept cut, with their length
CUT_NOTE_START, CUT_NOTE_END = "... [", " characters in all]"  # after a cut string's start
MAX_KEPT_DEPTH = 32  # deeper parts of a body are summarized (json.dumps recurses per level)
MAX_KEPT_NODES = 20_000  # values of one body kept; the rest are counted


def summarized(value: Any) -> Any:
    """A JSON value cut to a size any encoder takes: long strings cut with their length, parts
    deeper than MAX_KEPT_DEPTH or past MAX_KEPT_NODES replaced by a note, text made valid
    UTF-8 (a lone surrogate from a client cannot be written to a file)."""
    return _Summary().of(value, 0)


class _Summary:
    def __init__(self) -> None:
        self.left = MAX_KEPT_NODES

    def of(self, value: Any, depth: int) -> Any:
        self.left -= 1
        if isinstance(value, str):
            return _text(value)
        if not isinstance(value, dict | list):
            return value
        if depth >= MAX_KEPT_DEPTH or self.left <= 0:
            kind = "object" if isinstance(value, dict) else "array"
            return f"[{kind} of {len(value)} not kept: the journal keeps {MAX_KEPT_DEPTH} levels]"
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if self.left <= 0:
                    out["..."] = f"[{len(value) - len(out)} more keys not kept]"
                    break
                out[_text(str(key))] = self.of(item, depth + 1)
            return out
        items: list[Any] = []
        for item in value:
            if self.left <= 0:
                items.append(f"[{len(value) - len(items)} more items not kept]")
                break
            items.append(self.of(item, depth + 1))
        return items


def _text(value: str) -> str:
    if len(value) > MAX_KEPT_STRING and not _cut_before(value):
        value = f"{value[:MAX_KEPT_STRING]}{CUT_NOTE_START}{len(value)}{CUT_NOTE_END}"
    return utf8_safe(value)


def _cut_before(value: str) -> bool:
    """A string summarizing cut already: kept as it is, so that summarizing again (a body
    summarized when parsed, then when kept; an entry read back from Redis) keeps its length."""
    note = value[MAX_KEPT_STRING:]
    return (
        note.startswith(CUT_NOTE_START)
        and note.endswith(CUT_NOTE_END)
        and note[len(CUT_NOTE_START) : -len(CUT_NOTE_END)].isdigit()
    )


def _as_json(value: Any) -> Any:
    """Bodies are kept as bytes (no object trees for the garbage collector to walk on every
    pass over a full journal) and parsed only when someone reads them."""
    if not isinstance(value, bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.decode("utf-8", "replace")


def summary(kept: Any) -> Any:
    """summarized() of a kept body or reply (bytes, or a JSON value), without the walk for
    the common small one that it would give back unchanged: no string, depth or count near a
    limit fits in MAX_KEPT_STRING bytes with few brackets, and without a \\u escape there is
    no lone surrogate. The walk was the largest cost of a request where entries are encoded
    as they are made (--state, --journal-file): ~35 us for the body and the reply."""
    if (
        isinstance(kept, bytes)
        and len(kept) <= MAX_KEPT_STRING
        and kept.count(b"[") + kept.count(b"{") < MAX_KEPT_DEPTH
        and b"\\u" not in kept
    ):
        return _as_json(kept)
    return summarized(_as_json(kept))


def _kept(raw: Any) -> Any:
    """A body as the journal keeps it: as received when small, else summarized."""
    if not isinstance(raw, bytes) or len(raw) <= MAX_KEPT_BYTES:
        return raw
    parsed = _as_json(raw)
    if isinstance(parsed, str):
        return _text(parsed).encode()
    return orjson.dumps(summarized(parsed))


@dataclass(slots=True, kw_only=True)
class Frame:
    at_ms: float
    raw: bytes  # as sent; decoded only when someone reads the journal
    fault: str | None = None

    @property
    def data(self) -> str:
        return self.raw.decode("utf-8", "replace")


class Burst(NamedTuple):
    """Frames sent in one write. A tuple of bytes and numbers: the garbage collector stops
    tracking it after one look, where a list of pairs stayed tracked for good."""

    at_ms: float
    body: bytes
    sizes: tuple[int, ...]
    faults: tuple[str | None, ...]


def cut(body: bytes, sizes: Sequence[int]) -> Iterator[bytes]:
    """The frames of a stream sent joined, by their sizes."""
    start = 0
    for size in sizes:
        yield body[start : start + size]
        start += size


@dataclass(slots=True, kw_only=True)
class ServeEvent:
    """One request and its answer, as it happened."""

    id: str
    at: float
    method: str
    path: str
    headers: ReceivedHeaders | dict[str, str]  # as received (redacted), or as read back
    body: Any = None  # bytes as received (JSON, parsed when read), or a JSON value
    model: str | None = None
    stream: bool = False
    status: int | None = None
    fixture: str | None = None
    generated: bool = False
    # Tuples until there is something to keep: a journal of 10,000 entries held 30,000 empty
    # lists that every full pass of the garbage collector walked.
    violations: Sequence[dict[str, Any]] = ()
    warnings: Sequence[str] = ()
    error: dict[str, Any] | None = None
    response: Any = None  # the JSON body sent (non-stream replies): bytes, or a JSON value
    frames: Sequence[Frame] = ()  # a list once a frame is kept one by one
    frames_dropped: int = 0
    frame_bytes: int = 0  # of the frames kept
    client_hung_up: bool = False
    cut_by_shutdown: bool = False  # the server stopped and --shutdown-timeout ran out
    fault: str | None = None
    duration_ms: float | None = None
    first_byte_ms: float | None = None
    upstream: Exchange | None = None  # forwarded to the gateway: what went and came back
    started: float = field(default_factory=time.perf_counter, repr=False)
    # Frames sent in one write, not yet made into Frames (that happens when the entry is read).
    _burst: Burst | None = field(default=None, repr=False, init=False)

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

    def decided(self, reply: Reply, model: str, stream: bool) -> None:
        """What the respond stage chose: the fixture (or generation), drift warnings."""
        self.model, self.stream = model, stream
        self.fixture, self.generated = reply.fixture, reply.generated
        self.warnings = reply.warnings

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def add_frame(self, data: bytes, fault: str | None = None) -> None:
        at = self.elapsed_ms()
        if self.first_byte_ms is None:
            self.first_byte_ms = at
        self._keep(at, data, fault)

    def add_burst(
        self, body: bytes, sizes: tuple[int, ...], faults: tuple[str | None, ...]
    ) -> None:
        """Frames that went out together, in one write: `body` is all of them, `sizes` their
        lengths. When they all fit they are kept as that one piece, one time for all, and made
        into Frames only when the entry is read: a 40-frame stream kept 40 objects per entry,
        which every full pass of the garbage collector walked again (its pauses were the
        streams' p99 latency; bench/README.md)."""
        at = self.elapsed_ms()
        if self.first_byte_ms is None:
            self.first_byte_ms = at
        fits = self.frame_bytes + len(body) <= MAX_FRAME_BYTES
        if self._burst is None and fits and len(self.frames) + len(sizes) <= MAX_FRAMES:
            self._burst = Burst(at, body, sizes, faults)
            self.frame_bytes += len(body)
            return
        for data, fault in zip(cut(body, sizes), faults, strict=True):
            self._keep(at, data, fault)

    def _keep(self, at: float, data: bytes, fault: str | None) -> None:
        frames = self.kept_frames()
        if len(frames) < MAX_FRAMES and self.frame_bytes + len(data) <= MAX_FRAME_BYTES:
            frames.append(Frame(at_ms=at, raw=data, fault=fault))
            self.frame_bytes += len(data)
        else:
            self.frames_dropped += 1

    def kept_frames(self) -> list[Frame]:
        """The frames kept, in the order they were sent."""
        frames = self.frames if isinstance(self.frames, list) else list(self.frames)
        if self._burst is not None:
            at, body, sizes, faults = self._burst
            frames.extend(
                Frame(at_ms=at, raw=data, fault=fault)
                for data, fault in zip(cut(body, sizes), faults, strict=True)
            )
            self._burst = None
        self.frames = frames
        return frames

    def _kept_count(self) -> int:
        return len(self.frames) + (len(self._burst.sizes) if self._burst is not None else 0)

    def cost(self) -> int:
        """Bytes this entry holds, about: what the journal's byte bound counts."""
        size = EVENT_OVERHEAD + self.frame_bytes + FRAME_OVERHEAD * self._kept_count()
        if isinstance(self.body, bytes):
            size += len(self.body)
        if isinstance(self.response, bytes):
            size += len(self.response)
        if self.upstream is not None:  # a proxied exchange keeps its own copies and frames
            exchange = self.upstream
            size += exchange.kept_bytes + FRAME_OVERHEAD * len(exchange.frames)
            size += len(exchange.request_body) + len(exchange.body or b"")
            size += len(exchange.journal_body or b"")
        return size + header_size(self.headers)

    def to_json(self, *, frames: bool = True) -> dict[str, Any]:
        data = {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "headers": header_dict(self.headers),
            "body": summary(self.body),
            "model": self.model,
            "stream": self.stream,
            "status": self.status,
            "fixture": self.fixture,
            "generated": self.generated,
            "violations": list(self.violations),
            "warnings": list(self.warnings),
            "error": self.error,
            "response": summary(self.response),
            "client_hung_up": self.client_hung_up,
            "cut_by_shutdown": self.cut_by_shutdown,
            "fault": self.fault,
            "duration_ms": self.duration_ms,
            "first_byte_ms": self.first_byte_ms,
            "frame_count": self._kept_count() + self.frames_dropped,
            "frames_dropped": self.frames_dropped,
            "upstream": self.upstream.to_json() if self.upstream is not None else None,
        }
        if frames:
            data["frames"] = [
                {"at_ms": f.at_ms, "data": f.data, "fault": f.fault} for f in self.kept_frames()
            ]
        return data


class JournalListener(Protocol):
    """Told of each change as it happens (the dashboard's live feed); must return at once."""

    def recorded(self, event: ServeEvent) -> None: ...

    def cleared(self) -> None: ...


class Journal:
    """The newest events, oldest dropped first, within `limit` entries and about `max_bytes`
    bytes (bodies, frames and a fixed cost per entry); optionally mirrored to a JSON-lines file.
    """

    def __init__(
        self,
        limit: int = DEFAULT_JOURNAL_LIMIT,
        file: Path | None = None,
        max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES,
    ) -> None:
        self.listeners: list[JournalListener] = []
        self._events: deque[ServeEvent] = deque()
        self._by_id: dict[str, ServeEvent] = {}
        self._costs: deque[int] = deque()  # each entry's cost, in step with _events
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._sink = JournalFile(file) if file else None

    def record(self, event: ServeEvent) -> None:
        body, response = event.body, event.response
        if isinstance(body, bytes) and len(body) > MAX_KEPT_BYTES:
            event.body = _kept(body)
        if isinstance(response, bytes) and len(response) > MAX_KEPT_BYTES:
            event.response = _kept(response)
        cost = event.cost()
        self._events.append(event)
        self._by_id[event.id] = event
        self._costs.append(cost)
        self.bytes += cost
        while len(self._events) > self.limit or (
            self.bytes > self.max_bytes and len(self._events) > 1
        ):
            old = self._events.popleft()
            self._by_id.pop(old.id, None)
            self.bytes -= self._costs.popleft()
        if self._sink is not None:
            self._sink.write(encode_entry(event) + b"\n")
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
        self._costs.clear()
        self.bytes = 0
        for listener in self.listeners:
            listener.cleared()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


def encode_entry(event: ServeEvent) -> bytes:
    """The whole entry as one JSON document: what the journal file and the shared store keep,
    made once per request. An entry no encoder takes becomes a note (its identity and why),
    still an entry, never an exception on the request path."""
    try:
        return json_bytes.dumps(event.to_json())
    except (ValueError, TypeError, RecursionError) as exc:
        note = ServeEvent(
            id=event.id,
            at=event.at,
            method=event.method,
            path=event.path,
            headers={},
            status=event.status,
            error={"message": f"entry could not be encoded: {exc}"},
        )
        return json_bytes.dumps(note.to_json())
