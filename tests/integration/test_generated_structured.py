"""Generated structured output over HTTP (issue #4): json_object and json_schema content.

The content must be JSON from its first character (the SDK stream helpers partial-parse every
chunk) and, for json_schema, valid against the schema, plain and streamed.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from mockserver.contract.schemas import load_schema
from tests.support import assert_valid_completion, body_with, check_stream, completion, stream

Client = TestClient[Any, Any]
SPEC_JSON_OBJECT: dict[str, Any] = next(
    e["body"]
    for e in load_schema("spec_examples.json")["requests"]
    if (e["body"].get("response_format") or {}).get("type") == "json_object"
)

# What the openai SDK sends for a pydantic model: every property required, no extras.
STRICT_RECIPE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "servings": {"type": "integer", "minimum": 1, "maximum": 12},
        "difficulty": {"type": "string", "enum": ["easy", "medium", "hard"]},
        "ingredients": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "grams": {"type": "number", "exclusiveMinimum": 0},
                },
                "required": ["name", "grams"],
                "additionalProperties": False,
            },
            "minItems": 2,
            "maxItems": 6,
        },
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "author": {"$ref": "#/$defs/Person"},
    },
    "required": ["title", "servings", "difficulty", "ingredients", "note", "author"],
    "additionalProperties": False,
    "$defs": {
        "Person": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
            "required": ["name", "email"],
            "additionalProperties": False,
        }
    },
}
# Non-strict: optional properties, formats, patterns, const, bounds.
LOOSE_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "kind": {"const": "event"},
        "starts": {"type": "string", "format": "date-time"},
        "room": {"type": "string", "pattern": "^[A-Z]-[0-9]{3}$"},
        "seats": {"type": "integer", "minimum": 10, "maximum": 20},
        "tags": {
            "type": "array",
            "items": {"type": "string", "minLength": 2, "maxLength": 8},
            "maxItems": 3,
        },
        "contact": {"type": "string", "format": "email"},
    },
    "required": ["id", "kind", "starts", "room", "seats"],
}
SCHEMAS = {"strict": (STRICT_RECIPE, True), "loose": (LOOSE_EVENT, False)}


def json_schema_format(schema: dict[str, Any], strict: bool) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": strict},
    }


def assert_fits(schema: dict[str, Any], content: str) -> Any:
    """Content is bare JSON (no fences, no prose) valid against the schema, formats included."""
    assert content[:1] in ("{", "["), f"content must be JSON from its first character: {content!r}"
    value = json.loads(content)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, (errors, content)
    return value


def json_content(reply: dict[str, Any], schema: jsonschema.Draft7Validator) -> str:
    assert_valid_completion(reply, schema)
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]
    content = choice["message"]["content"]
    assert isinstance(content, str)
    return content


# json_object.


async def test_json_object_spec_example_has_the_keys_it_asks_for(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    """The spec asks for { "title": "...", "bullets": ["...", "..."] }: that is what comes."""
    content = json_content(await completion(client, SPEC_JSON_OBJECT), completion_schema)
    value = json.loads(content)
    assert isinstance(value, dict)
    assert set(value) == {"title", "bullets"}, value
    assert isinstance(value["title"], str)
    assert value["title"]
    assert isinstance(value["bullets"], list)
    assert len(value["bullets"]) >= 2
    assert all(isinstance(b, str) and b for b in value["bullets"])
    summary = check_stream(
        await stream(client, SPEC_JSON_OBJECT), chunk_schema, include_usage=False
    )
    assert summary.content[0] == content
    assert json.loads(summary.content[0]) == value


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "List three colours as json."}],
        [
            {"role": "system", "content": "Always answer in JSON."},
            {"role": "user", "content": "Tell me about Paris."},
        ],
        [{"role": "user", "content": 'Give JSON like {"name": ..., "age": ..., "hobbies": [...]}'}],
    ],
    ids=["no-keys", "json-in-system", "keys"],
)
async def test_json_object_content_is_an_object(
    client: Client, completion_schema: jsonschema.Draft7Validator, messages: list[dict[str, Any]]
) -> None:
    body = body_with(messages=messages, response_format={"type": "json_object"})
    for seed in range(3):
        content = json_content(await completion(client, {**body, "seed": seed}), completion_schema)
        assert content.startswith("{"), content
        value = json.loads(content)
        assert isinstance(value, dict)
        assert value, "an empty object answers nothing"
        if "hobbies" in json.dumps(messages):
            assert set(value) == {"name", "age", "hobbies"}, "the keys the prompt spells"
            assert isinstance(value["hobbies"], list)


async def test_json_object_with_n_choices(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    reply = await completion(client, {**SPEC_JSON_OBJECT, "n": 3})
    assert_valid_completion(reply, completion_schema)
    values = [json.loads(c["message"]["content"]) for c in reply["choices"]]
    assert all(set(v) == {"title", "bullets"} for v in values)
    assert len({json.dumps(v) for v in values}) == 3, "each choice is its own object"


async def test_json_object_keys_spend_the_reply_budget(client: Client) -> None:
    """A prompt spelling out 20,000 keys (over 8,000 in the part read): 8 choices of them are
    more values than a reply's budget, so the choices past it are the empty object, soon."""
    asked = {f"k{i}" for i in range(20_000)}
    keys = " ".join(f'"{key}": 1,' for key in sorted(asked))
    body = body_with(
        n=8,
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": f"Answer in json with these keys: {keys}"}],
    )
    started = time.monotonic()
    reply = await completion(client, body)
    values = [json.loads(c["message"]["content"]) for c in reply["choices"]]
    assert all(isinstance(v, dict) and set(v) <= asked for v in values)
    assert values[-1] == {}
    assert time.monotonic() - started < 10


