"""Fuzzing the chat endpoint over real HTTP: no input gets a 5xx, and every 200 and every chunk
validates against schemas/.

Bodies come from three sources: hypothesis-jsonschema drawing from a compact schema of the
request (the spec's own schema is too large for it to draw from quickly), with client-supplied
JSON Schemas (structured output and tool parameters, recursive ones included) drawn by a
strategy of our own; valid bodies with one field replaced by any JSON; and any JSON at all.

CI runs a bounded sample. For a long run: MOCKSERVER_FUZZ_EXAMPLES=5000 pytest tests/fuzz.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from mockserver.contract.schemas import (
    CHUNK_SCHEMA,
    REQUEST_SCHEMA,
    RESPONSE_SCHEMA,
    load_schema,
    response_validator,
)
from mockserver.testing.runner import MockServer

EXAMPLES = int(os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
pytestmark = pytest.mark.timeout(max(120, EXAMPLES * 2))

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

# Client-supplied JSON Schemas: the shapes the generator must survive, bombs and cycles included.
LEAF_SCHEMAS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "string", "format": "email"},
        {"type": "string", "pattern": "^[a-z]{2,5}-[0-9]+$"},
        {"type": "string", "pattern": "^(a+)+$", "minLength": 30},
        {"type": "string", "pattern": "(?=x)x"},
        {"type": "string", "minLength": 10_000},
        {"type": "integer", "minimum": -5, "maximum": 5},
        {"type": "number", "multipleOf": 0.5},
        {"type": "boolean"},
        {"type": "null"},
        {"enum": ["a", "b", 3]},
        {"const": "fixed"},
        {"$ref": "#"},
        True,
    ]
)
CLIENT_SCHEMAS = st.recursive(
    LEAF_SCHEMAS,
    lambda inner: (
        st.builds(
            lambda props, n: {
                "type": "object",
                "properties": props,
                "required": sorted(props)[:n],
                "additionalProperties": False,
            },
            st.dictionaries(st.sampled_from(["city", "name", "items", "x"]), inner, max_size=3),
            st.integers(0, 3),
        )
        | st.builds(
            lambda items, low: {"type": "array", "items": items, "minItems": low},
            inner,
            st.sampled_from([0, 1, 3, 1000]),
        )
        | st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner)
        | st.builds(
            lambda a: {"type": "object", "minProperties": 1000, "additionalProperties": a}, inner
        )
    ),
    max_leaves=6,
)

MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"enum": ["system", "user", "assistant", "developer"]},
        "content": {"type": "string", "maxLength": 80},
    },
    "additionalProperties": False,
}
REQUEST_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"enum": ["gpt-4o", "gpt-4o-mini", "deepseek-chat", "o3-mini", ""]},
        "messages": {"type": "array", "minItems": 0, "maxItems": 3, "items": MESSAGE},
        "stream": {"type": "boolean"},
        "n": {"type": "integer", "minimum": -1, "maximum": 130},
        "max_tokens": {"type": "integer", "minimum": -1, "maximum": 400},
        "temperature": {"type": "number", "minimum": -1, "maximum": 3},
        "top_p": {"type": "number", "minimum": -0.5, "maximum": 1.5},
        "seed": {"type": "integer"},
        "stop": {
            "anyOf": [
                {"type": "string", "maxLength": 5},
                {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 5},
            ]
        },
        "presence_penalty": {"type": "number", "minimum": -3, "maximum": 3},
        "logprobs": {"type": "boolean"},
        "top_logprobs": {"type": "integer", "minimum": -1, "maximum": 25},
        "stream_options": {
            "type": "object",
            "properties": {"include_usage": {"type": "boolean"}},
            "additionalProperties": False,
        },
        "tool_choice": {"enum": ["none", "auto", "required"]},
        "reasoning_effort": {"enum": ["low", "medium", "high", "extreme"]},
        "user": {"type": "string", "maxLength": 10},
    },
    "additionalProperties": False,
}


@st.composite
def request_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A body of the request's shape, with client schemas in response_format or tools."""
    body: dict[str, Any] = draw(from_schema(REQUEST_SHAPE))  # type: ignore[arg-type]
    where = draw(st.sampled_from(["none", "response_format", "tools"]))
    if where == "response_format":
        schema = draw(CLIENT_SCHEMAS)
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": schema},
        }
    elif where == "tools":
        parameters = draw(CLIENT_SCHEMAS)
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": parameters}}]
    return body


@st.composite
def mutated_bodies(draw: st.DrawFn) -> Any:
    """A valid body with one field set to any JSON value."""
    body: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    key = draw(st.sampled_from([*REQUEST_SHAPE["properties"], "tools", "response_format", "x"]))
    body[key] = draw(JSON)
    return body


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with MockServer(journal_limit=200) as server:
        yield server.port


def check(port: int, body: Any) -> None:
    """Send `body`; nothing may be a 5xx, and whatever is a 200 must validate."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            json.dumps(body),
            {"Authorization": "Bearer sk-fuzz", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    assert response.status < 500, (body, raw[:500])
    if response.status != 200:
        error = json.loads(raw)["error"]  # OpenAI's error shape
        assert isinstance(error["message"], str), raw
        return
    if response.headers["Content-Type"].startswith("text/event-stream"):
        events = [e for e in raw.decode().split("\n\n") if e.strip()]
        assert events[-1] == "data: [DONE]", events[-3:]
        for event in events[:-1]:
            assert event.startswith("data: "), event
            chunk = json.loads(event.removeprefix("data: "))
            if "error" in chunk:
                continue  # a scripted mid-stream error: OpenAI's shape, not a chunk
            assert_valid("chunk", chunk, body)
        return
    assert_valid("response", json.loads(raw), body)


@cache
def _is_valid(kind: str) -> Callable[[Any], bool]:
    """The compiled (Rust) check the server's own hot path uses: a reply with n=99 and 20
    top_logprobs a token takes minutes in pure-Python jsonschema under coverage."""
    base = "https://schemas.mockserver.invalid/"  # a name to resolve by, never fetched
    names = (REQUEST_SCHEMA, RESPONSE_SCHEMA, CHUNK_SCHEMA)
    registry = jsonschema_rs.Registry([(base + name, load_schema(name)) for name in names])
    schema = response_validator(kind).schema  # with the documented overlay applied
    assert isinstance(schema, dict)
    compiled = jsonschema_rs.validator_for(schema, registry=registry, base_uri=base + kind)
    return lambda value: bool(compiled.is_valid(value))


def assert_valid(kind: str, value: Any, body: Any) -> None:
    if _is_valid(kind)(value):
        return
    errors = list(response_validator(kind).iter_errors(value))  # explain the failure
    assert not errors, (body, value, errors[0].message)


@FUZZ
@given(body=request_bodies())
def test_schema_shaped_bodies(port: int, body: dict[str, Any]) -> None:
    check(port, body)


@FUZZ
@given(body=mutated_bodies())
def test_mutated_bodies(port: int, body: Any) -> None:
    check(port, body)


@FUZZ
@given(body=JSON)
def test_any_json(port: int, body: Any) -> None:
    check(port, body)
