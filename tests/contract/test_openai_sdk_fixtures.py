"""The official openai SDK receiving scripted replies: content, tool calls, streams and errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.support import MakeClient, write_yaml

FIXTURES = """
- name: greeting
  match: {last_user: hi}
  reply:
    content: "Hello from {{ request.model }} — 你好!"
    reasoning_content: "Greet back."
- name: weather-call
  match: {last_user: {contains: weather}, tools: [get_weather]}
  reply:
    tool_calls:
      - {id: call_weather_0001, name: get_weather, arguments: {city: Paris, unit: celsius}}
      - id: call_weather_0002
        name: get_weather
        arguments: '{"city": "Lyon", "unit": "celsius"}'
- name: weather-answer
  priority: 1
  match: {last_message: {role: tool, tool: get_weather}}
  reply:
    content: "Paris: {{ request.messages[-2].content }}, Lyon: {{ request.messages[-1].content }}."
- name: rate-limited
  match: {last_user: busy}
  reply:
    error: {status: 429, type: requests, code: rate_limit_exceeded,
            message: "Slow down.", headers: {retry-after: "3"}}
- name: once
  match: {last_user: once}
  reply: {after_last: error, sequence: [{content: only once}]}
- name: drifting
  match: {last_user: drift}
  reply: {tool_calls: [{name: get_time}]}
"""
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


async def sdk_for(make_client: MakeClient, tmp_path: Path, **settings: Any) -> AsyncOpenAI:
    path = write_yaml(tmp_path, FIXTURES)
    client: TestClient[Any, Any] = await make_client(fixture_paths=(path,), **settings)
    return AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key="sk-test", max_retries=0)


@pytest.fixture
async def sdk(make_client: MakeClient, tmp_path: Path) -> AsyncIterator[AsyncOpenAI]:
    async with await sdk_for(make_client, tmp_path) as sdk:
        yield sdk


async def test_scripted_content(sdk: AsyncOpenAI) -> None:
    raw = await sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=user("hi"))
    assert raw.headers["x-mock-matched"] == "greeting"
    completion = raw.parse()
    choice = completion.choices[0]
    assert choice.message.content == "Hello from gpt-4o — 你好!"
    assert choice.finish_reason == "stop"
    assert choice.message.model_extra is not None
    assert choice.message.model_extra["reasoning_content"] == "Greet back."
    assert completion.usage is not None
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


async def test_scripted_stream(sdk: AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=user("hi"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from gpt-4o-mini — 你好!"
    assert len([c for c in chunks if c.choices]) > 3, "sent in pieces"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_scripted_tool_calls(sdk: AsyncOpenAI) -> None:
    completion = await sdk.chat.completions.create(
        model="gpt-4o", messages=user("weather in Paris and Lyon?"), tools=[WEATHER]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None
    assert [(c.id, c.type) for c in calls] == [
        ("call_weather_0001", "function"),
        ("call_weather_0002", "function"),
    ]
    functions = [getattr(c, "function") for c in calls]  # noqa: B009  # union of call types
    assert [(f.name, json.loads(f.arguments)) for f in functions] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_weather", {"city": "Lyon", "unit": "celsius"}),
    ]


async def test_stream_helper_rebuilds_tool_calls(sdk: AsyncOpenAI) -> None:
    done_events: list[tuple[str, str]] = []
    async with sdk.chat.completions.stream(
        model="gpt-4o", messages=user("weather in Paris and Lyon?"), tools=[WEATHER]
    ) as stream:
        async for event in stream:
            if event.type == "tool_calls.function.arguments.done":
                done_events.append((event.name, event.arguments))
        final = await stream.get_final_completion()
    assert [(name, json.loads(arguments)) for name, arguments in done_events] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_weather", {"city": "Lyon", "unit": "celsius"}),
    ]
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None
    assert [c.id for c in calls] == ["call_weather_0001", "call_weather_0002"]
    assert [c.function.name for c in calls] == ["get_weather", "get_weather"], "not doubled"
    assert [json.loads(c.function.arguments) for c in calls] == [
        {"city": "Paris", "unit": "celsius"},
        {"city": "Lyon", "unit": "celsius"},
    ]

    follow_up: list[ChatCompletionMessageParam] = [
        *user("weather in Paris and Lyon?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in calls
            ],
        },
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "rain"},
    ]
    answer = await sdk.chat.completions.create(model="gpt-4o", messages=follow_up, tools=[WEATHER])
    assert answer.choices[0].message.content == "Paris: sunny, Lyon: rain."


async def test_scripted_error_is_the_right_exception(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.chat.completions.create(model="gpt-4o", messages=user("busy"))
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert error.message.endswith("Slow down.")
    assert error.response.headers["retry-after"] == "3"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")

    async def stream_it() -> None:
        async with sdk.chat.completions.stream(model="gpt-4o", messages=user("busy")) as stream:
            async for _ in stream:
                pass

    with pytest.raises(openai.RateLimitError):
        await stream_it()


async def test_exhausted_scenario_is_an_internal_server_error(sdk: AsyncOpenAI) -> None:
    first = await sdk.chat.completions.create(model="gpt-4o", messages=user("once"))
    assert first.choices[0].message.content == "only once"
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.chat.completions.create(model="gpt-4o", messages=user("once"))
    assert caught.value.type == "mock_scenario_exhausted"


async def test_strict_modes_map_to_sdk_errors(make_client: MakeClient, tmp_path: Path) -> None:
    async with await sdk_for(make_client, tmp_path, strict=True, strict_fixtures=True) as sdk:
        with pytest.raises(openai.BadRequestError) as drift:
            await sdk.chat.completions.create(
                model="gpt-4o", messages=user("drift"), tools=[WEATHER]
            )
        assert drift.value.code == "fixture_drift"
        with pytest.raises(openai.NotFoundError) as unmatched:
            await sdk.chat.completions.create(model="gpt-4o", messages=user("nothing"))
        assert unmatched.value.code == "fixture_not_matched"
