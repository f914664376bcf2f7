"""A completion sent again: its JSON body or SSE frames encoded once, then reused.

What one reply has of its own is its `id` and `created` (a generated reply without tool calls
has nothing else): they open the body and every chunk, so the bytes after them are the same in
every reply to the same request. `Prepared` keeps those tails, cut from the bytes the usual
encoders made for the first reply, and puts a new head on them. Encoding a 40-chunk stream was
most of a stream's CPU; this is a join.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.replies.completion import Completion
from mockserver.replies.reply import Encoded
from mockserver.wire import json_bytes, sse
from mockserver.wire.chunks import sse_frames

_BODY_HEAD = b'{"id":"%s","object":"chat.completion","created":%d'
_CHUNK_HEAD = b'data: {"id":"%s","object":"chat.completion.chunk","created":%d'


@dataclass(frozen=True, slots=True)
class Prepared:
    """The bytes after each head: one tail for a JSON body; for a stream, one per chunk, the
    last one followed by [DONE] (which has no head), and an empty piece first, so that the
    stream is the head joined with the pieces: one join, one copy of the bytes."""

    stream: bool
    pieces: tuple[bytes, ...]  # a stream's: b"", then the tails ([DONE] after the last)
    tail_sizes: tuple[int, ...]  # of the tails alone, each frame being a head and its tail

    @classmethod
    def of(cls, completion: Completion, *, stream: bool, include_usage: bool) -> Prepared | None:
        """The tails of `completion`'s bytes, or None when they do not start with the head
        this module would write (an encoder fallback escaped something): not prepared."""
        if stream:
            head = _CHUNK_HEAD % (completion.id.encode(), completion.created)
            *chunks, done = sse_frames(completion, include_usage=include_usage)
            if done != sse.DONE:
                return None
        else:
            head = _BODY_HEAD % (completion.id.encode(), completion.created)
            chunks = [json_bytes.dumps(completion.to_json())]
        if not all(chunk.startswith(head) for chunk in chunks):
            return None
        tails = [chunk[len(head) :] for chunk in chunks]
        sizes = tuple(map(len, tails))
        if not stream:
            return cls(stream, tuple(tails), sizes)
        tails[-1] += sse.DONE
        return cls(stream, (b"", *tails), sizes)

    @property
    def size(self) -> int:
        """Bytes kept."""
        return sum(map(len, self.pieces))

    def encoded(self, completion_id: str, created: int) -> Encoded:
        """This reply's bytes: the JSON body, or every frame of the stream, joined. A frame is
        its head and its tail, so the stream is the head joined with the pieces."""
        head = (_CHUNK_HEAD if self.stream else _BODY_HEAD) % (completion_id.encode(), created)
        if not self.stream:
            body = head + self.pieces[0]
            return Encoded(body, (len(body),))
        sizes = (*map(len(head).__add__, self.tail_sizes), len(sse.DONE))
        return Encoded(head.join(self.pieces), sizes)
