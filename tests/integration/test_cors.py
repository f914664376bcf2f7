"""CORS for a browser app on another origin (a Vite dev server), on /v1 only, never on /__admin."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.conftest import AUTH, sse_chunks
from tests.support import CHAT, HEALTH, VALID_BODY, body_with, post_chat

ORIGIN = "http://localhost:5173"
REQUESTED_HEADERS = "authorization, content-type, x-stainless-os, user-agent"


def header_list(response: ClientResponse, name: str) -> list[str]:
    return [h.strip().lower() for h in response.headers.get(name, "").split(",") if h.strip()]


def cors_headers(response: ClientResponse) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def preflight_headers(method: str = "POST") -> dict[str, str]:
    return {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": REQUESTED_HEADERS,
    }


async def test_preflight_on_chat_completions(client: TestClient[Any, Any]) -> None:
    response = await client.options(CHAT, headers=preflight_headers())
    assert 200 <= response.status < 300
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = header_list(response, "Access-Control-Allow-Headers")
    for header in REQUESTED_HEADERS.split(", "):
        assert header in allowed, (header, allowed)
    assert "post" in header_list(response, "Access-Control-Allow-Methods")
    assert int(response.headers["Access-Control-Max-Age"]) > 0


async def test_preflight_needs_no_auth(client: TestClient[Any, Any]) -> None:
    """Browsers never send credentials on a preflight: it must not be a 401."""
    response = await client.options("/v1/models", headers=preflight_headers("GET"))
    assert 200 <= response.status < 300
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_preflight_private_network(client: TestClient[Any, Any]) -> None:
    headers = {**preflight_headers(), "Access-Control-Request-Private-Network": "true"}
    response = await client.options(CHAT, headers=headers)
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"
    plain = await client.options(CHAT, headers=preflight_headers())
    assert "Access-Control-Allow-Private-Network" not in plain.headers


def assert_actual_cors(response: ClientResponse) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = header_list(response, "Access-Control-Expose-Headers")
    assert "x-request-id" in exposed
    assert "openai-processing-ms" in exposed
    assert "origin" in header_list(response, "Vary")


async def test_post_with_origin(client: TestClient[Any, Any]) -> None:
    response = await post_chat(client, VALID_BODY, {**AUTH, "Origin": ORIGIN})
    assert response.status == 200
    assert_actual_cors(response)
    assert (await response.json())["object"] == "chat.completion"


async def test_stream_with_origin(client: TestClient[Any, Any]) -> None:
    """Stream headers go out before the body: CORS must already be on them."""
    response = await post_chat(client, body_with(stream=True), {**AUTH, "Origin": ORIGIN})
    assert response.status == 200
    assert_actual_cors(response)
    assert sse_chunks(await response.read())


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (VALID_BODY, {}, 401),
        (body_with(temperature=9), AUTH, 400),
    ],
    ids=["401", "400"],
)
async def test_errors_with_origin_are_readable(
    client: TestClient[Any, Any], body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    """Without CORS on errors a browser app sees only 'network error', never the message."""
    response = await post_chat(client, body, {**headers, "Origin": ORIGIN})
    assert response.status == status
    assert_actual_cors(response)


async def test_no_cors_without_origin(client: TestClient[Any, Any]) -> None:
    response = await post_chat(client, VALID_BODY)
    assert response.status == 200
    assert cors_headers(response) == {}


async def test_admin_health_never_gets_cors(client: TestClient[Any, Any]) -> None:
    response = await client.get(HEALTH, headers={"Origin": ORIGIN})
    assert response.status == 200
    assert cors_headers(response) == {}
    preflight = await client.options(HEALTH, headers=preflight_headers("GET"))
    assert cors_headers(preflight) == {}
    assert not 200 <= preflight.status < 300, "no successful preflight for the admin API"