# json_schema.


@pytest.mark.parametrize("name", list(SCHEMAS))
async def test_json_schema_content_validates(
    client: Client, completion_schema: jsonschema.Draft7Validator, name: str
) -> None:
    schema, strict = SCHEMAS[name]
    body = body_with(response_format=json_schema_format(schema, strict))
    contents = set()
    for seed in range(6):
        content = json_content(await completion(client, {**body, "seed": seed}), completion_schema)
        assert_fits(schema, content)
        contents.add(content)
    assert len(contents) > 1, "values vary with the seed"


@pytest.mark.parametrize("name", list(SCHEMAS))
async def test_json_schema_streamed_content_validates(
    client: Client,
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
    name: str,
) -> None:
    schema, strict = SCHEMAS[name]
    body = body_with(response_format=json_schema_format(schema, strict), seed=2)
    chunks = await stream(client, {**body, "stream_options": {"include_usage": True}})
    summary = check_stream(chunks, chunk_schema, include_usage=True)
    pieces = [
        c["choices"][0]["delta"]["content"]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert len(pieces) > 1, "streamed in several deltas"
    assert "".join(pieces) == summary.content[0]
    assert_fits(schema, summary.content[0])
    assert summary.finish_reason == {0: "stop"}
    plain = json_content(await completion(client, body), completion_schema)
    assert summary.content[0] == plain


async def test_json_schema_with_tools_and_tool_choice_none(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    """Tools offered but not to be called: the answer is still the structured content."""
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    body = body_with(
        response_format=json_schema_format(STRICT_RECIPE, True), tools=[tool], tool_choice="none"
    )
    assert_fits(STRICT_RECIPE, json_content(await completion(client, body), completion_schema))


async def test_json_schema_truncated_by_max_tokens_finishes_with_length(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    body = body_with(response_format=json_schema_format(STRICT_RECIPE, True), max_tokens=5)
    reply = await completion(client, body)
    assert_valid_completion(reply, completion_schema)
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] <= 5
    content = choice["message"]["content"]
    assert content.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
