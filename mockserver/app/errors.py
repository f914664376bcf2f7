"""The one place errors become responses: MockError and aiohttp's own HTTP errors, in OpenAI's
shape. A streamed reply handles its own late errors (wire/delivery.py)."""

from __future__ import annotations

import logging

from aiohttp import web

from mockserver.app.stamp import prepare
from mockserver.contract.errors import (
    CLIENT_CLOSED,
    InvalidRequest,
    MethodNotAllowed,
    MockError,
    NotFound,
    PayloadTooLarge,
)
from mockserver.journal.store import ServeEvent

log = logging.getLogger("mockserver")


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> MockError:
    """Map aiohttp's own errors (unknown route, wrong method, body too big) to our vocabulary."""
    where = f"{request.method} {request.path}"
    if isinstance(exc, web.HTTPNotFound):
        return NotFound(f"Invalid URL ({where}).", code="unknown_url")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return MethodNotAllowed(
            f"Method not allowed ({where}); this route accepts {allowed}.",
            code="method_not_allowed",
            headers={"Allow": allowed},
        )
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge(exc.text or "Request body too large.", code="request_too_large")
    return InvalidRequest(exc.reason, status=exc.status)  # keep whatever 4xx aiohttp chose


async def error_response(
    request: web.Request, exc: Exception, event: ServeEvent | None
) -> web.StreamResponse:
    """The answer to a handler's exception, noted in the request's journal entry. Re-raises
    what is no error: aiohttp's redirects and other statuses below 400."""
    if isinstance(exc, MockError):
        error = exc
    elif isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        error = _from_http_exception(request, exc)
    elif isinstance(exc, ConnectionResetError):  # the client hung up before its body had arrived
        if event is not None:
            event.client_hung_up = True
        log.debug("client hung up during %s %s", request.method, request.path)
        # Nothing can be sent any more; 499 (nginx's "client closed request") is the record.
        return web.Response(status=CLIENT_CLOSED)
    else:
        log.error("unexpected error on %s %s", request.method, request.path, exc_info=exc)
        error = MockError("The mock server had an internal error; see its log.")
    if event is not None:
        event.error = error.error_object()
    response = error.to_response()
    if error.closes_connection:
        await _send_and_close(request, response)
    return response


async def _send_and_close(request: web.Request, response: web.StreamResponse) -> None:
    """Send the answer now, then close: after a handler, aiohttp lingers up to 10 s reading
    the rest of a body that stopped arriving (Connection: close alone does not end that)."""
    await prepare(request, response)
    await response.write_eof()
    request.protocol.force_close()  # the transport closes once what was written is sent
