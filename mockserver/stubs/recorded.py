"""A recorded stream (serve --record): the gateway's events and when each came, for replay.

Compiled at load from a reply's `frames:`; delivery sends the events as recorded, paced by their
timings times --replay-pacing. A request that asks for a different usage chunk than the recording
had gets the completion's own chunks instead (the recording cannot answer it faithfully).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    at_ms: float  # from the request to this event
    data: str  # the event's data: payload, as the gateway sent it


@dataclass(frozen=True, slots=True)
class RecordedStream:
    frames: tuple[RecordedFrame, ...]
    has_usage: bool  # the recording ended with a usage chunk (stream_options.include_usage)

    @classmethod
    def compile(cls, frames: Sequence[Mapping[str, Any]]) -> RecordedStream:
        compiled = tuple(RecordedFrame(float(f["at_ms"]), str(f["data"])) for f in frames)
        return cls(compiled, any(_is_usage_chunk(f.data) for f in compiled[-2:]))

    def fits(self, include_usage: bool) -> bool:
        return self.has_usage == include_usage

    def paced(self, pacing: float) -> Iterator[tuple[bytes, float]]:
        """(event bytes, milliseconds to wait before it), [DONE] last; `pacing` scales time."""
        previous = 0.0
        for frame in self.frames:
            at = max(frame.at_ms, previous)  # hand-edited times may go backwards: no waiting
            yield f"data: {frame.data}\n\n".encode(), (at - previous) * pacing
            previous = at
        yield b"data: [DONE]\n\n", 0.0


def _is_usage_chunk(data: str) -> bool:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and bool(chunk.get("usage"))
