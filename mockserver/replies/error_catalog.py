"""HTTP errors as the real API sends them: status, OpenAI body, and the headers clients read.

The one factory of scripted errors: fixture `error:` steps, the fault header (`status=429`),
fixture `fault:` blocks, chaos and rate limits. 502 and 504 can also come as the HTML page a
reverse proxy returns, which clients must survive too.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from mockserver.replies.reply import ErrorBody, HtmlPage, Reply
from mockserver.wire.faults import FaultPlan


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
APOLOGY = CATALOG[500]  # also what a stream's error event says
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


def retry_headers(retry_after: float) -> dict[str, str]:
    """When to retry, in both forms the SDKs read: whole seconds, and milliseconds."""
    return {
        "retry-after": str(max(round(retry_after), 1)),
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


def _canned(status: int, variant: str | None) -> Canned:
    if status == 429 and variant == "insufficient_quota":
        return QUOTA
    default_type = "server_error" if status >= 500 else "invalid_request_error"
    return CATALOG.get(status, Canned(default_type, None, f"Scripted error {status}."))


def scripted_error(
    status: int,
    *,
    message: str | None = None,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
    variant: str | None = None,
    retry_after: float | None = None,
) -> tuple[ErrorBody, dict[str, str]]:
    """The error body and headers the real API would send with `status` (a 4xx/5xx).

    What the caller leaves out comes from the catalog. Retry headers go with a 429 (as OpenAI
    sends them) and with any status given a `retry_after`.
    """
    canned = _canned(status, variant)
    wait = 1.0 if retry_after is None else retry_after
    headers: dict[str, str] = {}
    if status == 429 and (retry_after is not None or message is None):
        headers = rate_limit_headers(wait)
    elif retry_after is not None:
        headers = retry_headers(wait)
    body = ErrorBody(
        message=message if message is not None else canned.message.format(retry=duration(wait)),
        type=type if type is not None else canned.type,
        param=param,
        code=code if code is not None or message is not None else canned.code,
    )
    return body, headers


def fault_error(plan: FaultPlan) -> Reply:
    """The error a fault plan's `status` asks for: OpenAI's JSON, or a proxy's HTML page."""
    assert plan.status is not None
    if plan.html:
        try:
            reason = HTTPStatus(plan.status).phrase
        except ValueError:
            reason = "Error"
        page = HTML_PAGE.format(status=plan.status, reason=reason)
        return Reply(payload=HtmlPage(page), status=plan.status, plan=plan)
    body, headers = scripted_error(plan.status, variant=plan.error, retry_after=plan.retry_after)
    return Reply(payload=body, status=plan.status, headers=headers, plan=plan)
