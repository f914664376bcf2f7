"""Routing errors in OpenAI's shape, and the x-request-id / openai-processing-ms headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mockserver.contract.schemas import load_overlay
from tests.conftest import AUTH
from tests.support import CHAT, HEALTH, VALID_BODY, body_with, error_of, post_chat

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("POST", "/v1/completions"),
        ("GET", "/v1/chat"),
        ("POST", "/v2/chat/completions"),
    ],
    ids=["root", "legacy-completions", "prefix", "v2"],
)
async def test_unknown_route_is_404(client: TestClient[Any, Any], method: str, path: str) -> None:
    response = await client.request(method, path, headers=AUTH, json=VALID_BODY)
    error = await error_of(response, 404)
    assert error["code"] == "unknown_url"
    assert path in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", CHAT, "POST"),
        ("PUT", CHAT, "POST"),
        ("DELETE", CHAT, "POST"),
        ("POST", "/v1/models", "GET"),
        ("POST", HEALTH, "GET"),
    ],
    ids=["get-chat", "put-chat", "delete-chat", "post-models", "post-health"],
)
async def test_wrong_method_is_405(
    client: TestClient[Any, Any], method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path, headers=AUTH)
    error = await error_of(response, 405)
    assert error["code"] == "method_not_allowed"
    assert allowed in response.headers["Allow"].split(", ")


async def test_request_ids_are_unique_also_on_errors(client: TestClient[Any, Any]) -> None:
    responses = [
        await post_chat(client, VALID_BODY),
        await post_chat(client, VALID_BODY),
        await post_chat(client, body_with(stream=True)),
        await post_chat(client, body_with(temperature=5)),
        await post_chat(client, VALID_BODY, headers={}),
        await client.get("/nope"),
        await client.get(CHAT),
        await client.get("/v1/models/none", headers=AUTH),
        await client.get(HEALTH),
    ]
    statuses = [r.status for r in responses]
    assert statuses == [200, 200, 200, 400, 401, 404, 405, 404, 200]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(isinstance(i, str) and i.startswith("req_") for i in ids), ids
    assert len(set(ids)) == len(ids)
    for response in responses:
        await response.read()


async def test_processing_ms_and_version_headers(client: TestClient[Any, Any]) -> None:
    for response in (
        await post_chat(client, VALID_BODY),
        await post_chat(client, body_with(stream=True)),
        await post_chat(client, body_with(n=0)),
    ):
        await response.read()
        assert int(response.headers["openai-processing-ms"]) >= 0
        assert response.headers["openai-version"] == "2020-10-01"


async def test_json_reply_media_type(client: TestClient[Any, Any]) -> None:
    response = await post_chat(client, VALID_BODY)
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert (await response.json())["object"] == "chat.completion"


async def test_health_reports_the_contract_in_force(make_client: MakeClient) -> None:
    relaxations = [r.name for r in load_overlay("request")]
    assert relaxations
    for strict in (False, True):
        client = await make_client(strict_spec=strict)
        response = await client.get(HEALTH)
        assert response.status == 200
        health = await response.json()
        assert health["status"] == "ok"
        assert health["uptime_s"] >= 0
        assert all((name in health["contract"]) != strict for name in relaxations), health


def test_every_route_runs_inside_the_request_scope(client: TestClient[Any, Any]) -> None:
    """Routes are not behind a middleware: a route added without scoped() would answer without
    an id, a journal entry or OpenAI-shaped errors."""
    routes = list(client.server.app.router.routes())  # type: ignore[attr-defined]
    assert len(routes) > 20
    unscoped = [r for r in routes if r.handler.__qualname__ != "scoped.<locals>.in_scope"]
    assert not unscoped, [(r.method, r.resource.canonical if r.resource else "") for r in unscoped]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", CHAT, {"POST", "OPTIONS"}),
        ("DELETE", "/v1/models/gpt-4o", {"GET", "HEAD", "OPTIONS"}),
        ("HEAD", CHAT, {"POST", "OPTIONS"}),
    ],
)
async def test_405_names_every_method_the_path_has(
    client: TestClient[Any, Any], method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path, headers=AUTH)
    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) == allowed
    assert response.headers["x-request-id"].startswith("req_")


async def test_head_of_a_get_route_is_answered(client: TestClient[Any, Any]) -> None:
    response = await client.head("/v1/models", headers=AUTH)
    assert response.status == 200
    assert response.headers["x-request-id"].startswith("req_")
