"""Server-sent events framing, as every OpenAI client parses it: `data: <one-line JSON>\n\n`.

No `event:` or `id:` lines: openai-python 1.97 wraps named events, and an `id:` makes it dispatch
empty events later (CLIENT-WIRE-FORMAT.md section 3).
"""

from __future__ import annotations

from typing import Any

from mockserver.wire import json_bytes

DONE = b"data: [DONE]\n\n"


def frame(event: Any) -> bytes:
    return b"data: " + json_bytes.dumps(event) + (b"\n\n")
