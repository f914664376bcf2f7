"""stream_faults: the structural stream faults as pure transforms, frames in and frames out."""

from __future__ import annotations

import json
from random import Random
from typing import Any

import pytest

from mockserver.replies.completion import Choice, Completion, ToolCall, Usage, latency_checkpoint
from mockserver.wire import sse
from mockserver.wire.chunks import chunks
from mockserver.wire.faults import FaultPlan
from mockserver.wire.stream_faults import STREAM_ERROR, Frame, apply, interleaved

TEXT = "Streams break in many ways, and every client must survive each one of them."
PARIS = '{"city": "Paris", "unit": "celsius", "days": 3, "hourly": false}'
LYON = '{"city": "Lyon", "unit": "fahrenheit", "days": 10}'


def completion(*choices: Choice) -> Completion:
    return Completion(
        model="gpt-4o",
        choices=choices,
        usage=Usage(
            prompt_tokens=12,
            completion_tokens=20,
            latency_checkpoint=latency_checkpoint(Random(0), 20),
        ),
    )


def text_events(*, include_usage: bool = False) -> list[dict[str, Any]]:
    reply = completion(Choice(index=0, content=TEXT, finish_reason="stop"))
    return list(chunks(reply, include_usage=include_usage))


def tool_events(*arguments: str) -> list[dict[str, Any]]:
    calls = tuple(
        ToolCall(id=f"call_{i:024d}", name=f"tool_{i}", arguments=a)
        for i, a in enumerate(arguments)
    )
    reply = completion(Choice(index=0, content=None, finish_reason="tool_calls", tool_calls=calls))
    return list(chunks(reply, include_usage=False))


def payloads(frames: list[Frame]) -> list[bytes]:
    return [data for data, _ in frames]


def decoded(data: bytes) -> Any:
    assert data.startswith(b"data: ")
    assert data.endswith(b"\n\n")
    return json.loads(data[len(b"data: ") : -2])


def baseline(events: list[dict[str, Any]]) -> list[bytes]:
    return [sse.frame(e) for e in events] + [sse.DONE]


def test_no_fault_is_the_plain_stream() -> None:
    events = text_events()
    assert len(events) >= 6, "the text needs several content chunks"
    frames = apply(events, FaultPlan())
    assert payloads(frames) == baseline(events)
    assert all(note is None for _, note in frames)
    assert frames[-1] == (b"data: [DONE]\n\n", None)


def test_no_done_drops_only_the_terminator() -> None:
    events = text_events()
    frames = apply(events, FaultPlan(no_done=True))
    assert payloads(frames) == baseline(events)[:-1]
    assert b"[DONE]" not in b"".join(payloads(frames))


@pytest.mark.parametrize("at", [0, 2, 5])
def test_malformed_at_breaks_that_frame_only(at: int) -> None:
    events = text_events()
    plain = baseline(events)
    frames = apply(events, FaultPlan(malformed_at=at))
    assert len(frames) == len(plain)
    data, note = frames[at]
    assert note == "malformed"
    assert data.startswith(b"data: {")
    assert data.endswith(b"\n\n")
    assert data.count(b"\n") == 2, "still one SSE event, just broken JSON"
    body = data[len(b"data: ") : -2]
    assert plain[at].startswith(b"data: " + body), "a prefix of the real frame"
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    for index, (other, other_note) in enumerate(frames):
        if index != at:
            assert other == plain[index]
            assert other_note is None


def test_malformed_at_past_the_end_changes_nothing() -> None:
    events = text_events()
    assert payloads(apply(events, FaultPlan(malformed_at=len(events) + 5))) == baseline(events)


