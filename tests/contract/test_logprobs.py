"""logprobs: true (issue #11): OpenAI's logprobs object, read through the openai SDK, plain and
streamed; tokens concatenate to the content, bytes are their UTF-8, top_logprobs sorted with the
chosen token among them; seeded; bad values are 400s."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
from aiohttp.test_utils import TestClient
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionTokenLogprob

from tests.conftest import AUTH, sse_chunks
from tests.contract.test_openai_sdk import sdk_for
from tests.support import chat, reply_json, serve_yaml

MODEL = "gpt-4o"
EN: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me about the sea."}]
ZH: list[ChatCompletionMessageParam] = [{"role": "user", "content": "请介绍一下长城。"}]


def check_entries(entries: list[ChatCompletionTokenLogprob], content: str, top_n: int) -> None:
    assert "".join(e.token for e in entries) == content
    for entry in entries:
        assert entry.bytes == list(entry.token.encode("utf-8"))
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == top_n
        values = [t.logprob for t in entry.top_logprobs]
        assert values == sorted(values, reverse=True)
        assert sum(math.exp(v) for v in values) <= 1 + 1e-9
        assert len({t.token for t in entry.top_logprobs}) == top_n, "distinct alternatives"
        for top in entry.top_logprobs:
            assert top.bytes == list(top.token.encode("utf-8"))
        if top_n:
            chosen = [t for t in entry.top_logprobs if t.token == entry.token]
            assert chosen, "the chosen token is among the top_logprobs"
            assert chosen[0].logprob == entry.logprob


@pytest.mark.parametrize("messages", [EN, ZH], ids=["en", "zh"])
@pytest.mark.parametrize("top_n", [0, 1, 5, 20])
async def test_plain_reply_carries_logprobs(
    client: TestClient[Any, Any], messages: list[ChatCompletionMessageParam], top_n: int
) -> None:
    async with sdk_for(client) as sdk:
        completion = await sdk.chat.completions.create(
            model=MODEL, messages=messages, logprobs=True, top_logprobs=top_n, seed=3
        )
    choice = completion.choices[0]
    assert choice.logprobs is not None
    assert choice.logprobs.content
    assert choice.message.content
    check_entries(choice.logprobs.content, choice.message.content, top_n)


async def test_the_runner_up_is_sometimes_chosen_at_temperature(
    client: TestClient[Any, Any],
) -> None:
    """Sampling: some chosen tokens are not the likeliest; at temperature 0 all are."""
    ranks: dict[float, set[int]] = {}
    async with sdk_for(client) as sdk:
        for temperature in (0.0, 1.0):
            completion = await sdk.chat.completions.create(
                model=MODEL, messages=EN, logprobs=True, top_logprobs=3, seed=1,
                temperature=temperature, n=4,
            )  # fmt: skip
            ranks[temperature] = {
                [t.token for t in e.top_logprobs].index(e.token)
                for c in completion.choices
                for e in (c.logprobs.content if c.logprobs and c.logprobs.content else [])
            }
    assert ranks[0.0] == {0}
    assert ranks[1.0] == {0, 1}


async def test_stream_chunks_carry_the_logprobs_of_their_tokens(
    client: TestClient[Any, Any], chunk_schema: jsonschema.Draft7Validator
) -> None:
    body = {"model": MODEL, "messages": ZH, "logprobs": True, "top_logprobs": 2, "seed": 9}
    plain = await (await client.post("/v1/chat/completions", json=body, headers=AUTH)).json()
    raw = await client.post("/v1/chat/completions", json={**body, "stream": True}, headers=AUTH)
    chunks = sse_chunks(await raw.read())
    entries: list[dict[str, Any]] = []
    for chunk in chunks:
        chunk_schema.validate(chunk)
        for choice in chunk["choices"]:
            if choice["delta"].get("content"):
                mine = choice["logprobs"]["content"]
                assert "".join(e["token"] for e in mine) == choice["delta"]["content"]
                entries += mine
            else:
                assert choice["logprobs"] is None
    assert entries == plain["choices"][0]["logprobs"]["content"], "seeded: stream == plain"


async def test_sdk_stream_helper_collects_logprobs(client: TestClient[Any, Any]) -> None:
    async with (
        sdk_for(client) as sdk,
        sdk.chat.completions.stream(
            model=MODEL, messages=EN, logprobs=True, top_logprobs=2, seed=4
        ) as stream,
    ):
        async for _ in stream:
            pass
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.logprobs is not None
    assert choice.logprobs.content
    assert choice.message.content
    check_entries(choice.logprobs.content, choice.message.content, 2)


async def test_without_logprobs_it_stays_null(
    client: TestClient[Any, Any], completion_schema: jsonschema.Draft7Validator
) -> None:
    for flag in ({}, {"logprobs": False}):
        body = {"model": MODEL, "messages": EN, **flag}
        reply = await (await client.post("/v1/chat/completions", json=body, headers=AUTH)).json()
        completion_schema.validate(reply)
        assert reply["choices"][0]["logprobs"] is None


async def test_logprobs_validate_against_the_response_schema(
    client: TestClient[Any, Any], completion_schema: jsonschema.Draft7Validator
) -> None:
    body = {"model": MODEL, "messages": EN, "logprobs": True, "top_logprobs": 20, "n": 2}
    reply = await (await client.post("/v1/chat/completions", json=body, headers=AUTH)).json()
    completion_schema.validate(reply)
    tools_body = {
        **body,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "tool_choice": "required",
    }
    reply = await (await client.post("/v1/chat/completions", json=tools_body, headers=AUTH)).json()
    completion_schema.validate(reply)
    assert reply["choices"][0]["logprobs"] == {"content": [], "refusal": None}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"logprobs": "yes"}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": -1}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 2.5}, "top_logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
    ],
)
async def test_bad_logprobs_fields_are_400(
    client: TestClient[Any, Any], fields: dict[str, Any], param: str
) -> None:
    async with sdk_for(client) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.chat.completions.create(model=MODEL, messages=EN, **fields)
    assert caught.value.param == param


async def test_scripted_replies_get_logprobs_too(make_client: Any, tmp_path: Path) -> None:
    fixture = "- {name: hi, reply: {content: '你好, world!'}}"
    client = await serve_yaml(make_client, tmp_path, fixture)
    payload, _ = await reply_json(client, chat(logprobs=True, top_logprobs=3))
    entries = payload["choices"][0]["logprobs"]["content"]
    assert "".join(e["token"] for e in entries) == "你好, world!"
    assert all(e["bytes"] == list(e["token"].encode()) for e in entries)
    payload, _ = await reply_json(client, chat())
    assert payload["choices"][0]["logprobs"] is None
