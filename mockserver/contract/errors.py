"""The error vocabulary: every failure the server reports, rendered in OpenAI's error shape.

    MockError                      500 server_error       (a bug in the mock: never client input)
     ├─ InvalidRequest             400 invalid_request_error
     │   └─ ValidationFailed       400 (validation.py: carries every violation)
     ├─ AuthenticationFailed       401 invalid_request_error / invalid_api_key
     ├─ Forbidden                  403 invalid_request_error  (admin API: browsers, foreign hosts)
     ├─ NotFound                   404 invalid_request_error
     ├─ MethodNotAllowed           405 invalid_request_error
     ├─ Conflict                   409 invalid_request_error  (admin API: name taken)
     ├─ PayloadTooLarge            413 invalid_request_error
     └─ UnsupportedMediaType       415 invalid_request_error

Every body is {"error": {"message", "type", "param", "code"}} with a non-2xx status, which is what
openai-python, openai-node and the AI SDK parse into their exception classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from mockserver.wire import json_bytes
from mockserver.wire.headers import header_safe


class MockError(Exception):
    """A failure with an HTTP status, rendered as OpenAI's error body."""

    default_status: ClassVar[int] = 500
    default_type: ClassVar[str] = "server_error"
    # The connection cannot carry another request (a body that stopped arriving mid-way).
    closes_connection: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status or self.default_status
        self.type = error_type or self.default_type
        self.message = message
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def error_object(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def to_response(self) -> web.Response:
        response = web.Response(
            status=self.status,
            body=json_bytes.dumps({"error": self.error_object()}),
            content_type="application/json",
            headers=header_safe(self.headers),
        )
        if self.closes_connection:
            response.force_close()  # sends Connection: close, then closes
        return response


CLIENT_CLOSED = 499  # what the journal says of a request whose client hung up first


class InvalidRequest(MockError):
    default_status = 400
    default_type = "invalid_request_error"


class AuthenticationFailed(InvalidRequest):
    default_status = 401


class Forbidden(InvalidRequest):
    default_status = 403


class NotFound(InvalidRequest):
    default_status = 404


class MethodNotAllowed(InvalidRequest):
    default_status = 405


class RequestTimeout(InvalidRequest):
    default_status = 408
    closes_connection = True  # the rest of the body may still come: it is not a request


class Conflict(InvalidRequest):
    default_status = 409


class PayloadTooLarge(InvalidRequest):
    default_status = 413


class UnsupportedMediaType(InvalidRequest):
    default_status = 415
