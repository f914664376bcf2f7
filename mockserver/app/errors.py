"""The one place errors become responses: MockError and aiohttp's own HTTP errors, in OpenAI's
shape. A streamed reply handles its own late errors (wire/delivery.py)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.app.state import EVENT
from mockserver.contract.errors import (
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
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        error = MockError("The mock server had an internal error; see its log.")
    event = request.get(EVENT)
    if event is not None:
        event.error = error.error_object()
    return error.to_response()
