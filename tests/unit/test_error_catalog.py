"""replies/error_catalog.py on its own: scripted errors as the real API sends them."""

from __future__ import annotations

import pytest

from mockserver.replies.error_catalog import (
    duration,
    fault_error,
    rate_limit_headers,
    retry_headers,
    scripted_error,
)
from mockserver.replies.reply import ErrorBody, HtmlPage
from mockserver.wire.faults import FaultPlan, parse_fault


@pytest.mark.parametrize(
    ("status", "type", "code", "message"),
    [
        (400, "invalid_request_error", None, "Bad request (scripted by mockserver)."),
        (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
        (404, "invalid_request_error", "model_not_found", "The model does not exist"),
        (500, "server_error", None, "The server had an error while processing your request."),
        (503, "server_error", "service_unavailable", "The engine is currently overloaded"),
        (418, "invalid_request_error", None, "Scripted error 418."),  # not in the catalog
        (599, "server_error", None, "Scripted error 599."),
    ],
)
def test_scripted_error_fills_from_the_catalog(
    status: int, type: str, code: str | None, message: str
) -> None:
    body, headers = scripted_error(status)
    assert body.type == type
    assert body.code == code
    assert body.param is None
    assert body.message.startswith(message)
    assert headers == {}


def test_429_comes_with_the_rate_limit_headers() -> None:
    body, headers = scripted_error(429)
    assert body == ErrorBody(
        message="Rate limit reached for requests. Please try again in 1s.",
        type="requests",
        code="rate_limit_exceeded",
    )
    assert headers == {
        "retry-after": "1",
        "retry-after-ms": "1000",
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1s",
    }


def test_429_retry_after_is_in_the_message_and_headers() -> None:
    body, headers = scripted_error(429, retry_after=90)
    assert body.message == "Rate limit reached for requests. Please try again in 1m30s."
    assert headers["retry-after"] == "90"
    assert headers["retry-after-ms"] == "90000"
    assert headers["x-ratelimit-reset-requests"] == "1m30s"


def test_429_with_its_own_message_gets_no_invented_headers() -> None:
    body, headers = scripted_error(429, message="Slow down.")
    assert body.message == "Slow down."
    assert body.code is None  # a message given alone: the catalog's code is not guessed
    assert body.type == "requests"
    assert headers == {}


def test_insufficient_quota_variant() -> None:
    body, _ = scripted_error(429, variant="insufficient_quota")
    assert (body.type, body.code) == ("insufficient_quota", "insufficient_quota")
    assert body.message.startswith("You exceeded your current quota")
    other, _ = scripted_error(500, variant="insufficient_quota")  # only a 429 has it
    assert other.type == "server_error"


@pytest.mark.parametrize("status", [500, 503, 400, 418])
def test_any_status_given_retry_after_gets_retry_headers(status: int) -> None:
    _, headers = scripted_error(status, retry_after=2.5)
    assert headers == {"retry-after": "2", "retry-after-ms": "2500"}


def test_explicit_fields_win_over_the_catalog() -> None:
    body, _ = scripted_error(
        404, message="No such model.", type="not_found", code="x", param="model"
    )
    assert body == ErrorBody(message="No such model.", type="not_found", param="model", code="x")
    assert body.error_object() == {
        "message": "No such model.",
        "type": "not_found",
        "param": "model",
        "code": "x",
    }


@pytest.mark.parametrize(
    ("seconds", "headers"),
    [
        (0, {"retry-after": "1", "retry-after-ms": "0"}),  # whole seconds: at least 1
        (0.2, {"retry-after": "1", "retry-after-ms": "200"}),
        (1.6, {"retry-after": "2", "retry-after-ms": "1600"}),
        (60, {"retry-after": "60", "retry-after-ms": "60000"}),
    ],
)
def test_retry_headers(seconds: float, headers: dict[str, str]) -> None:
    assert retry_headers(seconds) == headers


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.12, "120ms"), (0.9994, "999ms"), (1, "1s"), (59.4, "59s"), (360, "6m0s")],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_rate_limit_headers_report_the_budget() -> None:
    headers = rate_limit_headers(0.5, limit=60, remaining=3)
    assert headers["x-ratelimit-limit-requests"] == "60"
    assert headers["x-ratelimit-remaining-requests"] == "3"
    assert headers["x-ratelimit-reset-requests"] == "500ms"


def test_fault_error_is_openai_json() -> None:
    plan = parse_fault("status=429, retry_after=4, error=insufficient_quota")
    reply = fault_error(plan)
    assert reply.status == 429
    assert isinstance(reply.payload, ErrorBody)
    assert reply.payload.code == "insufficient_quota"
    assert reply.headers["retry-after"] == "4"
    assert reply.plan is plan
    assert reply.fixture is None


@pytest.mark.parametrize(("status", "reason"), [(502, "Bad Gateway"), (504, "Gateway Timeout")])
def test_fault_error_html_page(status: int, reason: str) -> None:
    reply = fault_error(FaultPlan(status=status, html=True))
    assert reply.status == status
    assert isinstance(reply.payload, HtmlPage)
    page = reply.payload.html
    assert f"<title>{status} {reason}</title>" in page
    assert f"<h1>{status} {reason}</h1>" in page
    assert "nginx" in page
    assert "\r\n" in page
    assert "{" not in page  # no JSON, no unfilled placeholder
    assert reply.headers == {}


def test_fault_error_html_for_a_status_without_a_phrase() -> None:
    reply = fault_error(FaultPlan(status=599, html=True))
    assert isinstance(reply.payload, HtmlPage)
    assert "<title>599 Error</title>" in reply.payload.html
