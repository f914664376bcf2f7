"""The official openai SDK meeting injected faults: what the user's code sees, and how many
requests the SDK's retries make (counted on the server, in the journal)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from mockserver.wire.faults import HEADER
from mockserver.wire.stream_faults import STREAM_ERROR
from tests.support import MakeClient, write_yaml

Client = TestClient[Any, Any]
FIXTURES = """
- name: throttled
  times: 2
  match: {last_user: retry me}
  fault: {status: 429, retry_after: 0.05}
- name: recovered
  match: {last_user: retry me}
  reply: {content: made it}
- name: final-answer
  match: {last_user: no retry}
  reply:
    error:
      status: 503
      message: Down for maintenance.
      headers: {x-should-retry: "false"}
- name: greeting
  match: {last_user: hi}
  reply: {content: "Hello, streaming world! This reply comes in several chunks, 你好."}
- name: two-calls
  match: {last_user: weather}
  reply:
    tool_calls:
      - id: call_paris00000000000000001
        name: get_weather
        arguments: {city: Paris, unit: celsius, days: 3, hourly: false}
      - id: call_lyon000000000000000002
        name: get_weather
        arguments: {city: Lyon, unit: fahrenheit, days: 10, hourly: true}
"""
GREETING = "Hello, streaming world! This reply comes in several chunks, 你好."
EXCEPTIONS: dict[int, type[openai.APIStatusError]] = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    413: openai.APIStatusError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
    500: openai.InternalServerError,
    502: openai.InternalServerError,
    503: openai.InternalServerError,
    504: openai.InternalServerError,
}


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def fault(text: str) -> dict[str, str]:
    return {HEADER: text}


@pytest.fixture
async def server(make_client: MakeClient, tmp_path: Path) -> Client:
    return await make_client(fixture_paths=(write_yaml(tmp_path, FIXTURES),))


@pytest.fixture
async def sdk(server: Client) -> AsyncIterator[AsyncOpenAI]:
    """As a user would build it, retries included (max_retries=2 is also the default)."""
    base_url = str(server.make_url("/v1"))
    async with AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=2) as client:
        yield client


async def journal(server: Client) -> list[dict[str, Any]]:
    """Every request the server saw, oldest first."""
    events: list[dict[str, Any]] = (await (await server.get("/__admin/requests")).json())[
        "requests"
    ]
    return events[::-1]


async def collect(stream: openai.AsyncStream[ChatCompletionChunk], into: list[Any]) -> None:
    async for chunk in stream:
        into.append(chunk)


# --- retries ----------------------------------------------------------------------------------


FLAKY = """
- name: flaky-upstream
  times: 2
  match: {headers: {X-Test-Case: flaky}}
  fault: {status: 503, retry_after: 0.1}
- name: flaky-upstream-recovered
  match: {headers: {X-Test-Case: flaky}}
  reply: {content: "OK after two retries"}
"""


async def test_the_readmes_flaky_upstream_is_retried_after_a_tenth_of_a_second(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """README's example: two 503s with retry_after 0.1, then success, in ~0.2 s (not 2 s)."""
    server = await make_client(fixture_paths=(write_yaml(tmp_path, FLAKY),))
    base_url = str(server.make_url("/v1"))
    async with AsyncOpenAI(base_url=base_url, api_key="sk-test") as client:
        started = time.monotonic()
        reply = await client.chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_headers={"X-Test-Case": "flaky"}
        )
        elapsed = time.monotonic() - started
    assert reply.choices[0].message.content == "OK after two retries"
    assert [e["status"] for e in await journal(server)] == [503, 503, 200]
    # Waits of 0.1 s each; the SDK's own backoff would be at least 0.375 s + 0.75 s, and
    # retry-after: 1 alone 2 s. The margin is for a loaded machine.
    assert 0.2 <= elapsed < 1.0, elapsed


