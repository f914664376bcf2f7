"""replies/completion.py on its own: the reply as data and its chat.completion JSON."""

from __future__ import annotations

import re
from random import Random

import jsonschema
import pytest

from mockserver.contract.schemas import response_validator
from mockserver.replies.completion import (
    REPLAY_EPOCH,
    Choice,
    Completion,
    ToolCall,
    Usage,
    fingerprint,
    latency_checkpoint,
    new_id,
    replayable,
)


@pytest.fixture(scope="module")
def schema() -> jsonschema.Draft7Validator:
    return response_validator("response")


def usage(prompt: int = 10, completion: int = 4, reasoning: int = 0) -> Usage:
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        reasoning_tokens=reasoning,
        cached_tokens=2,
        latency_checkpoint=latency_checkpoint(Random(1), completion),
    )


def called(id: str = "call_x", scripted: bool = False) -> ToolCall:
    return ToolCall(id=id, name="lookup", arguments='{"q":"x"}', scripted_id=scripted)


TEXT = Choice(index=0, content="Hi there.", finish_reason="stop")
CALLS = Choice(
    index=1,
    content=None,
    finish_reason="tool_calls",
    reasoning_content="Need data.",
    tool_calls=(called("call_a", scripted=True), called("call_b")),
)
LEGACY = Choice(index=2, content=None, finish_reason="function_call", function_call=called(""))


def completion() -> Completion:
    return Completion(model="gpt-4o", choices=(TEXT, CALLS, LEGACY), usage=usage())


@pytest.mark.parametrize(("prefix", "length"), [("chatcmpl-", 29), ("call_", 24), ("x", 3)])
def test_new_id_shape(prefix: str, length: int) -> None:
    ids = {new_id(prefix, length) for _ in range(200)}
    # 62**3 values: 200 draws of 3 characters collide 8% of the time (the birthday bound)
    assert len(ids) >= (190 if length < 8 else 200)
    for value in ids:
        assert re.fullmatch(re.escape(prefix) + f"[A-Za-z0-9]{{{length}}}", value), value


def test_fingerprint_is_stable_per_model() -> None:
    # Pinned: the golden replies and users' snapshots carry it.
    assert fingerprint("gpt-4o") == "fp_a2a69af70d"
    assert fingerprint("o3") != fingerprint("gpt-4o")
    assert re.fullmatch(r"fp_[0-9a-f]{10}", fingerprint("o3"))
    assert completion().system_fingerprint == fingerprint("gpt-4o")


def test_message_json_of_text_calls_and_legacy() -> None:
    assert TEXT.message_json() == {
        "role": "assistant",
        "content": "Hi there.",
        "refusal": None,
        "annotations": [],
    }
    calls = CALLS.message_json()
    assert calls["content"] is None
    assert calls["reasoning_content"] == "Need data."
    assert calls["tool_calls"] == [
        {
            "id": "call_a",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q":"x"}'},
        },
        {
            "id": "call_b",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q":"x"}'},
        },
    ]
    assert "function_call" not in calls
    legacy = LEGACY.message_json()
    assert legacy["function_call"] == {"name": "lookup", "arguments": '{"q":"x"}'}
    assert "tool_calls" not in legacy
    assert "reasoning_content" not in legacy


def test_usage_json_totals_and_details() -> None:
    data = usage(prompt=10, completion=4, reasoning=3).to_json()
    assert data["total_tokens"] == 14
    assert data["prompt_tokens_details"] == {"cached_tokens": 2, "audio_tokens": 0}
    assert data["completion_tokens_details"]["reasoning_tokens"] == 3
    assert list(data["latency_checkpoint"]) == sorted(data["latency_checkpoint"])


@pytest.mark.parametrize("tokens", [0, 1, 50])
def test_latency_checkpoint_is_consistent(tokens: int) -> None:
    timings = latency_checkpoint(Random(tokens), tokens)
    assert all(v > 0 for v in timings.values())
    steps = max(tokens - 1, 0)
    assert timings["engine_ttlt_ms"] == timings["engine_ttft_ms"] + timings["engine_tbt_ms"] * steps
    overhead = timings["service_ttft_ms"] - timings["engine_ttft_ms"]
    assert 120 <= overhead <= 260
    assert timings["service_ttlt_ms"] == timings["engine_ttlt_ms"] + overhead
    assert timings["user_visible_ttft_ms"] <= timings["total_duration_ms"]
    assert latency_checkpoint(Random(tokens), tokens) == timings


def test_to_json_shape_validates(schema: jsonschema.Draft7Validator) -> None:
    reply = completion().to_json()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(reply)]
    assert not errors, errors
    assert reply["object"] == "chat.completion"
    assert reply["id"].startswith("chatcmpl-")
    assert [c["finish_reason"] for c in reply["choices"]] == ["stop", "tool_calls", "function_call"]
    assert [c["index"] for c in reply["choices"]] == [0, 1, 2]
    assert all(c["logprobs"] is None for c in reply["choices"])
    assert reply["service_tier"] == "default"
    assert reply["usage"]["total_tokens"] == 14


def test_replayable_draws_ids_from_the_seed() -> None:
    original = completion()
    first, again = replayable(original, 3), replayable(completion(), 3)
    assert first.to_json() == again.to_json()
    assert first.created == REPLAY_EPOCH
    assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", first.id)
    other = replayable(original, 4)
    assert other.id != first.id
    kept, drawn = first.choices[1].tool_calls
    assert kept.id == "call_a"  # the fixture wrote it: kept
    assert drawn.id != "call_b"
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", drawn.id)
    assert other.choices[1].tool_calls[1].id != drawn.id
    # Only the ids and `created` change.
    assert [c.content for c in first.choices] == [c.content for c in original.choices]
    assert first.usage == original.usage
