"""SSE replies on the wire: framing, headers, usage chunk rules, n > 1, and agreement with JSON."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import sse_events
from tests.support import body_with, check_stream, completion, post_chat, stream


@pytest.mark.parametrize(
    ("stream_options", "include_usage"),
    [
        (None, False),
        ({"include_usage": True}, True),
        ({"include_usage": False}, False),
        ({}, False),
    ],
    ids=["no-stream-options", "include-usage", "include-usage-false", "empty-stream-options"],
)
async def test_usage_chunk_only_when_asked(
    client: TestClient[Any, Any],
    chunk_schema: jsonschema.Draft7Validator,
    stream_options: dict[str, Any] | None,
    include_usage: bool,
) -> None:
    body = body_with() if stream_options is None else body_with(stream_options=stream_options)
    chunks = await stream(client, body)
    summary = check_stream(chunks, chunk_schema, include_usage=include_usage)
    assert summary.content[0]
    assert summary.finish_reason == {0: "stop"}


async def test_stream_headers_and_framing(client: TestClient[Any, Any]) -> None:
    response = await post_chat(client, body_with(stream=True))
    raw = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.headers
    assert response.headers.get("x-request-id")
    text = raw.decode("utf-8")
    lines = text.splitlines()
    assert not [line for line in lines if line.startswith(("event:", "id:", "retry:"))]
    assert text.endswith("data: [DONE]\n\n"), "exactly [DONE], then the body ends"
    events = sse_events(raw)
    assert events.count("[DONE]") == 1
    assert all(json.loads(e)["object"] == "chat.completion.chunk" for e in events[:-1])


async def test_stream_and_json_reply_agree(
    client: TestClient[Any, Any], chunk_schema: jsonschema.Draft7Validator
) -> None:
    """Same body: the streamed deltas join to the JSON reply's content, with the same usage."""
    body = body_with(n=2, max_tokens=40)
    reply = await completion(client, body)
    chunks = await stream(client, {**body, "stream_options": {"include_usage": True}})
    summary = check_stream(chunks, chunk_schema, include_usage=True)
    for choice in reply["choices"]:
        assert summary.content[choice["index"]] == choice["message"]["content"]
        assert summary.finish_reason[choice["index"]] == choice["finish_reason"]
    assert summary.usage is not None
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert summary.usage[key] == reply["usage"][key]
    assert summary.id != reply["id"], "each reply gets its own id"


async def test_n_choices_streamed_interleaved_in_order(
    client: TestClient[Any, Any], chunk_schema: jsonschema.Draft7Validator
) -> None:
    chunks = await stream(client, body_with(n=3, stream_options={"include_usage": True}))
    summary = check_stream(chunks, chunk_schema, include_usage=True)
    assert summary.first_appearance == [0, 1, 2]
    assert len(set(summary.content.values())) == 3, "three different answers"
    # Interleaved: choice 1 starts before choice 0 is done (not one choice after the other).
    order = [c["choices"][0]["index"] for c in chunks if c["choices"]]
    last_of_0 = max(i for i, index in enumerate(order) if index == 0)
    assert order.index(1) < last_of_0
    usage_chunks = [c for c in chunks if c.get("usage")]
    assert len(usage_chunks) == 1, "one usage chunk per response, even when n > 1"


async def test_stream_options_ignored_without_stream(client: TestClient[Any, Any]) -> None:
    """As the gateway does: stream_options on a plain request is dropped, not an error."""
    reply = await completion(client, body_with(stream_options={"include_usage": True}))
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"]


async def test_stream_false_gets_json(client: TestClient[Any, Any]) -> None:
    reply = await completion(client, body_with(stream=False))
    assert reply["object"] == "chat.completion"


async def test_streamed_length_limit(
    client: TestClient[Any, Any], chunk_schema: jsonschema.Draft7Validator
) -> None:
    chunks = await stream(client, body_with(max_tokens=4, stream_options={"include_usage": True}))
    summary = check_stream(chunks, chunk_schema, include_usage=True)
    assert summary.finish_reason == {0: "length"}
    assert summary.usage is not None
    assert 0 < summary.usage["completion_tokens"] <= 4


async def test_error_on_stream_request_is_plain_json(client: TestClient[Any, Any]) -> None:
    """Before the first byte, a bad stream request gets the normal JSON error, not SSE."""
    response = await post_chat(client, body_with(stream=True, temperature=9))
    assert response.status == 400
    assert response.content_type == "application/json"
    assert (await response.json())["error"]["param"] == "temperature"
