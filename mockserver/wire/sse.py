"""Server-sent events framing, as every OpenAI client parses it: `data: <one-line JSON>\n\n`.

No `event:` or `id:` lines: openai-python 1.97 wraps named events, and an `id:` makes it dispatch
empty events later (CLIENT-WIRE-FORMAT.md section 3). Reading a gateway's stream (the proxy,
the recorder, verify) uses the parsing half: where an event ends, and its data payload.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mockserver.wire import json_bytes

DONE = b"data: [DONE]\n\n"


def frame(event: Any) -> bytes:
    return b"data: " + json_bytes.dumps(event) + (b"\n\n")


# A blank line ends an event, in any of the line endings the SSE format allows.
EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def data_of(event: bytes) -> bytes | None:
    """The event's `data:` payload (lines joined), or None for a comment or keep-alive."""
    lines = [
        line[5:].removeprefix(b" ")
        for line in event.replace(b"\r\n", b"\n").split(b"\n")
        if line.startswith(b"data:")
    ]
    return b"\n".join(lines) if lines else None


def payloads(stream: bytes) -> Iterator[bytes]:
    """The data payloads of a whole stream's bytes, in order ([DONE] included)."""
    for event in EVENT_END.split(stream):
        if (data := data_of(event)) is not None:
            yield data
