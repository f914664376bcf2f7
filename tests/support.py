"""The test modules' one helper module: posting chat requests, checking what comes back, and
writing, serving and asking fixtures.

Everything here asserts on what the server actually sent; nothing compares a value with itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import textwrap
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from mockserver.contract.schemas import response_validator
from tests.conftest import AUTH, sse_chunks

CHAT = "/v1/chat/completions"
HEALTH = "/__admin/health"
VALID_BODY: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "Say hello in one short paragraph."}],
}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter", "function_call"}


def body_with(**fields: Any) -> dict[str, Any]:
    """VALID_BODY with some fields added or replaced."""
    return {**VALID_BODY, **fields}


async def post_chat(
    client: TestClient[Any, Any],
    body: Any,
    headers: Mapping[str, str] = AUTH,
) -> ClientResponse:
    """POST a JSON body (any JSON value) to the chat endpoint."""
    return await client.post(CHAT, json=body, headers=dict(headers))


async def completion(client: TestClient[Any, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """A non-streamed reply, after checking it is a 200 application/json body."""
    response = await post_chat(client, dict(body))
    text = await response.text()
    assert response.status == 200, text
    assert response.content_type == "application/json"
    reply: dict[str, Any] = json.loads(text)
    return reply


async def stream(client: TestClient[Any, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chunks of a streamed reply, after checking status, media type and SSE framing."""
    response = await post_chat(client, {**body, "stream": True})
    raw = await response.read()  # returns only at EOF: the server closed the stream
    assert response.status == 200, raw
    assert response.content_type == "text/event-stream"
    return sse_chunks(raw)


def assert_openai_error(payload: Any) -> dict[str, Any]:
    """The body is exactly {"error": {message: str, type: str, param: str|None, code: str|None}}."""
    assert isinstance(payload, dict), payload
    assert list(payload) == ["error"], payload
    error = payload["error"]
    assert isinstance(error, dict)
    assert {"message", "type", "param", "code"} <= error.keys(), error
    assert isinstance(error["message"], str)
    assert error["message"].strip(), "an empty message helps nobody"
    assert isinstance(error["type"], str)
    assert error["type"]
    assert error["param"] is None or isinstance(error["param"], str)
    assert error["code"] is None or isinstance(error["code"], str)
    return error


