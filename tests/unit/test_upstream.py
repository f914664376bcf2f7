"""The upstream package's pure parts: redaction, replies from chunks, match blocks, the
recorder's files, recorded pacing, drift checks, retry waits."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver.journal.store import ServeEvent
from mockserver.stubs.recorded import RecordedStream
from mockserver.upstream import record as record_module
from mockserver.upstream.compare import Answer, drift, framing_problems, shape, shape_drift
from mockserver.upstream.config import Upstream
from mockserver.upstream.exchange import Exchange, UpstreamFrame
from mockserver.upstream.record import Recorder, match_block
from mockserver.upstream.redact import MASK, Redactor
from mockserver.upstream.replies import reply_from_chunks, reply_from_completion
from mockserver.upstream.verify import retry_delay
from mockserver.wire import sse


def test_redactor_masks_keys_by_value_and_by_shape() -> None:
    redactor = Redactor(["my-own-secret-token"])
    text = (
        'key sk-proj-abcdefghijklmnop, header "Authorization: Bearer abc.def-ghi_jkl", '
        '{"api_key": "zzzzzzzz"}, password=hunter22, my-own-secret-token, sk-short'
    )
    safe = redactor.text(text)
    for secret in ("sk-proj-abcdefghijklmnop", "abc.def-ghi_jkl", "zzzzzzzz", "hunter22"):
        assert secret not in safe
    assert "my-own-secret-token" not in safe
    assert "sk-short" in safe, "too short to be a key"
    assert redactor.tree({"a": [text], "sk-keyname-123456789": 1}) == {
        "a": [safe],
        MASK: 1,
    }
    assert redactor.headers({"Authorization": "Bearer x", "X-Other": "sk-abcdefghijkl"}) == {
        "Authorization": MASK,
        "X-Other": MASK,
    }


def test_redactor_first_look_never_misses_what_it_would_mask() -> None:
    redactor = Redactor(["my-own-secret-token"])
    for text in (
        "x sk-abcdefghijkl",
        "BEARER abcdefghijk",
        '"API_KEY": "abcdefgh"',
        "my-own-secret-token",
        "Password=abcdefgh",
    ):
        assert redactor.text(text) != text
        assert redactor.may_match(text.encode())
    usage = b'{"usage": {"completion_tokens": 12, "prompt_tokens_details": {}}}'
    assert not redactor.may_match(usage)


def test_redactor_is_linear_on_hostile_input() -> None:
    hostile = "sk-" + "a" * 200_000 + " bearer " * 20_000 + "api_key=" * 20_000
    assert MASK in Redactor().text(hostile)


def chunk(delta: dict[str, Any], index: int = 0, finish: str | None = None) -> dict[str, Any]:
    return {"model": "m", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_reply_from_chunks_puts_each_choice_back_together() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"role": "assistant", "content": None}, index=1),
        chunk({"reasoning_content": "think "}),
        chunk({"content": "Hel"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "f"}}]}, 1),
        chunk({"content": "lo"}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x":'}}]}, 1),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}, 1),
        chunk({}, 0, "stop"),
        chunk({}, 1, "tool_calls"),
        {"model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    ]
    assert reply_from_chunks(chunks) == {
        "choices": [
            {"content": "Hello", "reasoning_content": "think ", "finish_reason": "stop"},
            {
                "content": None,
                "tool_calls": [{"id": "call_a", "name": "f", "arguments": '{"x": 1}'}],
                "finish_reason": "tool_calls",
            },
        ],
        "model": "m",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    assert reply_from_chunks([{"object": "not a chunk"}]) is None


def test_reply_from_completion_drops_ids_fixtures_cannot_hold() -> None:
    body = {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "function_call",
                "message": {
                    "content": None,
                    "tool_calls": [{"id": "toolu_1", "function": {"name": "f", "arguments": ""}}],
                    "function_call": {"name": "legacy", "arguments": "{}"},
                },
            }
        ],
    }
    reply = reply_from_completion(body)
    assert reply is not None
    assert reply["tool_calls"] == [{"name": "f", "arguments": "{}"}]
    assert reply["function_call"] == {"name": "legacy", "arguments": "{}"}
    assert reply_from_completion({"error": {}}) is None


def test_match_block_tells_turns_apart() -> None:
    body = {
        "model": "gpt-4*",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "call_1", "function": {"name": "get_weather"}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        "response_format": {"type": "json_object"},
        "stream": True,
    }
    everything = match_block(
        body, ("model", "last_user", "last_message", "system", "tools", "response_format", "stream")
    )
    assert everything == {
        "model": {"equals": "gpt-4*"},
        "last_user": {"equals": "weather?"},
        "last_message": {"role": "tool", "tool": "get_weather", "content": {"equals": "sunny"}},
        "system": {"equals": "Be brief."},
        "tools": ["get_weather"],
        "response_format": "json_object",
        "stream": True,
    }
    assert match_block(body, ("model",)) == {"model": {"equals": "gpt-4*"}}


def exchange(*, stream: bool, content: str = "Hi") -> Exchange:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
    done = Exchange(
        url="http://gw/v1/chat/completions",
        request_headers={},
        request_body=json.dumps({**body, "stream": stream}).encode(),
        stream=stream,
        status=200,
    )
    if stream:
        done.add_frame(
            b"data: " + json.dumps(chunk({"content": content}, 0, "stop")).encode() + b"\n\n"
        )
        done.add_frame(b"data: [DONE]\n\n")
    else:
        message = {"role": "assistant", "content": content}
        reply = {
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        done.body = json.dumps(reply).encode()
    return done


def test_recorder_writes_once_and_adds_a_streams_frames(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    first = recorder.save(exchange(stream=False), Redactor())
    assert first is not None
    assert recorder.save(exchange(stream=False, content="Other"), Redactor()) is None
    streamed = recorder.save(exchange(stream=True), Redactor())
    assert streamed == first, "the same request identity: the same file, now with frames"
    (fixture,) = yaml.safe_load(first.read_text())
    assert fixture["reply"]["frames"][0]["data"].startswith('{"model"')
    assert fixture["reply"]["verbatim"] is True
    assert recorder.save(exchange(stream=True), Redactor()) is None
    assert recorder.save(exchange(stream=False), Redactor()) is None
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_incomplete_exchanges_are_not_recorded(tmp_path: Path) -> None:
    broken = exchange(stream=True)
    broken.frames.pop()  # no [DONE]: the stream was cut
    failed = exchange(stream=False)
    failed.status = 429
    for done in (broken, failed):
        assert Recorder(tmp_path).save(done, Redactor()) is None
    assert list(tmp_path.iterdir()) == []


def test_recorded_stream_paces_by_its_timings() -> None:
    usage = json.dumps({"choices": [], "usage": {"prompt_tokens": 1}})
    recorded = RecordedStream.compile(
        [{"at_ms": 100, "data": "{}"}, {"at_ms": 40, "data": "{}"}, {"at_ms": 300, "data": usage}]
    )
    assert recorded.fits(include_usage=True)
    assert not recorded.fits(include_usage=False)
    assert [gap for _, gap in recorded.paced(0.5)] == [50.0, 0.0, 100.0, 0.0]
    assert [data for data, _ in recorded.paced(1)][-1] == b"data: [DONE]\n\n"


def test_shape_drift_reports_the_outermost_difference_and_types() -> None:
    gateway = {"a": {"b": 1, "new": {"deep": 1}}, "c": "x", "d": None}
    fixture = {"a": {"b": 2, "gone": 1}, "c": 3, "d": "text"}
    assert shape_drift(shape(gateway), shape(fixture)) == [
        "/a/new: only in the gateway's reply",
        "/a/gone: missing from the gateway's reply",
        "/c: string at the gateway, number in the fixture's reply",
    ]


def test_stream_framing_problems() -> None:
    role = json.dumps(chunk({"role": "assistant"})).encode()
    answer = Answer(200, events=(role, b"[DONE]", role))
    assert framing_problems(answer, include_usage=True) == [
        "stream: does not end with data: [DONE]",
        "stream: data: [DONE] before the end",
        "stream: no usage chunk although stream_options.include_usage was set",
        "stream: the role is sent 2 times in choice 0",
    ]


def test_finish_reason_and_tool_names_are_compared() -> None:
    def body(finish: str, name: str) -> dict[str, Any]:
        call = {"function": {"name": name}}
        message = {"content": None, "tool_calls": [call]}
        return {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}

    problems = drift(
        Answer(200, body=body("stop", "a")),
        Answer(200, body=body("tool_calls", "b")),
        stream=False,
        include_usage=False,
    )
    assert "choice 0: finish_reason 'stop' at the gateway, 'tool_calls' in the fixture" in problems
    assert "choice 0: tool calls ['a'] at the gateway, ['b'] in the fixture" in problems


def test_retry_delay_honours_what_the_gateway_asks() -> None:
    assert retry_delay({"retry-after-ms": "250", "retry-after": "9"}, 0) == 0.25
    assert retry_delay({"retry-after": "2"}, 0) == 2.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_delay({"retry-after": later}, 0) <= 30
    assert retry_delay({}, 2) == 2.0
    assert retry_delay({"retry-after": "soon"}, 0) == 0.5


def test_upstream_display_hides_a_password() -> None:
    upstream = Upstream.at("http://user:pa55word@gw.example:8000/v1", key="sk-abcdefghijkl")
    assert upstream.display == "http://gw.example:8000/v1/chat/completions"
    assert "pa55word" not in repr(upstream)
    assert "sk-abcdefghijkl" not in repr(upstream)
    with pytest.raises(ValueError, match="without a query"):
        Upstream.at("http://gw/v1?x=1")


def test_a_gateways_stream_parses_in_any_line_ending() -> None:
    stream = b'data: {"a":1}\r\n\r\n: keep-alive\n\ndata: x\ndata: y\r\rdata: [DONE]\n\n'
    assert list(sse.payloads(stream)) == [b'{"a":1}', b"x\ny", b"[DONE]"]
    assert sse.data_of(b": ping\n\n") is None


def test_a_streams_kept_frames_are_bounded_and_let_go_when_settled() -> None:
    long = Exchange(url="u", request_headers={}, request_body=b"{}", stream=True, max_kept=4096)
    for _ in range(10_000):  # keep-alives: tiny, but each one an object
        long.add_frame(b":\n\n")
    assert long.overflowed
    assert long.kept_bytes <= 4096
    assert len(long.frames) < 50
    assert not long.complete, "too long to record"
    long.settle()
    entry = ServeEvent(id="r", at=0.0, method="POST", path="/v1/chat/completions", headers={})
    entry.upstream = long
    assert entry.cost() < 4096, "the journal counts what the entry still holds, not what passed"


def test_a_reply_the_recorder_cannot_read_is_logged_not_raised(tmp_path: Path) -> None:
    odd = exchange(stream=True)
    odd.frames.insert(0, UpstreamFrame(1.0, b'data: {"choices": [{"index": "first"}]}\n\n'))
    assert asyncio.run(Recorder(tmp_path).record(odd, Redactor())) is None
    assert not list(tmp_path.iterdir())


def test_a_repeated_request_costs_the_recorder_a_stat_not_a_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[Path] = []
    real = record_module._has_frames

    def counted(path: Path) -> bool | None:
        parses.append(path)
        return real(path)

    monkeypatch.setattr(record_module, "_has_frames", counted)
    path = Recorder(tmp_path).save(exchange(stream=True), Redactor())
    assert path is not None
    again = Recorder(tmp_path)  # a new run: the file is read once
    for _ in range(3):
        assert again.save(exchange(stream=True), Redactor()) is None
    assert parses == [path]
    path.write_text(path.read_text().replace("frames:", "frames_gone:"))
    assert again.save(exchange(stream=True), Redactor()) == path, "changed: read again"
    assert parses == [path, path]


def test_drift_of_a_reply_nested_as_deep_as_json_allows() -> None:
    deep: Any = []
    for _ in range(1000):  # orjson refuses past 1024 levels; Python's recursion limit is 1000
        deep = [deep]
    ours = {"id": "x", "extra": []}
    problems = drift(
        Answer(200, body={**ours, "extra": deep}),
        Answer(200, body=ours),
        stream=False,
        include_usage=False,
    )
    assert "/extra/*: only in the gateway's reply" in problems, "found, not a RecursionError"
