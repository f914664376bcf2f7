"""wire/delivery.py on its own: each payload kind framed on a real socket, with the plan applied.

A tiny aiohttp app whose handler only calls deliver() with a Reply built here: no routing,
validation or respond stage in the way.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from random import Random
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mockserver.app.state import SCOPE, Scope
from mockserver.journal.store import ServeEvent
from mockserver.replies.completion import Choice, Completion, ToolCall, Usage, latency_checkpoint
from mockserver.replies.reply import Completed, ErrorBody, HtmlPage, RawBody, RawEvents, Reply
from mockserver.wire import json_bytes
from mockserver.wire.delivery import deliver
from mockserver.wire.faults import FaultPlan, parse_fault
from tests.conftest import sse_chunks

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


def completion(content: str = "Hello there, how can I help you today?") -> Completion:
    call = ToolCall(id="call_1", name="lookup", arguments='{"q":"weather in Paris"}')
    return Completion(
        model="gpt-4o",
        choices=(
            Choice(index=0, content=content, finish_reason="stop"),
            Choice(index=1, content=None, finish_reason="tool_calls", tool_calls=(call,)),
        ),
        usage=Usage(
            prompt_tokens=9,
            completion_tokens=20,
            latency_checkpoint=latency_checkpoint(Random(1), 20),
        ),
    )


def record() -> ServeEvent:
    return ServeEvent(id="req_1", at=0.0, method="POST", path="/", headers={})


async def serve(
    aiohttp_client: ClientFactory,
    reply: Reply,
    *,
    stream: bool = False,
    include_usage: bool = False,
    event: ServeEvent | None = None,
) -> Client:
    async def handler(request: web.Request) -> web.StreamResponse:
        request[SCOPE] = Scope("req_1", time.perf_counter(), event)  # what the scope would set
        return await deliver(
            request, reply, stream=stream, include_usage=include_usage, record=event
        )

    app = web.Application()
    app.router.add_post("/", handler)
    return await aiohttp_client(app)


async def fetch(client: Client) -> tuple[aiohttp.ClientResponse, bytes]:
    response = await client.post("/")
    return response, await response.read()


async def received_before_drop(client: Client) -> bytes:
    """What arrived before the server cut the connection (reading to the end must fail)."""
    response = await client.post("/")
    pieces: list[bytes] = []

    async def drain() -> None:
        async for piece in response.content.iter_any():
            pieces.append(piece)

    with pytest.raises(aiohttp.ClientPayloadError):
        await drain()
    return b"".join(pieces)


async def test_completion_as_one_json_body(aiohttp_client: ClientFactory) -> None:
    sent = completion()
    event = record()
    reply = Reply(payload=Completed(sent), status=201, headers={"X-Mock-Matched": "greeting"})
    response, body = await fetch(await serve(aiohttp_client, reply, event=event))
    assert response.status == 201
    assert response.content_type == "application/json"
    assert response.headers["X-Mock-Matched"] == "greeting"
    assert json.loads(body) == sent.to_json()
    assert event.response == body  # journaled as the bytes sent
    assert event.fault is None


async def test_completion_as_a_stream(
    aiohttp_client: ClientFactory, chunk_schema: jsonschema.Draft7Validator
) -> None:
    sent = completion()
    event = record()
    reply = Reply(payload=Completed(sent), headers={"X-Mock-Matched": "greeting"})
    client = await serve(aiohttp_client, reply, stream=True, include_usage=True, event=event)
    response, body = await fetch(client)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Mock-Matched"] == "greeting"
    chunks = sse_chunks(body)
    for chunk in chunks:
        assert not list(chunk_schema.iter_errors(chunk)), chunk
    assert {c["id"] for c in chunks} == {sent.id}
    text = "".join(
        ch["delta"].get("content") or "" for c in chunks for ch in c["choices"] if ch["index"] == 0
    )
    assert text == sent.choices[0].content
    arguments = "".join(
        call["function"]["arguments"]
        for c in chunks
        for ch in c["choices"]
        for call in ch["delta"].get("tool_calls") or ()
    )
    assert arguments == '{"q":"weather in Paris"}'
    finishes = {ch["index"]: ch["finish_reason"] for c in chunks for ch in c["choices"]}
    assert finishes == {0: "stop", 1: "tool_calls"}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 29
    assert all(c["usage"] is None for c in chunks[:-1])
    assert len(event.kept_frames()) == len(chunks) + 1  # and [DONE]
    assert event.kept_frames()[-1].raw == b"data: [DONE]\n\n"
    assert event.status == 200


async def test_stream_without_include_usage_has_no_usage_chunk(
    aiohttp_client: ClientFactory,
) -> None:
    reply = Reply(payload=Completed(completion()))
    _, body = await fetch(await serve(aiohttp_client, reply, stream=True))
    chunks = sse_chunks(body)
    assert all("usage" not in c or c["usage"] is None for c in chunks)
    assert all(c["choices"] for c in chunks)


async def test_raw_events_are_sent_byte_for_byte(aiohttp_client: ClientFactory) -> None:
    events = ('data: {"a": 1}\n\n', ": comment\r\n\r\n", "data: [DONE]\n\n")
    reply = Reply(payload=RawEvents(events), status=200, headers={"X-Custom": "yes"})
    response, body = await fetch(await serve(aiohttp_client, reply))
    assert body == "".join(events).encode()
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["X-Custom"] == "yes"


@pytest.mark.parametrize("raw", [{"id": "x", "odd": [1, None]}, ["not", "an", "object"], "text"])
async def test_raw_body_is_sent_as_json(aiohttp_client: ClientFactory, raw: Any) -> None:
    reply = Reply(payload=RawBody(raw), status=202)
    response, body = await fetch(await serve(aiohttp_client, reply))
    assert response.status == 202
    assert response.content_type == "application/json"
    assert json.loads(body) == raw


async def test_error_body_in_openai_shape(aiohttp_client: ClientFactory) -> None:
    error = ErrorBody(message="Slow down.", type="requests", code="rate_limit_exceeded")
    event = record()
    reply = Reply(payload=error, status=429, headers={"retry-after": "2", "X-Mock-Matched": "rl"})
    response, body = await fetch(await serve(aiohttp_client, reply, stream=True, event=event))
    assert response.status == 429  # even when the request streams: an error is whole JSON
    assert response.content_type == "application/json"
    assert response.headers["retry-after"] == "2"
    assert response.headers["X-Mock-Matched"] == "rl"
    assert json.loads(body) == {
        "error": {
            "message": "Slow down.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert event.error == json.loads(body)["error"]


async def test_html_page_as_a_proxy_sends_it(aiohttp_client: ClientFactory) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>\r\n"
    reply = Reply(payload=HtmlPage(page), status=502, headers={"X-Mock-Matched": "proxy"})
    response, body = await fetch(await serve(aiohttp_client, reply, stream=True))
    assert response.status == 502
    assert response.content_type == "text/html"
    assert body == page.encode()
    assert response.headers["X-Mock-Matched"] == "proxy"


@pytest.mark.parametrize(
    "payload",
    [
        Completed(completion()),
        ErrorBody(message="Overloaded.", type="server_error"),
        HtmlPage("<html></html>"),
        RawBody({"ok": True}),
    ],
    ids=["completion", "error", "html", "raw"],
)
async def test_delay_applies_to_every_payload(aiohttp_client: ClientFactory, payload: Any) -> None:
    status = 200 if isinstance(payload, Completed | RawBody) else 503
    reply = Reply(payload=payload, status=status, plan=FaultPlan(delay_ms=(150, 150)))
    client = await serve(aiohttp_client, reply)
    started = time.perf_counter()
    response, _ = await fetch(client)
    assert time.perf_counter() - started >= 0.15
    assert response.status == status


async def test_stream_disconnect_after_frames(aiohttp_client: ClientFactory) -> None:
    event = record()
    reply = Reply(payload=Completed(completion()), plan=parse_fault("disconnect_after=2"))
    data = await received_before_drop(await serve(aiohttp_client, reply, stream=True, event=event))
    frames = [f for f in data.decode().split("\n\n") if f]
    assert len(frames) == 2
    assert all(f.startswith("data: {") for f in frames)
    assert event.fault == "disconnect_after=2 (connection dropped)"
    assert len(event.kept_frames()) == 2


async def test_body_disconnect_after_bytes(aiohttp_client: ClientFactory) -> None:
    event = record()
    sent = completion()
    reply = Reply(payload=Completed(sent), plan=parse_fault("disconnect_after=10"))
    data = await received_before_drop(await serve(aiohttp_client, reply, event=event))
    assert data == json_bytes.dumps(sent.to_json())[:10]
    assert event.kept_frames()[0].fault == "truncated"


async def test_malformed_body_is_cut_in_half(aiohttp_client: ClientFactory) -> None:
    sent = completion()
    reply = Reply(payload=Completed(sent), plan=parse_fault("malformed_at=0"))
    response, body = await fetch(await serve(aiohttp_client, reply))
    assert response.status == 200
    whole = json_bytes.dumps(sent.to_json())
    assert body == whole[: len(whole) // 2]
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        json.loads(body)


async def test_split_writes_carry_the_same_bytes(aiohttp_client: ClientFactory) -> None:
    sent = completion()
    plain = Reply(payload=Completed(sent))
    split = Reply(payload=Completed(sent), plan=parse_fault("split_bytes=64, seed=3"))
    _, whole = await fetch(await serve(aiohttp_client, plain, stream=True))
    _, pieces = await fetch(await serve(aiohttp_client, split, stream=True))
    assert pieces == whole


async def test_crlf_and_no_done_reach_the_wire(aiohttp_client: ClientFactory) -> None:
    reply = Reply(payload=Completed(completion()), plan=parse_fault("crlf, no_done"))
    _, body = await fetch(await serve(aiohttp_client, reply, stream=True))
    text = body.decode()
    assert text.endswith("\r\n\r\n")
    assert "\n\n" not in text.replace("\r\n\r\n", "")
    assert "[DONE]" not in text


def data_events(body: bytes) -> list[str]:
    """The blocks of an SSE body, comments included."""
    return [block for block in body.decode().split("\n\n") if block]


async def test_pings_fill_the_wait_for_the_first_token(aiohttp_client: ClientFactory) -> None:
    event = record()
    reply = Reply(payload=Completed(completion()), plan=parse_fault("ttft_ms=200, ping_ms=60"))
    _, body = await fetch(await serve(aiohttp_client, reply, stream=True, event=event))
    blocks = data_events(body)
    assert blocks[0].startswith("data: {")  # the role chunk goes out at once
    pings = blocks[1 : blocks.index(next(b for b in blocks[1:] if b.startswith("data:")))]
    assert pings == [": ping"] * 3  # at 60, 120 and 180 ms of the 200 ms wait
    assert [f.fault for f in event.kept_frames()].count("ping") == 3
    assert blocks[-1] == "data: [DONE]"


async def test_stall_keeps_the_socket_open_until_the_client_leaves(
    aiohttp_client: ClientFactory,
) -> None:
    event = record()
    reply = Reply(payload=Completed(completion()), plan=parse_fault("stall_after=2, ping_ms=30"))
    client = await serve(aiohttp_client, reply, stream=True, event=event)
    response = await client.post("/")
    seen = b""
    while seen.count(b": ping\n\n") < 2:  # the two frames, then pings and nothing else
        seen += await asyncio.wait_for(response.content.readany(), 5)
    response.close()  # the client gives up
    for _ in range(100):
        if event.client_hung_up:
            break
        await asyncio.sleep(0.02)
    assert event.client_hung_up
    blocks = data_events(seen)
    assert [b.startswith("data: {") for b in blocks[:2]] == [True, True]
    assert set(blocks[2:]) == {": ping"}


async def test_parallel_tool_calls_can_be_interleaved(aiohttp_client: ClientFactory) -> None:
    calls = (
        ToolCall(id="call_a", name="one", arguments='{"city":"Paris","days":3,"unit":"C"}'),
        ToolCall(id="call_b", name="two", arguments='{"city":"Tokyo","days":5,"unit":"F"}'),
    )
    choice = Choice(index=0, content=None, finish_reason="tool_calls", tool_calls=calls)
    sent = Completion(
        model="gpt-4o", choices=(choice,), usage=Usage(prompt_tokens=1, completion_tokens=1)
    )
    order: dict[str, list[int]] = {}
    rebuilt: dict[str, dict[int, str]] = {}
    for fault in ("", "interleave_tools"):
        reply = Reply(payload=Completed(sent), plan=parse_fault(fault) if fault else FaultPlan())
        _, body = await fetch(await serve(aiohttp_client, reply, stream=True))
        deltas = [
            call
            for chunk in sse_chunks(body)
            for c in chunk["choices"]
            for call in c["delta"].get("tool_calls") or ()
        ]
        order[fault] = [d["index"] for d in deltas]
        rebuilt[fault] = {
            i: "".join(d["function"]["arguments"] for d in deltas if d["index"] == i)
            for i in (0, 1)
        }
    assert order[""] == sorted(order[""])
    assert order["interleave_tools"] != sorted(order["interleave_tools"])
    assert (
        rebuilt[""] == rebuilt["interleave_tools"] == {0: calls[0].arguments, 1: calls[1].arguments}
    )