async def error_of(response: ClientResponse, status: int) -> dict[str, Any]:
    """Check an error reply's status, media type and body shape; return the inner object."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json"
    assert response.headers.get("x-request-id"), "errors carry a request id too"
    return assert_openai_error(json.loads(text))


def assert_valid_completion(reply: Any, schema: jsonschema.Draft7Validator) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(reply)]
    assert not errors, errors
    usage = reply["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@dataclass
class StreamSummary:
    """What one stream said, after every chunk-level invariant has been checked."""

    id: str
    model: str
    content: dict[int, str] = field(default_factory=dict)
    reasoning: dict[int, str] = field(default_factory=dict)
    tool_calls: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    function_call: dict[int, dict[str, str]] = field(default_factory=dict)
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    finish_reason: dict[int, str] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    first_appearance: list[int] = field(default_factory=list)


def _tool_call_delta(calls: list[dict[str, str]], call: dict[str, Any]) -> None:
    """CLIENT-WIRE-FORMAT.md 5.1: a header delta per call, then argument fragments only."""
    function = call["function"]
    if call["index"] == len(calls):
        assert isinstance(call.get("id"), str), call
        assert call["id"], call
        assert call.get("type") == "function", call
        assert isinstance(function.get("name"), str), call
        assert function["name"], call
        assert isinstance(function.get("arguments"), str), call
        calls.append({"id": call["id"], "name": function["name"], "arguments": ""})
    else:
        assert call["index"] == len(calls) - 1, "tool call indexes 0, 1, ... in order"
        assert set(call) == {"index", "function"}, "id, type, name only in the first delta"
        assert set(function) == {"arguments"}, call
    calls[-1]["arguments"] += function["arguments"]


def _function_call_delta(
    calls: dict[int, dict[str, str]], index: int, call: dict[str, Any]
) -> None:
    if index not in calls:
        assert isinstance(call.get("name"), str), call
        assert call["name"], call
        calls[index] = {"name": call["name"], "arguments": ""}
    else:
        assert set(call) == {"arguments"}, "the name only in the first delta"
    calls[index]["arguments"] += call.get("arguments", "")


def check_stream(
    chunks: Sequence[dict[str, Any]],
    schema: jsonschema.Draft7Validator,
    *,
    include_usage: bool,
) -> StreamSummary:
    """Every invariant the clients in CLIENT-WIRE-FORMAT.md sections 3-4 rely on."""
    assert chunks, "at least one chunk before [DONE]"
    for position, chunk in enumerate(chunks):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(chunk)]
        assert not errors, (position, errors, chunk)
    envelopes = {(c["id"], c["created"], c["model"]) for c in chunks}
    assert len(envelopes) == 1, f"id/created/model differ between chunks: {envelopes}"
    summary = StreamSummary(id=chunks[0]["id"], model=chunks[0]["model"])

    usage_chunks = [i for i, c in enumerate(chunks) if c["choices"] == []]
    if include_usage:
        assert usage_chunks == [len(chunks) - 1], "exactly one usage chunk, and it comes last"
        usage = chunks[-1]["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert all(c["usage"] is None for c in chunks[:-1]), "usage: null before the last chunk"
        summary.usage = usage
        choice_chunks = chunks[:-1]
    else:
        assert usage_chunks == [], "no usage chunk unless stream_options.include_usage"
        assert all("usage" not in c or c["usage"] is None for c in chunks)
        choice_chunks = chunks

    roles: dict[int, int] = {}
    for chunk in choice_chunks:
        assert len(chunk["choices"]) == 1, "one choice per chunk"
        choice = chunk["choices"][0]
        index, delta = choice["index"], choice["delta"]
        assert index not in summary.finish_reason, f"choice {index} continued after finishing"
        if index not in summary.content:
            assert delta.get("role") == "assistant", f"first delta of choice {index} has no role"
            summary.first_appearance.append(index)
            summary.content[index] = ""
        if "role" in delta:
            roles[index] = roles.get(index, 0) + 1
        if "reasoning_content" in delta:
            assert not summary.content[index], "reasoning comes before content"
            summary.reasoning[index] = summary.reasoning.get(index, "") + delta["reasoning_content"]
        summary.content[index] += delta.get("content") or ""
        for call in delta.get("tool_calls") or []:
            _tool_call_delta(summary.tool_calls.setdefault(index, []), call)
        if "function_call" in delta:
            _function_call_delta(summary.function_call, index, delta["function_call"])
        summary.annotations.setdefault(index, []).extend(delta.get("annotations") or [])
        if choice["finish_reason"] is not None:
            assert choice["finish_reason"] in FINISH_REASONS
            summary.finish_reason[index] = choice["finish_reason"]
    assert all(count == 1 for count in roles.values()), f"role repeated: {roles}"
    assert summary.finish_reason.keys() == summary.content.keys(), "every choice must finish"
    assert summary.first_appearance == sorted(summary.first_appearance)
    for index, reason in summary.finish_reason.items():
        assert (reason == "tool_calls") == bool(summary.tool_calls.get(index)), index
        assert (reason == "function_call") == (index in summary.function_call), index
    joined = [c["arguments"] for calls in summary.tool_calls.values() for c in calls]
    joined += [c["arguments"] for c in summary.function_call.values()]
    for arguments in joined:
        assert isinstance(json.loads(arguments), dict), "arguments join to a JSON object"
    return summary


def end_process(proc: subprocess.Popen[bytes]) -> None:
    """Kill a server subprocess that is still running and close its pipes."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


async def file_lines(path: Path, count: int, seconds: float = 10.0) -> list[str]:
    """The lines of a --journal-file once it has `count` (its writer thread may be a moment
    behind the reply)."""
    deadline = asyncio.get_running_loop().time() + seconds
    lines = await asyncio.to_thread(_lines, path)
    while len(lines) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
        lines = await asyncio.to_thread(_lines, path)
    return lines


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


# --- fixture-engine tests: write YAML fixtures, serve them, ask and read replies -------------
# Each fixture in these tests answers with content that names it, so a test can tell which
# fixture answered from the body alone; X-Mock-Matched is checked on its own.

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
