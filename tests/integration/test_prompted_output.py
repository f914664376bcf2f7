"""Output formats prescribed in the prompt (issue #11), through real HTTP and the openai SDK:
a JSON Schema in the system message (instructor JSON / MD_JSON, pydantic-ai PromptedOutput), a
JSON example, a fenced-JSON request, DSPy's field markers; the switch that turns it off."""

from __future__ import annotations

import io
import json
import re
import time
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mockserver.replies.prompted import (
    _FENCED,
    _WANTS_JSON,
    MAX_FIELDS,
    SCAN_CHARS,
    MarkerFormat,
    near_json,
    prompted_format,
)
from tests.conftest import AUTH

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "sights": {"type": "array", "items": {"type": "string"}},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
    },
    "required": ["city", "population"],
    "$defs": {"Tag": {"type": "object", "properties": {"label": {"type": "string"}}}},
}
INSTRUCTOR_SYSTEM = (
    "As a genius expert, your task is to understand the content and provide\n"
    "the parsed objects in json that match the following json_schema:\n\n"
    f"{json.dumps(SCHEMA, indent=2)}\n\n"
    "Make sure to return an instance of the JSON, not the schema itself"
)
PYDANTIC_AI_SYSTEM = (
    "Always respond with a JSON object that's compatible with this schema:\n\n"
    f"{json.dumps(SCHEMA)}\n\n"
    "Don't include any text or Markdown fencing before or after."
)
MD_JSON_USER = "Return the correct JSON response within a ```json codeblock. not the JSON_SCHEMA"
DSPY_SYSTEM = """Your input fields are:
1. `question` (str):
2. `trajectory` (str):
Your output fields are:
1. `next_thought` (str):
2. `next_tool_name` (Literal['search', 'finish']):
3. `next_tool_args` (dict[str, Any]):
All interactions will be structured in the following way, with the appropriate values filled in.

[[ ## question ## ]]
{question}

[[ ## trajectory ## ]]
{trajectory}

[[ ## next_thought ## ]]
{next_thought}

[[ ## next_tool_name ## ]]
{next_tool_name}        # note: the value you produce must exactly match (no extra characters) one of: search; finish

[[ ## next_tool_args ## ]]
{next_tool_args}        # note: the value you produce must adhere to the JSON schema: {"type": "object", "additionalProperties": true}

[[ ## completed ## ]]
In adhering to this structure, your objective is:
        You are an Agent. Your goal is to answer the question.
        (1) search, whose description is <desc>Search the web.</desc>. It takes arguments {'query': {'type': 'string'}, 'limit': {'type': 'integer'}}.
        (2) finish, whose description is <desc>Marks the task as complete.</desc>. It takes arguments {}."""  # noqa: E501


def dspy_user(trajectory: str) -> str:
    return (
        "[[ ## question ## ]]\nWhat is the capital of France?\n\n"
        f"[[ ## trajectory ## ]]\n{trajectory}\n\n"
        "Respond with the corresponding output fields, starting with the field "
        "`[[ ## next_thought ## ]]`, then `[[ ## next_tool_name ## ]]`, then "
        "`[[ ## next_tool_args ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`."
    )


async def content(client: TestClient[Any, Any], **fields: Any) -> str:
    body = {"model": "gpt-4o", **fields}
    response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
    assert response.status == 200, await response.text()
    reply = await response.json()
    text: str = reply["choices"][0]["message"]["content"]
    return text


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"\[\[ ## (\w+) ## \]\]\n?", text)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


@pytest.mark.parametrize("response_format", [None, {"type": "json_object"}])
@pytest.mark.parametrize("system", [INSTRUCTOR_SYSTEM, PYDANTIC_AI_SYSTEM], ids=["instr", "pai"])
async def test_a_schema_in_the_system_message_is_followed(
    client: TestClient[Any, Any], system: str, response_format: Any
) -> None:
    extra = {"response_format": response_format} if response_format else {}
    for seed in range(5):
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": "Tell me about Lyon."},
        ]
        value = json.loads(await content(client, messages=messages, seed=seed, **extra))
        jsonschema.validate(value, SCHEMA)
        assert set(value) == set(SCHEMA["properties"]), "a full object"


