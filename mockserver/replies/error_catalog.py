"""HTTP errors as the real API sends them: status, OpenAI body, and the headers clients read.

Used by the fault header (`status=429`), fixture `fault:` blocks, chaos and rate limits. 502 and
504 can also come as the HTML page a reverse proxy returns, which clients must survive too.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web

from mockserver.contract.errors import MockError


@dataclass(frozen=True, slots=True)
class Canned:
    type: str
    code: str | None
    message: str


CATALOG: dict[int, Canned] = {
    400: Canned("invalid_request_error", None, "Bad request (scripted by mockserver)."),
    401: Canned(
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided (scripted by mockserver).",
    ),
    403: Canned(
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    404: Canned(
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    409: Canned(
        "invalid_request_error",
        "conflict",
        "The request conflicts with another request in progress.",
    ),
    413: Canned("invalid_request_error", "request_too_large", "Request too large."),
    422: Canned(
        "invalid_request_error",
        "unprocessable_entity",
        "The request was well-formed but could not be processed.",
    ),
    429: Canned(
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in {retry}.",
    ),
    500: Canned(
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: Canned("server_error", "bad_gateway", "Bad gateway."),
    503: Canned(
        "server_error",
        "service_unavailable",
        "The engine is currently overloaded, please try again later.",
    ),
    504: Canned("server_error", "gateway_timeout", "Gateway timeout."),
}
QUOTA = Canned(
    "insufficient_quota",
    "insufficient_quota",
    "You exceeded your current quota, please check your plan and billing details.",
)
HTML_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def retryable(status: int) -> bool:
    """The statuses the official SDKs retry: 408, 409, 429 and every 5xx."""
    return status in (408, 409, 429) or status >= 500


def retry_headers(retry_after: float) -> dict[str, str]:
    """When to retry, as OpenAI says it: whole seconds (never 0: an HTTP client may read 0 as
    "at once, forever"), and the exact milliseconds the SDKs prefer (0.1 s waits 0.1 s)."""
    return {
        "retry-after": str(max(round(retry_after), 0)) if retry_after >= 1 else "1",
        "retry-after-ms": str(round(retry_after * 1000)),
    }


def rate_limit_headers(retry_after: float, limit: int = 500, remaining: int = 0) -> dict[str, str]:
    """What OpenAI sends with a 429: when to retry, and the request budget."""
    return {
        **retry_headers(retry_after),
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(remaining),
        "x-ratelimit-reset-requests": duration(retry_after),
    }


def duration(seconds: float) -> str:
    """OpenAI's reset format: 120ms, 1s, 6m0s."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def scripted_error(
    status: int, *, variant: str | None = None, retry_after: float | None = None
) -> MockError:
    """The error the real API would send with `status` (a 4xx/5xx)."""
    canned = (
        QUOTA
        if status == 429 and variant == "insufficient_quota"
        else CATALOG.get(
            status,
            Canned(
                "server_error" if status >= 500 else "invalid_request_error",
                None,
                f"Scripted error {status}.",
            ),
        )
    )
    wait = 1.0 if retry_after is None else retry_after
    headers: dict[str, str] = {}
    if status == 429:
        headers = rate_limit_headers(wait)
    elif retry_after is not None and retryable(status):  # the same headers on every status
        headers = retry_headers(retry_after)
    message = canned.message.format(retry=duration(wait))
    return MockError(
        message, status=status, error_type=canned.type, code=canned.code, headers=headers
    )


def html_error(status: int) -> web.Response:
    """A reverse proxy's own error page: text/html, no OpenAI body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return web.Response(
        status=status, text=HTML_PAGE.format(status=status, reason=reason), content_type="text/html"
    )
