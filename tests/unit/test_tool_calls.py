"""tool_calls: which offered functions a generated reply calls, and arguments valid for them.

`parameter_schemas` below is also the strategy of the HTTP property test in
tests/integration/test_generated_tools.py: every schema it builds has at least one valid value,
so an argument string that fails it is the generator's fault.
"""

from __future__ import annotations

import json
import logging
import re
from random import Random
from typing import Any

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from mockserver.contract.request import ChatRequest
from mockserver.replies.tool_calls import (
    MAX_PARALLEL,
    Offered,
    arguments_for,
    last_tool_result,
    make_calls,
    planned_function,
    planned_tools,
)

Schema = dict[str, Any]
CALL_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")
FAKE = Faker("en_US")


def assert_valid(schema: Schema, arguments: str) -> None:
    """`arguments` is a JSON object string that validates against `schema` (formats too)."""
    value = json.loads(arguments)
    assert isinstance(value, dict), arguments
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, (errors, arguments)


# A strategy for function `parameters`: nested objects and arrays, enums, const, formats,
# bounds, item counts and patterns, always an object at the top.

NAMES = (
    "city",
    "email",
    "query",
    "date",
    "count",
    "price",
    "tags",
    "unit",
    "id",
    "location",
    "limit",
    "label",
)
FORMATS = ("date", "date-time", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname")
PATTERNS = (
    r"^[a-z]{2,6}$",
    r"^\d{3}-\d{4}$",
    r"^[A-Z]{3}$",
    r"^(asc|desc)$",
    r"^#[0-9a-f]{6}$",
    r"^[A-Za-z0-9_]{1,12}$",
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(alphabet="abcxyz -", max_size=6),
)


@st.composite
def string_schemas(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "string"}
    kind = draw(st.sampled_from(("plain", "length", "format", "pattern", "enum")))
    if kind == "length":
        low = draw(st.integers(0, 12))
        schema["minLength"] = low
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 20))
    elif kind == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
    elif kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    else:
        words = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
        schema["enum"] = draw(st.lists(words, min_size=1, max_size=4, unique=True))
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> Schema:
    kind = draw(st.sampled_from(("integer", "number")))
    schema: Schema = {"type": kind}
    low = draw(st.none() | st.integers(-500, 500))
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        start = low if low is not None else draw(st.integers(-500, 500))
        schema["maximum"] = start + draw(st.integers(2, 300))
    return schema


LEAVES = st.one_of(
    string_schemas(),
    number_schemas(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(SCALARS, min_size=1, max_size=4).map(lambda values: {"enum": values}),
    SCALARS.map(lambda value: {"const": value}),
)


def _extend(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    @st.composite
    def objects(draw: st.DrawFn) -> Schema:
        properties = draw(st.dictionaries(st.sampled_from(NAMES), children, max_size=4))
        schema: Schema = {
            "type": "object",
            "properties": properties,
            "required": [k for k in properties if draw(st.booleans())],
        }
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> Schema:
        low = draw(st.integers(0, 3))
        schema: Schema = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 3))
        return schema

    @st.composite
    def nullable(draw: st.DrawFn) -> Schema:
        schema = draw(st.one_of(string_schemas(), number_schemas()))
        return {**schema, "type": [schema["type"], "null"]}

    return st.one_of(
        objects(),
        arrays(),
        nullable(),
        st.lists(children, min_size=1, max_size=3).map(lambda subs: {"anyOf": subs}),
    )


@st.composite
def parameter_schemas(draw: st.DrawFn) -> Schema:
    """Function parameters: an object whose properties are schema trees; strict or not."""
    trees = st.recursive(LEAVES, _extend, max_leaves=10)
    properties = draw(st.dictionaries(st.sampled_from(NAMES), trees, min_size=1, max_size=4))
    strict = draw(st.booleans())
    required = list(properties) if strict else [k for k in properties if draw(st.booleans())]
    schema: Schema = {"type": "object", "properties": properties, "required": required}
    if strict:
        schema["additionalProperties"] = False
    return schema


# Requests as the app hands them to the generator.

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
STOCK: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_stock_price",
        "description": "Latest stock price for a ticker",
        "parameters": {
            "type": "object",
            "properties": {"ticker": {"type": "string", "pattern": "^[A-Z]{1,5}$"}},
            "required": ["ticker"],
            "additionalProperties": False,
        },
    },
}
TRANSLATE: dict[str, Any] = {
    "type": "function",
    "function": {"name": "translate", "description": "Translate text into another language"},
}
TOOLS = [WEATHER, STOCK, TRANSLATE]
USER: dict[str, Any] = {"role": "user", "content": "What is the weather like in Paris today?"}
ASKED: dict[str, Any] = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_abc",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ],
}
ANSWERED: dict[str, Any] = {
    "role": "tool",
    "tool_call_id": "call_abc",
    "content": "18°C, light rain",
}


