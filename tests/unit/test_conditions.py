"""Match blocks compiled into conditions: every matcher kind, the index keys, the miss reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from multidict import CIMultiDict

from mockserver.stubs.conditions import ConditionError, compile_match, text_matcher
from mockserver.stubs.context import MatchContext

Body = dict[str, Any]


def ctx(*messages: Body, headers: Mapping[str, str] | None = None, **fields: Any) -> MatchContext:
    body: Body = {"model": "gpt-4o", "messages": list(messages), **fields}
    return MatchContext(body, CIMultiDict(headers or {}))


def user(text: Any) -> Body:
    return {"role": "user", "content": text}


def assistant(text: str | None = None, *calls: tuple[str, str]) -> Body:
    message: Body = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}
            for call_id, name in calls
        ]
    return message


def tool_message(call_id: str, content: str) -> Body:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def holds(match: Mapping[str, Any] | None, context: MatchContext) -> bool:
    return compile_match(match).holds(context)


# --- text matchers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        ("ping", "ping", True),
        ("ping", "ping ", False),
        ("ping", "Ping", False),
        ({"equals": "ping"}, "ping", True),
        ({"equals": "PING", "ignore_case": True}, "ping", True),
        ({"equals": "straße", "ignore_case": True}, "STRASSE", True),
        ({"contains": "eat"}, "weather", True),
        ({"contains": "EAT"}, "weather", False),
        ({"contains": "EAT", "ignore_case": True}, "weather", True),
        ({"regex": r"\d{3}"}, "order 123 now", True),
        ({"regex": r"^\d{3}$"}, "order 123 now", False),
        ({"regex": "^hello$", "ignore_case": True}, "HeLLo", True),
        ({"glob": "gpt-4*"}, "gpt-4o-mini", True),
        ({"glob": "gpt-4*"}, "my-gpt-4o", False),
        ({"glob": "gpt-?o"}, "gpt-4o", True),
        ({"glob": "gpt-[34]o"}, "gpt-5o", False),
        ({"glob": "GPT-*", "ignore_case": True}, "gpt-4o", True),
        ({"glob": "GPT-*"}, "gpt-4o", False),
        ({"glob": "exact"}, "exact", True),
        ({"glob": "exact"}, "exactly", False),
    ],
)
def test_text_matcher(spec: Any, text: str, expected: bool) -> None:
    assert text_matcher(spec, "/x").test(text) is expected


def test_text_matcher_exact_value_only_when_there_is_one() -> None:
    assert text_matcher("ping", "/x").exact == "ping"
    assert text_matcher({"equals": "ping"}, "/x").exact == "ping"
    assert text_matcher({"glob": "gpt-4o"}, "/x", plain="glob").exact == "gpt-4o"
    assert text_matcher("gpt-4o", "/x", plain="glob").exact == "gpt-4o"
    assert text_matcher("gpt-4*", "/x", plain="glob").exact is None
    assert text_matcher({"equals": "ping", "ignore_case": True}, "/x").exact is None
    assert text_matcher({"contains": "ping"}, "/x").exact is None
    assert text_matcher({"regex": "ping"}, "/x").exact is None


def test_bad_regex_is_a_condition_error_with_its_path() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_match({"last_user": {"regex": "([a-z"}})
    assert caught.value.path == "/match/last_user/regex"
    assert "invalid regular expression" in caught.value.message
    with pytest.raises(ConditionError) as nested:
        compile_match({"any": [{"model": "x"}, {"headers": {"X-A": {"regex": "(("}}}]})
    assert nested.value.path == "/match/any/1/headers/X-A/regex"


# --- each matcher kind ------------------------------------------------------------------------


def test_model_plain_is_a_glob_and_regex_is_a_search() -> None:
    assert holds({"model": "gpt-4o"}, ctx(model="gpt-4o"))
    assert not holds({"model": "gpt-4o"}, ctx(model="gpt-4o-mini"))
    assert holds({"model": "gpt-4o*"}, ctx(model="gpt-4o-mini"))
    assert holds({"model": {"regex": "mini"}}, ctx(model="gpt-4o-mini"))
    assert not holds({"model": {"regex": "^mini"}}, ctx(model="gpt-4o-mini"))
    assert holds({"model": {"equals": "GPT-4O", "ignore_case": True}}, ctx(model="gpt-4o"))


@pytest.mark.parametrize(
    ("value", "stream", "expected"),
    [
        (True, True, True),
        (True, False, False),
        (True, None, False),
        (False, None, True),
        (False, False, True),
        (False, True, False),
        ("any", True, True),
        ("any", None, True),
    ],
)
def test_stream(value: Any, stream: bool | None, expected: bool) -> None:
    fields: Body = {} if stream is None else {"stream": stream}
    assert holds({"stream": value}, ctx(user("x"), **fields)) is expected


def test_last_user_is_the_last_user_message_text() -> None:
    conversation = ctx(user("first"), assistant("ok"), user([{"type": "text", "text": "second"}]))
    assert holds({"last_user": "second"}, conversation)
    assert not holds({"last_user": "first"}, conversation)
    after_tool = ctx(user("q"), assistant(None, ("c1", "f")), tool_message("c1", "r"))
    assert holds({"last_user": "q"}, after_tool), "later non-user messages do not count"
    assert not holds({"last_user": {"regex": "."}}, ctx({"role": "system", "content": "s"}))


def test_any_message_scope_turn_by_default() -> None:
    earlier = ctx(user("the secret is 42"), assistant("noted"), user("what was it?"))
    assert holds({"any_message": {"contains": "secret"}, "scope": "conversation"}, earlier)
    assert not holds({"any_message": {"contains": "secret"}}, earlier)
    assert not holds({"any_message": {"contains": "secret"}, "scope": "turn"}, earlier)
    in_turn = ctx(
        user("old"), user("look it up"), assistant(None, ("c1", "f")), tool_message("c1", "secret")
    )
    assert holds({"any_message": {"contains": "secret"}}, in_turn)
    assert holds({"any_message": "look it up"}, in_turn), "the last user message is in the turn"
    assert not holds({"any_message": "old"}, in_turn)
    no_user = ctx({"role": "system", "content": "only a secret system prompt"})
    assert holds({"any_message": {"contains": "secret"}}, no_user), "no user: all is the turn"


def test_system_joins_system_and_developer_prompts() -> None:
    context = ctx(
        {"role": "system", "content": "Be brief."},
        user("hi"),
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
    )
    assert holds({"system": "Be brief.\nUse French."}, context)
    assert holds({"system": {"contains": "French"}}, context)
    assert not holds({"system": {"contains": "hi"}}, context)
    assert holds({"system": ""}, ctx(user("no system prompt")))


WEATHER_TURN = (
    user("weather and time?"),
    assistant(None, ("call_w", "get_weather"), ("call_t", "get_time")),
    tool_message("call_w", "sunny"),
    tool_message("call_t", "noon"),
)


def test_last_message_role_tool_and_content() -> None:
    context = ctx(*WEATHER_TURN)
    assert holds({"last_message": {"role": "tool"}}, context)
    assert holds({"last_message": {"role": "tool", "tool": "get_time"}}, context)
    assert not holds({"last_message": {"tool": "get_weather"}}, context), "resolved by id"
    assert holds({"last_message": {"content": "noon"}}, context)
    assert not holds({"last_message": {"role": "user"}}, context)
    unknown_id = ctx(*WEATHER_TURN[:3], tool_message("call_x", "?"))
    assert not holds({"last_message": {"tool": "get_time"}}, unknown_id)
    assert not holds({"last_message": {"role": "user"}}, ctx())


def test_tool_result_is_any_tool_message_in_scope() -> None:
    context = ctx(*WEATHER_TURN)
    assert holds({"tool_result": {"tool": "get_weather"}}, context)
    assert holds({"tool_result": {"tool": "get_weather", "content": "sunny"}}, context)
    assert not holds({"tool_result": {"tool": "get_weather", "content": "noon"}}, context)
    assert holds({"tool_result": {"content": {"regex": "^no"}}}, context)
    assert not holds({"tool_result": {"tool": "search"}}, context)
    next_turn = ctx(*WEATHER_TURN, assistant("Sunny at noon."), user("thanks"))
    assert not holds({"tool_result": {"tool": "get_weather"}}, next_turn)
    conversation = {"tool_result": {"tool": "get_weather"}, "scope": "conversation"}
    assert holds(conversation, next_turn)
    not_a_tool = ctx(user("x"), assistant("get_weather sunny"))
    assert not holds({"tool_result": {"content": {"contains": "sunny"}}}, not_a_tool)


def function(name: str) -> Body:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


def test_tools_offered_and_legacy_functions() -> None:
    both = ctx(user("x"), tools=[function("a"), function("b")])
    assert holds({"tools": ["a"]}, both)
    assert holds({"tools": ["b", "a"]}, both)
    assert not holds({"tools": ["a", "c"]}, both)
    assert not holds({"tools": ["a"]}, ctx(user("x")))
    legacy = ctx(user("x"), functions=[{"name": "lookup"}])
    assert holds({"tools": ["lookup"]}, legacy)
    assert holds({"tools": []}, ctx(user("x")))


@pytest.mark.parametrize(
    ("fields", "match", "expected"),
    [
        ({"tool_choice": "required"}, "required", True),
        ({"tool_choice": "auto"}, "required", False),
        ({}, "auto", False),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, {"function": "f"}, True),
        (
            {"tool_choice": {"type": "function", "function": {"name": "g"}}},
            {"function": "f"},
            False,
        ),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, "required", False),
        ({"function_call": {"name": "f"}}, {"function": "f"}, True),
        ({"function_call": "none"}, "none", True),
    ],
)
def test_tool_choice(fields: Body, match: Any, expected: bool) -> None:
    assert holds({"tool_choice": match}, ctx(user("x"), **fields)) is expected


@pytest.mark.parametrize(
    ("response_format", "match", "expected"),
    [
        (None, "text", True),
        ({"type": "text"}, "text", True),
        ({"type": "json_object"}, "json_object", True),
        ({"type": "json_object"}, "text", False),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "json_schema", True),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "json_object", False),
    ],
)
def test_response_format(response_format: Body | None, match: str, expected: bool) -> None:
    fields = {} if response_format is None else {"response_format": response_format}
    assert holds({"response_format": match}, ctx(user("x"), **fields)) is expected


def test_headers_names_are_case_insensitive() -> None:
    context = ctx(user("x"), headers={"X-Tenant": "acme", "x-run": "ci-42"})
    assert holds({"headers": {"x-tenant": "acme"}}, context)
    assert holds({"headers": {"X-TENANT": "acme", "X-Run": {"regex": r"^ci-\d+$"}}}, context)
    assert not holds({"headers": {"X-Tenant": "ACME"}}, context), "values are case-sensitive"
    assert holds({"headers": {"X-Tenant": {"equals": "ACME", "ignore_case": True}}}, context)
    assert not holds({"headers": {"x-missing": "acme"}}, context)
    assert holds({"headers": {"x-missing": ""}}, context), "an absent header reads as empty"


BODY_FIELDS: Body = {
    "temperature": 0.7,
    "max_tokens": 100,
    "user": "team-acme",
    "stop": ["END", "STOP"],
    "seed": 0,
    "metadata": {"flag": True, "nothing": None},
}


@pytest.mark.parametrize(
    ("predicates", "expected"),
    [
        ({"/temperature": 0.7}, True),
        ({"/temperature": {"equals": 0.7}}, True),
        ({"/temperature": 0.8}, False),
        ({"/max_tokens": 100.0}, True),
        ({"/messages/0/content": "hello"}, True),
        ({"/messages/0/role": "assistant"}, False),
        ({"/metadata/flag": True}, True),
        ({"/metadata/nothing": None}, True),
        ({"/metadata/absent": None}, False),
        ({"/user": {"contains": "acme"}}, True),
        ({"/user": {"contains": "other"}}, False),
        ({"/stop": {"contains": "END"}}, True),
        ({"/stop": {"contains": "EN"}}, False),
        ({"/max_tokens": {"contains": "1"}}, False),
        ({"/user": {"regex": "^team-"}}, True),
        ({"/user": {"regex": "^acme"}}, False),
        ({"/max_tokens": {"regex": "100"}}, False),
        ({"/seed": {"exists": True}}, True),
        ({"/seed": {"exists": False}}, False),
        ({"/tools": {"exists": False}}, True),
        ({"/tools": {"exists": True}}, False),
        ({"/metadata/nothing": {"exists": True}}, True),
        ({"/stop/5": {"exists": True}}, False),
        ({"/max_tokens": {"lt": 101}}, True),
        ({"/max_tokens": {"lt": 100}}, False),
        ({"/max_tokens": {"lte": 100}}, True),
        ({"/max_tokens": {"lte": 99.5}}, False),
        ({"/max_tokens": {"gt": 99}}, True),
        ({"/max_tokens": {"gt": 100}}, False),
        ({"/max_tokens": {"gte": 100}}, True),
        ({"/max_tokens": {"gte": 100.5}}, False),
        ({"/temperature": {"gt": 0.5, "lt": 1}}, True),
        ({"/temperature": {"gt": 0.5, "lt": 0.6}}, False),
        ({"/user": {"gt": 0}}, False),
        ({"/metadata/flag": {"gte": 0}}, False),
        ({"/nothing": {"lt": 1}}, False),
        ({"/user": {"exists": True, "contains": "acme", "regex": "a$"}}, False),
        ({"/user": {"exists": True, "contains": "acme", "regex": "e$"}}, True),
    ],
)
def test_body_predicates(predicates: Body, expected: bool) -> None:
    context = ctx(user("hello"), **BODY_FIELDS)
    assert holds({"body": predicates}, context) is expected


def test_body_empty_pointer_is_the_whole_body() -> None:
    context = ctx(user("x"))
    assert holds({"body": {"": {"exists": True}}}, context)
    assert not holds({"body": {"": "a string"}}, context)


@pytest.mark.parametrize("pointer", ["/a~2", "/x~"])
def test_bad_json_pointer(pointer: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_match({"body": {pointer: 1}})
    assert caught.value.path == f"/match/body{pointer}"
    assert "invalid JSON pointer" in caught.value.message


def test_bad_regex_in_a_body_predicate() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_match({"body": {"/user": {"regex": "(("}}})
    assert caught.value.path == "/match/body/user/regex"


def test_any_and_not() -> None:
    block = {"any": [{"last_user": "a"}, {"model": "o3*"}, {"tools": ["t"]}]}
    assert holds(block, ctx(user("a")))
    assert holds(block, ctx(user("b"), model="o3-mini"))
    assert holds(block, ctx(user("b"), tools=[function("t")]))
    assert not holds(block, ctx(user("b")))
    negated = {"not": {"last_user": "a", "model": "gpt-4o"}}
    assert not holds(negated, ctx(user("a")))
    assert holds(negated, ctx(user("a"), model="o3"))
    assert holds(negated, ctx(user("b")))
    nested = {"not": {"any": [{"last_user": "a"}, {"last_user": "b"}]}, "model": "gpt-4o"}
    assert holds(nested, ctx(user("c")))
    assert not holds(nested, ctx(user("b")))


def test_scope_applies_inside_nested_blocks() -> None:
    earlier = ctx(user("secret"), assistant("ok"), user("now"))
    block = {"any": [{"any_message": "secret", "scope": "conversation"}]}
    assert holds(block, earlier)
    assert not holds({"any": [{"any_message": "secret"}]}, earlier)


def test_empty_match_holds_for_everything() -> None:
    for context in (ctx(), ctx(user("x"), model="anything", stream=True), MatchContext({}, {})):
        assert holds({}, context)
        assert holds(None, context)
    assert compile_match({}).conditions == ()
    assert not holds({"not": {}}, ctx(user("x"))), "not of everything is nothing"


def test_all_conditions_must_hold() -> None:
    block = {"model": "gpt-4o", "last_user": {"contains": "x"}, "stream": True}
    assert holds(block, ctx(user("xyz"), stream=True))
    assert not holds(block, ctx(user("xyz")))
    assert not holds(block, ctx(user("abc"), stream=True))


# --- index keys and miss reports --------------------------------------------------------------


def test_keys_are_exact_facts_of_the_top_level_only() -> None:
    block = compile_match(
        {
            "model": "gpt-4o",
            "last_user": "hi",
            "headers": {"X-Case": "boom", "X-Other": {"contains": "y"}},
            "any": [{"model": "o3"}],
            "not": {"last_user": "no"},
        }
    )
    assert set(block.keys) == {("model", "gpt-4o"), ("last_user", "hi"), ("header:x-case", "boom")}
    assert compile_match({"model": "gpt-*", "last_user": {"equals": "hi"}}).keys == ()


def test_failures_say_what_was_expected_and_what_came() -> None:
    block = compile_match(
        {
            "model": "gpt-4o",
            "last_user": {"contains": "weather"},
            "tools": ["get_weather"],
            "body": {"/temperature": {"lt": 0.5}},
            "headers": {"X-Case": "a"},
            "last_message": {"role": "tool", "tool": "get_weather"},
        }
    )
    context = ctx(user("what time is it?"), model="o3", temperature=1, headers={"x-case": "b"})
    failures = block.failures(context)
    assert failures == [
        "model equals 'gpt-4o', got 'o3'",
        "last user message contains 'weather', got 'what time is it?'",
        "tools offered include ['get_weather'], got []",
        "body /temperature lt 0.5, got 1",
        "header X-Case equals 'a', got 'b'",
        "last message has role tool, answering get_weather, got role user",
    ]
    assert block.failures(ctx(user("weather"), tools=[function("get_weather")])) != []


def test_failure_shortens_long_texts() -> None:
    block = compile_match({"last_user": "short"})
    [failure] = block.failures(ctx(user("x" * 500)))
    assert len(failure) < 120
    assert failure.endswith("...'")


def test_no_failures_when_it_holds() -> None:
    block = compile_match({"last_user": "hi", "not": {"model": "o3"}})
    assert block.failures(ctx(user("hi"))) == []
    [failure] = block.failures(ctx(user("hi"), model="o3"))
    assert failure.startswith("not (model equals 'o3')")
