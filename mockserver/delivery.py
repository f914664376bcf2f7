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
from mockserver.chunks import chunks
from mockserver.errors import MockError
from mockserver.http_headers import header_safe
from mockserver.reply import Reply
from mockserver.state import EVENT

log = logging.getLogger("mockserver")

STREAM_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def send_json(body: Any, headers: Mapping[str, str], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


async def deliver(
    request: web.Request, reply: Reply, *, stream: bool, include_usage: bool
) -> web.StreamResponse:
    """Send `reply` the way the request asked: JSON, or SSE for stream: true."""
    headers = header_safe(reply.headers)
    event = request.get(EVENT)
    if event is not None and not stream and reply.raw_events is None:
        event.response = reply.raw_body if reply.has_raw_body else None
    if reply.raw_events is not None:
        return await send_raw_stream(request, reply.raw_events, headers, reply.status)
    if reply.has_raw_body:
        return send_json(reply.raw_body, headers, reply.status)
    assert reply.completion is not None  # a Reply always carries one payload
    if stream:
        events = chunks(reply.completion, include_usage=include_usage)
        return await send_stream(request, events, headers, reply.status)
    body = reply.completion.to_json()
    if event is not None:
        event.response = body
    return send_json(body, headers, reply.status)


async def send_raw_stream(
    request: web.Request, events: Iterable[str], headers: Mapping[str, str], status: int
) -> web.StreamResponse:
    """A scripted stream, byte for byte: no framing, no [DONE] added."""
    response = web.StreamResponse(status=status, headers={**STREAM_HEADERS, **headers})
    await response.prepare(request)
    record = request.get(EVENT)
    try:
        for event in events:
            data = event.encode()
            await response.write(data)
            if record is not None:
                record.add_frame(data)
        await response.write_eof()
    except ConnectionError:
        log.info("client closed the stream early")
        if record is not None:
            record.client_hung_up = True
    return response


async def send_stream(
    request: web.Request,
    events: Iterable[Mapping[str, Any]],
    headers: Mapping[str, str],
    status: int = 200,
) -> web.StreamResponse:
    """Stream `events` as SSE frames, then [DONE], then end the body (clients wait for EOF)."""
    response = web.StreamResponse(status=status, headers={**STREAM_HEADERS, **headers})
    await response.prepare(request)
    record = request.get(EVENT)

    async def write(data: bytes) -> None:
        await response.write(data)
        if record is not None:
            record.add_frame(data)

    try:
        try:
            for event in events:
                await write(sse.frame(event))
        except ConnectionError:
            raise
        except Exception as exc:  # after prepare() the middleware cannot answer any more
            log.exception("error while streaming")
            error = exc if isinstance(exc, MockError) else MockError("The stream failed.")
            await write(sse.frame({"error": error.error_object()}))
        await write(sse.DONE)
        await response.write_eof()
    except ConnectionError:
        log.info("client closed the stream early")
        if record is not None:
            record.client_hung_up = True
    return response
