"""The one place errors become responses: MockError and aiohttp's own HTTP errors, in OpenAI's
shape. A streamed reply handles its own late errors (wire/delivery.py)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.app.state import EVENT
from mockserver.contract.errors import (
    CLIENT_CLOSED,
    InvalidRequest,
    MethodNotAllowed,
    MockError,
    NotFound,
    PayloadTooLarge,
)

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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The one place errors become responses. A streamed reply handles its own late errors."""
    try:
        return await handler(request)
    except MockError as exc:
        error = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _from_http_exception(request, exc)
    except ConnectionResetError:  # the client hung up before its request had all arrived
        event = request.get(EVENT)
        if event is not None:
            event.client_hung_up = True
        log.debug("client hung up during %s %s", request.method, request.path)
        # Nothing can be sent any more; 499 (nginx's "client closed request") is the record.
        return web.Response(status=CLIENT_CLOSED)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        error = MockError("The mock server had an internal error; see its log.")
    event = request.get(EVENT)
    if event is not None:
        event.error = error.error_object()
    response = error.to_response()
    if error.closes_connection:
        await _send_and_close(request, response)
    return response


async def _send_and_close(request: web.Request, response: web.StreamResponse) -> None:
    """Send the answer now, then close: after a handler, aiohttp lingers up to 10 s reading
    the rest of a body that stopped arriving (Connection: close alone does not end that)."""
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # the transport closes once what was written is sent