async def test_429_twice_then_success_honours_retry_after_ms(
    sdk: AsyncOpenAI, server: Client
) -> None:
    started = time.monotonic()
    reply = await sdk.chat.completions.create(model="gpt-4o", messages=user("retry me"))
    elapsed = time.monotonic() - started
    assert reply.choices[0].message.content == "made it"
    events = await journal(server)
    assert [e["status"] for e in events] == [429, 429, 200]
    assert [e["fixture"] for e in events] == ["throttled", "throttled", "recovered"]
    assert [e["headers"]["x-stainless-retry-count"] for e in events] == ["0", "1", "2"]
    # The 429s say retry-after: 1 and retry-after-ms: 50. The SDK prefers the milliseconds:
    # 50 ms waits, not 1 s ones, nor its own 0.5 s / 1 s backoff.
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(events)]
    assert all(0.045 <= gap < 0.35 for gap in gaps), gaps
    assert elapsed < 0.7


async def test_500_is_retried_twice_then_raises(sdk: AsyncOpenAI, server: Client) -> None:
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_headers=fault("status=500")
        )
    elapsed = time.monotonic() - started
    assert caught.value.status_code == 500
    assert caught.value.body == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    events = await journal(server)
    assert [e["status"] for e in events] == [500, 500, 500]
    # no retry-after on a 500: the SDK's own backoff, 0.5 s then 1 s, less up to 25 % jitter
    assert 1.1 <= elapsed < 3.0


async def test_x_should_retry_false_makes_one_attempt(sdk: AsyncOpenAI, server: Client) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.chat.completions.create(model="gpt-4o", messages=user("no retry"))
    assert caught.value.status_code == 503
    assert caught.value.message == "Error code: 503 - Down for maintenance."
    assert caught.value.body == {
        "message": "Down for maintenance.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(await journal(server)) == 1


async def test_insufficient_quota_is_a_rate_limit_error(sdk: AsyncOpenAI, server: Client) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await sdk.chat.completions.create(
            model="gpt-4o",
            messages=user("hi"),
            extra_headers=fault("status=429, error=insufficient_quota, retry_after=0.02"),
        )
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert caught.value.status_code == 429
    # a quota error is not going away, but the SDK cannot tell: it retries like any 429
    assert len(await journal(server)) == 3


@pytest.mark.parametrize(("status", "exception"), list(EXCEPTIONS.items()))
async def test_status_to_exception(
    sdk: AsyncOpenAI, server: Client, status: int, exception: type[openai.APIStatusError]
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk.with_options(max_retries=0).chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_headers=fault(f"status={status}")
        )
    assert type(caught.value) is exception
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"]
    if status == 404:
        assert caught.value.code == "model_not_found"
    assert len(await journal(server)) == 1


async def test_html_502_page(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.with_options(max_retries=0).chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_headers=fault("status=502, html")
        )
    assert caught.value.status_code == 502
    assert caught.value.message == "Error code: 502"
    assert isinstance(caught.value.body, str)
    assert "<title>502 Bad Gateway</title>" in caught.value.body
    assert caught.value.code is None


async def test_slow_reply_trips_the_timeout(sdk: AsyncOpenAI, server: Client) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await sdk.with_options(max_retries=0, timeout=0.1).chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_headers=fault("delay_ms=300")
        )
    assert time.monotonic() - started < 0.28


async def test_dropped_non_stream_reply_is_retried(sdk: AsyncOpenAI, server: Client) -> None:
    with pytest.raises(openai.APIConnectionError) as caught:
        await sdk.with_options(max_retries=1).chat.completions.create(
            model="gpt-4o", messages=user("hi"), extra_headers=fault("disconnect_after=20")
        )
    assert type(caught.value) is openai.APIConnectionError
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    events = await journal(server)
    assert len(events) == 2
    assert all(e["fault"] == "disconnect_after=20 (connection dropped)" for e in events)


# --- streams ----------------------------------------------------------------------------------


