"""Whether a validated request goes to the gateway, and its forwarding plus recording.

A request is forwarded when the server has an upstream and either --proxy-all is set or no
fixture would answer it (a fixture forced with X-Mock-Fixture always answers here). Recording
happens before the client has the whole reply, so a client that has its answer can replay it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from mockserver.app.state import FIXTURES
from mockserver.journal.store import ServeEvent
from mockserver.stubs.context import MatchContext
from mockserver.upstream.client import UPSTREAM_CLIENT
from mockserver.upstream.proxy import forward
from mockserver.upstream.record import Recorder

RECORDER: web.AppKey[Recorder] = web.AppKey("recorder")
FORCE_HEADER = "X-Mock-Fixture"


def should_forward(
    app: web.Application, body: Mapping[str, object], headers: Mapping[str, str]
) -> bool:
    client = app.get(UPSTREAM_CLIENT)
    if client is None:
        return False
    if client.upstream.proxy_all:
        return True
    if headers.get(FORCE_HEADER):
        return False
    return app[FIXTURES].select(MatchContext(body, headers)) is None


async def forward_and_record(
    request: web.Request, body: bytes, *, stream: bool, record: ServeEvent | None
) -> web.StreamResponse:
    """Forward to the gateway; with a recorder, each complete exchange becomes a file."""
    recorder = request.app.get(RECORDER)
    return await forward(
        request,
        request.app[UPSTREAM_CLIENT],
        body,
        stream=stream,
        record=record,
        on_complete=recorder.record if recorder is not None else None,
    )
