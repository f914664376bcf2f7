"""The request scope: what every request gets around its handler, in order.

Its id and clock (the trace headers read them), the in-flight count that graceful shutdown
waits on, a journal entry for each API request (recorded however the request ends), errors
turned into OpenAI's shape, and the headers every reply carries (app/stamp.py). One wrapper
around each route's handler, not middlewares: each aiohttp middleware costs a call, a coroutine
and a frame per request, and aiohttp adds one more of its own (bench/README.md has the figures).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.app.errors import error_response
from mockserver.app.stamp import stamp
from mockserver.app.state import IN_FLIGHT, SCOPE, STATE, Scope
from mockserver.app.tracing import new_request_id
from mockserver.contract.auth import redact_query
from mockserver.contract.errors import CLIENT_CLOSED
from mockserver.journal.headers import ReceivedHeaders
from mockserver.journal.store import ServeEvent
from mockserver.journal.text import utf8_safe
from mockserver.state.base import SharedState, StateUnavailable

log = logging.getLogger("mockserver.requests")


class AddRoute(Protocol):
    """Adds a route, its handler inside the request scope (factory._adder)."""

    def __call__(self, method: str, path: str, handler: Handler, *, head: bool = True) -> None: ...


def scoped(app: web.Application, handler: Handler) -> Handler:
    """`handler` inside `app`'s request scope. Every route is registered through this
    (factory.py), a catch-all route included, so unknown paths and methods get it too: the same
    scope as a middleware, without the middleware machinery aiohttp runs around it (a second
    coroutine and its current-app bookkeeping, 2.5% of a request's instructions). What it uses
    of the app is looked up here, once: `request.app[...]` is three Python calls a lookup."""
    in_flight, state = app[IN_FLIGHT], app[STATE]

    async def in_scope(request: web.Request) -> web.StreamResponse:
        request_id, started = new_request_id(), time.perf_counter()
        event = _opened(request, request_id, started)
        request[SCOPE] = Scope(request_id, started, event)
        in_flight.enter()
        response: web.StreamResponse | None = None
        try:
            try:
                response = await handler(request)
            except Exception as exc:
                response = await error_response(request, exc, event)
            if not response.prepared:  # a reply sent from inside the handler was stamped
                stamp(request, response)  # as it went (app/stamp.py)
            return response
        except asyncio.CancelledError:  # the client hung up, or shutdown cancelled the handler
            if event is not None:
                if in_flight.cut.is_set():
                    event.cut_by_shutdown = True
                else:
                    event.client_hung_up = True
            raise
        finally:
            try:
                if event is not None:
                    await _closed(state, event, response)
            finally:
                in_flight.leave()  # whatever happened: graceful shutdown waits for this count

    return in_scope


# A request target with no query, escape or dot segment: journaled as it came.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/_-]*")


def _journal_path(request: web.Request) -> str:
    """The path and query as the journal shows them: credentials in the query redacted, valid
    UTF-8."""
    raw = request.raw_path
    if _PLAIN_PATH.fullmatch(raw):  # the usual /v1/chat/completions: no yarl URL to build
        return raw
    return utf8_safe(redact_query(request.path_qs))


def _opened(request: web.Request, request_id: str, started: float) -> ServeEvent | None:
    """A journal entry for an API request (not for a CORS preflight, the admin API or the UI)."""
    if not request.path.startswith("/v1/") or request.method == "OPTIONS":
        return None
    return ServeEvent(
        id=request_id,
        at=time.time(),
        method=request.method,
        path=_journal_path(request),
        headers=ReceivedHeaders(request.headers),
        started=started,
    )


async def _closed(
    state: SharedState, event: ServeEvent, response: web.StreamResponse | None
) -> None:
    """Into the (possibly shared) journal, and the log; a store that is away loses the entry,
    not the reply. A cancelled stream already sent its status (delivery noted it); without a
    response nothing was sent."""
    hung_up = CLIENT_CLOSED if event.client_hung_up else 500
    event.status = response.status if response is not None else (event.status or hung_up)
    event.duration_ms = event.elapsed_ms()
    try:
        await state.record(event)
    except StateUnavailable:
        log.warning("request %s not journaled: the shared state is unavailable", event.id)
    except Exception:  # e.g. the journal file's disk is full: the reply still goes out
        log.exception("request %s not journaled", event.id)
    if log.isEnabledFor(logging.INFO):
        _log(event)


def _log(event: ServeEvent) -> None:
    """One line per request; with --log-format json its fields become JSON keys."""
    fixture = event.fixture or ("generated" if event.generated else "-")
    if event.upstream is not None:
        fixture = "upstream"
    fields = {
        "request_id": event.id,
        "method": event.method,
        "path": event.path,
        "model": event.model,
        "fixture": fixture,
        "status": event.status,
        "duration_ms": event.duration_ms,
        "stream": event.stream,
    }
    log.info(
        "%s %s %s fixture=%s status=%s %.1fms",
        event.id,
        event.method,
        event.path,
        fixture,
        event.status,
        event.duration_ms,
        extra=fields,
    )
