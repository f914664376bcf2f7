"""The headers every reply carries, set just before its headers are sent.

`x-request-id` and the timing headers (which openai-python and openai-node surface), CORS on the
/v1 API, and the rate budget's headers on a charged request. A reply the handler returns is
stamped by the request scope before aiohttp sends it; a reply sent from inside a handler (a
stream, a reply that closes its connection) goes out through `prepare`, which stamps it first.
This was an on_response_prepare hook: a signal and a coroutine per reply, 4% of a request's CPU
(bench/README.md).
"""

from __future__ import annotations

from aiohttp import web

from mockserver.app.cors import add_cors_headers
from mockserver.app.state import SCOPE
from mockserver.app.tracing import add_trace_headers


def stamp(request: web.Request, response: web.StreamResponse) -> None:
    scope, headers = request[SCOPE], response.headers
    add_trace_headers(scope, headers)
    if "Origin" in request.headers:
        add_cors_headers(request, headers)
    if scope.rate_headers:  # --rpm/--tpm: every reply to a charged request, errors included
        for name, value in scope.rate_headers.items():
            headers.setdefault(name, value)


async def prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Send the status and headers of a reply the handler goes on writing."""
    stamp(request, response)
    await response.prepare(request)
