"""The openai Python SDK's helpers on generated replies (issue #4): the stream helper rebuilds
tool calls, `parse` and `.stream(response_format=Model)` read structured output, extra_body
reaches the mock as top-level fields, and thinking and search come through."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any, Literal

import openai
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)
from pydantic import BaseModel

from mockserver.replies import tokens
from tests.contract.test_openai_sdk import sdk_for

MODEL = "gpt-4o"
CALL_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")
WEATHER_PROMPT: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the weather like in Paris today?"}
]
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Local time in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {"name": "get_news", "description": "Latest news headlines"},
    },
]


class GetWeather(BaseModel):
    city: str
    unit: Literal["celsius", "fahrenheit"]


class Ingredient(BaseModel):
    name: str
    grams: float


class Recipe(BaseModel):
    title: str
    servings: int
    vegetarian: bool
    ingredients: list[Ingredient]
    note: str | None


@pytest.fixture
async def sdk(client: TestClient[Any, Any]) -> AsyncIterator[AsyncOpenAI]:
    async with sdk_for(client) as sdk:
        yield sdk


async def parallel_seed(sdk: AsyncOpenAI) -> int:
    """The first seed in 0..50 whose reply calls several tools."""
    for seed in range(51):
        reply = await sdk.chat.completions.create(
            model=MODEL, messages=WEATHER_PROMPT, tools=TOOLS, seed=seed
        )
        if len(reply.choices[0].message.tool_calls or ()) > 1:
            return seed
    raise AssertionError("no seed in 0..50 calls tools in parallel")


# Tool calls through the stream helper.


async def test_stream_helper_rebuilds_parallel_tool_calls(sdk: AsyncOpenAI) -> None:
    seed = await parallel_seed(sdk)
    plain = await sdk.chat.completions.create(
        model=MODEL, messages=WEATHER_PROMPT, tools=TOOLS, seed=seed
    )
    sent_ids: list[str] = []
    done: list[tuple[int, str, str]] = []
    async with sdk.chat.completions.stream(
        model=MODEL, messages=WEATHER_PROMPT, tools=TOOLS, seed=seed
    ) as stream:
        async for event in stream:
            if event.type == "chunk" and event.chunk.choices:
                for delta in event.chunk.choices[0].delta.tool_calls or ():
                    if delta.id is not None:
                        sent_ids.append(delta.id)
            elif event.type == "tool_calls.function.arguments.done":
                done.append((event.index, event.name, event.arguments))
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    expected = plain.choices[0].message.tool_calls or []
    assert len(calls) == len(expected) > 1
    assert [c.id for c in calls] == sent_ids, "each id once, not concatenated"
    offered = {t["function"]["name"] for t in TOOLS}
    for index, (call, whole) in enumerate(zip(calls, expected, strict=True)):
        assert isinstance(whole, ChatCompletionMessageFunctionToolCall)
        assert CALL_ID.fullmatch(call.id), call.id
        assert call.type == "function"
        assert call.function.name in offered, "a doubled name would read get_weatherget_weather"
        assert call.function.name == whole.function.name
        assert call.function.arguments == whole.function.arguments
        assert isinstance(json.loads(call.function.arguments), dict)
        assert done[index] == (index, call.function.name, call.function.arguments)


async def test_strict_pydantic_tool_arguments_are_parsed(sdk: AsyncOpenAI) -> None:
    tool = openai.pydantic_function_tool(GetWeather)
    parsed = await sdk.chat.completions.parse(
        model=MODEL, messages=WEATHER_PROMPT, tools=[tool], tool_choice="required"
    )
    [call] = parsed.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, GetWeather)
    async with sdk.chat.completions.stream(
        model=MODEL, messages=WEATHER_PROMPT, tools=[tool], tool_choice="required"
    ) as stream:
        final = await stream.get_final_completion()
    [streamed] = final.choices[0].message.tool_calls or []
    assert isinstance(streamed.function.parsed_arguments, GetWeather)
    assert streamed.function.parsed_arguments == call.function.parsed_arguments


async def test_legacy_functions_through_the_sdk(sdk: AsyncOpenAI) -> None:
    function = TOOLS[0]["function"]
    reply = await sdk.chat.completions.create(
        model=MODEL, messages=WEATHER_PROMPT, functions=[function], function_call="auto"
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.tool_calls is None
    assert choice.message.function_call is not None
    assert choice.message.function_call.name == "get_weather"
    assert isinstance(json.loads(choice.message.function_call.arguments)["city"], str)


# Structured output.

ASK_RECIPE: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Give me a pancake recipe."}
]


async def test_parse_with_a_pydantic_model(sdk: AsyncOpenAI) -> None:
    completion = await sdk.chat.completions.parse(
        model=MODEL, messages=ASK_RECIPE, response_format=Recipe
    )
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "stop"
    assert isinstance(message.parsed, Recipe)
    assert message.content is not None
    assert Recipe.model_validate_json(message.content) == message.parsed


async def test_stream_with_a_pydantic_model(sdk: AsyncOpenAI) -> None:
    """The helper partial-parses the content on every chunk: none of those parses may fail."""
    partial: list[object] = []
    async with sdk.chat.completions.stream(
        model=MODEL, messages=ASK_RECIPE, response_format=Recipe
    ) as stream:
        async for event in stream:
            if event.type == "content.delta":
                partial.append(event.parsed)
        final = await stream.get_final_completion()
    assert len(partial) > 1
    assert any(isinstance(p, dict) and p for p in partial), "partial objects along the way"
    parsed = final.choices[0].message.parsed
    assert isinstance(parsed, Recipe)
    plain = await sdk.chat.completions.parse(
        model=MODEL, messages=ASK_RECIPE, response_format=Recipe
    )
    assert plain.choices[0].message.parsed == parsed


async def test_parse_raises_length_error_when_max_tokens_cuts_it(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.LengthFinishReasonError):
        await sdk.chat.completions.parse(
            model=MODEL, messages=ASK_RECIPE, response_format=Recipe, max_tokens=5
        )
    with pytest.raises(openai.LengthFinishReasonError):
        await stream_recipe(sdk, max_tokens=5)


async def stream_recipe(sdk: AsyncOpenAI, max_tokens: int) -> None:
    """Read a structured stream to its end, as the helper's users do."""
    async with sdk.chat.completions.stream(
        model=MODEL, messages=ASK_RECIPE, response_format=Recipe, max_tokens=max_tokens
    ) as stream:
        async for _ in stream:
            pass


