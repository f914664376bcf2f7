"""chunks(): a Completion as OpenAI's stream, checked without the network."""

from __future__ import annotations

import dataclasses
import json
from random import Random
from typing import Any

import jsonschema
import pytest

from mockserver.replies import tokens
from mockserver.replies.completion import Choice, Completion, ToolCall, Usage, latency_checkpoint
from mockserver.replies.logprobs import TokenLogprob
from mockserver.wire import sse
from mockserver.wire.chunks import chunks, sse_frames
from tests.support import assert_valid_completion, check_stream

LONG = "The first answer is long enough to need several chunks of a few tokens each."
SHORT = "Short."


def make(*choices: Choice, completion_tokens: int = 7) -> Completion:
    return Completion(
        model="gpt-4o",
        choices=choices,
        usage=Usage(
            prompt_tokens=11,
            completion_tokens=completion_tokens,
            latency_checkpoint=latency_checkpoint(Random(0), completion_tokens),
        ),
    )


def two_choices() -> Completion:
    return make(
        Choice(index=0, content=LONG, finish_reason="stop"),
        Choice(index=1, content=SHORT, finish_reason="length"),
    )


@pytest.mark.parametrize("include_usage", [False, True])
def test_two_choices_are_interleaved_in_index_order(
    chunk_schema: jsonschema.Draft7Validator, include_usage: bool
) -> None:
    out = list(chunks(two_choices(), include_usage=include_usage))
    summary = check_stream(out, chunk_schema, include_usage=include_usage)
    assert summary.first_appearance == [0, 1]
    assert summary.content == {0: LONG, 1: SHORT}
    assert summary.finish_reason == {0: "stop", 1: "length"}
    order = [c["choices"][0]["index"] for c in out if c["choices"]]
    assert order[:4] == [0, 1, 0, 1], "round robin while both choices have deltas"
    assert order.count(0) > order.count(1), "the long answer keeps going alone"


def test_content_is_split_on_token_boundaries() -> None:
    out = list(
        chunks(make(Choice(index=0, content=LONG, finish_reason="stop")), include_usage=False)
    )
    pieces = [c["choices"][0]["delta"]["content"] for c in out[1:-1]]
    assert "".join(pieces) == LONG
    assert len(pieces) > 1
    for piece in pieces:
        assert 1 <= tokens.count(piece) <= 3


def test_role_delta_then_empty_final_delta() -> None:
    out = list(
        chunks(make(Choice(index=0, content=SHORT, finish_reason="stop")), include_usage=False)
    )
    first, last = out[0]["choices"][0], out[-1]["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert first["finish_reason"] is None
    assert last["delta"] == {}
    assert last["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in out[:-1])


def test_usage_chunk_carries_the_completion_usage() -> None:
    completion = two_choices()
    out = list(chunks(completion, include_usage=True))
    assert out[-1]["choices"] == []
    assert out[-1]["usage"] == completion.usage.to_json()
    assert out[-1]["usage"]["total_tokens"] == 11 + 7
    without = list(chunks(completion, include_usage=False))
    assert all("usage" not in c for c in without)
    assert len(without) == len(out) - 1


def test_envelope_is_shared() -> None:
    completion = two_choices()
    out = list(chunks(completion, include_usage=True))
    assert {(c["id"], c["created"], c["model"]) for c in out} == {
        (completion.id, completion.created, completion.model)
    }
    assert all(c["object"] == "chat.completion.chunk" for c in out)
    assert all(c["system_fingerprint"] == completion.system_fingerprint for c in out)


def tool_choice() -> Choice:
    return Choice(
        index=0,
        content=None,
        finish_reason="tool_calls",
        tool_calls=(
            ToolCall(id="call_abc", name="get_weather", arguments='{"city": "北京", "days": 3}'),
            ToolCall(id="call_def", name="get_time", arguments='{"tz": "Asia/Shanghai"}'),
        ),
    )


def test_tool_call_stream(chunk_schema: jsonschema.Draft7Validator) -> None:
    out = list(chunks(make(tool_choice()), include_usage=False))
    check_stream(out, chunk_schema, include_usage=False)
    deltas = [c["choices"][0]["delta"] for c in out]
    assert deltas[0] == {"role": "assistant", "content": None, "refusal": None}
    calls: dict[int, dict[str, Any]] = {}
    for delta in deltas:
        for call in delta.get("tool_calls", []):
            index = call["index"]
            if index not in calls:
                # The first delta of a call carries id, type, name and (empty) arguments.
                assert set(call) == {"index", "id", "type", "function"}
                assert call["type"] == "function"
                assert call["function"]["arguments"] == ""
                calls[index] = {
                    "id": call["id"],
                    "name": call["function"]["name"],
                    "arguments": "",
                }
            else:
                # Later deltas: only index and an arguments fragment (clients concatenate).
                assert set(call) == {"index", "function"}
                assert set(call["function"]) == {"arguments"}
                calls[index]["arguments"] += call["function"]["arguments"]
    assert sorted(calls) == [0, 1]
    assert calls[0]["id"] == "call_abc"
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "北京", "days": 3}
    assert json.loads(calls[1]["arguments"]) == {"tz": "Asia/Shanghai"}
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_call_reply_matches_the_response_schema(
    completion_schema: jsonschema.Draft7Validator,
) -> None:
    """content: null beside tool_calls is allowed by the response overlay, as OpenAI sends it."""
    reply = make(tool_choice()).to_json()
    assert reply["choices"][0]["message"]["content"] is None
    assert_valid_completion(reply, completion_schema)


def test_reasoning_comes_before_content(chunk_schema: jsonschema.Draft7Validator) -> None:
    choice = Choice(
        index=0, content=SHORT, reasoning_content="Let me think step by step.", finish_reason="stop"
    )
    out = list(chunks(make(choice), include_usage=False))
    check_stream(out, chunk_schema, include_usage=False)
    deltas = [c["choices"][0]["delta"] for c in out]
    kinds = [
        "reasoning" if "reasoning_content" in d else "content"
        for d in deltas[1:]  # after the role delta
        if d.keys() & {"reasoning_content", "content"}
    ]
    assert kinds.count("reasoning") > 0
    assert kinds.count("content") > 0
    assert kinds == sorted(kinds, reverse=True), "all reasoning deltas come before content"
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in out)
    assert reasoning == "Let me think step by step."


