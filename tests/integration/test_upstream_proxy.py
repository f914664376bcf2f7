"""serve --upstream: forwarding to a real gateway process on loopback, failures included."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp.test_utils import TestClient
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from mockserver.upstream.config import Upstream, chat_url
from mockserver.wire.faults import parse_fault
from tests.cli_support import free_port
from tests.conftest import sse_chunks
from tests.gateway.app import EXAMPLE, SLOW_GAP_S
from tests.integration.conftest import Gateway
from tests.support import CHAT, MakeClient, assert_openai_error, write_yaml

CLIENT_KEY = "sk-client-0123456789abcdefXYZ"
UPSTREAM_KEY = "sk-upstream-9876543210fedcbaQRS"
AUTH = {"Authorization": f"Bearer {CLIENT_KEY}"}


def ask(text: str, **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **fields}


async def proxy(make_client: MakeClient, url: str, **settings: Any) -> TestClient[Any, Any]:
    upstream = Upstream.at(url, **settings.pop("upstream_options", {}))
    return await make_client(upstream=upstream, **settings)


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def sdk_for(client: TestClient[Any, Any]) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=CLIENT_KEY, max_retries=0)


def test_chat_url_from_what_users_give() -> None:
    assert chat_url("http://gw:8000/v1") == "http://gw:8000/v1/chat/completions"
    assert chat_url("http://gw:8000/") == "http://gw:8000/v1/chat/completions"
    assert chat_url("https://gw/openai/v1/") == "https://gw/openai/v1/chat/completions"
    with pytest.raises(ValueError, match="not an http"):
        chat_url("gw:8000")


async def test_unmatched_request_gets_the_gateways_bytes(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url)
    response = await client.post(CHAT, json=ask("What is HTTP?"), headers=AUTH)
    assert response.status == 200
    assert await response.read() == EXAMPLE, "passed through byte for byte, CRLF included"
    assert response.headers["x-request-id"] == "req_gateway_plain"
    assert response.headers["x-ratelimit-remaining-requests"] == "98"
    assert response.headers["x-mock-request-id"].startswith("req_")
    (seen,) = gateway.seen()
    assert seen["authorization"] == f"Bearer {CLIENT_KEY}", "the client's key passed through"
    assert seen["body"] == ask("What is HTTP?")


async def test_upstream_key_replaces_the_clients(make_client: MakeClient, gateway: Gateway) -> None:
    client = await proxy(make_client, gateway.url, upstream_options={"key": UPSTREAM_KEY})
    response = await client.post(CHAT, json=ask("hi"), headers=AUTH)
    assert response.status == 200
    assert [s["authorization"] for s in gateway.seen()] == [f"Bearer {UPSTREAM_KEY}"]


async def test_fixture_answers_first_unless_proxy_all(
    make_client: MakeClient, gateway: Gateway, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path, "- {name: local, match: {last_user: hi}, reply: {content: mine}}")
    client = await proxy(make_client, gateway.url, fixture_paths=(path,))
    local = await (await client.post(CHAT, json=ask("hi"), headers=AUTH)).json()
    assert local["choices"][0]["message"]["content"] == "mine"
    assert gateway.seen() == []
    everything = await proxy(
        make_client, gateway.url, fixture_paths=(path,), upstream_options={"proxy_all": True}
    )
    forwarded = await everything.post(CHAT, json=ask("hi"), headers=AUTH)
    assert await forwarded.read() == EXAMPLE
    assert len(gateway.seen()) == 1


async def test_invalid_request_is_never_forwarded(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url, upstream_options={"proxy_all": True})
    response = await client.post(CHAT, json={"model": "gpt-4o", "messages": []}, headers=AUTH)
    assert response.status == 400
    assert_openai_error(await response.json())
    assert gateway.seen() == []


async def test_stream_frames_pass_through_before_the_gateway_finishes(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url)
    started = time.perf_counter()
    response = await client.post(CHAT, json=ask("slow please", stream=True), headers=AUTH)
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    first = await response.content.readuntil(b"\n\n")
    first_at = time.perf_counter() - started
    rest = await response.read()
    done_at = time.perf_counter() - started
    assert json.loads(first.removeprefix(b"data: "))["choices"][0]["delta"]["role"] == "assistant"
    # The gateway paused SLOW_GAP_S after its first event: that event had to arrive first.
    assert done_at - first_at >= SLOW_GAP_S * 0.8, (first_at, done_at)
    chunks = sse_chunks(first + rest)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert response.headers["x-request-id"] == "req_gateway_stream"


async def test_rate_limit_passes_through_with_its_headers(
    make_client: MakeClient, gateway: Gateway
) -> None:
    gateway.mode(busy=1)
    client = await proxy(make_client, gateway.url)
    with pytest.raises(openai.RateLimitError) as caught:
        async with sdk_for(client) as sdk:
            await sdk.chat.completions.create(model="gpt-4o", messages=user("busy"))
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["x-ratelimit-remaining-requests"]) == ("1", "0")
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.request_id == "req_gateway_429"


async def test_html_502_becomes_an_openai_error(make_client: MakeClient, gateway: Gateway) -> None:
    client = await proxy(make_client, gateway.url)
    response = await client.post(CHAT, json=ask("html please"), headers=AUTH)
    assert response.status == 502
    assert response.content_type == "application/json"
    error = assert_openai_error(await response.json())
    assert error["code"] == "bad_gateway"
    assert "text/html" in error["message"]


async def test_gateway_down_gives_an_openai_502(make_client: MakeClient) -> None:
    client = await proxy(make_client, f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(openai.InternalServerError) as caught:
        async with sdk_for(client) as sdk:
            await sdk.chat.completions.create(model="gpt-4o", messages=user("x"))
    assert caught.value.status_code == 502
    assert caught.value.code == "upstream_unreachable"
    entry = (await (await client.get("/__admin/requests")).json())["requests"][0]
    assert entry["status"] == 502
    assert "could not be reached" in entry["upstream"]["error"]


async def test_gateway_closing_without_an_answer_gives_502(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url)
    response = await client.post(CHAT, json=ask("drop"), headers=AUTH)
    assert response.status == 502
    error = assert_openai_error(await response.json())
    assert error["code"] == "upstream_disconnected"
    assert "closed the connection" in error["message"]


async def test_gateway_timeout_gives_504(make_client: MakeClient, gateway: Gateway) -> None:
    client = await proxy(make_client, gateway.url, upstream_options={"read_timeout_s": 0.3})
    response = await client.post(CHAT, json=ask("hang"), headers=AUTH)
    assert response.status == 504
    assert assert_openai_error(await response.json())["code"] == "upstream_timeout"


async def test_a_forward_past_max_duration_ends_with_a_timeout_event(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url, upstream_options={"max_duration_s": 0.5})
    response = await client.post(CHAT, json=ask("slow please", stream=True), headers=AUTH)
    assert response.status == 200, "the first event came in time"
    events = (await response.read()).decode().split("\n\n")
    assert events[-2] == "data: [DONE]"
    assert json.loads(events[-3].removeprefix("data: "))["error"]["code"] == "upstream_timeout"


async def test_reset_mid_stream_ends_with_an_error_event(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url)
    response = await client.post(CHAT, json=ask("reset", stream=True), headers=AUTH)
    assert response.status == 200, "the headers were out before the gateway failed"
    events = (await response.read()).decode().split("\n\n")
    assert events[-1] == ""
    assert events[-2] == "data: [DONE]"
    error = json.loads(events[-3].removeprefix("data: "))["error"]
    assert error["code"] == "upstream_disconnected"
    assert len(events) == 5, "the two events before the reset reached the client"
    async with sdk_for(client) as sdk:
        stream = await sdk.chat.completions.create(
            model="gpt-4o", messages=user("reset"), stream=True
        )
        with pytest.raises(openai.APIError, match="closed the connection"):
            async for _ in stream:
                pass


async def test_journal_keeps_both_sides_without_the_key(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url, upstream_options={"key": UPSTREAM_KEY})
    await (await client.post(CHAT, json=ask("hi", stream=True), headers=AUTH)).read()
    await (await client.post(CHAT, json=ask("leak it"), headers=AUTH)).read()
    journal = await (await client.get("/__admin/requests")).text()
    assert CLIENT_KEY not in journal
    assert UPSTREAM_KEY not in journal
    leak, streamed = json.loads(journal)["requests"]
    upstream = streamed["upstream"]
    assert upstream["url"] == f"{gateway.url}/chat/completions"
    assert upstream["request_headers"]["Authorization"] == "[REDACTED]"
    assert upstream["status"] == 200
    assert upstream["headers"]["x-request-id"] == "req_gateway_stream"
    assert upstream["done"] is True
    full = await (await client.get(f"/__admin/requests/{streamed['id']}")).json()
    assert upstream["frame_count"] == len(full["frames"]) > 3
    assert 0 < upstream["first_byte_ms"] <= upstream["duration_ms"]
    assert streamed["body"] == ask("hi", stream=True), "what was forwarded"
    assert leak["upstream"]["body"]["object"] == "chat.completion", "what came back"


async def test_client_hanging_up_mid_stream_frees_the_gateway(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url)
    response = await client.post(CHAT, json=ask("slow", stream=True), headers=AUTH)
    await response.content.readuntil(b"\n\n")
    response.close()
    await asyncio.sleep(0.2)
    healthy = await client.post(CHAT, json=ask("hi"), headers=AUTH)
    assert await healthy.read() == EXAMPLE, "the server goes on serving"


async def test_events_cut_anywhere_and_crlf_are_passed_on_whole(
    make_client: MakeClient,
) -> None:
    """An upstream writing CRLF events in 1-7 byte pieces (the mock itself, faulted)."""
    faulted = await make_client(seed=1, fault=parse_fault("split_bytes=7, crlf=true, seed=3"))
    client = await proxy(make_client, str(faulted.make_url("/v1")))
    body = ask("Tell me a story", stream=True, stream_options={"include_usage": True})
    direct = (await (await faulted.post(CHAT, json=body, headers=AUTH)).read()).decode()
    response = await client.post(CHAT, json=body, headers=AUTH)
    proxied = (await response.read()).decode()
    assert proxied == direct, "byte for byte"
    events = proxied.split("\r\n\r\n")
    assert events[-2:] == ["data: [DONE]", ""]
    entry = (await (await client.get("/__admin/requests")).json())["requests"][0]
    assert entry["upstream"]["frame_count"] == len(events) - 1 > 5, "split into events again"


async def test_pool_size_bounds_the_connections_to_the_gateway(
    make_client: MakeClient, gateway: Gateway
) -> None:
    client = await proxy(make_client, gateway.url, upstream_options={"pool_size": 1})

    async def slow() -> bytes:
        response = await client.post(CHAT, json=ask("slow", stream=True), headers=AUTH)
        return await response.read()

    replies = await asyncio.gather(slow(), slow())
    assert all(reply.endswith(b"data: [DONE]\n\n") for reply in replies)
    assert gateway.max_in_flight() == 1, "the second waited for the pool's one connection"