@pytest.mark.parametrize("at", [0, 1, 3])
def test_error_at_replaces_the_rest_with_an_error_event(at: int) -> None:
    events = text_events()
    frames = apply(events, FaultPlan(error_at=at))
    error = b'data: {"error":' + json.dumps(STREAM_ERROR, separators=(",", ":")).encode() + b"}\n\n"
    assert payloads(frames) == [*baseline(events)[:at], error, sse.DONE]
    assert frames[at][1] == "error_event"
    assert decoded(frames[at][0]) == {
        "error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }


def test_error_at_with_no_done_ends_on_the_error() -> None:
    events = text_events()
    frames = apply(events, FaultPlan(error_at=2, no_done=True))
    assert len(frames) == 3
    assert "error" in decoded(frames[-1][0])


@pytest.mark.parametrize("include_usage", [False, True])
def test_duplicate_finish_sends_the_finish_chunk_twice(include_usage: bool) -> None:
    events = text_events(include_usage=include_usage)
    plain = baseline(events)
    frames = apply(events, FaultPlan(duplicate_finish=True))
    finish = [i for i, e in enumerate(events) if e["choices"] and e["choices"][0]["finish_reason"]]
    assert len(finish) == 1
    at = finish[0]
    assert payloads(frames) == [*plain[: at + 1], plain[at], *plain[at + 1 :]]
    assert frames[at + 1][1] == "duplicate_finish"
    reasons = [
        decoded(d)["choices"][0]["finish_reason"]
        for d, _ in frames[:-1]
        if decoded(d)["choices"] and decoded(d)["choices"][0]["finish_reason"]
    ]
    assert reasons == ["stop", "stop"]
    if include_usage:
        assert decoded(frames[-2][0])["choices"] == [], "the usage chunk stays last"


@pytest.mark.parametrize("at", [0, 1, 4])
def test_empty_delta_at_inserts_an_empty_chunk(at: int) -> None:
    events = text_events()
    plain = baseline(events)
    frames = apply(events, FaultPlan(empty_delta_at=at))
    assert len(frames) == len(plain) + 1
    empty = decoded(frames[at][0])
    assert frames[at][1] == "empty_delta"
    assert empty["choices"] == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}]
    assert {k: v for k, v in empty.items() if k != "choices"} == {
        k: v for k, v in events[0].items() if k != "choices"
    }, "same id, created, model as the rest"
    assert payloads(frames)[:at] + payloads(frames)[at + 1 :] == plain


def test_crlf_changes_every_line_ending() -> None:
    events = text_events()
    frames = apply(events, FaultPlan(crlf=True))
    plain = baseline(events)
    assert payloads(frames) == [p.replace(b"\n", b"\r\n") for p in plain]
    for data, note in frames:
        assert data.endswith(b"\r\n\r\n")
        assert b"\n" not in data.replace(b"\r\n", b"")
        assert note == "crlf"


def test_crlf_keeps_the_notes_of_other_faults() -> None:
    frames = apply(text_events(), FaultPlan(crlf=True, malformed_at=1, error_at=3))
    assert [note for _, note in frames] == ["crlf", "malformed", "crlf", "error_event", "crlf"]
    assert frames[1][0].endswith(b"\r\n\r\n")


def test_faults_combine() -> None:
    events = text_events()
    frames = apply(events, FaultPlan(empty_delta_at=1, duplicate_finish=True, no_done=True))
    assert len(frames) == len(events) + 2
    assert b"[DONE]" not in b"".join(payloads(frames))


def _tool_lanes(events: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    """(index, is_header) of each tool-call delta, in stream order."""
    lanes = []
    for event in events:
        for call in event["choices"][0]["delta"].get("tool_calls") or ():
            lanes.append((call["index"], "id" in call))
    return lanes


def test_interleaved_alternates_argument_fragments() -> None:
    events = tool_events(PARIS, LYON)
    plain = _tool_lanes(events)
    assert plain == sorted(plain, key=lambda lane: lane[0]), "without the fault: call by call"
    mixed = interleaved(events)
    lanes = _tool_lanes(mixed)
    assert lanes[:2] == [(0, True), (1, True)], "both headers first"
    fragments = [index for index, is_header in lanes[2:]]
    assert not any(is_header for _, is_header in lanes[2:])
    shorter = min(fragments.count(0), fragments.count(1))
    assert shorter >= 3, "each call needs several fragments for the test to mean something"
    assert fragments[: 2 * shorter] == [0, 1] * shorter
    assert set(fragments[2 * shorter :]) <= {0}, "the longer call finishes alone"
    assert sorted(map(json.dumps, mixed)) == sorted(map(json.dumps, events)), "same chunks"
    assert mixed[0] == events[0], "the role chunk stays first"
    assert mixed[-1] == events[-1], "the finish chunk stays last"
    joined: dict[int, str] = {}
    for event in mixed:
        for call in event["choices"][0]["delta"].get("tool_calls") or ():
            joined[call["index"]] = joined.get(call["index"], "") + call["function"]["arguments"]
    assert joined == {0: PARIS, 1: LYON}


def test_interleaved_leaves_one_call_and_plain_text_alone() -> None:
    one = tool_events(PARIS)
    assert interleaved(one) == one
    text = text_events()
    assert interleaved(text) == text