def test_three_uneven_choices(chunk_schema: jsonschema.Draft7Validator) -> None:
    completion = make(
        Choice(index=0, content=SHORT, finish_reason="stop"),
        Choice(index=1, content=LONG, finish_reason="stop"),
        Choice(index=2, content="", finish_reason="length"),
    )
    out = list(chunks(completion, include_usage=True))
    summary = check_stream(out, chunk_schema, include_usage=True)
    assert summary.first_appearance == [0, 1, 2]
    assert summary.content == {0: SHORT, 1: LONG, 2: ""}


def _varied() -> list[Completion]:
    calls = (
        ToolCall(id="call_abc", name="get_weather", arguments='{"city": "北京", "days": 3}'),
        ToolCall(id="call_def", name="get_time", arguments='{"tz": "Asia/Shanghai"}'),
    )
    words = tokens.split(SHORT)
    scored = tuple(TokenLogprob(w, -0.25, ((w, -0.25), ("x", -3.5))) for w in words)
    return [
        two_choices(),
        make(Choice(index=0, content="你好，世界！" * 9, finish_reason="stop")),
        make(Choice(index=0, content=None, finish_reason="tool_calls", tool_calls=calls)),
        make(Choice(index=0, content="答案", finish_reason="stop", reasoning_content="想" * 9)),
        make(Choice(index=0, content=SHORT, finish_reason="stop", logprobs=scored)),
        make(Choice(index=0, content="", finish_reason="length")),
    ]


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("completion", _varied())
def test_sse_frames_are_the_chunks_byte_for_byte(
    completion: Completion, include_usage: bool
) -> None:
    expected = [sse.frame(c) for c in chunks(completion, include_usage=include_usage)]
    assert sse_frames(completion, include_usage=include_usage) == [*expected, sse.DONE]


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize(
    ("model", "choice"),
    [
        # values orjson refuses go through the stdlib, ASCII-escaped: the envelope too, then
        ("gpt-4o-é", Choice(index=0, content="a\ud800b", finish_reason="stop")),
        (
            "gpt-4o-é",
            Choice(index=0, content="x", finish_reason="stop", annotations=({"n": 2**70},)),
        ),
    ],
)
def test_sse_frames_match_the_chunks_when_json_needs_the_stdlib(
    model: str, choice: Choice, include_usage: bool
) -> None:
    completion = dataclasses.replace(make(choice), model=model)
    expected = [sse.frame(c) for c in chunks(completion, include_usage=include_usage)]
    assert sse_frames(completion, include_usage=include_usage) == [*expected, sse.DONE]
