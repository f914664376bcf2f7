"""Generated tool calls and legacy function calls over HTTP (issue #4).

tool_choice none / required / named / auto, parallel calls, the non-stream shape, streams shaped
exactly as OpenAI sends them (CLIENT-WIRE-FORMAT.md 5.1), arguments valid against each function's
parameters for random schemas, and the legacy `functions` API.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.app.factory import create_app
from mockserver.contract.schemas import load_schema, response_validator
from mockserver.settings import Settings
from tests.support import (
    assert_valid_completion,
    body_with,
    check_stream,
    completion,
    stream,
)
from tests.unit.test_tool_calls import (
    ANSWERED,
    ASKED,
    STOCK,
    TOOLS,
    TRANSLATE,
    USER,
    WEATHER,
    assert_valid,
    parameter_schemas,
)

CALL_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")
AFTER_RESULT = [USER, ASKED, ANSWERED]
ZH_AFTER_RESULT = [
    {"role": "user", "content": "北京天气怎么样？"},
    {**ASKED, "tool_calls": [{**ASKED["tool_calls"][0], "id": "call_zh"}]},
    {"role": "tool", "tool_call_id": "call_zh", "content": "晴，25度"},
]
FUNCTIONS = [WEATHER["function"], STOCK["function"]]
SPEC_FUNCTIONS: dict[str, Any] = next(
    e["body"]
    for e in load_schema("spec_examples.json")["requests"]
    if "functions" in e["body"] and e["body"].get("tool_choice") == "auto"
)
Client = TestClient[Any, Any]


def parameters(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Each offered function's parameters by name (the empty object schema when absent)."""
    return {
        t["function"]["name"]: t["function"].get("parameters", {"type": "object"}) for t in tools
    }