def request(**fields: Any) -> ChatRequest:
    body: dict[str, Any] = {"model": "gpt-4o", "messages": [USER], **fields}
    return ChatRequest(body=body, headers={})


def names(tools: list[Offered]) -> list[str]:
    return [t.name for t in tools]


# Which tools a reply calls.


@pytest.mark.parametrize("messages", [[USER], [USER, ASKED, ANSWERED]], ids=["user", "tool"])
def test_tool_choice_none_never_calls(messages: list[dict[str, Any]]) -> None:
    for seed in range(20):
        chosen = planned_tools(
            request(messages=messages, tools=TOOLS, tool_choice="none"), Random(seed)
        )
        assert chosen == []


@pytest.mark.parametrize(
    "messages",
    [[USER], [USER, ASKED, ANSWERED], [USER, {"role": "assistant", "content": "Sure."}]],
    ids=["user", "tool", "assistant"],
)
def test_tool_choice_required_always_calls(messages: list[dict[str, Any]]) -> None:
    for seed in range(20):
        chosen = planned_tools(
            request(messages=messages, tools=TOOLS, tool_choice="required"), Random(seed)
        )
        assert 1 <= len(chosen) <= MAX_PARALLEL
        assert len(set(names(chosen))) == len(chosen), "one call per tool"


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "function", "function": {"name": "translate"}},
        {"type": "function", "name": "translate"},
    ],
    ids=["chat-completions", "flat"],
)
@pytest.mark.parametrize("messages", [[USER], [USER, ASKED, ANSWERED]], ids=["user", "tool"])
def test_named_tool_choice_calls_that_function(
    choice: dict[str, Any], messages: list[dict[str, Any]]
) -> None:
    """Named even though the prompt is about the weather, and even after a tool result."""
    for seed in range(10):
        chosen = planned_tools(
            request(messages=messages, tools=TOOLS, tool_choice=choice), Random(seed)
        )
        assert names(chosen) == ["translate"]


def test_auto_calls_on_a_user_message() -> None:
    for choice in ({}, {"tool_choice": "auto"}):
        for seed in range(20):
            assert planned_tools(request(tools=TOOLS, **choice), Random(seed))


@pytest.mark.parametrize(
    "last",
    [ANSWERED, {"role": "assistant", "content": "It is sunny."}],
    ids=["tool-result", "assistant"],
)
def test_auto_answers_in_text_after_a_tool_result(last: dict[str, Any]) -> None:
    messages = [USER, ASKED, ANSWERED] if last is ANSWERED else [USER, last]
    for seed in range(20):
        assert planned_tools(request(messages=messages, tools=TOOLS), Random(seed)) == []


def test_no_tools_no_calls() -> None:
    assert planned_tools(request(tool_choice="required"), Random(0)) == []
    assert planned_tools(request(tools=[]), Random(0)) == []


def test_the_most_relevant_tool_is_called_first() -> None:
    """The prompt asks about the weather: with one call allowed, get_weather is the one."""
    for seed in range(20):
        chosen = planned_tools(request(tools=TOOLS, parallel_tool_calls=False), Random(seed))
        assert names(chosen) == ["get_weather"]
    ticker = {"role": "user", "content": "What is the latest stock price of ACME?"}
    chosen = planned_tools(request(messages=[ticker], tools=TOOLS), Random(0))
    assert names(chosen)[0] == "get_stock_price"


def test_parallel_calls_happen_unless_switched_off() -> None:
    counts = {len(planned_tools(request(tools=TOOLS), Random(seed))) for seed in range(51)}
    assert max(counts) > 1, "some seed calls several tools in parallel"
    assert max(counts) <= MAX_PARALLEL
    for choice in ("auto", "required"):
        for seed in range(51):
            body = request(tools=TOOLS, tool_choice=choice, parallel_tool_calls=False)
            assert len(planned_tools(body, Random(seed))) == 1


def test_one_tool_offered_is_called_once() -> None:
    for seed in range(20):
        assert names(planned_tools(request(tools=[WEATHER]), Random(seed))) == ["get_weather"]


