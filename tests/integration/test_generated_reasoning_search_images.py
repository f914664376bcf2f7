"""Generated replies that think, cite search results, and price images (issue #4).

Reasoning: enable_thinking (top level or in a literal extra_body), reasoning_effort, a model
ending in -thinking; reasoning_content before content, its tokens counted in usage. Search:
web_search_options or a -search model; url_citation annotations index the cited link. Images:
http(s) URLs taken unseen, data: URIs checked and sized, tokens by OpenAI's rule.
"""

from __future__ import annotations

import base64
import re
import socket
import struct
import zlib
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from mockserver.replies import tokens
from tests.support import (
    assert_valid_completion,
    body_with,
    check_stream,
    completion,
    error_of,
    post_chat,
    stream,
)

Client = TestClient[Any, Any]
PROMPT = [{"role": "user", "content": "Why is the sky blue? Think it through."}]


async def reply_to(
    client: Client, schema: jsonschema.Draft7Validator, **fields: Any
) -> dict[str, Any]:
    reply = await completion(client, body_with(**fields))
    assert_valid_completion(reply, schema)
    return reply


# Reasoning.

THINKING = {
    "enable_thinking": {"enable_thinking": True},
    "extra_body": {"extra_body": {"enable_thinking": True}},
    "model-suffix": {"model": "deepseek-v3-thinking"},
    "reasoning_effort": {"model": "o3-mini", "reasoning_effort": "medium"},
    "deepseek-reasoner": {"model": "deepseek-reasoner"},  # reasoning models think by default
    "deepseek-r1": {"model": "DeepSeek-R1-0528"},
    "qwq": {"model": "qwq-32b"},
}
NOT_THINKING = {
    "nothing": {},
    "deepseek-chat": {"model": "deepseek-chat"},
    "enable_thinking-false": {"enable_thinking": False},
    "extra_body-false": {"extra_body": {"enable_thinking": False}},
}