async def test_md_json_is_fenced(client: TestClient[Any, Any]) -> None:
    messages = [
        {"role": "system", "content": INSTRUCTOR_SYSTEM},
        {"role": "user", "content": "Tell me about Lyon."},
        {"role": "user", "content": MD_JSON_USER},
    ]
    text = await content(client, messages=messages)
    fenced = re.fullmatch(r"```json\n(.*)\n```", text, re.DOTALL)
    assert fenced, text
    jsonschema.validate(json.loads(fenced.group(1)), SCHEMA)


async def test_a_json_example_is_followed(client: TestClient[Any, Any]) -> None:
    ask = 'Reply in JSON like {"title": "...", "score": 3, "tags": ["a"], "ok": true}.'
    value = json.loads(await content(client, messages=[{"role": "user", "content": ask}]))
    assert set(value) == {"title", "score", "tags", "ok"}
    assert isinstance(value["title"], str)
    assert isinstance(value["score"], int)
    assert value["tags"]
    assert all(isinstance(t, str) for t in value["tags"])
    assert isinstance(value["ok"], bool)


async def test_a_json_example_in_a_chinese_prompt(client: TestClient[Any, Any]) -> None:
    ask = '请用JSON格式回答，例如 {"城市": "...", "人口": 1}。'
    value = json.loads(await content(client, messages=[{"role": "user", "content": ask}]))
    assert set(value) == {"城市", "人口"}
    assert isinstance(value["人口"], int)


async def test_a_fenced_answer_without_a_schema(client: TestClient[Any, Any]) -> None:
    ask = "List three fruits. Answer in a ```json block."
    text = await content(client, messages=[{"role": "user", "content": ask}])
    assert text.startswith("```json\n")
    assert isinstance(json.loads(text[len("```json\n") : -len("\n```")]), dict)


async def test_dspy_react_picks_a_tool_then_finishes(client: TestClient[Any, Any]) -> None:
    first = sections(
        await content(
            client,
            messages=[
                {"role": "system", "content": DSPY_SYSTEM},
                {"role": "user", "content": dspy_user("")},
            ],
        )
    )
    assert list(first) == ["next_thought", "next_tool_name", "next_tool_args", "completed"]
    assert first["next_tool_name"] == "search"
    arguments = json.loads(first["next_tool_args"])
    assert set(arguments) == {"query", "limit"}
    assert isinstance(arguments["limit"], int)
    observed = (
        "[[ ## thought_0 ## ]]\nLook it up.\n\n[[ ## tool_name_0 ## ]]\nsearch\n\n"
        '[[ ## tool_args_0 ## ]]\n{"query": "capital"}\n\n'
        "[[ ## observation_0 ## ]]\nParis is the capital of France."
    )
    second = sections(
        await content(
            client,
            messages=[
                {"role": "system", "content": DSPY_SYSTEM},
                {"role": "user", "content": dspy_user(observed)},
            ],
        )
    )
    assert second["next_tool_name"] == "finish"
    assert json.loads(second["next_tool_args"]) == {}


async def test_the_switch_turns_it_off(make_client: Any) -> None:
    messages = [
        {"role": "system", "content": DSPY_SYSTEM},
        {"role": "user", "content": dspy_user("")},
    ]
    on = await make_client()
    assert "[[ ## next_tool_name ## ]]" in await content(on, messages=messages)
    off = await make_client(disabled_rules=frozenset({"prompted-format"}))
    assert "[[ ## " not in await content(off, messages=messages)


@pytest.mark.parametrize(
    "text",
    [
        'Here is a config: {"a": 1}. What does it do?',  # JSON shown, not asked for
        "Explain what a JSON schema is.",
        'Look at {"type": "object", "properties": {}} and tell me about it in prose.',
    ],
)
def test_json_in_prose_is_not_a_format(text: str) -> None:
    found = prompted_format([{"role": "user", "content": text}], json_object=False)
    assert found is None


