"""The connection guard: limits aiohttp's protocol does not have, for a server on a socket.

aiohttp waits for request headers as long as a client drips them (500 connections sending a
byte a second each hold an fd forever), answers a malformed request line in plain text, and
logs it with a traceback. Here a connection must complete its headers within the header
timeout, and a request aiohttp cannot parse gets OpenAI's JSON error and one log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_log import AccessLogger, KeyMethod
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from mockserver.contract.auth import redact_query
from mockserver.journal.text import utf8_safe

log = logging.getLogger("mockserver")


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol, with a deadline on every request's headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body: Any = None  # the payload of the request being received, if any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        before = self._request_count
        super().data_received(data)
        if self._request_count > before:  # headers complete: the body has its own timeout
            if self._header_timer is not None:
                self._disarm()
            self._body = self._messages[-1][1] if self._messages else None
        elif data and self._header_timer is None and (self._body is None or self._body.is_eof()):
            self._arm()  # the first bytes of the next request on a kept-alive connection

    def _arm(self) -> None:
        if self._header_timer is None:
            timeout = getattr(self._manager, "header_timeout", 10.0)
            self._header_timer = self._loop.call_later(timeout, self._late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _late(self) -> None:
        self._header_timer = None
        peer = self.transport.get_extra_info("peername") if self.transport else None
        log.warning(
            "closed a connection from %s: no complete request headers within %g s",
            peer,
            getattr(self._manager, "header_timeout", 10.0),
        )
        self.force_close()
        if self.transport is not None:
            self.transport.close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not parse: one log line and OpenAI's error shape."""
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        reason = getattr(exc, "message", None) or str(exc or message or "bad request")
        reason = " ".join(str(reason).split())
        log.warning("bad request from %s: %s", request.remote, reason)
        body = {
            "error": {
                "message": f"Malformed HTTP request: {reason}",
                "type": "invalid_request_error",
                "param": None,
                "code": "bad_http_request",
            }
        }
        response = web.Response(
            status=status, text=json.dumps(body), content_type="application/json"
        )
        response.force_close()
        return response


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access log, with credentials in the query string redacted (?api_key=...).

    aiohttp binds its %r formatter by class name, so the compiled method is swapped here.
    """

    def __init__(self, logger: logging.Logger, log_format: str = AccessLogger.LOG_FORMAT) -> None:
        super().__init__(logger, log_format)
        self._methods = [
            KeyMethod(km.key, _first_line) if km.key == "first_request_line" else km
            for km in self._methods
        ]


def _first_line(request: BaseRequest, response: web.StreamResponse, time: float) -> str:
    version = f"{request.version.major}.{request.version.minor}"
    return f"{request.method} {utf8_safe(redact_query(request.path_qs))} HTTP/{version}"


class _GuardedServer(web.Server):
    header_timeout: float

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)


def guard(runner: web.AppRunner, header_timeout: float) -> None:
    """Make the runner's server create guarded protocols (call after runner.setup())."""
    server = runner.server
    assert server is not None
    server.__class__ = _GuardedServer  # aiohttp offers no protocol factory to pass in
    server.header_timeout = header_timeout  # type: ignore[attr-defined]
