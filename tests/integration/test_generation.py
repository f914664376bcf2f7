"""Generated replies: deterministic per body and seed, in the prompt's language, within limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from mockserver.replies import tokens
from tests.support import CJK, assert_valid_completion, body_with, check_stream, completion, stream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


def content_of(reply: dict[str, Any], index: int = 0) -> str:
    content = reply["choices"][index]["message"]["content"]
    assert isinstance(content, str)
    return content


async def test_same_body_same_content(client: TestClient[Any, Any]) -> None:
    first = await completion(client, body_with())
    second = await completion(client, body_with())
    assert content_of(first) == content_of(second)
    assert first["usage"] == second["usage"]
    assert first["id"] != second["id"]


async def test_different_seed_different_content(client: TestClient[Any, Any]) -> None:
    contents = {content_of(await completion(client, body_with(seed=s))) for s in range(5)}
    assert len(contents) == 5


async def test_equal_seeds_written_differently_agree(client: TestClient[Any, Any]) -> None:
    assert content_of(await completion(client, body_with(seed=3))) == content_of(
        await completion(client, body_with(seed=3.0))
    )


async def test_different_prompt_different_content(client: TestClient[Any, Any]) -> None:
    one = await completion(client, body_with(messages=[{"role": "user", "content": "one"}]))
    two = await completion(client, body_with(messages=[{"role": "user", "content": "two"}]))
    assert content_of(one) != content_of(two)


async def test_server_seed_is_honoured(make_client: MakeClient) -> None:
    body = body_with()
    seven_a = content_of(await completion(await make_client(seed=7), body))
    seven_b = content_of(await completion(await make_client(seed=7), body))
    eight = content_of(await completion(await make_client(seed=8), body))
    unseeded = content_of(await completion(await make_client(), body))
    assert seven_a == seven_b, "same server seed, same reply across servers"
    assert seven_a != eight
    assert seven_a != unseeded


async def test_request_seed_beats_server_seed(make_client: MakeClient) -> None:
    body = body_with(seed=1)
    on_seven = content_of(await completion(await make_client(seed=7), body))
    on_default = content_of(await completion(await make_client(), body))
    assert on_seven == on_default


async def test_stream_and_plain_give_the_same_content(
    client: TestClient[Any, Any], chunk_schema: jsonschema.Draft7Validator
) -> None:
    body = body_with(seed=11)
    plain = await completion(client, body)
    streamed = check_stream(await stream(client, body), chunk_schema, include_usage=False)
    assert streamed.content[0] == content_of(plain)


@pytest.mark.parametrize(
    "prompt",
    ["你好，请介绍一下你自己。", "帮我总结一下HTTP是什么。", "北京"],
    ids=["intro", "http", "word"],
)
async def test_chinese_prompt_gets_chinese(client: TestClient[Any, Any], prompt: str) -> None:
    reply = await completion(client, body_with(messages=[{"role": "user", "content": prompt}]))
    content = content_of(reply)
    assert len(CJK.findall(content)) > len(content) / 2, content


@pytest.mark.parametrize(
    "prompt", ["Hello, who are you?", "Summarise HTTP.", "ok"], ids=["intro", "http", "word"]
)
async def test_english_prompt_gets_no_cjk(client: TestClient[Any, Any], prompt: str) -> None:
    reply = await completion(client, body_with(messages=[{"role": "user", "content": prompt}]))
    content = content_of(reply)
    assert not CJK.search(content), content
    assert content.isascii()


async def test_language_follows_the_last_user_message(client: TestClient[Any, Any]) -> None:
    messages = [
        {"role": "system", "content": "你是一个有帮助的助手。"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好！"},
        {"role": "user", "content": [{"type": "text", "text": "Now answer in English, please."}]},
    ]
    assert not CJK.search(content_of(await completion(client, body_with(messages=messages))))


@pytest.mark.parametrize(
    ("prompt", "stop"),
    [
        ("Tell me about HTTP.", "\n\n"),
        ("Tell me about HTTP.", ["\n", "."]),
        ("Tell me about HTTP.", [" ", "STOP"]),
        ("帮我总结一下HTTP是什么。", "，"),
        ("帮我总结一下HTTP是什么。", ["。", "\n\n"]),
    ],
    ids=["paragraph", "line-or-dot", "space", "zh-comma", "zh-full-stop"],
)
async def test_stop_never_appears(
    client: TestClient[Any, Any],
    chunk_schema: jsonschema.Draft7Validator,
    prompt: str,
    stop: str | list[str],
) -> None:
    stops = [stop] if isinstance(stop, str) else stop
    body = body_with(messages=[{"role": "user", "content": prompt}], stop=stop, n=3)
    reply = await completion(client, body)
    streamed = check_stream(await stream(client, body), chunk_schema, include_usage=False)
    for choice in reply["choices"]:
        content = choice["message"]["content"]
        assert content, "every generated answer has text before its first stop"
        assert not [s for s in stops if s in content], (stops, content)
        assert choice["finish_reason"] == "stop"
        assert streamed.content[choice["index"]] == content


async def test_paragraph_stop_keeps_only_the_first_paragraph(
    client: TestClient[Any, Any],
) -> None:
    """Answers have several paragraphs; with stop "\n\n" only the first one is left.

    (The stop is part of the body, so the two answers come from different random draws: only
    their shape can be compared.)
    """
    full = content_of(await completion(client, body_with(seed=5)))
    stopped = content_of(await completion(client, body_with(seed=5, stop="\n\n")))
    assert full.count("\n\n") >= 2
    assert stopped
    assert "\n" not in stopped


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("limit", [1, 5, 17])
async def test_token_limit(
    client: TestClient[Any, Any],
    completion_schema: jsonschema.Draft7Validator,
    field: str,
    limit: int,
) -> None:
    reply = await completion(client, body_with(**{field: limit}))
    assert_valid_completion(reply, completion_schema)
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] <= limit
    assert tokens.count(choice["message"]["content"]) == reply["usage"]["completion_tokens"]


async def test_max_completion_tokens_wins_over_max_tokens(client: TestClient[Any, Any]) -> None:
    reply = await completion(client, body_with(max_tokens=500, max_completion_tokens=3))
    assert reply["usage"]["completion_tokens"] <= 3
    assert reply["choices"][0]["finish_reason"] == "length"


async def test_large_limit_finishes_with_stop(client: TestClient[Any, Any]) -> None:
    reply = await completion(client, body_with(max_tokens=100_000))
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"]["completion_tokens"] < 100_000


@pytest.mark.parametrize("n", [1, 2, 5])
async def test_n_choices(
    client: TestClient[Any, Any], completion_schema: jsonschema.Draft7Validator, n: int
) -> None:
    reply = await completion(client, body_with(n=n))
    assert_valid_completion(reply, completion_schema)
    assert [c["index"] for c in reply["choices"]] == list(range(n))
    contents = [content_of(reply, i) for i in range(n)]
    assert len(set(contents)) == n, "each choice is its own answer"
    assert reply["usage"]["completion_tokens"] == sum(tokens.count(c) for c in contents)


async def test_usage_counts_the_prompt(client: TestClient[Any, Any]) -> None:
    short = await completion(client, body_with(messages=[{"role": "user", "content": "hi"}]))
    long_text = "hello there " * 50
    long = await completion(client, body_with(messages=[{"role": "user", "content": long_text}]))
    difference = long["usage"]["prompt_tokens"] - short["usage"]["prompt_tokens"]
    assert difference == tokens.count(long_text) - tokens.count("hi")


async def test_latency_checkpoint(client: TestClient[Any, Any]) -> None:
    usage = (await completion(client, body_with()))["usage"]
    checkpoint = usage["latency_checkpoint"]
    assert len(checkpoint) == 9
    assert list(checkpoint) == sorted(checkpoint), "keys in alphabetical order, as the gateway"
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in checkpoint.values())
    assert checkpoint["engine_ttlt_ms"] >= checkpoint["engine_ttft_ms"]
    assert checkpoint["service_ttlt_ms"] >= checkpoint["service_ttft_ms"]
