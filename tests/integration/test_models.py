"""GET /v1/models and /v1/models/{model} in OpenAI's shapes."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI

from mockserver.contract.schemas import load_schema
from tests.conftest import AUTH
from tests.support import MakeClient, error_of


async def model_ids(client: TestClient[Any, Any]) -> list[str]:
    response = await client.get("/v1/models", headers=AUTH)
    assert response.status == 200
    assert response.content_type == "application/json"
    listing = await response.json()
    assert listing["object"] == "list"
    assert isinstance(listing["data"], list)
    for model in listing["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model"
        assert isinstance(model["id"], str)
        assert isinstance(model["created"], int)
        assert isinstance(model["owned_by"], str)
        assert model["owned_by"]
    return [model["id"] for model in listing["data"]]


async def test_model_list_shape(client: TestClient[Any, Any]) -> None:
    ids = await model_ids(client)
    assert ids, "at least one model"
    assert len(ids) == len(set(ids)), "no duplicates"


async def test_model_list_has_every_model_of_the_spec_examples(
    client: TestClient[Any, Any],
) -> None:
    used = {e["body"]["model"] for e in load_schema("spec_examples.json")["requests"]}
    assert used <= set(await model_ids(client))


async def test_model_list_is_stable(client: TestClient[Any, Any]) -> None:
    first = await client.get("/v1/models", headers=AUTH)
    second = await client.get("/v1/models", headers=AUTH)
    assert await first.json() == await second.json()


async def test_get_one_model(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/models/gpt-4o", headers=AUTH)
    assert response.status == 200
    model = await response.json()
    assert model["id"] == "gpt-4o"
    assert model["object"] == "model"
    assert model["owned_by"] == "openai"
    listed = await (await client.get("/v1/models", headers=AUTH)).json()
    assert model in listed["data"], "the same object as in the list"


async def test_unknown_model_is_404_model_not_found(client: TestClient[Any, Any]) -> None:
    error = await error_of(await client.get("/v1/models/gpt-nope", headers=AUTH), 404)
    assert error["code"] == "model_not_found"
    assert "gpt-nope" in error["message"]


# --- --models: only these are served (issue #12.9) ---------------------------------------------

SERVED = ("gpt-4o", "deepseek-chat")


async def test_models_option_lists_exactly_those(make_client: MakeClient) -> None:
    client = await make_client(models=SERVED)
    assert await model_ids(client) == list(SERVED)
    assert (await client.get("/v1/models/gpt-4o-mini", headers=AUTH)).status == 404


async def test_models_option_refuses_any_other_model_with_the_sdk(
    make_client: MakeClient,
) -> None:
    client = await make_client(models=SERVED)
    base_url = str(client.make_url("/v1"))
    async with AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as sdk:
        reply = await sdk.chat.completions.create(
            model="deepseek-chat", messages=[{"role": "user", "content": "你好"}]
        )
        assert reply.model == "deepseek-chat"
        with pytest.raises(openai.NotFoundError) as caught:
            await sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "你好"}], stream=True
            )
    assert caught.value.code == "model_not_found"
    assert "`gpt-4o-mini` does not exist" in caught.value.message
    journaled = (await (await client.get("/__admin/requests")).json())["requests"]
    assert [e["status"] for e in journaled] == [404, 200]


async def test_without_the_option_any_model_is_served(make_client: MakeClient) -> None:
    client = await make_client()
    body = {"model": "my-own-model-v9", "messages": [{"role": "user", "content": "hi"}]}
    response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
    assert response.status == 200
