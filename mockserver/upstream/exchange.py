"""Exchange: one request forwarded to the gateway and what came back, with its timings.

Filled in by the proxy as bytes arrive; read by the journal (both sides of the contract) and by
the recorder (a fixture file). Headers are kept redacted; bodies as bytes, parsed when read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from mockserver.wire import sse

DONE_DATA = b"[DONE]"
BODY_KEPT = 4096  # of a reply that is not JSON, this much is kept for the journal
FRAME_COST = 120  # an UpstreamFrame and its bytes object, beyond the bytes: keep-alives count


@dataclass(frozen=True, slots=True)
class UpstreamFrame:
    """One SSE event as the gateway sent it (terminator included), `at_ms` after forwarding."""

    at_ms: float
    raw: bytes

    @property
    def data(self) -> bytes | None:
        """The event's `data:` payload (lines joined), or None for a comment or keep-alive."""
        return sse.data_of(self.raw)


@dataclass(slots=True, kw_only=True)
class Exchange:
    url: str
    request_headers: dict[str, str]  # as forwarded, redacted
    request_body: bytes  # as forwarded: the client's bytes
    stream: bool
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # the gateway's, redacted
    body: bytes | None = None  # a plain reply, as sent
    journal_body: bytes | None = None  # the same, redacted (a gateway may echo a key)
    frames: list[UpstreamFrame] = field(default_factory=list)
    first_byte_ms: float | None = None
    duration_ms: float | None = None
    error: str | None = None  # what went wrong, if anything (the client got a 502/504 or event)
    kept_bytes: int = 0  # what the frames held cost (FRAME_COST each): at most max_kept
    max_kept: int = 32 * 1024 * 1024
    overflowed: bool = False
    started: float = field(default_factory=time.perf_counter, repr=False)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def add_frame(self, raw: bytes) -> None:
        at = self.elapsed_ms()
        if self.first_byte_ms is None:
            self.first_byte_ms = at
        cost = len(raw) + FRAME_COST
        if self.overflowed or self.kept_bytes + cost > self.max_kept:
            self.overflowed = True  # passed on, not kept: memory stays bounded; too long to record
            return
        self.kept_bytes += cost
        self.frames.append(UpstreamFrame(at, raw))

    frame_count: int = 0
    ended_with_done: bool | None = None  # kept by settle() for the journal

    @property
    def done(self) -> bool:
        """The stream ended with `data: [DONE]`."""
        return any(f.data == DONE_DATA for f in self.frames[-2:])

    def settle(self) -> None:
        """Once the reply is over (and recorded): keep the counts, let go of the bytes. The
        journal holds many exchanges; what the client got is in its own entry already."""
        self.frame_count = len(self.frames)
        self.ended_with_done = self.done if self.frames else None
        self.frames = []
        self.kept_bytes = 0  # what the journal's byte bound counts: only what is still held
        self.body = None

    @property
    def complete(self) -> bool:
        """A successful reply that arrived whole: what the recorder keeps."""
        if self.error is not None or self.status is None or not 200 <= self.status < 300:
            return False
        if self.overflowed:
            return False
        return self.done if self.frames else self.body is not None

    def reply_json(self) -> Any:
        """The plain reply parsed (None when it is not JSON)."""
        if self.body is None:
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def chunks(self) -> list[Any]:
        """The stream's JSON events, in order ([DONE], comments and non-JSON left out)."""
        parsed = []
        for frame in self.frames:
            data = frame.data
            if data is None or data == DONE_DATA:
                continue
            try:
                parsed.append(orjson.loads(data))
            except orjson.JSONDecodeError:
                continue
        return parsed

    def _body_json(self) -> Any:
        body = self.journal_body
        if body is None:
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            text = body[:BODY_KEPT].decode("utf-8", "replace")  # an HTML page, say
            return text if len(body) <= BODY_KEPT else f"{text}... [{len(body)} bytes]"

    def to_json(self) -> dict[str, Any]:
        """For the journal: what was forwarded and what came back (the body is the one the
        client got: the entry's `response` or `frames`)."""
        return {
            "url": self.url,
            "request_headers": self.request_headers,
            "status": self.status,
            "headers": self.headers,
            "first_byte_ms": self.first_byte_ms,
            "duration_ms": self.duration_ms,
            "body": self._body_json(),
            "frame_count": self.frame_count or len(self.frames),
            "done": self.ended_with_done
            if self.frame_count
            else (self.done if self.frames else None),
            "error": self.error,
        }
