"""Delivering a Forward reply: the request goes to the gateway, and may be recorded.

respond() decided to forward (no fixture answers, or --proxy-all); this sends the body the client
sent, byte for byte, and hands each complete exchange to the recorder before the client has the
whole reply, so a client that has its answer can replay it at once.
"""

from __future__ import annotations

from aiohttp import web

from mockserver.journal.store import ServeEvent
from mockserver.upstream.client import UPSTREAM_CLIENT
from mockserver.upstream.proxy import Forwarding
from mockserver.upstream.record import Recorder

RECORDER: web.AppKey[Recorder] = web.AppKey("recorder")


async def forward_and_record(
    request: web.Request, *, stream: bool, record: ServeEvent | None
) -> web.StreamResponse:
    recorder = request.app.get(RECORDER)
    forwarding = Forwarding(
        request,
        request.app[UPSTREAM_CLIENT],
        await request.read(),  # read (and validated) before: aiohttp keeps the bytes
        stream=stream,
        record=record,
        on_complete=recorder.record if recorder is not None else None,
    )
    return await forwarding.send()
