"""contract/request.py on its own: every malformed body is a 4xx, and ChatRequest's defaults."""

from __future__ import annotations

import math
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from mockserver.contract.errors import InvalidRequest, UnsupportedMediaType
from mockserver.contract.request import (
    MAX_DEPTH,
    ChatRequest,
    last_user_text,
    parse_json_object,
    read_body,
    text_of,
)


def refused(raw: bytes) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_json_object(raw)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        (b'\xff{"model": "m"}', "invalid_encoding", "not valid UTF-8 (byte 0)"),
        (b'{"model": "\xc3"}', "invalid_encoding", "not valid UTF-8 (byte 11)"),
        (b"", "invalid_json", "The request body is empty"),
        (b" \r\n\t ", "invalid_json", "The request body is empty"),
        (b'{"model":', "invalid_json", "Expecting value: line 1 column 10"),
        (b'{"a": 1} trailing', "invalid_json", "Extra data"),
        (b"{'a': 1}", "invalid_json", "We could not parse the JSON body"),
        (b'{"a": NaN}', "invalid_json", "NaN is not valid JSON"),
        (b'{"a": -Infinity}', "invalid_json", "-Infinity is not valid JSON"),
        (b"[1, 2]", "invalid_json", "must be a JSON object, not list"),
        (b'"text"', "invalid_json", "must be a JSON object, not str"),
        (b"42", "invalid_json", "must be a JSON object, not int"),
        (b"null", "invalid_json", "must be a JSON object, not null"),
        (b"[" * 200_000, "invalid_json", "(nested too deeply)"),
        (b'{"a": "\\ud800"}', "invalid_encoding", "lone UTF-16 surrogate"),
        (b'{"\\udfff": 1}', "invalid_encoding", "lone UTF-16 surrogate"),
    ],
)
def test_every_malformation_is_a_400(raw: bytes, code: str, says: str) -> None:
    error = refused(raw)
    assert error.status == 400
    assert error.type == "invalid_request_error"
    assert error.code == code
    assert says in error.message


def nested(levels: int, leaf: bytes = b"") -> bytes:
    """An object holding arrays: `levels` containers in all."""
    return b'{"a": ' + b"[" * (levels - 1) + leaf + b"]" * (levels - 1) + b"}"