def test_dspy_typed_fields() -> None:
    system = DSPY_SYSTEM.replace(
        "3. `next_tool_args` (dict[str, Any]):",
        "3. `next_tool_args` (dict[str, Any]):\n4. `n` (int):",
    )
    found = prompted_format([{"role": "system", "content": system}], json_object=False)
    assert isinstance(found, MarkerFormat)
    schemas = {f.name: f.schema for f in found.fields}
    assert schemas["n"] == {"type": "integer"}
    assert schemas["next_tool_name"] == {"enum": ["search", "finish"]}
    assert found.tool_arguments["search"] == {
        "query": {"type": "string"},
        "limit": {"type": "integer"},
    }


async def test_hostile_prompts_are_answered(client: TestClient[Any, Any]) -> None:
    """Many unterminated objects and markers: detection reads a bounded part, the reply comes."""
    hostile = 'respond in json {"a": "' + "x" * 1_000_000
    messages = [{"role": "system", "content": hostile}] * 3 + [
        {"role": "system", "content": "[[ ## " * 100_000},
        {"role": "user", "content": "{" * 1_000_000},
    ]
    raw = json.dumps({"model": "gpt-4o", "messages": messages}).encode()
    headers = {**AUTH, "Content-Type": "application/json"}
    response = await client.post("/v1/chat/completions", data=io.BytesIO(raw), headers=headers)
    assert response.status == 200, await response.text()
    assert (await response.json())["choices"][0]["message"]["content"]


async def test_prompted_values_spend_the_reply_budget(client: TestClient[Any, Any]) -> None:
    """A schema or an example in the prompt that would cost more than a reply's budget (a
    million values; lists nested 24 deep) is answered with the empty object, soon."""
    costly = {
        "type": "object",
        "properties": {
            "a": {
                "type": "array",
                "minItems": 1000,
                "items": {"type": "array", "minItems": 1000, "items": {"type": "string"}},
            }
        },
        "required": ["a"],
    }
    asks = [
        "Respond in JSON following this schema: " + json.dumps(costly),
        'Reply in JSON like {"a": ' + "[" * 24 + "1" + "]" * 24 + "}",
    ]
    for ask in asks:
        messages = [{"role": "system", "content": ask}, {"role": "user", "content": "hi"}]
        started = time.monotonic()
        body = {"model": "gpt-4o", "n": 8, "messages": messages}
        response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert response.status == 200, await response.text()
        choices = (await response.json())["choices"]
        assert [c["message"]["content"] for c in choices] == ["{}"] * 8
        assert time.monotonic() - started < 10


async def test_json_nested_past_the_decoder_is_no_format(client: TestClient[Any, Any]) -> None:
    deep = "Respond in JSON like this: " + '{"a":' * 20_000 + "1" + "}" * 20_000
    messages = [{"role": "system", "content": deep}, {"role": "user", "content": "hi"}]
    assert await content(client, messages=messages)


PIECES = [
    "json", "JSON", "Json", "j\u017fon", " ", "\n", "\t", "x", "é", "_", "1", ".", "```", "respond",
    "reply", " in ", " as ", "schema", "object", "output", "code block", "fence", "格式", "用",
    "输出", "words " * 6, "words " * 20,
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60))
@example(["x" * 200, " Provide", " " * 60, "JSON.", "x" * 200])  # the farthest reach before it
@example(["x" * 200, " json", " " * 40, "response.", "x" * 200])  # ... and after it
@example(["x" * 200, " json", " " * 40, "schemas", "x" * 200])  # no match: \b reads the same
def test_searching_near_json_finds_what_the_whole_text_does(pieces: list[str]) -> None:
    text = "".join(pieces)
    for pattern in (_WANTS_JSON, _FENCED):
        near = any(pattern.search(part) for part in near_json(text))
        assert near == bool(pattern.search(text)), (pattern.pattern, text)


async def test_marker_fields_are_bounded(client: TestClient[Any, Any]) -> None:
    """Thousands of markers, none filled by a long user message: the first MAX_FIELDS are."""
    system = "".join(f"[[ ## f{i} ## ]]\n" for i in range(6_000))[:SCAN_CHARS]
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "x" * 100_000}]
    started = time.monotonic()
    text = await content(client, messages=messages, n=8)
    assert list(sections(text)) == [f"f{i}" for i in range(MAX_FIELDS)]
    assert time.monotonic() - started < 10