# Legacy functions.

FUNCTIONS = [WEATHER["function"], STOCK["function"]]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"function_call": "auto"},
        {"tool_choice": "auto"},  # the spec's example pairs functions with tool_choice
        {"function_call": "required"},
    ],
    ids=["default", "function_call-auto", "tool_choice-auto", "required"],
)
def test_legacy_functions_call_one(fields: dict[str, Any]) -> None:
    for seed in range(10):
        function = planned_function(request(functions=FUNCTIONS, **fields), Random(seed))
        assert function is not None
        assert function.name == "get_weather"


@pytest.mark.parametrize(
    "fields",
    [{"function_call": "none"}, {"tool_choice": "none"}],
    ids=["function_call", "tool_choice"],
)
def test_legacy_function_call_none_answers_in_text(fields: dict[str, Any]) -> None:
    assert planned_function(request(functions=FUNCTIONS, **fields), Random(0)) is None


def test_legacy_named_function_call() -> None:
    chosen = planned_function(
        request(functions=FUNCTIONS, function_call={"name": "get_stock_price"}), Random(0)
    )
    assert chosen is not None
    assert chosen.name == "get_stock_price"


def test_legacy_function_result_is_answered_in_text() -> None:
    messages = [
        USER,
        {"role": "assistant", "content": None, "function_call": ASKED["tool_calls"][0]["function"]},
        {"role": "function", "name": "get_weather", "content": "18°C"},
    ]
    assert planned_function(request(messages=messages, functions=FUNCTIONS), Random(0)) is None


def test_tools_win_over_functions() -> None:
    assert planned_function(request(tools=[WEATHER], functions=FUNCTIONS), Random(0)) is None


# Arguments and calls.


@settings(max_examples=60, deadline=None)
@given(schema=parameter_schemas(), seed=st.integers(0, 2**32 - 1))
def test_arguments_validate(schema: Schema, seed: int) -> None:
    tool = Offered("f", "", schema)
    assert_valid(schema, arguments_for(tool, Random(seed), FAKE))


def test_arguments_are_compact_json_and_keep_unicode() -> None:
    schema = {"type": "object", "properties": {"city": {"const": "北京"}}, "required": ["city"]}
    assert arguments_for(Offered("f", "", schema), Random(0), FAKE) == '{"city":"北京"}'


def test_missing_parameters_give_an_empty_object() -> None:
    """A function without `parameters` takes an object: TRANSLATE's call gets `{}`-shaped args."""
    offered = planned_tools(request(tools=[TRANSLATE], tool_choice="required"), Random(0))
    assert isinstance(json.loads(arguments_for(offered[0], Random(0), FAKE)), dict)


def test_unsatisfiable_parameters_fall_back_to_an_empty_object(
    caplog: pytest.LogCaptureFixture,
) -> None:
    impossible = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
        "required": ["n"],
    }
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        assert arguments_for(Offered("broken", "", impossible), Random(0), FAKE) == "{}"
    assert "broken" in caplog.text


def test_calls_have_fresh_openai_shaped_ids() -> None:
    tools = [Offered(f"f{i}", "", {"type": "object", "properties": {}}) for i in range(3)]
    calls = make_calls(tools, Random(0), FAKE) + make_calls(tools, Random(0), FAKE)
    assert all(CALL_ID.fullmatch(c.id) for c in calls), [c.id for c in calls]
    assert len({c.id for c in calls}) == len(calls), "ids are unique"
    assert [c.name for c in calls] == ["f0", "f1", "f2"] * 2


# The tool result a text answer is built on.


def test_last_tool_result_names_the_function_by_its_call_id() -> None:
    assert last_tool_result(request(messages=[USER, ASKED, ANSWERED])) == (
        "get_weather",
        "18°C, light rain",
    )


def test_last_tool_result_of_a_legacy_function_message() -> None:
    message = {"role": "function", "name": "lookup", "content": "42"}
    assert last_tool_result(request(messages=[USER, message])) == ("lookup", "42")


def test_last_tool_result_with_parts_content() -> None:
    parts = [{"type": "text", "text": "18°C"}]
    answered = {**ANSWERED, "content": parts}
    name, text = last_tool_result(request(messages=[USER, ASKED, answered])) or ("", "")
    assert name == "get_weather"
    assert json.loads(text) == parts


def test_no_tool_result_when_the_user_spoke_last() -> None:
    assert last_tool_result(request(messages=[USER, ASKED, ANSWERED, USER])) is None
