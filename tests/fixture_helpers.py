"""Helpers for the fixture-engine tests: write YAML fixtures, serve them, ask and read replies.

Each fixture in these tests answers with content that names it, so a test can tell which fixture
answered from the body alone; X-Mock-Matched is checked on its own.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from mockserver.contract.schemas import response_validator
from tests.conftest import AUTH, sse_chunks
from tests.support import CHAT

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
Body = dict[str, Any]
MATCHED = "X-Mock-Matched"
WARNING = "X-Mock-Warning"
FORCE = "X-Mock-Fixture"

WEATHER_TOOL: Body = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def tool(name: str, parameters: Mapping[str, Any] | None = None) -> Body:
    """A `tools` entry offering function `name`."""
    function: Body = {"name": name, "parameters": dict(parameters or {"type": "object"})}
    return {"type": "function", "function": function}


def write_yaml(directory: Path, text: str, name: str = "fixtures.yaml") -> Path:
    """Write dedented YAML into directory/name (creating folders) and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


async def serve_yaml(
    make_client: MakeClient, tmp_path: Path, text: str, **settings: Any
) -> TestClient[Any, Any]:
    """A server whose only fixtures are `text` (one YAML file in tmp_path)."""
    path = write_yaml(tmp_path, text)
    return await make_client(fixture_paths=(path,), **settings)


def chat(last_user: str = "hello", *, model: str = "gpt-4o", **fields: Any) -> Body:
    """A valid request body whose last (and only) message is a user message."""
    return {"model": model, "messages": [{"role": "user", "content": last_user}], **fields}


def conversation(*messages: Mapping[str, Any], model: str = "gpt-4o", **fields: Any) -> Body:
    return {"model": model, "messages": [dict(m) for m in messages], **fields}


async def ask(
    client: TestClient[Any, Any], body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> ClientResponse:
    """POST `body` with the test key (plus `headers`)."""
    return await client.post(CHAT, json=dict(body), headers={**AUTH, **(headers or {})})


def assert_schema_valid(kind: str, payload: Any) -> None:
    """`payload` is valid against the response (or chunk) schema, and usage adds up."""
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in response_validator(kind).iter_errors(payload)
    ]
    assert not errors, (errors, payload)
    usage = payload.get("usage")
    if usage:
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def reply_json(
    client: TestClient[Any, Any],
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    status: int = 200,
) -> tuple[Body, ClientResponse]:
    """A non-streamed scripted reply, checked: status, JSON, valid against the response schema."""
    response = await ask(client, body, headers)
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json", text
    payload: Body = json.loads(text)
    assert_schema_valid("response", payload)
    return payload, response


async def content_of(
    client: TestClient[Any, Any], body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> str | None:
    """The first choice's content of a checked 200 reply."""
    payload, _ = await reply_json(client, body, headers)
    content: str | None = payload["choices"][0]["message"]["content"]
    return content


async def reply_stream(
    client: TestClient[Any, Any],
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    status: int = 200,
) -> tuple[list[Body], ClientResponse]:
    """The chunks of a streamed reply, each valid against the chunk schema."""
    response = await ask(client, {**body, "stream": True}, headers)
    raw = await response.read()
    assert response.status == status, raw
    assert response.content_type == "text/event-stream"
    chunks = sse_chunks(raw)
    for chunk in chunks:
        assert_schema_valid("chunk", chunk)
    return chunks, response


def streamed_content(chunks: list[Body], index: int = 0) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if c["choices"] and c["choices"][0]["index"] == index
    )


def streamed_tool_calls(chunks: list[Body]) -> list[Body]:
    """Tool calls of choice 0 rebuilt from their deltas, the way SDK helpers do it."""
    calls: dict[int, Body] = {}
    for chunk in chunks:
        if not chunk["choices"]:
            continue
        for delta in chunk["choices"][0]["delta"].get("tool_calls") or ():
            call = calls.setdefault(delta["index"], {"id": None, "name": "", "arguments": ""})
            if delta.get("id"):
                call["id"] = delta["id"]
            function = delta.get("function") or {}
            call["name"] += function.get("name") or ""
            call["arguments"] += function.get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


async def error_body(response: ClientResponse, status: int) -> Body:
    """The `error` object of an OpenAI-shaped error reply with this status."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json", text
    payload = json.loads(text)
    assert list(payload) == ["error"], payload
    error: Body = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error