def depth(value: Any) -> int:
    """Containers on the deepest path (a scalar is not a level)."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def test_depth_limit_is_inclusive() -> None:
    assert depth(parse_json_object(nested(MAX_DEPTH))) == MAX_DEPTH
    error = refused(nested(MAX_DEPTH + 1))
    assert error.code == "invalid_json"
    assert f"nested more than {MAX_DEPTH} levels deep" in error.message


def test_depth_counts_containers_whatever_else_the_body_holds() -> None:
    # The same 64 levels of containers, with a scalar at the bottom: accepted alone, and
    # still accepted beside an unrelated empty object (which only changes the bracket count).
    alone = nested(MAX_DEPTH, b"1")
    beside = alone[:-1] + b', "b": {}}'
    assert parse_json_object(alone)["a"] == parse_json_object(beside)["a"]
    assert parse_json_object(beside)["b"] == {}
    assert refused(nested(MAX_DEPTH + 1, b"1")).code == "invalid_json"


def test_a_deep_scalar_does_not_hide_a_lone_surrogate() -> None:
    # 64 levels of containers with a scalar at the bottom, then a lone surrogate elsewhere:
    # the string check must still see it (it used to stop walking at the deep scalar).
    raw = b'{"z": "\\ud800", "a": ' + b"[" * (MAX_DEPTH - 1) + b"1" + b"]" * (MAX_DEPTH - 1) + b"}"
    assert refused(raw).code == "invalid_encoding"


def test_keys_deep_in_objects_are_checked_like_values() -> None:
    body = b'{"a": ' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH
    assert isinstance(parse_json_object(body)["a"], dict)
    deeper = b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)
    assert refused(deeper).code == "invalid_json"


def test_a_surrogate_pair_is_one_character_not_an_error() -> None:
    assert parse_json_object(b'{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\N{GRINNING FACE}"}
    # The pre-filter matches the escape text; only a decoded lone surrogate is refused.
    assert parse_json_object(b'{"a": "\\\\ud800"}') == {"a": "\\ud800"}


def test_utf8_text_and_a_bom_free_body_parse() -> None:
    body = parse_json_object('{"model": "m", "messages": [{"content": "天气"}]}'.encode())
    assert body["messages"][0]["content"] == "天气"


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Content-Type": "text/plain"}, "'text/plain'"),
        ({"Content-Type": "multipart/form-data"}, "'multipart/form-data'"),
        ({}, "'application/octet-stream'"),  # what HTTP says a body without a type is
    ],
)
async def test_read_body_wants_json(headers: dict[str, str], named: str) -> None:
    request = make_mocked_request("POST", "/v1/chat/completions", headers=headers)
    with pytest.raises(UnsupportedMediaType) as caught:
        await read_body(request)
    assert caught.value.status == 415
    assert caught.value.code == "unsupported_content_type"
    assert caught.value.message.startswith(f"Unsupported Content-Type {named}:")


def chat(**fields: Any) -> ChatRequest:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **fields}
    return ChatRequest(body=body, headers={})


def test_defaults() -> None:
    request = chat()
    assert request.model == "gpt-4o"
    assert request.n == 1
    assert request.stream is False
    assert request.include_usage is False
    assert request.max_tokens is None
    assert request.seed is None
    assert request.stop == ()
    assert request.last_user_text == "hi"


@pytest.mark.parametrize(("sent", "n"), [(None, 1), (3, 3), (2.0, 2)])
def test_n_is_an_int(sent: Any, n: int) -> None:
    value = chat(n=sent).n
    assert value == n
    assert type(value) is int


@pytest.mark.parametrize(
    ("fields", "stream", "usage"),
    [
        ({"stream": True}, True, False),
        ({"stream": False, "stream_options": {"include_usage": True}}, False, False),
        ({"stream_options": {"include_usage": True}}, False, False),
        ({"stream": True, "stream_options": {"include_usage": True}}, True, True),
        ({"stream": True, "stream_options": {"include_usage": False}}, True, False),
        ({"stream": True, "stream_options": None}, True, False),
        ({"stream": None}, False, False),
    ],
)
def test_stream_and_include_usage(fields: dict[str, Any], stream: bool, usage: bool) -> None:
    request = chat(**fields)
    assert request.stream is stream
    assert request.include_usage is usage


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"max_tokens": 7}, 7),
        ({"max_completion_tokens": 9}, 9),
        ({"max_tokens": 7, "max_completion_tokens": 9}, 9),
        ({"max_tokens": 7, "max_completion_tokens": None}, 7),
        ({"max_tokens": 5.0}, 5),
        ({"max_completion_tokens": 0}, 0),
        ({"max_tokens": None}, None),
    ],
)
def test_max_completion_tokens_wins(fields: dict[str, Any], expected: int | None) -> None:
    value = chat(**fields).max_tokens
    assert value == expected
    if expected is not None:
        assert type(value) is int


@pytest.mark.parametrize(
    ("seed", "expected"),
    [(3, 3.0), (3.0, 3.0), (-7, -7.0), (0, 0.0), (10**400, math.inf), (-(10**400), -math.inf)],
)
def test_seed_is_a_float(seed: int | float, expected: float) -> None:
    value = chat(seed=seed).seed
    assert value == expected
    assert isinstance(value, float)


@pytest.mark.parametrize(
    ("stop", "expected"),
    [("END", ("END",)), ("", ()), (["a", "", "b"], ("a", "b")), ([], ()), (None, ())],
)
def test_stop_sequences(stop: Any, expected: tuple[str, ...]) -> None:
    assert chat(stop=stop).stop == expected


MULTIMODAL = [
    {"type": "text", "text": "第一段"},
    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    {"type": "text", "text": "second"},
]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": MULTIMODAL}], "第一段\nsecond"),
        (
            [
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "answer"},
                {"role": "user", "content": "follow-up"},
                {"role": "assistant", "content": None, "tool_calls": []},
                {"role": "tool", "tool_call_id": "c", "content": "result"},
            ],
            "follow-up",
        ),
        ([{"role": "system", "content": "be brief"}], ""),
        ([{"role": "user", "content": None}], ""),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], ""),
    ],
)
def test_last_user_text(messages: list[dict[str, Any]], expected: str) -> None:
    assert last_user_text(messages) == expected
    assert ChatRequest(body={"model": "m", "messages": messages}, headers={}).last_user_text == (
        expected
    )


def test_text_of_ignores_what_is_not_text() -> None:
    assert text_of("plain") == "plain"
    assert text_of([{"text": "a"}, "stray string", {"type": "input_audio"}, {"text": "b"}]) == (
        "a\nb"
    )
    assert text_of(None) == ""
    assert text_of(12) == ""
