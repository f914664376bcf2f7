"""sse.frame: one `data:` line of compact JSON per event, as every OpenAI client parses it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.wire import sse

EVENTS: list[Any] = [
    {"content": "line one\nline two\r\nline three\rend"},
    {"content": "中文，标点。", "emoji": "😀"},
    {"content": "separators \u2028 and \u2029, tab\t, NUL \u0000, DEL \x7f"},
    {"nested": {"list": [1, 2.5, None, True, "x"]}},
    {"content": "data: [DONE]\n\n"},
    {},
]


@pytest.mark.parametrize("event", EVENTS, ids=range(len(EVENTS)))
def test_frame_is_one_line(event: Any) -> None:
    frame = sse.frame(event)
    assert frame.startswith(b"data: ")
    assert frame.endswith(b"\n\n")
    line = frame[: -len(b"\n\n")]
    assert b"\n" not in line
    assert b"\r" not in line
    assert json.loads(line[len(b"data: ") :].decode("utf-8")) == event


def test_frame_is_compact_utf8() -> None:
    frame = sse.frame({"content": "你好", "n": 1})
    assert frame == 'data: {"content":"你好","n":1}\n\n'.encode()


def test_done_is_exact() -> None:
    assert sse.DONE == b"data: [DONE]\n\n"