# Thinking and search.


async def last_request_body(client: TestClient[Any, Any]) -> dict[str, Any]:
    """The body of the newest request in the mock's journal, as it came off the wire."""
    response = await client.get("/__admin/requests", params={"limit": "1"})
    assert response.status == 200
    [event] = (await response.json())["requests"]
    body: dict[str, Any] = event["body"]
    return body


async def test_extra_body_enable_thinking_is_merged_to_the_top_level(
    sdk: AsyncOpenAI, client: TestClient[Any, Any]
) -> None:
    reply = await sdk.chat.completions.create(
        model=MODEL, messages=WEATHER_PROMPT, extra_body={"enable_thinking": True}
    )
    sent = await last_request_body(client)
    assert sent["enable_thinking"] is True
    assert "extra_body" not in sent, "the SDK merges extra_body into the body"
    message = reply.choices[0].message
    assert message.model_extra is not None
    reasoning = message.model_extra["reasoning_content"]
    assert reasoning
    assert reply.usage is not None
    assert reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == tokens.count(reasoning)

    literal = await sdk.chat.completions.create(
        model=MODEL,
        messages=WEATHER_PROMPT,
        extra_body={"extra_body": {"enable_thinking": True}},
    )
    sent = await last_request_body(client)
    assert sent["extra_body"] == {"enable_thinking": True}
    assert "enable_thinking" not in sent
    assert literal.choices[0].message.model_extra is not None
    assert literal.choices[0].message.model_extra["reasoning_content"]


async def test_stream_helper_keeps_the_reasoning(sdk: AsyncOpenAI) -> None:
    plain = await sdk.chat.completions.create(
        model="deepseek-r1-thinking", messages=WEATHER_PROMPT, seed=2
    )
    async with sdk.chat.completions.stream(
        model="deepseek-r1-thinking", messages=WEATHER_PROMPT, seed=2
    ) as stream:
        final = await stream.get_final_completion()
    streamed = final.choices[0].message
    whole = plain.choices[0].message
    assert streamed.model_extra is not None
    assert whole.model_extra is not None
    assert streamed.model_extra["reasoning_content"] == whole.model_extra["reasoning_content"]
    assert streamed.content == whole.content


async def test_search_annotations_through_the_sdk(sdk: AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model=MODEL, messages=WEATHER_PROMPT, web_search_options={}
    )
    message = reply.choices[0].message
    assert message.content is not None
    assert message.annotations
    for annotation in message.annotations:
        cited = annotation.url_citation
        link = message.content[cited.start_index : cited.end_index]
        assert link.startswith("([")
        assert link.endswith(f"]({cited.url}))")