def check_calls(message: dict[str, Any], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every call is shaped as OpenAI's and its arguments fit the called function."""
    offered = parameters(tools)
    calls: list[dict[str, Any]] = message["tool_calls"]
    assert calls, message
    for call in calls:
        assert set(call) == {"id", "type", "function"}, call
        assert CALL_ID.fullmatch(call["id"]), call["id"]
        assert call["type"] == "function"
        assert set(call["function"]) == {"name", "arguments"}, call
        assert call["function"]["name"] in offered, call
        assert isinstance(call["function"]["arguments"], str), "arguments are a JSON *string*"
        assert_valid(offered[call["function"]["name"]], call["function"]["arguments"])
    assert len({c["id"] for c in calls}) == len(calls), "ids are unique within a reply"
    return calls


async def ask(
    client: Client, schema: jsonschema.Draft7Validator, **fields: Any
) -> tuple[dict[str, Any], str]:
    """(message, finish_reason) of a schema-valid non-streamed reply."""
    reply = await completion(client, body_with(**fields))
    assert_valid_completion(reply, schema)
    choice = reply["choices"][0]
    return choice["message"], choice["finish_reason"]


def assert_text(message: dict[str, Any], finish_reason: str) -> str:
    assert "tool_calls" not in message, message
    assert "function_call" not in message, message
    assert finish_reason == "stop"
    content = message["content"]
    assert isinstance(content, str)
    assert content
    return content


# tool_choice.


@pytest.mark.parametrize("messages", [[USER], AFTER_RESULT], ids=["user-last", "tool-last"])
async def test_tool_choice_none_never_calls(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
    messages: list[dict[str, Any]],
) -> None:
    fields = {"messages": messages, "tools": TOOLS, "tool_choice": "none"}
    for seed in range(8):
        assert_text(*await ask(client, completion_schema, seed=seed, **fields))
    summary = check_stream(
        await stream(client, body_with(**fields)), chunk_schema, include_usage=False
    )
    assert summary.tool_calls == {}
    assert summary.finish_reason == {0: "stop"}


@pytest.mark.parametrize("messages", [[USER], AFTER_RESULT], ids=["user-last", "tool-last"])
async def test_tool_choice_required_always_calls(
    client: Client, completion_schema: jsonschema.Draft7Validator, messages: list[dict[str, Any]]
) -> None:
    for seed in range(8):
        message, finish_reason = await ask(
            client,
            completion_schema,
            messages=messages,
            tools=TOOLS,
            tool_choice="required",
            seed=seed,
        )
        assert finish_reason == "tool_calls"
        check_calls(message, TOOLS)


@pytest.mark.parametrize("messages", [[USER], AFTER_RESULT], ids=["user-last", "tool-last"])
async def test_named_tool_choice_calls_that_function(
    client: Client, completion_schema: jsonschema.Draft7Validator, messages: list[dict[str, Any]]
) -> None:
    """translate is named although the prompt is about the weather and a result came back."""
    named = {"type": "function", "function": {"name": "translate"}}
    for seed in range(5):
        message, finish_reason = await ask(
            client, completion_schema, messages=messages, tools=TOOLS, tool_choice=named, seed=seed
        )
        assert finish_reason == "tool_calls"
        assert [c["function"]["name"] for c in check_calls(message, TOOLS)] == ["translate"]


@pytest.mark.parametrize("choice", [None, "auto"], ids=["default", "auto"])
async def test_auto_calls_when_the_user_spoke_last(
    client: Client, completion_schema: jsonschema.Draft7Validator, choice: str | None
) -> None:
    extra = {} if choice is None else {"tool_choice": choice}
    for seed in range(5):
        message, finish_reason = await ask(
            client, completion_schema, tools=TOOLS, seed=seed, messages=[USER], **extra
        )
        assert finish_reason == "tool_calls"
        calls = check_calls(message, TOOLS)
        assert calls[0]["function"]["name"] == "get_weather", "the prompt is about the weather"


@pytest.mark.parametrize(
    ("messages", "result"),
    [(AFTER_RESULT, "18°C, light rain"), (ZH_AFTER_RESULT, "晴，25度")],
    ids=["en", "zh"],
)
async def test_auto_answers_a_tool_result_in_text_that_uses_it(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
    messages: list[dict[str, Any]],
    result: str,
) -> None:
    body = {"messages": messages, "tools": TOOLS, "tool_choice": "auto"}
    content = assert_text(*await ask(client, completion_schema, **body))
    assert result in content, content
    assert "get_weather" in content, "the answer says which tool it read"
    streamed = check_stream(
        await stream(client, body_with(**body)), chunk_schema, include_usage=False
    )
    assert streamed.content[0] == content
    assert streamed.tool_calls == {}


# Parallel calls.


async def test_parallel_tool_calls(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    counts: dict[int, int] = {}
    for seed in range(51):
        message, _ = await ask(client, completion_schema, tools=TOOLS, seed=seed)
        calls = check_calls(message, TOOLS)
        counts[seed] = len(calls)
        assert len({c["function"]["name"] for c in calls}) == len(calls), "one call per tool"
    assert max(counts.values()) > 1, f"no seed in 0..50 calls tools in parallel: {counts}"
    assert max(counts.values()) <= len(TOOLS)


@pytest.mark.parametrize("choice", ["auto", "required"])
async def test_parallel_tool_calls_false_never_calls_several(
    client: Client, completion_schema: jsonschema.Draft7Validator, choice: str
) -> None:
    for seed in range(51):
        message, _ = await ask(
            client,
            completion_schema,
            tools=TOOLS,
            tool_choice=choice,
            parallel_tool_calls=False,
            seed=seed,
        )
        assert len(check_calls(message, TOOLS)) == 1, seed


async def parallel_seed(client: Client) -> int:
    """The first seed in 0..50 whose reply to TOOLS calls several of them."""
    for seed in range(51):
        reply = await completion(client, body_with(tools=TOOLS, seed=seed))
        if len(reply["choices"][0]["message"].get("tool_calls") or ()) > 1:
            return seed
    raise AssertionError("no seed in 0..50 calls tools in parallel")


# The non-stream shape.


async def test_a_tool_call_reply_has_null_content(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    """content is present and null, as OpenAI sends it: a frontend that reads
    `message.content.length` without a null check breaks on every tool call."""
    reply = await completion(client, body_with(tools=[WEATHER], tool_choice="required"))
    assert_valid_completion(reply, completion_schema)
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert "content" in message
    assert message["content"] is None
    assert message["role"] == "assistant"
    [call] = check_calls(message, [WEATHER])
    assert isinstance(json.loads(call["function"]["arguments"])["city"], str)
    assert reply["usage"]["completion_tokens"] > 0


async def test_ids_are_fresh_per_reply(client: Client) -> None:
    """The same body gives the same calls (cached), but never the same ids again."""
    body = body_with(tools=[WEATHER], tool_choice="required", seed=1)
    first = (await completion(client, body))["choices"][0]["message"]["tool_calls"]
    second = (await completion(client, body))["choices"][0]["message"]["tool_calls"]
    assert [c["function"] for c in first] == [c["function"] for c in second]
    assert {c["id"] for c in first}.isdisjoint(c["id"] for c in second)


# Streams, exactly as OpenAI sends them.


@dataclass
class StreamedCall:
    id: str
    name: str
    fragments: list[str] = field(default_factory=list)

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


def streamed_tool_calls(chunks: list[dict[str, Any]]) -> list[StreamedCall]:
    """The tool calls of choice 0, checking each delta has exactly OpenAI's fields."""
    calls: list[StreamedCall] = []
    for chunk in chunks:
        for choice in chunk["choices"]:
            for delta in choice["delta"].get("tool_calls") or ():
                if delta["index"] == len(calls):  # a header: id, type, name, empty arguments
                    assert set(delta) == {"index", "id", "type", "function"}, delta
                    assert CALL_ID.fullmatch(delta["id"]), delta
                    assert delta["type"] == "function"
                    assert set(delta["function"]) == {"name", "arguments"}, delta
                    assert delta["function"]["arguments"] == ""
                    calls.append(StreamedCall(delta["id"], delta["function"]["name"]))
                else:
                    assert delta["index"] == len(calls) - 1, "each call's fragments follow it"
                    assert set(delta) == {"index", "function"}, delta
                    assert set(delta["function"]) == {"arguments"}, delta
                    assert delta["function"]["arguments"], "no empty fragments"
                    calls[-1].fragments.append(delta["function"]["arguments"])
    return calls


def assert_no_prefix_parses(fragments: list[str]) -> None:
    """ai5 finalises a call as soon as its arguments parse: only the whole string may."""
    whole = "".join(fragments)
    assert isinstance(json.loads(whole), dict), whole
    for end in range(len(fragments)):  # "" (the header's), then each fragment boundary
        prefix = "".join(fragments[:end])
        with pytest.raises(json.JSONDecodeError):
            json.loads(prefix)


async def test_streamed_tool_calls_as_openai_sends_them(
    client: Client, chunk_schema: jsonschema.Draft7Validator
) -> None:
    seed = await parallel_seed(client)
    body = body_with(tools=TOOLS, seed=seed)
    plain = (await completion(client, body))["choices"][0]["message"]
    chunks = await stream(client, body)
    summary = check_stream(chunks, chunk_schema, include_usage=False)
    assert chunks[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
    }
    calls = streamed_tool_calls(chunks)
    assert len(calls) > 1
    assert [c.name for c in calls] == [c["function"]["name"] for c in plain["tool_calls"]]
    assert [c.arguments for c in calls] == [c["function"]["arguments"] for c in plain["tool_calls"]]
    check_calls(
        {
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in calls
            ]
        },
        TOOLS,
    )
    for call in calls:
        assert call.fragments, "arguments come in fragments after the header"
        assert_no_prefix_parses(call.fragments)
    last = chunks[-1]["choices"][0]
    assert last["delta"] == {}
    assert last["finish_reason"] == "tool_calls"
    assert summary.content == {0: ""}, "no content in a tool-call stream"


@pytest.mark.parametrize("include_usage", [False, True])
async def test_streamed_tool_call_usage_matches_the_plain_reply(
    client: Client, chunk_schema: jsonschema.Draft7Validator, include_usage: bool
) -> None:
    body = body_with(tools=[WEATHER, STOCK], tool_choice="required", seed=4)
    plain = await completion(client, body)
    chunks = await stream(client, {**body, "stream_options": {"include_usage": include_usage}})
    summary = check_stream(chunks, chunk_schema, include_usage=include_usage)
    assert summary.finish_reason == {0: "tool_calls"}
    if include_usage:
        assert summary.usage is not None
        assert summary.usage["completion_tokens"] == plain["usage"]["completion_tokens"]


# Random parameter schemas through the whole app.


async def started_client() -> TestClient[web.Request, web.Application]:
    """A client of a default app; built inside the loop it will run on."""
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(create_app(Settings(access_log=False)))
    )
    await client.start_server()
    return client


def test_arguments_validate_for_random_parameter_schemas() -> None:
    """Any satisfiable `parameters`, posted through the app, get arguments that validate,
    plain or streamed (and then no strict prefix of them parses)."""
    responses = response_validator("response")
    chunks_schema = response_validator("chunk")
    with asyncio.Runner() as runner:
        client = runner.run(started_client())
        try:

            @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
            @given(
                schemas=st.lists(parameter_schemas(), min_size=1, max_size=3),
                named=st.booleans(),
                streamed=st.booleans(),
                seed=st.integers(0, 2**31 - 1),
            )
            def check(
                schemas: list[dict[str, Any]], named: bool, streamed: bool, seed: int
            ) -> None:
                tools: list[dict[str, Any]] = [
                    {"type": "function", "function": {"name": f"tool_{i}", "parameters": s}}
                    for i, s in enumerate(schemas)
                ]
                choice: Any = "required"
                if named:
                    choice = {
                        "type": "function",
                        "function": {"name": tools[-1]["function"]["name"]},
                    }
                body = body_with(tools=tools, tool_choice=choice, seed=seed)
                if not streamed:
                    reply = runner.run(completion(client, body))
                    assert_valid_completion(reply, responses)
                    check_calls(reply["choices"][0]["message"], tools)
                    return
                chunks = runner.run(stream(client, body))
                check_stream(chunks, chunks_schema, include_usage=False)
                calls = streamed_tool_calls(chunks)
                offered = parameters(tools)
                assert calls
                for call in calls:
                    assert_valid(offered[call.name], call.arguments)
                    assert_no_prefix_parses(call.fragments)

            check()
        finally:
            runner.run(client.close())


# Legacy functions.


def assert_function_call(
    reply: dict[str, Any], schema: jsonschema.Draft7Validator, name: str | None = None
) -> dict[str, Any]:
    assert_valid_completion(reply, schema)
    choice = reply["choices"][0]
    message = choice["message"]
    assert choice["finish_reason"] == "function_call"
    assert message["content"] is None
    assert "tool_calls" not in message, "legacy functions are answered with function_call"
    call: dict[str, Any] = message["function_call"]
    assert set(call) == {"name", "arguments"}, call
    assert call["name"] == name if name else call["name"] in {f["name"] for f in FUNCTIONS}
    return call


@pytest.mark.parametrize(
    "choice",
    [{}, {"function_call": "auto"}, {"tool_choice": "auto"}],
    ids=["default", "function_call-auto", "tool_choice-auto"],
)
async def test_legacy_functions_get_a_function_call(
    client: Client, completion_schema: jsonschema.Draft7Validator, choice: dict[str, Any]
) -> None:
    reply = await completion(client, body_with(functions=FUNCTIONS, **choice))
    call = assert_function_call(reply, completion_schema, "get_weather")
    assert_valid(WEATHER["function"]["parameters"], call["arguments"])


async def test_the_spec_functions_example(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    """The spec pairs `functions` with `tool_choice: auto`: a function_call for get_weather."""
    reply = await completion(client, SPEC_FUNCTIONS)
    call = assert_function_call(reply, completion_schema, "get_weather")
    assert_valid(SPEC_FUNCTIONS["functions"][0]["parameters"], call["arguments"])


async def test_legacy_named_function_call(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    reply = await completion(
        client, body_with(functions=FUNCTIONS, function_call={"name": "get_stock_price"})
    )
    call = assert_function_call(reply, completion_schema, "get_stock_price")
    assert_valid(STOCK["function"]["parameters"], call["arguments"])


@pytest.mark.parametrize(
    "fields",
    [{"function_call": "none"}, {"tool_choice": "none"}],
    ids=["function_call", "tool_choice"],
)
async def test_legacy_function_call_none_answers_in_text(
    client: Client, completion_schema: jsonschema.Draft7Validator, fields: dict[str, Any]
) -> None:
    assert_text(*await ask(client, completion_schema, functions=FUNCTIONS, **fields))


@pytest.mark.parametrize(
    "body", [body_with(functions=FUNCTIONS), SPEC_FUNCTIONS], ids=["en", "spec"]
)
async def test_legacy_function_call_streamed(
    client: Client, chunk_schema: jsonschema.Draft7Validator, body: dict[str, Any]
) -> None:
    plain = (await completion(client, body))["choices"][0]["message"]["function_call"]
    chunks = await stream(client, body)
    summary = check_stream(chunks, chunk_schema, include_usage=False)
    deltas = [
        c["choices"][0]["delta"]["function_call"]
        for c in chunks
        if "function_call" in c["choices"][0]["delta"]
    ]
    assert deltas[0] == {"name": "get_weather", "arguments": ""}, "the name first, once"
    assert all(set(d) == {"arguments"} for d in deltas[1:]), deltas
    fragments = [d["arguments"] for d in deltas[1:]]
    assert_no_prefix_parses(fragments)
    assert "".join(fragments) == plain["arguments"]
    assert summary.function_call[0] == plain
    assert summary.tool_calls == {}
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "function_call",
    }


async def test_tools_win_over_functions(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    message, finish_reason = await ask(
        client, completion_schema, tools=[TRANSLATE], functions=FUNCTIONS, tool_choice="required"
    )
    assert finish_reason == "tool_calls"
    assert "function_call" not in message
    assert [c["function"]["name"] for c in check_calls(message, [TRANSLATE])] == ["translate"]


@pytest.mark.parametrize(
    "fields",
    [{"tools": [WEATHER], "tool_choice": "required"}, {"functions": FUNCTIONS}],
    ids=["tools", "functions"],
)
async def test_max_tokens_cuts_a_call(
    client: Client, completion_schema: jsonschema.Draft7Validator, fields: dict[str, Any]
) -> None:
    """As OpenAI at max_tokens: the call is cut short and the reply finishes with length."""
    reply = await completion(client, body_with(max_tokens=2, **fields))
    assert_valid_completion(reply, completion_schema)
    assert reply["usage"]["completion_tokens"] <= 2
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "length"
    message = choice["message"]
    calls = [c["function"] for c in message.get("tool_calls") or ()]
    calls += [message["function_call"]] if "function_call" in message else []
    assert len(calls) == 1, message
    assert calls[0]["arguments"].startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(calls[0]["arguments"])