async def test_dropped_stream_raises_not_a_short_success(sdk: AsyncOpenAI, server: Client) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o", messages=user("hi"), stream=True, extra_headers=fault("disconnect_after=2")
    )
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIConnectionError) as caught:
        await collect(stream, received)
    assert type(caught.value) is openai.APIConnectionError
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(caught.value.__cause__)
    assert len(received) == 2
    assert received[0].choices[0].delta.role == "assistant"
    assert len(await journal(server)) == 1, "a stream that has begun is never retried"


async def test_error_event_raises_api_error(sdk: AsyncOpenAI, server: Client) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o", messages=user("hi"), stream=True, extra_headers=fault("error_at=2")
    )
    assert stream.response.status_code == 200
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIError) as caught:
        await collect(stream, received)
    assert type(caught.value) is openai.APIError
    assert caught.value.message == STREAM_ERROR["message"]
    assert caught.value.body == STREAM_ERROR
    assert len(received) == 2
    assert len(await journal(server)) == 1


async def test_stall_trips_the_read_timeout(server: Client) -> None:
    base_url = str(server.make_url("/v1"))
    async with AsyncOpenAI(
        base_url=base_url, api_key="sk-test", max_retries=2, timeout=httpx2.Timeout(0.5)
    ) as sdk:
        stream = await sdk.chat.completions.create(
            model="gpt-4o", messages=user("hi"), stream=True, extra_headers=fault("stall_after=1")
        )
        received: list[ChatCompletionChunk] = []
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError) as caught:
            await collect(stream, received)
        assert 0.4 <= time.monotonic() - started < 1.5
    assert isinstance(caught.value.__cause__, httpx2.ReadTimeout)
    assert len(received) == 1
    assert len(await journal(server)) == 1


async def test_malformed_frame_raises_a_bare_json_error(sdk: AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o", messages=user("hi"), stream=True, extra_headers=fault("malformed_at=2")
    )
    received: list[ChatCompletionChunk] = []
    with pytest.raises(json.JSONDecodeError):
        await collect(stream, received)
    assert len(received) == 2, "not wrapped in an openai exception: the JSONDecodeError itself"


@pytest.mark.parametrize(
    "tolerated",
    [
        "no_done",
        "duplicate_finish",
        "empty_delta_at=2",
        "crlf",
        "split_bytes=24",
        "ttft_ms=60, ping_ms=15",
        "chunk_ms=5, jitter_ms=3",
    ],
)
async def test_faults_the_sdk_survives(sdk: AsyncOpenAI, tolerated: str) -> None:
    async with sdk.chat.completions.stream(
        model="gpt-4o", messages=user("hi"), extra_headers=fault(tolerated)
    ) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == GREETING
    assert final.choices[0].finish_reason == "stop"


async def test_interleaved_tool_calls_are_reassembled(sdk: AsyncOpenAI) -> None:
    async def calls(text: str | None) -> list[tuple[str, str, dict[str, Any]]]:
        async with sdk.chat.completions.stream(
            model="gpt-4o",
            messages=user("weather"),
            tools=[
                {
                    "type": "function",
                    "function": {"name": "get_weather", "parameters": {"type": "object"}},
                }
            ],
            tool_choice="required",
            parallel_tool_calls=True,
            extra_headers=fault(text) if text else None,
        ) as stream:
            final = await stream.get_final_completion()
        assert final.choices[0].finish_reason == "tool_calls"
        return [
            (c.id, c.function.name, json.loads(c.function.arguments))
            for c in final.choices[0].message.tool_calls or ()
        ]

    plain = await calls(None)  # no seed: a seed would replace the scripted ids
    assert plain == [
        (
            "call_paris00000000000000001",
            "get_weather",
            {"city": "Paris", "unit": "celsius", "days": 3, "hourly": False},
        ),
        (
            "call_lyon000000000000000002",
            "get_weather",
            {"city": "Lyon", "unit": "fahrenheit", "days": 10, "hourly": True},
        ),
    ]
    assert await calls("interleave_tools") == plain
