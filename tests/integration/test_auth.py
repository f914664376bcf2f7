"""Bearer authentication: 401 in OpenAI's shape for a missing, malformed or unknown key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.support import CHAT, HEALTH, VALID_BODY, error_of, post_chat

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
WRONG_KEY = "sk-wrong-0123456789abcdef"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, None),
        ({"Authorization": ""}, None),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_api_key"),
        ({"Authorization": "Basic x"}, "invalid_api_key"),
        ({"Authorization": "Bearer "}, "invalid_api_key"),
        ({"Authorization": "Bearer"}, "invalid_api_key"),
        ({"Authorization": "sk-test"}, "invalid_api_key"),
    ],
    ids=["missing", "empty", "basic", "basic-short", "bearer-empty", "bearer-only", "no-scheme"],
)
async def test_missing_or_malformed_key_is_401(
    client: TestClient[Any, Any], headers: dict[str, str], code: str | None
) -> None:
    error = await error_of(await post_chat(client, VALID_BODY, headers), 401)
    assert error["code"] == code
    assert error["type"] == "invalid_request_error"
    assert "Bearer" in error["message"], "the message says how to authenticate"


async def test_any_bearer_key_passes_without_api_keys(client: TestClient[Any, Any]) -> None:
    for key in ("sk-test", "anything", WRONG_KEY):
        response = await post_chat(client, VALID_BODY, {"Authorization": f"Bearer {key}"})
        assert response.status == 200, key


async def test_scheme_is_case_insensitive(client: TestClient[Any, Any]) -> None:
    response = await post_chat(client, VALID_BODY, {"Authorization": "bearer sk-test"})
    assert response.status == 200


async def test_wrong_key_with_api_keys_is_401(make_client: MakeClient) -> None:
    client = await make_client(api_keys=frozenset({"sk-good", "sk-other"}))
    wrong = await post_chat(client, VALID_BODY, {"Authorization": f"Bearer {WRONG_KEY}"})
    error = await error_of(wrong, 401)
    assert error["code"] == "invalid_api_key"
    assert WRONG_KEY not in error["message"], "the key is redacted"
    assert WRONG_KEY[-4:] in error["message"], "but its end is shown, as OpenAI does"
    for key in ("sk-good", "sk-other"):
        ok = await post_chat(client, VALID_BODY, {"Authorization": f"Bearer {key}"})
        assert ok.status == 200, key


async def test_auth_comes_before_body_validation(make_client: MakeClient) -> None:
    """A bad key with a bad body is a 401: the body of a stranger is not looked at."""
    client = await make_client(api_keys=frozenset({"sk-good"}))
    response = await client.post(
        CHAT,
        data=b"{not json",
        headers={"Authorization": "Bearer sk-bad", "Content-Type": "application/json"},
    )
    await error_of(response, 401)


async def test_stream_request_with_bad_key_gets_json_401(make_client: MakeClient) -> None:
    client = await make_client(api_keys=frozenset({"sk-good"}))
    response = await post_chat(
        client, {**VALID_BODY, "stream": True}, {"Authorization": "Bearer sk-bad"}
    )
    await error_of(response, 401)


@pytest.mark.parametrize("path", ["/v1/models", "/v1/models/gpt-4o"])
async def test_models_require_auth(make_client: MakeClient, path: str) -> None:
    client = await make_client(api_keys=frozenset({"sk-good"}))
    await error_of(await client.get(path), 401)
    await error_of(await client.get(path, headers={"Authorization": "Bearer sk-bad"}), 401)
    ok = await client.get(path, headers={"Authorization": "Bearer sk-good"})
    assert ok.status == 200


async def test_health_needs_no_key(make_client: MakeClient) -> None:
    client = await make_client(api_keys=frozenset({"sk-good"}))
    response = await client.get(HEALTH)
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_good_key_gets_a_reply(make_client: MakeClient) -> None:
    client = await make_client(api_keys=frozenset({"sk-good"}))
    response = await client.post(CHAT, json=VALID_BODY, headers={"Authorization": "Bearer sk-good"})
    assert response.status == 200
    reply = await response.json()
    assert reply["object"] == "chat.completion"
