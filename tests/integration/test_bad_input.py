"""Hostile and malformed requests: always a 4xx in OpenAI's error shape, and the server survives."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mockserver.contract.rules import RULES
from mockserver.contract.schemas import REQUEST_SCHEMA, load_schema
from tests.conftest import AUTH
from tests.support import CHAT, HEALTH, VALID_BODY, body_with, completion, error_of, post_chat

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
JSON = "application/json"
_VALID = json.dumps(VALID_BODY)[:-1]  # the valid body without its closing brace, to extend


def _with(extra: str) -> bytes:
    """The valid body plus raw JSON text for more members (for input json.dumps cannot write)."""
    return f"{_VALID}, {extra}}}".encode()


def _dump(**fields: Any) -> bytes:
    return json.dumps(body_with(**fields), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Case:
    id: str
    data: bytes
    status: int = 400
    param: str | None = None
    code: str | None = None
    content_type: str | None = JSON
    settings: dict[str, Any] = field(default_factory=dict)


# One wrong-typed value per top-level field of the request schema (checked to cover all of them).
WRONG_TYPES: dict[str, Any] = {
    "model": 123,
    "messages": "hello",
    "stream": "yes",
    "stream_options": True,
    "max_tokens": "100",
    "max_completion_tokens": 1.5,
    "temperature": "hot",
    "top_p": [0.5],
    "n": "2",
    "stop": 5,
    "presence_penalty": "0",
    "frequency_penalty": {},
    "logit_bias": [1, 2],
    "seed": "42",
    "user": 7,
    "response_format": "json",
    "tools": {"type": "function"},
    "tool_choice": 1,
    "parallel_tool_calls": "true",
    "reasoning_effort": 3,
    "enable_thinking": "true",
    "extra_body": [],
    "web_search_options": "medium",
}

FULLWIDTH_12 = "\uff11\uff12"  # str.isdigit() is true for these, but they are no token ids
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}

CASES = [
    # Bytes that are not a JSON object.
    Case("malformed-json", b'{"model": "gpt-4o", "messages": [', code="invalid_json"),
    Case("trailing-garbage", _with('"x": 1} extra'), code="invalid_json"),
    Case("json-array", json.dumps([VALID_BODY]).encode(), code="invalid_json"),
    Case("json-null", b"null", code="invalid_json"),
    Case("json-string", b'"hello"', code="invalid_json"),
    Case("empty-body", b"", code="invalid_json"),
    Case("whitespace-body", b" \n\t ", code="invalid_json"),
    Case("invalid-utf8", _VALID.encode() + b', "user": "\xff\xfe"}', code="invalid_encoding"),
    Case("utf16-body", json.dumps(VALID_BODY).encode("utf-16"), code="invalid_encoding"),
    Case("nan-literal", _with('"temperature": NaN'), code="invalid_json"),
    Case("infinity-literal", _with('"seed": -Infinity'), code="invalid_json"),
    Case("lone-surrogate", _with('"user": "\\ud800"'), code="invalid_encoding"),
    Case("lone-low-surrogate-key", _with('"extra_body": {"\\udc00": 1}'), code="invalid_encoding"),
    Case(
        "nested-100",
        _with('"extra_body": {"x": ' + "[" * 100 + "]" * 100 + "}"),
        code="invalid_json",
    ),
    Case(
        "nested-10000",
        _with('"extra_body": {"x": ' + "[" * 10_000 + "]" * 10_000 + "}"),
        code="invalid_json",
    ),
    Case(
        "nested-10000-unclosed",
        f'{_VALID}, "extra_body": {"[" * 10_000}'.encode(),
        code="invalid_json",
    ),
    # Transport.
    Case(
        "content-type-text-plain", json.dumps(VALID_BODY).encode(), 415, content_type="text/plain"
    ),
    Case("content-type-none", json.dumps(VALID_BODY).encode(), 415, content_type=None),
    Case(
        "content-type-form", b"model=gpt-4o", 415, content_type="application/x-www-form-urlencoded"
    ),
    Case(
        "body-over-max-body-bytes",
        _dump(user="x" * 2000),
        413,
        code="request_too_large",
        settings={"max_body_bytes": 1000},
    ),
    # Schema violations.
    *(
        Case(f"wrong-type-{name}", _dump(**{name: value}), param=name, code="invalid_type")
        for name, value in WRONG_TYPES.items()
    ),
    Case(
        "missing-model",
        json.dumps({"messages": VALID_BODY["messages"]}).encode(),
        param="model",
        code="missing_required_parameter",
    ),
    Case(
        "missing-messages",
        json.dumps({"model": "gpt-4o"}).encode(),
        param="messages",
        code="missing_required_parameter",
    ),
    Case("empty-messages", _dump(messages=[]), param="messages", code="empty_array"),
    Case(
        "bad-role",
        _dump(messages=[{"role": "wizard", "content": "hi"}]),
        param="messages[0].role",
        code="invalid_value",
    ),
    Case("message-not-object", _dump(messages=["hi"]), param="messages[0]", code="invalid_type"),
    Case(
        "user-content-null",
        _dump(messages=[{"role": "user", "content": None}]),
        param="messages[0].content",
    ),
    Case(
        "user-content-missing",
        _dump(messages=[{"role": "user"}]),
        param="messages[0].content",
        code="missing_required_parameter",
    ),
    Case(
        "bad-content-part",
        _dump(messages=[{"role": "user", "content": [{"type": "video"}]}]),
        param="messages[0].content[0].type",
    ),
    Case(
        "image-url-without-url",
        _dump(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
        param="messages[0].content[0].image_url.url",
    ),
    Case(
        "stop-five-strings",
        _dump(stop=["a", "b", "c", "d", "e"]),
        param="stop",
        code="array_above_max_length",
    ),
    Case(
        "negative-max-tokens",
        _dump(max_tokens=-1),
        param="max_tokens",
        code="value_below_min_value",
    ),
    Case("fractional-n", _dump(n=1.5), param="n", code="invalid_type"),
    Case("n-zero", _dump(n=0), param="n", code="value_below_min_value"),
    Case(
        "include-usage-string",
        _dump(stream=True, stream_options={"include_usage": "yes"}),
        param="stream_options.include_usage",
    ),
    Case(
        "tool-choice-unknown",
        _dump(tool_choice="always"),
        param="tool_choice",
        code="invalid_value",
    ),
    Case(
        "response-format-unknown",
        _dump(response_format={"type": "object"}),
        param="response_format.type",
        code="invalid_value",
    ),
    Case(
        "search-context-size-unknown",
        _dump(web_search_options={"search_context_size": "huge"}),
        param="web_search_options.search_context_size",
    ),
    # Semantic rules.
    Case("n-1000", _dump(n=1000), param="n", code="value_above_max_value"),
    Case("temperature-3", _dump(temperature=3), param="temperature", code="value_above_max_value"),
    Case(
        "temperature-negative",
        _dump(temperature=-0.5),
        param="temperature",
        code="value_below_min_value",
    ),
    Case("top-p-2", _dump(top_p=2), param="top_p", code="value_above_max_value"),
    Case(
        "presence-penalty-5",
        _dump(presence_penalty=5),
        param="presence_penalty",
        code="value_above_max_value",
    ),
    Case(
        "frequency-penalty-minus-3",
        _dump(frequency_penalty=-3),
        param="frequency_penalty",
        code="value_below_min_value",
    ),
    Case(
        "logit-bias-out-of-range",
        _dump(logit_bias={"50256": 101}),
        param="logit_bias.50256",
        code="invalid_value",
    ),
    Case(
        "logit-bias-non-numeric-key",
        _dump(logit_bias={"hello": 1}),
        param="logit_bias.hello",
        code="invalid_value",
    ),
    Case(
        "logit-bias-fullwidth-digits",
        _dump(logit_bias={FULLWIDTH_12: 1}),
        param=f"logit_bias.{FULLWIDTH_12}",
        code="invalid_value",
    ),
    Case(
        "logit-bias-non-numeric-value",
        _dump(logit_bias={"12": "high"}),
        param="logit_bias.12",
        code="invalid_type",
    ),
    Case(
        "json-object-without-json", _dump(response_format={"type": "json_object"}), param="messages"
    ),
    Case(
        "tool-message-without-tool-call-id",
        _dump(messages=[{"role": "user", "content": "hi"}, {"role": "tool", "content": "sunny"}]),
        param="messages[1].tool_call_id",
        code="missing_required_parameter",
    ),
    Case(
        "tool-message-unknown-tool-call-id",
        _dump(
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                {"role": "tool", "tool_call_id": "call_2", "content": "sunny"},
            ]
        ),
        param="messages[2].tool_call_id",
        code="invalid_tool_call_id",
    ),
    Case(
        "tool-message-before-its-call",
        _dump(
            messages=[
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            ]
        ),
        param="messages[0].tool_call_id",
        code="invalid_tool_call_id",
    ),
]


def test_wrong_type_table_covers_every_top_level_field() -> None:
    properties = load_schema(REQUEST_SCHEMA)["properties"]
    assert set(WRONG_TYPES) == set(properties)


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_bad_input_gets_a_4xx_and_the_server_survives(
    make_client: MakeClient, case: Case
) -> None:
    client = await make_client(**case.settings)
    headers = dict(AUTH)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    response = await client.post(
        CHAT, data=case.data, headers=headers, skip_auto_headers=["Content-Type"]
    )
    assert 400 <= response.status < 500, await response.text()
    error = await error_of(response, case.status)
    assert error["type"] == "invalid_request_error"
    if case.param is not None:
        assert error["param"] == case.param, error
    if case.code is not None:
        assert error["code"] == case.code, error

    health = await client.get(HEALTH)
    assert health.status == 200
    assert (await health.json())["status"] == "ok"
    reply = await completion(client, VALID_BODY)
    assert reply["choices"][0]["message"]["content"]


async def test_all_schema_violations_are_reported(client: TestClient[Any, Any]) -> None:
    body = {
        "model": 1,
        "messages": [
            {"role": "wizard", "content": "hi"},
            {"role": "user", "content": 5},
        ],
        "stream": "yes",
        "temperature": "hot",
        "stop": ["a", "b", "c", "d", "e"],
    }
    error = await error_of(await post_chat(client, body), 400)
    params = [v["param"] for v in error["violations"]]
    assert sorted(params) == [
        "messages[0].role",
        "messages[1].content",
        "model",
        "stop",
        "stream",
        "temperature",
    ]
    assert error["param"] == params[0]
    assert error["message"].startswith(f"{len(params)} problems")
    for violation in error["violations"]:
        assert violation["param"] in error["message"]
        assert isinstance(violation["message"], str)
        assert violation["code"] is None or isinstance(violation["code"], str)


async def test_all_rule_violations_are_reported(client: TestClient[Any, Any]) -> None:
    body = body_with(temperature=3, top_p=-1, presence_penalty=5, logit_bias={"a": 1, "7": 500})
    error = await error_of(await post_chat(client, body), 400)
    assert sorted(v["param"] for v in error["violations"]) == [
        "logit_bias.7",
        "logit_bias.a",
        "presence_penalty",
        "temperature",
        "top_p",
    ]


async def test_single_violation_message_is_not_a_list(client: TestClient[Any, Any]) -> None:
    error = await error_of(await post_chat(client, body_with(temperature="hot")), 400)
    assert error["message"] == (
        "Invalid type for 'temperature': expected a number, but got a string instead."
    )
    assert [v["param"] for v in error["violations"]] == ["temperature"]


# A body that breaks exactly one named rule, for each rule.
RULE_BREAKERS: dict[str, dict[str, Any]] = {
    "tool-call-id": body_with(
        messages=[{"role": "user", "content": "hi"}, {"role": "tool", "content": "x"}]
    ),
    "json-object-needs-json-word": body_with(response_format={"type": "json_object"}),
    "temperature-range": body_with(temperature=2.5),
    "top-p-range": body_with(top_p=1.5),
    "penalty-range": body_with(frequency_penalty=2.5),
    "logit-bias-range": body_with(logit_bias={"1": -101}),
    "n-range": body_with(n=129),
    "image-data-uri": body_with(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}},
                ],
            }
        ]
    ),
    "tool-choice-offered": body_with(
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        tool_choice={"type": "function", "function": {"name": "get_price"}},
    ),
    "logprobs-fields": body_with(logprobs=True, top_logprobs=21),
}


def test_every_rule_has_a_breaker() -> None:
    assert set(RULE_BREAKERS) == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULE_BREAKERS))
async def test_rule_can_be_switched_off(make_client: MakeClient, rule: str) -> None:
    body = RULE_BREAKERS[rule]
    strict = await make_client()
    assert (await post_chat(strict, body)).status == 400
    relaxed = await make_client(disabled_rules=frozenset({rule}))
    response = await post_chat(relaxed, body)
    assert response.status == 200, await response.text()
    # Switching one rule off leaves the others on.
    other = {"top_p": 9} if rule == "temperature-range" else {"temperature": 9}
    error = await error_of(await post_chat(relaxed, {**body, **other}), 400)
    assert [v["param"] for v in error["violations"]] == list(other)


async def test_json_object_rule_switched_off(make_client: MakeClient) -> None:
    body = body_with(response_format={"type": "json_object"})
    relaxed = await make_client(disabled_rules=frozenset({"json-object-needs-json-word"}))
    reply = await completion(relaxed, body)
    assert reply["choices"][0]["finish_reason"] == "stop"
    default = await make_client()
    error = await error_of(await post_chat(default, body), 400)
    assert error["param"] == "messages"
    assert "json" in error["message"]


@pytest.mark.parametrize("word", ["json", "JSON", "Json"], ids=["lower", "upper", "title"])
async def test_json_word_is_matched_case_insensitively(
    client: TestClient[Any, Any], word: str
) -> None:
    body = body_with(
        response_format={"type": "json_object"},
        messages=[
            {"role": "system", "content": [{"type": "text", "text": f"Answer in {word}."}]},
            {"role": "user", "content": "List two colours."},
        ],
    )
    await completion(client, body)


async def test_schema_valid_edge_values_are_accepted(client: TestClient[Any, Any]) -> None:
    """JSON Schema's "integer" includes 2.0, and a seed may be any JSON number."""
    two = await completion(client, body_with(n=2.0, max_tokens=5.0))
    assert [c["index"] for c in two["choices"]] == [0, 1]
    assert all(c["finish_reason"] == "length" for c in two["choices"])
    huge = await completion(client, body_with(seed=10**400))
    assert huge["choices"][0]["message"]["content"]
    zero = await completion(client, body_with(max_tokens=0))
    assert zero["choices"][0]["message"]["content"] == ""
    assert zero["usage"]["completion_tokens"] == 0


async def test_unknown_top_level_fields_are_ignored(client: TestClient[Any, Any]) -> None:
    """Like the gateway, which only decodes the fields it knows."""
    await completion(client, body_with(metadata={"a": "b"}, store=False, modalities=["text"]))


async def test_health_after_many_failures(client: TestClient[Any, Any]) -> None:
    for data in (b"{", b"[]", b"null", b"\xff", _with('"n": 1000')):
        response = await client.post(CHAT, data=data, headers={**AUTH, "Content-Type": JSON})
        assert response.status == 400
    assert (await client.get(HEALTH)).status == 200
