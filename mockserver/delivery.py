"""Putting a reply on the wire: one JSON body, or an SSE stream that always ends with [DONE].

The only module that writes response bytes. Once a stream's headers are out, a failure can only
be reported inside the stream (`data: {"error": ...}` then [DONE], as the gateway does).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from mockserver import sse
from mockserver.errors import MockError

log = logging.getLogger("mockserver")

STREAM_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def send_json(body: Mapping[str, Any], headers: Mapping[str, str]) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


async def send_stream(
    request: web.Request, events: Iterable[Mapping[str, Any]], headers: Mapping[str, str]
) -> web.StreamResponse:
    """Stream `events` as SSE frames, then [DONE], then end the body (clients wait for EOF)."""
    response = web.StreamResponse(headers={**STREAM_HEADERS, **headers})
    await response.prepare(request)
    try:
        for event in events:
            await response.write(sse.frame(event))
    except ConnectionError:
        log.info("client closed the stream early")
        return response
    except Exception as exc:  # after prepare() the middleware cannot answer any more
        log.exception("error while streaming")
        error = exc if isinstance(exc, MockError) else MockError("The stream failed in the mock.")
        await response.write(sse.frame({"error": error.error_object()}))
    await response.write(sse.DONE)
    await response.write_eof()
    return response