def check_reasoning_usage(reply: dict[str, Any]) -> str:
    """reasoning_content is counted in reasoning_tokens, and those in completion_tokens."""
    message = reply["choices"][0]["message"]
    reasoning = message["reasoning_content"]
    assert isinstance(reasoning, str)
    assert reasoning.strip()
    usage = reply["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == tokens.count(reasoning)
    assert usage["completion_tokens"] == tokens.count(reasoning) + tokens.count(
        message["content"] or ""
    )
    return reasoning


@pytest.mark.parametrize("fields", list(THINKING.values()), ids=list(THINKING))
async def test_thinking_gives_reasoning_content(
    client: Client, completion_schema: jsonschema.Draft7Validator, fields: dict[str, Any]
) -> None:
    reply = await reply_to(client, completion_schema, messages=PROMPT, **fields)
    reasoning = check_reasoning_usage(reply)
    message = reply["choices"][0]["message"]
    assert message["content"], "thinking comes with an answer"
    assert message["content"] not in reasoning
    assert reply["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("fields", list(NOT_THINKING.values()), ids=list(NOT_THINKING))
async def test_no_thinking_no_reasoning(
    client: Client, completion_schema: jsonschema.Draft7Validator, fields: dict[str, Any]
) -> None:
    reply = await reply_to(client, completion_schema, messages=PROMPT, **fields)
    assert "reasoning_content" not in reply["choices"][0]["message"]
    assert reply["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    assert reply["usage"]["completion_tokens"] == tokens.count(
        reply["choices"][0]["message"]["content"]
    )


async def test_higher_effort_thinks_longer(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    """For one prompt and seed, low < medium < high reasoning tokens, whatever the seed."""
    for seed in range(40):
        counts = []
        for effort in ("low", "medium", "high"):
            reply = await reply_to(
                client,
                completion_schema,
                model="o3-mini",
                messages=PROMPT,
                reasoning_effort=effort,
                seed=seed,
            )
            check_reasoning_usage(reply)
            counts.append(reply["usage"]["completion_tokens_details"]["reasoning_tokens"])
        assert counts[0] < counts[1] < counts[2], (seed, counts)


@pytest.mark.parametrize("fields", list(THINKING.values()), ids=list(THINKING))
async def test_streamed_reasoning_comes_before_content(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
    fields: dict[str, Any],
) -> None:
    body = body_with(messages=PROMPT, seed=3, **fields)
    plain = await completion(client, body)
    assert_valid_completion(plain, completion_schema)
    chunks = await stream(client, {**body, "stream_options": {"include_usage": True}})
    summary = check_stream(chunks, chunk_schema, include_usage=True)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    reasoning_at = [i for i, d in enumerate(deltas) if "reasoning_content" in d]
    content_at = [i for i, d in enumerate(deltas) if d.get("content")]
    assert len(reasoning_at) > 1, "reasoning streams in several deltas"
    assert content_at
    assert max(reasoning_at) < min(content_at), "all reasoning before the first content"
    assert not [d for d in deltas if "reasoning_content" in d and "content" in d]
    message = plain["choices"][0]["message"]
    assert summary.reasoning[0] == message["reasoning_content"]
    assert summary.content[0] == message["content"]
    assert summary.usage is not None
    assert summary.usage["completion_tokens_details"]["reasoning_tokens"] == tokens.count(
        summary.reasoning[0]
    )
    assert summary.usage["completion_tokens"] == plain["usage"]["completion_tokens"]


async def test_thinking_before_a_tool_call(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    body = body_with(enable_thinking=True, tools=[tool], tool_choice="required")
    reply = await completion(client, body)
    assert_valid_completion(reply, completion_schema)
    message = reply["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"]
    reasoning = message["reasoning_content"]
    assert reasoning
    assert reply["usage"]["completion_tokens_details"]["reasoning_tokens"] == tokens.count(
        reasoning
    )
    chunks = await stream(client, body)
    check_stream(chunks, chunk_schema, include_usage=False)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    last_reasoning = max(i for i, d in enumerate(deltas) if "reasoning_content" in d)
    first_call = min(i for i, d in enumerate(deltas) if "tool_calls" in d)
    assert last_reasoning < first_call


@pytest.mark.parametrize("limit", [3, 20])
async def test_max_tokens_bounds_reasoning_too(
    client: Client, completion_schema: jsonschema.Draft7Validator, limit: int
) -> None:
    """max_completion_tokens counts reasoning tokens (as OpenAI's does): thinking that fills
    the budget leaves an empty answer with finish_reason length, never more tokens."""
    reply = await reply_to(
        client,
        completion_schema,
        model="o3-mini",
        messages=PROMPT,
        reasoning_effort="high",
        max_completion_tokens=limit,
    )
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] <= limit
    check_reasoning_usage(reply)


# Search.

SEARCH = {
    "web_search_options": {"web_search_options": {}},
    "search_context_size": {"web_search_options": {"search_context_size": "low"}},
    "model-suffix": {"model": "gpt-4o-search"},
    "zh": {
        "web_search_options": {"search_context_size": "medium"},
        "messages": [{"role": "user", "content": "近期有哪些关于AI代理的高质量文章?"}],
    },
}
LINK = re.compile(r"\(\[(?P<text>[^\]]+)\]\((?P<url>https?://[^\s()]+)\)\)")


def check_citations(content: str, annotations: list[dict[str, Any]]) -> None:
    """Each annotation's [start_index:end_index] is exactly a Markdown link to its url."""
    assert annotations, "a search answer cites its sources"
    end = 0
    for annotation in annotations:
        assert annotation["type"] == "url_citation"
        cited = annotation["url_citation"]
        assert set(cited) == {"start_index", "end_index", "url", "title"}, cited
        assert cited["start_index"] >= end, "citations in order, not overlapping"
        end = cited["end_index"]
        link = LINK.fullmatch(content[cited["start_index"] : cited["end_index"]])
        assert link, (content[cited["start_index"] : cited["end_index"]], cited)
        assert link["url"] == cited["url"]
        assert cited["title"].strip()
    assert end <= len(content)


@pytest.mark.parametrize("fields", list(SEARCH.values()), ids=list(SEARCH))
async def test_search_answers_cite_their_sources(
    client: Client, completion_schema: jsonschema.Draft7Validator, fields: dict[str, Any]
) -> None:
    for seed in range(3):
        reply = await reply_to(client, completion_schema, seed=seed, **fields)
        message = reply["choices"][0]["message"]
        check_citations(message["content"], message["annotations"])


async def test_no_search_no_annotations(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    reply = await reply_to(client, completion_schema)
    assert reply["choices"][0]["message"]["annotations"] == []
    assert "](http" not in reply["choices"][0]["message"]["content"]


@pytest.mark.parametrize("fields", list(SEARCH.values()), ids=list(SEARCH))
async def test_streamed_search_answer_carries_its_annotations(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
    fields: dict[str, Any],
) -> None:
    body = body_with(seed=5, **fields)
    plain = await completion(client, body)
    assert_valid_completion(plain, completion_schema)
    chunks = await stream(client, body)
    summary = check_stream(chunks, chunk_schema, include_usage=False)
    assert any("annotations" in c["choices"][0]["delta"] for c in chunks)
    check_citations(summary.content[0], summary.annotations[0])
    assert summary.content[0] == plain["choices"][0]["message"]["content"]
    assert summary.annotations[0] == plain["choices"][0]["message"]["annotations"]


@pytest.mark.parametrize("limit", [30, 60])
async def test_truncated_search_answer_keeps_only_whole_citations(
    client: Client, completion_schema: jsonschema.Draft7Validator, limit: int
) -> None:
    full = await reply_to(client, completion_schema, model="gpt-4o-search", seed=1)
    cut = await reply_to(client, completion_schema, model="gpt-4o-search", seed=1, max_tokens=limit)
    content = cut["choices"][0]["message"]["content"]
    annotations = cut["choices"][0]["message"]["annotations"]
    assert cut["choices"][0]["finish_reason"] == "length"
    assert len(annotations) < len(full["choices"][0]["message"]["annotations"])
    for annotation in annotations:
        cited = annotation["url_citation"]
        assert LINK.fullmatch(content[cited["start_index"] : cited["end_index"]])


# Images.


def png(width: int, height: int) -> bytes:
    """A real black 8-bit grayscale PNG of that size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + bytes(width) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


PNG_1024 = data_uri(png(1024, 1024))
PNG_512 = data_uri(png(512, 512))
REMOTE = "https://images.example.com/cat.png"
TEXT_PART = {"type": "text", "text": "What is in this image?"}


def with_image(url: str, detail: str | None = None) -> list[dict[str, Any]]:
    image: dict[str, Any] = {"url": url}
    if detail is not None:
        image["detail"] = detail
    return [{"role": "user", "content": [TEXT_PART, {"type": "image_url", "image_url": image}]}]


async def prompt_tokens(client: Client, messages: list[dict[str, Any]]) -> int:
    reply = await completion(client, body_with(messages=messages))
    count: int = reply["usage"]["prompt_tokens"]
    return count


async def test_image_urls_are_never_fetched(
    client: Client, completion_schema: jsonschema.Draft7Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []
    resolve, connect = socket.getaddrinfo, socket.create_connection

    def spy_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        return resolve(host, *args, **kwargs)

    def spy_connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(address)
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy_resolve)
    monkeypatch.setattr(socket, "create_connection", spy_connect)
    for detail in (None, "low", "high"):
        reply = await reply_to(client, completion_schema, messages=with_image(REMOTE, detail))
        assert reply["choices"][0]["message"]["content"]
    assert not [a for a in asked if "example.com" in str(a)], asked


async def test_a_real_png_data_uri_is_accepted(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    reply = await reply_to(client, completion_schema, messages=with_image(PNG_512))
    assert reply["choices"][0]["message"]["content"]
    summary = check_stream(
        await stream(client, body_with(messages=with_image(PNG_512))),
        chunk_schema,
        include_usage=False,
    )
    assert summary.finish_reason == {0: "stop"}


NOT_IMAGES = {
    "text": data_uri(b"hello, world", "image/png"),
    "truncated-png": data_uri(png(4, 4)[:20]),
    "text-media-type": data_uri(png(4, 4), "text/plain"),
    "not-base64": "data:image/png;base64,@@@not base64@@@",
}


@pytest.mark.parametrize("url", list(NOT_IMAGES.values()), ids=list(NOT_IMAGES))
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
async def test_a_data_uri_that_is_not_an_image_is_refused(
    client: Client, url: str, streamed: bool
) -> None:
    body = body_with(messages=with_image(url), stream=streamed)
    error = await error_of(await post_chat(client, body), 400)
    assert error["param"] == "messages[0].content[1].image_url.url"
    assert error["code"] == "invalid_image_url"
    assert error["type"] == "invalid_request_error"
    assert "messages[0].content[1].image_url.url" in error["message"]


async def test_the_refused_part_is_named_where_it_is(client: Client) -> None:
    messages = [
        {"role": "system", "content": "You describe images."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi! Send me an image."},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": PNG_512}},
                TEXT_PART,
                {"type": "image_url", "image_url": {"url": NOT_IMAGES["text"]}},
            ],
        },
    ]
    error = await error_of(await post_chat(client, body_with(messages=messages)), 400)
    assert error["param"] == "messages[3].content[2].image_url.url"


@pytest.mark.parametrize(
    ("url", "detail", "image_tokens"),
    [
        (PNG_1024, "low", 85),
        (PNG_1024, "high", 765),  # 1024 -> 768x768: 2x2 tiles, 85 + 4 x 170
        (PNG_1024, "auto", 765),
        (PNG_1024, None, 765),
        (PNG_512, "high", 255),  # one tile: 85 + 170
        (PNG_512, "low", 85),
        (REMOTE, "high", 765),  # unseen: priced as 1024x1024
        (REMOTE, "low", 85),
    ],
    ids=[
        "1024-low",
        "1024-high",
        "1024-auto",
        "1024-default",
        "512-high",
        "512-low",
        "url-high",
        "url-low",
    ],
)
async def test_image_tokens_follow_the_published_rule(
    client: Client, url: str, detail: str | None, image_tokens: int
) -> None:
    without = await prompt_tokens(client, [{"role": "user", "content": [TEXT_PART]}])
    assert await prompt_tokens(client, with_image(url, detail)) - without == image_tokens


async def test_detail_low_vs_high_for_the_same_png(client: Client) -> None:
    low = await prompt_tokens(client, with_image(PNG_1024, "low"))
    high = await prompt_tokens(client, with_image(PNG_1024, "high"))
    assert high - low == 765 - 85
