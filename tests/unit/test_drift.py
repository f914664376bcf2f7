"""replies/drift.py on its own: a scripted completion that no longer fits its request."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.replies.completion import Choice, Completion, ToolCall, Usage
from mockserver.replies.drift import drift

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
    "additionalProperties": False,
}


def tools(*names: str, parameters: Any = WEATHER) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "parameters": parameters}} for n in names]


def call(name: str, arguments: str) -> ToolCall:
    return ToolCall(id="call_1", name=name, arguments=arguments)


def reply(*choices: Choice) -> Completion:
    return Completion(
        model="gpt-4o", choices=choices, usage=Usage(prompt_tokens=1, completion_tokens=1)
    )


def calling(*calls: ToolCall) -> Completion:
    return reply(Choice(index=0, content=None, finish_reason="tool_calls", tool_calls=calls))


def saying(content: str) -> Completion:
    return reply(Choice(index=0, content=content, finish_reason="stop"))


def test_a_fitting_call_has_no_drift() -> None:
    body = {"tools": tools("get_weather")}
    assert list(drift(calling(call("get_weather", '{"city":"Paris","days":2}')), body)) == []


def test_a_call_to_a_function_not_offered() -> None:
    body = {"tools": tools("get_weather", "get_time")}
    assert list(drift(calling(call("get_forecast", "{}")), body)) == [
        "tool call 'get_forecast' is not offered by the request (offered: get_time, get_weather)"
    ]
    assert list(drift(calling(call("anything", "{}")), {})) == [
        "tool call 'anything' is not offered by the request (offered: none)"
    ]


def test_arguments_that_are_not_json() -> None:
    body = {"tools": tools("get_weather")}
    assert list(drift(calling(call("get_weather", "{city: Paris}")), body)) == [
        "tool call 'get_weather': arguments are not valid JSON"
    ]


def test_arguments_breaking_the_parameters_list_each_error_by_path() -> None:
    body = {"tools": tools("get_weather")}
    found = list(drift(calling(call("get_weather", '{"days": 0, "unit": "C"}')), body))
    assert found == [
        "tool call 'get_weather' arguments break its parameters: /: 'city' is a required property",
        "tool call 'get_weather' arguments break its parameters: /: Additional properties are "
        "not allowed ('unit' was unexpected)",
        "tool call 'get_weather' arguments break its parameters: days: 0 is less than the "
        "minimum of 1",
    ]


def test_at_most_five_schema_errors_per_call() -> None:
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in "abcdefg"}}
    arguments = '{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1}'
    body = {"tools": tools("f", parameters=schema)}
    assert len(list(drift(calling(call("f", arguments)), body))) == 5


def test_every_call_of_every_choice_is_checked() -> None:
    body = {"tools": tools("get_weather")}
    first = Choice(
        index=0,
        content=None,
        finish_reason="tool_calls",
        tool_calls=(call("get_weather", '{"city":"x"}'), call("nope", "{}")),
    )
    second = Choice(
        index=1, content=None, finish_reason="tool_calls", tool_calls=(call("gone", "{}"),)
    )
    found = list(drift(reply(first, second), body))
    assert [line.split(" is not offered")[0] for line in found] == [
        "tool call 'nope'",
        "tool call 'gone'",
    ]


def test_legacy_function_call_against_functions() -> None:
    body = {"functions": [{"name": "lookup", "parameters": {"type": "object", "required": ["q"]}}]}
    choice = Choice(
        index=0, content=None, finish_reason="function_call", function_call=call("lookup", "{}")
    )
    assert list(drift(reply(choice), body)) == [
        "function call 'lookup' arguments break its parameters: /: 'q' is a required property"
    ]


def test_a_function_without_parameters_accepts_any_arguments() -> None:
    body = {"tools": [{"type": "function", "function": {"name": "ping"}}]}
    assert list(drift(calling(call("ping", '{"anything": [1, 2]}')), body)) == []


@pytest.mark.parametrize(
    ("parameters", "finding"),
    [
        ({"type": "no-such-type"}, "the request's schema is itself invalid: "),
        ({"properties": {"a": {"minimum": "x"}}}, "the request's schema is itself invalid: "),
        ({"properties": {"a": {"multipleOf": 0}}}, "the request's schema is itself invalid: "),
        ({"properties": {"a": {"type": "string", "pattern": "("}}}, "the request's schema is "),
        (
            {"properties": {"a": {"$ref": "#/$defs/missing"}}},
            "the request's schema has a $ref that cannot be resolved: ",
        ),
        (
            {"$ref": "https://example.com/schema.json"},  # never fetched
            "the request's schema has a $ref that cannot be resolved: ",
        ),
    ],
)
def test_a_broken_parameters_schema_is_a_finding_not_a_crash(
    parameters: dict[str, Any], finding: str
) -> None:
    body = {"tools": tools("f", parameters=parameters)}
    (line,) = drift(calling(call("f", '{"a": 1}')), body)
    assert line.startswith(f"tool call 'f' arguments break its parameters: {finding}")


def test_a_remote_ref_in_the_request_is_never_fetched(schema_host: tuple[str, list[str]]) -> None:
    url, asked = schema_host
    body = {"tools": tools("f", parameters={"properties": {"a": {"$ref": url}}})}
    (line,) = drift(calling(call("f", '{"a": 1}')), body)
    assert line == (
        "tool call 'f' arguments break its parameters: the request's schema has a $ref that "
        f"cannot be resolved: Unresolvable: {url}"
    )
    assert asked == []


def test_a_local_ref_still_resolves() -> None:
    parameters = {
        "$id": "https://example.com/weather.json",
        "definitions": {"city": {"type": "string"}},
        "properties": {
            "a": {"$ref": "#/definitions/city"},
            "b": {"$ref": "weather.json#/definitions/city"},
        },
    }
    body = {"tools": tools("f", parameters=parameters)}
    assert list(drift(calling(call("f", '{"a": "Paris", "b": "Oslo"}')), body)) == []
    assert list(drift(calling(call("f", '{"a": 1, "b": 2}')), body)) == [
        "tool call 'f' arguments break its parameters: a: 1 is not of type 'string'",
        "tool call 'f' arguments break its parameters: b: 2 is not of type 'string'",
    ]


JSON_SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "w", "schema": WEATHER},
}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"city": "Paris"}', []),
        (
            '{"days": "two"}',
            [
                "content breaks the response_format json_schema: /: 'city' is a required property",
                "content breaks the response_format json_schema: days: 'two' is not of type "
                "'integer'",
            ],
        ),
        (
            "Paris, 2 days",
            ["content is not JSON but the request asks for response_format json_schema"],
        ),
    ],
)
def test_content_against_response_format(content: str, expected: list[str]) -> None:
    body = {"response_format": JSON_SCHEMA_FORMAT}
    assert list(drift(saying(content), body)) == expected


def test_json_object_and_text_formats_are_not_checked() -> None:
    for response_format in ({"type": "json_object"}, {"type": "text"}):
        assert list(drift(saying("not json"), {"response_format": response_format})) == []


def test_a_schema_is_judged_the_same_when_seen_again() -> None:
    """The metaschema verdict is remembered by digest: the same schema (in any key order)
    gives the same findings the second time."""
    broken = {"properties": {"a": {"minimum": "x"}}, "type": "object"}
    again = {"type": "object", "properties": {"a": {"minimum": "x"}}}
    first = list(drift(calling(call("f", '{"a": 1}')), {"tools": tools("f", parameters=broken)}))
    second = list(drift(calling(call("f", '{"a": 1}')), {"tools": tools("f", parameters=again)}))
    assert first == second
    assert first[0].startswith("tool call 'f' arguments break its parameters: the request's")
