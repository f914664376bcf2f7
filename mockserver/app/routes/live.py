"""GET /__admin/events: journal and fixture changes as server-sent events (the dashboard's feed).

Events: `request` (a journal entry as GET /__admin/requests lists it), `cleared` (the journal was
emptied), `fixtures` (fixtures or their counters changed), and a last `overflow` when this reader
fell too far behind and is dropped (it should reload the list and reconnect). A comment line every
HEARTBEAT_S keeps proxies from closing an idle feed and notices a reader that went away.
"""

from __future__ import annotations

from aiohttp import web

from mockserver.app.stamp import prepare
from mockserver.app.state import FEED
from mockserver.contract.errors import InvalidRequest
from mockserver.journal.live import Cleared, FixturesChanged, Notice, Recorded, TooManyWatchers
from mockserver.wire import json_bytes

HEARTBEAT_S = 15.0
RETRY_MS = 1000


def _frame(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + json_bytes.dumps(data) + b"\n\n"


def encode(notice: Notice) -> bytes:
    match notice:
        case Recorded(event, encoded):
            if encoded is None:  # every open dashboard gets the same bytes
                encoded = notice.encoded = _frame("request", event.to_json(frames=False))
            return encoded
        case Cleared():
            return _frame("cleared", {})
        case FixturesChanged():
            return _frame("fixtures", {})


async def events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    try:
        watcher = feed.watch()
    except TooManyWatchers:
        raise InvalidRequest(
            "Too many live feeds are open; close a dashboard tab and retry.",
            status=429,
            code="too_many_feeds",
        ) from None
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await prepare(request, response)
        try:
            await response.write(f"retry: {RETRY_MS}\n".encode() + _frame("hello", {}))
            while True:
                notice = await watcher.next(HEARTBEAT_S)
                if watcher.ended == "overflow":
                    await response.write(_frame("overflow", {}))
                    break
                if watcher.ended is not None:
                    break
                await response.write(b": keep-alive\n\n" if notice is None else encode(notice))
            await response.write_eof()
        except ConnectionResetError:  # the reader went away: nothing more to send
            pass
        return response
    finally:
        feed.forget(watcher)
