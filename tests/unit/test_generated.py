"""replies/generated.py on its own: seeded, n, stop, max_tokens, usage, and schema-valid."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from mockserver.contract.request import ChatRequest
from mockserver.contract.schemas import response_validator
from mockserver.replies import tokens
from mockserver.replies.completion import REPLAY_EPOCH, Completion, replayable
from mockserver.replies.generated import (
    DISTINCT_CHOICES,
    TextGenerator,
    generate,
    is_chinese,
    limit,
    seed_key,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


@pytest.fixture(scope="module")
def text() -> TextGenerator:
    return TextGenerator()


@pytest.fixture(scope="module")
def schema() -> jsonschema.Draft7Validator:
    return response_validator("response")


def request(user: str = "Explain tides briefly.", **fields: Any) -> ChatRequest:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": user}], **fields}
    return ChatRequest(body, {})


def fresh(chat: ChatRequest, server_seed: int | None = None) -> Completion:
    """Generated without any cache: a new TextGenerator each time."""
    return generate(chat, TextGenerator(cache_size=0), server_seed)


def contents(completion: Completion) -> list[str | None]:
    return [c.content for c in completion.choices]


def assert_valid(completion: Completion, schema: jsonschema.Draft7Validator) -> None:
    reply = completion.to_json()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(reply)]
    assert not errors, errors
    usage = reply["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_same_body_same_reply_without_the_cache() -> None:
    first, second = fresh(request(seed=5)), fresh(request(seed=5))
    assert contents(first) == contents(second)
    assert first.usage == second.usage
    assert first.id != second.id  # ids stay unique unless replayed


def test_different_seed_or_prompt_gives_a_different_reply() -> None:
    base = contents(fresh(request(seed=5)))
    assert contents(fresh(request(seed=6))) != base
    assert contents(fresh(request("Explain waves briefly.", seed=5))) != base


def test_seed_key_follows_the_seed_in_force() -> None:
    assert seed_key(request(seed=3), None) == seed_key(request(seed=3.0), 99)
    assert seed_key(request(seed=3), None).startswith("request-seed:3.0:")
    assert seed_key(request(), 7).startswith("server-seed:7:")
    assert seed_key(request(), None).startswith("body:")
    assert seed_key(request(), 7) != seed_key(request(), 8)
    # streaming fields do not change the reply: a streamed and a plain request agree
    streamed = request(stream=True, stream_options={"include_usage": True})
    assert seed_key(streamed, 7) == seed_key(request(), 7)
    assert seed_key(request(temperature=0.2), 7) != seed_key(request(), 7)


def test_server_seed_and_request_seed() -> None:
    assert contents(fresh(request(), 1)) == contents(fresh(request(), 1))
    assert contents(fresh(request(), 1)) != contents(fresh(request(), 2))
    assert contents(fresh(request(seed=4), 1)) == contents(fresh(request(seed=4), 2))


def test_cached_reply_is_the_same_with_fresh_tool_call_ids() -> None:
    text = TextGenerator()
    chat = request("What's the weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required")
    first, again = generate(chat, text, 1), generate(chat, text, 1)
    assert len(text.cache) == 1
    (call,) = first.choices[0].tool_calls
    (call_again,) = again.choices[0].tool_calls
    assert (call.name, call.arguments) == (call_again.name, call_again.arguments)
    assert call.id != call_again.id


def test_cache_is_bounded_least_recent_first_out() -> None:
    text = TextGenerator(cache_size=2)
    keys = [seed_key(request(f"question {i}"), None) for i in range(3)]
    for i in range(3):
        generate(request(f"question {i}"), text, None)
    assert list(text.cache) == keys[1:]


def test_n_choices_and_repeats_past_the_distinct_ones() -> None:
    three = fresh(request(n=3, seed=1))
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert len(set(contents(three))) == 3
    many = fresh(request(n=DISTINCT_CHOICES + 2, seed=1))
    assert [c.index for c in many.choices] == list(range(DISTINCT_CHOICES + 2))
    assert contents(many)[DISTINCT_CHOICES:] == contents(many)[:2]
    assert len(set(contents(many))) == DISTINCT_CHOICES


def test_stop_sequences_cut_the_content() -> None:
    for stop in (["e"], ["\n\n"], ["e", "a"]):
        completion = fresh(request(stop=stop, seed=2))
        (choice,) = completion.choices
        assert choice.content is not None
        assert not any(s in choice.content for s in stop)
        assert choice.finish_reason == "stop"


@pytest.mark.parametrize("budget", [0, 1, 5, 12])
def test_max_tokens_cuts_with_finish_reason_length(budget: int) -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        limits: dict[str, Any] = {field: budget}
        (choice,) = fresh(request(seed=3, **limits)).choices
        assert choice.content is not None
        assert tokens.count(choice.content) == budget
        assert choice.finish_reason == "length"


def test_a_large_limit_finishes_with_stop() -> None:
    completion = fresh(request(seed=3, max_tokens=4000))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens < 4000


def test_usage_adds_up(schema: jsonschema.Draft7Validator) -> None:
    completion = fresh(request(n=2, seed=4))
    counted = sum(tokens.count(c or "") for c in contents(completion))
    assert completion.usage.completion_tokens == counted
    assert completion.usage.prompt_tokens == 3 + 1 + tokens.count("Explain tides briefly.") + 3
    assert completion.usage.reasoning_tokens == 0
    assert_valid(completion, schema)


def test_reasoning_counts_against_the_limit_and_in_usage() -> None:
    completion = fresh(request(seed=4, reasoning_effort="low"))
    (choice,) = completion.choices
    assert choice.reasoning_content
    reasoning = tokens.count(choice.reasoning_content)
    assert completion.usage.reasoning_tokens == reasoning
    assert completion.usage.completion_tokens == reasoning + tokens.count(choice.content or "")
    # The reasoning and the answer share max_tokens; the reasoning comes first.
    for budget in (60, 5):
        (cut,) = fresh(request(seed=4, reasoning_effort="low", max_tokens=budget)).choices
        thought = tokens.count(cut.reasoning_content or "")
        assert 0 < thought <= budget
        assert thought + tokens.count(cut.content or "") == budget
        assert cut.finish_reason == "length"


def test_tool_calls_have_arguments_valid_for_their_schema() -> None:
    completion = fresh(request("Weather in Paris?", tools=[WEATHER_TOOL], tool_choice="required"))
    (choice,) = completion.choices
    assert choice.content is None
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.tool_calls
    arguments = json.loads(call.arguments)
    jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])  # type: ignore[index]
    assert completion.usage.completion_tokens == tokens.count(call.arguments)


def test_tool_call_arguments_are_cut_at_max_tokens() -> None:
    chat = request("Weather?", tools=[WEATHER_TOOL], tool_choice="required", max_tokens=2)
    (choice,) = fresh(chat).choices
    assert choice.finish_reason == "length"
    assert tokens.count(choice.tool_calls[0].arguments) == 2


def test_chinese_prompt_gets_chinese() -> None:
    (choice,) = fresh(request("请简单介绍一下长城。")).choices
    assert CJK.search(choice.content or "")
    (english,) = fresh(request("Describe the Great Wall.")).choices
    assert not CJK.search(english.content or "")
    assert is_chinese("かな")
    assert not is_chinese("plain")


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"n": 3, "seed": 1},
        {"tools": [WEATHER_TOOL], "tool_choice": "required"},
        {"reasoning_effort": "high"},
        {"response_format": {"type": "json_object"}, "max_tokens": 8},
    ],
)
def test_to_json_validates_against_the_response_schema(
    fields: dict[str, Any], schema: jsonschema.Draft7Validator, text: TextGenerator
) -> None:
    assert_valid(generate(request("Answer in JSON: tides?", **fields), text, None), schema)


def test_replayable_gives_the_same_bytes() -> None:
    chat = request("Weather?", tools=[WEATHER_TOOL], tool_choice="required")
    first, second = replayable(fresh(chat), 9), replayable(fresh(chat), 9)
    assert first.to_json() == second.to_json()
    assert first.created == REPLAY_EPOCH
    assert replayable(fresh(chat), 10).id != first.id


@pytest.mark.parametrize(
    ("content", "stop", "max_tokens", "expected"),
    [
        ("one two six", (), None, ("one two six", "stop")),
        ("one two six", ("two",), None, ("one ", "stop")),
        ("one two six", ("six", "two"), None, ("one ", "stop")),  # the earliest wins
        ("one two six", ("absent",), None, ("one two six", "stop")),
        ("one two six", (), 2, ("one two", "length")),
        ("one two six", (), 3, ("one two six", "stop")),  # exactly at the limit
        ("one two six", ("six",), 3, ("one two ", "stop")),  # cut by stop first: 3 tokens
        ("one two six", ("six",), 2, ("one two", "length")),  # then by the limit
        ("alphabet", (), 1, ("alph", "length")),
        ("你好世界", (), 2, ("你好", "length")),
    ],
)
def test_limit(
    content: str, stop: tuple[str, ...], max_tokens: int | None, expected: tuple[str, str]
) -> None:
    assert limit(content, stop, max_tokens) == expected


TOOL_TURN: list[dict[str, Any]] = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "sunny, 21C"},
]


def test_an_answer_after_a_tool_result_cites_it() -> None:
    (choice,) = fresh(request(messages=TOOL_TURN)).choices
    assert (choice.content or "").startswith("Based on the get_weather result (sunny, 21C),")
    assert choice.finish_reason == "stop"
    chinese = [{**TOOL_TURN[0], "content": "巴黎天气怎么样？"}, *TOOL_TURN[1:]]
    (choice,) = fresh(request(messages=chinese)).choices
    assert (choice.content or "").startswith("根据 get_weather 的返回结果（sunny, 21C），")


def test_search_answers_carry_citations_that_point_into_the_content() -> None:
    for chat in (request(model="gpt-4o-search"), request(web_search_options={})):
        (choice,) = fresh(chat).choices
        content = choice.content or ""
        assert choice.annotations
        for annotation in choice.annotations:
            citation = annotation["url_citation"]
            assert annotation["type"] == "url_citation"
            linked = content[citation["start_index"] : citation["end_index"]]
            assert citation["url"] in linked
            assert citation["url"].startswith("https://")


def test_citations_past_a_cut_are_dropped() -> None:
    (whole,) = fresh(request(model="gpt-4o-search", seed=1)).choices
    (cut,) = fresh(request(model="gpt-4o-search", seed=1, max_tokens=30)).choices
    assert cut.finish_reason == "length"
    assert all(a["url_citation"]["end_index"] <= len(cut.content or "") for a in cut.annotations)
    assert len(cut.annotations) < len(whole.annotations)


def test_legacy_functions_get_a_function_call() -> None:
    functions = [
        {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string"}},
                "required": ["q"],
            },
        }
    ]
    chat = request(functions=functions, function_call={"name": "lookup"})
    completion = fresh(chat)
    (choice,) = completion.choices
    assert choice.content is None
    assert choice.tool_calls == ()
    assert choice.finish_reason == "function_call"
    assert choice.function_call is not None
    assert choice.function_call.name == "lookup"
    assert isinstance(json.loads(choice.function_call.arguments)["q"], str)
    assert completion.usage.completion_tokens == tokens.count(choice.function_call.arguments)
    (short,) = fresh(
        request(functions=functions, function_call={"name": "lookup"}, max_tokens=1)
    ).choices
    assert short.finish_reason == "length"
    assert short.function_call is not None
    assert tokens.count(short.function_call.arguments) == 1


@pytest.mark.parametrize("where", ["not", "if", "anyOf"])
def test_a_remote_ref_in_a_request_schema_is_never_fetched(
    where: str, schema_host: tuple[str, list[str]], schema: jsonschema.Draft7Validator
) -> None:
    url, asked = schema_host
    remote: dict[str, Any] = {"$ref": url}
    parameters = {
        "not": {"type": "object", "not": remote},
        "if": {"type": "object", "if": remote, "then": {"required": ["x"]}},
        "anyOf": {"type": "object", "anyOf": [remote, {"required": ["x"]}]},
    }[where]
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    format_ = {"type": "json_schema", "json_schema": {"name": "r", "schema": parameters}}
    called = fresh(request(tools=[tool], tool_choice="required"))
    assert isinstance(json.loads(called.choices[0].tool_calls[0].arguments), dict)
    structured = fresh(request("Answer in JSON.", response_format=format_))
    assert structured.choices[0].content is not None
    assert_valid(structured, schema)
    assert asked == []
