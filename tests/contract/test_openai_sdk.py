"""The official openai Python SDK, pointed at the mock, sees what it sees from the real API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import openai
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from openai.types.chat.completion_create_params import Function

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
MODEL = "gpt-4o"
HELLO: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Say hello in one short paragraph."}
]
TOOL_ROUND_TRIP: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "北京天气怎么样？"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_abc",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"北京"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_abc", "content": "晴"},
]


def sdk_for(client: TestClient[Any, Any], api_key: str = "sk-test") -> AsyncOpenAI:
    return AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=api_key, max_retries=0)


@pytest.fixture
async def sdk(client: TestClient[Any, Any]) -> AsyncIterator[AsyncOpenAI]:
    async with sdk_for(client) as sdk:
        yield sdk


async def test_plain_completion(sdk: AsyncOpenAI) -> None:
    completion = await sdk.chat.completions.create(model=MODEL, messages=HELLO)
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert isinstance(message.content, str)
    assert message.content
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.completion_tokens > 0
    assert isinstance(completion._request_id, str)
    assert completion._request_id.startswith("req_")
    assert usage.model_extra is not None
    checkpoint = usage.model_extra["latency_checkpoint"]
    assert len(checkpoint) == 9
    assert all(type(v) is int for v in checkpoint.values())


async def test_stream_with_include_usage(sdk: AsyncOpenAI) -> None:
    async with await sdk.chat.completions.create(
        model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = [chunk async for chunk in stream]
    with_usage = [i for i, chunk in enumerate(chunks) if chunk.usage is not None]
    assert with_usage == [len(chunks) - 1], "exactly one usage chunk, the last"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert last.usage.completion_tokens > 0
    assert text
    assert {c.id for c in chunks} == {chunks[0].id}


async def test_stream_without_include_usage(sdk: AsyncOpenAI) -> None:
    async with await sdk.chat.completions.create(
        model=MODEL, messages=HELLO, stream=True
    ) as stream:
        chunks = [chunk async for chunk in stream]
    assert chunks
    assert all(chunk.usage is None for chunk in chunks)
    assert all(len(chunk.choices) == 1 for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_stream_helper_final_completion(sdk: AsyncOpenAI) -> None:
    plain = await sdk.chat.completions.create(model=MODEL, messages=HELLO)
    deltas: list[str] = []
    async with sdk.chat.completions.stream(
        model=MODEL, messages=HELLO, stream_options={"include_usage": True}
    ) as stream:
        async for event in stream:
            if event.type == "content.delta":
                deltas.append(event.delta)
        final = await stream.get_final_completion()
    message = final.choices[0].message
    assert message.role == "assistant", "a repeated role would read 'assistantassistant'"
    assert message.content == "".join(deltas)
    assert len(deltas) > 1
    assert message.content == plain.choices[0].message.content
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens


async def test_two_choices(sdk: AsyncOpenAI) -> None:
    plain = await sdk.chat.completions.create(model=MODEL, messages=HELLO, n=2)
    assert [c.index for c in plain.choices] == [0, 1]
    assert plain.choices[0].message.content != plain.choices[1].message.content
    async with sdk.chat.completions.stream(model=MODEL, messages=HELLO, n=2) as stream:
        final = await stream.get_final_completion()
    assert [c.index for c in final.choices] == [0, 1]
    for streamed, whole in zip(final.choices, plain.choices, strict=True):
        assert streamed.message.role == "assistant"
        assert streamed.message.content == whole.message.content
        assert streamed.finish_reason == "stop"


async def test_bad_request_error(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.chat.completions.create(model=MODEL, messages=HELLO, temperature=5)
    error = caught.value
    assert error.status_code == 400
    assert error.code == "value_above_max_value"
    assert error.param == "temperature"
    assert error.type == "invalid_request_error"
    assert isinstance(error.body, dict)
    assert error.body["param"] == "temperature"
    assert "temperature" in error.body["message"]
    assert error.request_id is not None
    assert error.request_id.startswith("req_")


async def test_bad_stream_request_raises_before_iterating(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.chat.completions.create(model=MODEL, messages=[], stream=True)
    assert caught.value.param == "messages"
    assert caught.value.code == "empty_array"


async def test_json_object_without_json_word(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.chat.completions.create(
            model=MODEL, messages=HELLO, response_format={"type": "json_object"}
        )
    assert caught.value.param == "messages"
    assert caught.value.code is None, "OpenAI sends code null here"


async def test_authentication_error(make_client: MakeClient) -> None:
    client = await make_client(api_keys=frozenset({"sk-good"}))
    async with sdk_for(client, api_key="sk-bad-key-0000") as wrong:
        with pytest.raises(openai.AuthenticationError) as caught:
            await wrong.chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.param is None
    async with sdk_for(client, api_key="sk-good") as right:
        completion = await right.chat.completions.create(model=MODEL, messages=HELLO)
    assert completion.choices[0].message.content


async def test_models(sdk: AsyncOpenAI) -> None:
    listed = [model.id async for model in sdk.models.list()]
    assert MODEL in listed
    model = await sdk.models.retrieve(MODEL)
    assert model.id == MODEL
    with pytest.raises(openai.NotFoundError) as caught:
        await sdk.models.retrieve("no-such-model")
    assert caught.value.code == "model_not_found"


async def test_extra_body_is_accepted(sdk: AsyncOpenAI) -> None:
    """The SDK merges extra_body into the top level; a literal extra_body key also passes."""
    merged = await sdk.chat.completions.create(
        model=MODEL, messages=HELLO, extra_body={"enable_thinking": True}
    )
    literal = await sdk.chat.completions.create(
        model=MODEL, messages=HELLO, extra_body={"extra_body": {"enable_thinking": True}}
    )
    assert merged.choices[0].message.content
    assert literal.choices[0].message.content


async def test_tool_round_trip_with_null_content(sdk: AsyncOpenAI, make_client: MakeClient) -> None:
    """Cited by schemas/overlays/request.overlay.json: the SDK re-sends `content: null`."""
    completion = await sdk.chat.completions.create(model=MODEL, messages=TOOL_ROUND_TRIP)
    assert completion.choices[0].message.content

    strict = await make_client(strict_spec=True)
    async with sdk_for(strict) as strict_sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await strict_sdk.chat.completions.create(model=MODEL, messages=TOOL_ROUND_TRIP)
    assert caught.value.param == "messages[1].content"
    assert caught.value.code == "invalid_type"


LEGACY_FUNCTIONS: list[Function] = [
    {
        "name": "get_weather",
        "description": "查询城市天气",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


async def test_legacy_function_round_trip(sdk: AsyncOpenAI, make_client: MakeClient) -> None:
    """Cited by the overlay's legacy-function-role: the `function` role the spec's enum lacks."""
    question: list[Any] = [{"role": "user", "content": "北京现在天气怎么样?"}]
    first = await sdk.chat.completions.create(
        model=MODEL, messages=question, functions=LEGACY_FUNCTIONS
    )
    call = first.choices[0].message.function_call
    assert first.choices[0].finish_reason == "function_call"
    assert call is not None
    assert call.name == "get_weather"
    assert "city" in json.loads(call.arguments)
    answer: list[Any] = [
        *question,
        {"role": "assistant", "content": None, "function_call": call.model_dump()},
        {"role": "function", "name": "get_weather", "content": "晴，25°C"},
    ]
    second = await sdk.chat.completions.create(
        model=MODEL, messages=answer, functions=LEGACY_FUNCTIONS
    )
    assert second.choices[0].finish_reason == "stop"
    assert "晴，25°C" in (second.choices[0].message.content or "")

    strict = await make_client(strict_spec=True)
    async with sdk_for(strict) as strict_sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await strict_sdk.chat.completions.create(
                model=MODEL, messages=answer, functions=LEGACY_FUNCTIONS
            )
    body = caught.value.body
    assert isinstance(body, dict)
    assert "messages[2].role" in [v["param"] for v in body["violations"]]
