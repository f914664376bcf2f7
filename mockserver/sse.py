"""Server-sent events framing, as every OpenAI client parses it: `data: <one-line JSON>\n\n`.

No `event:` or `id:` lines: openai-python 1.97 wraps named events, and an `id:` makes it dispatch
empty events later (CLIENT-WIRE-FORMAT.md section 3).
"""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"


def frame(event: Any) -> bytes:
    return (
        b"data: "
        + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        + (b"\n\n")
    )
