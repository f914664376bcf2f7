"""Agent loops end (issue #11): for 1-5 tools plus an output tool, under each tool_choice mode,
a client that feeds back plausible tool results gets its answer within a few turns, never calls
a tool twice, and every object the generator fills has its declared properties."""

from __future__ import annotations

import json
from random import Random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mockserver.contract.request import ChatRequest
from mockserver.replies.generated import TextGenerator, generate
from mockserver.replies.schema_values import value_for
from mockserver.replies.schema_values.limits import SOFT_DEPTH
from mockserver.replies.tool_calls import current_turn, is_output_tool, planned_tools
from tests.unit.test_tool_calls import NAMES, Schema, parameter_schemas, request

TEXT = TextGenerator(cache_size=0)
MAX_TURNS = 3  # tools, then the output tool; a forced first call adds at most one turn
OUTPUT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "final_result",
        "description": "The final response which ends this conversation",
        "parameters": {
            "type": "object",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
            "required": [],
        },
    },
}
VERBS = ("get", "search", "lookup", "fetch", "list", "find")


@st.composite
def tool_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-5 distinct tools (with parameters from the argument strategy) and an output tool."""
    count = draw(st.integers(1, 5))
    names = draw(
        st.lists(
            st.tuples(st.sampled_from(VERBS), st.sampled_from(NAMES)).map("_".join),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    tools = [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"{name.replace('_', ' ')} for the user",
                "parameters": draw(parameter_schemas()),
            },
        }
        for name in names
    ]
    tools.insert(draw(st.integers(0, len(tools))), OUTPUT_TOOL)
    return tools


def filled(schema: Any, value: Any, depth: int = 0) -> bool:
    """Every object that matches an object schema with declared properties has them all
    (above the depth where recursive schemas are cut short)."""
    if not isinstance(schema, dict) or depth >= SOFT_DEPTH:
        return True
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if Draft202012Validator(b).is_valid(value)]
        return any(filled(b, value, depth + 1) for b in branches)
    if isinstance(value, dict) and schema.get("properties"):
        if set(schema["properties"]) - set(value):
            return False
        return all(filled(schema["properties"][k], v, depth + 1) for k, v in value.items())
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return all(filled(schema["items"], v, depth + 1) for v in value)
    return True


def result_for(name: str, arguments: str) -> str:
    """A plausible tool result: what a function returns for these arguments."""
    return json.dumps({"tool": name, "input": json.loads(arguments), "status": "ok"})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tools=tool_sets(),
    mode=st.sampled_from(("auto", "required", "named", "none")),
    parallel=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_simulated_agent_loop_ends(
    tools: list[dict[str, Any]], mode: str, parallel: bool, seed: int
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Find what I need and give me the final answer."}
    ]
    ordinary = [t["function"]["name"] for t in tools if t is not OUTPUT_TOOL]
    # openai-agents' reset_tool_choice: a forced choice applies to the first call only
    choice: Any = (
        {"type": "function", "function": {"name": ordinary[0]}} if mode == "named" else mode
    )
    called: list[str] = []
    for turn in range(1, MAX_TURNS + 1):
        body = {
            "model": "gpt-4o",
            "messages": messages,
            "tools": tools,
            "tool_choice": choice,
            "parallel_tool_calls": parallel,
            "seed": seed,
        }
        reply = generate(ChatRequest(body=body, headers={}), TEXT, None).choices[0]
        if not reply.tool_calls:
            assert reply.content, "the turn ends in text"
            assert mode in ("auto", "none")
            return
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
        for call in reply.tool_calls:
            assert filled(schemas[call.name], json.loads(call.arguments)), call.arguments
        names = [c.name for c in reply.tool_calls]
        if "final_result" in names:
            assert names == ["final_result"], "the output tool is called alone"
            return
        assert not set(names) & set(called), f"turn {turn} calls {names} again"
        called += names
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [c.to_json() for c in reply.tool_calls],
            }
        )
        messages += [
            {"role": "tool", "tool_call_id": c.id, "content": result_for(c.name, c.arguments)}
            for c in reply.tool_calls
        ]
        choice = "auto" if mode == "named" else choice
    raise AssertionError(f"no answer after {MAX_TURNS} turns ({mode}): called {called}")


@settings(max_examples=40, deadline=None)
@given(schema=parameter_schemas(), seed=st.integers(0, 2**16))
def test_objects_have_their_declared_properties(schema: Schema, seed: int) -> None:
    value = value_for(schema, Random(seed))
    assert filled(schema, value), value
    if schema["properties"]:
        assert value, "an object with declared properties is never empty"


def test_all_optional_properties_are_filled() -> None:
    """instructor's Iterable[Model]: an array property, nothing required."""
    schema = {
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                },
            }
        },
        "required": [],
    }
    for seed in range(30):
        value = value_for(schema, Random(seed))
        assert value["tasks"], "at least one item"
        assert all(set(item) == {"name", "age"} for item in value["tasks"])


def test_a_rejected_full_object_falls_back_to_fewer_properties() -> None:
    """`not` forbids having both: the generator leaves one out rather than fail."""
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "not": {"required": ["a", "b"]},
    }
    for seed in range(20):
        value = value_for(schema, Random(seed))
        assert not {"a", "b"} <= set(value)
    exclusive = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
    }
    for seed in range(20):
        assert len(value_for(exclusive, Random(seed))) == 1


def test_max_properties_caps_the_fill() -> None:
    schema = {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in "abcdef"},
        "maxProperties": 2,
    }
    assert len(value_for(schema, Random(1))) == 2


# The planning rules one by one.

WEATHER_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    ],
}


def _tool(name: str, description: str = "") -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description}}


TOOLS = [_tool("get_weather", "Weather in a city"), _tool("get_time", "Time in a city")]


def test_required_moves_on_to_tools_not_called_yet() -> None:
    result = {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    messages = [{"role": "user", "content": "weather?"}, WEATHER_CALL, result]
    for seed in range(20):
        chosen = planned_tools(
            request(messages=messages, tools=TOOLS, tool_choice="required"), Random(seed)
        )
        assert [t.name for t in chosen] == ["get_time"]


def test_a_result_asking_for_a_retry_is_retried_a_few_times() -> None:
    retry = {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "1 validation error: city is required. Fix the errors and try again.",
    }
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather?"}]
    for attempt in range(4):
        messages += [WEATHER_CALL, retry]
        chosen = planned_tools(request(messages=messages, tools=TOOLS), Random(0))
        expected = ["get_weather"] if attempt < 2 else []
        assert [t.name for t in chosen] == expected, attempt


def test_a_new_user_message_starts_a_new_turn() -> None:
    result = {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "weather?"},
        WEATHER_CALL,
        result,
        {"role": "assistant", "content": "Sunny."},
        {"role": "user", "content": "and the weather tomorrow?"},
    ]
    assert current_turn(messages).calls == {}
    chosen = planned_tools(
        request(messages=messages, tools=TOOLS, parallel_tool_calls=False), Random(0)
    )
    assert [t.name for t in chosen] == ["get_weather"]


def test_output_tools_are_recognised() -> None:
    from mockserver.replies.tool_calls import Offered

    for name, description in [
        ("final_result", ""),
        ("final_result_Person", ""),
        ("answer", ""),
        ("submit_report", ""),
        ("Person", "The final answer to return"),
    ]:
        assert is_output_tool(Offered(name, description, {})), name
    for name in ("get_weather", "search", "final_countdown_timer_lookup"):
        assert not is_output_tool(Offered(name, "Look something up", {})), name
