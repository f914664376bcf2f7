"""Every request example of the spec gets a 200 that matches the contract, streamed or not."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from mockserver.contract.schemas import load_schema
from tests.conftest import sse_chunks
from tests.support import (
    StreamSummary,
    assert_valid_completion,
    check_stream,
    completion,
    post_chat,
    stream,
)

EXAMPLES: list[dict[str, Any]] = load_schema("spec_examples.json")["requests"]
IDS = [f"{i:02d}-{e['name']}" for i, e in enumerate(EXAMPLES)]


def offered_names(body: dict[str, Any]) -> set[str]:
    tools = {t["function"]["name"] for t in body.get("tools") or []}
    return tools | {f["name"] for f in body.get("functions") or []}


def check_answer(body: dict[str, Any], message: dict[str, Any], finish_reason: str) -> None:
    """One choice answers the request: text, or calls of the tools (functions) it offered."""
    calls = [c["function"] for c in message.get("tool_calls") or []]
    calls += [message["function_call"]] if message.get("function_call") else []
    if calls:
        assert finish_reason in ("tool_calls", "function_call")
        for call in calls:
            assert call["name"] in offered_names(body)
            assert isinstance(json.loads(call["arguments"]), dict)
    else:
        assert isinstance(message["content"], str)
        assert message["content"], "a text answer says something"
    for annotation in message.get("annotations") or []:
        cited = annotation["url_citation"]
        assert 0 <= cited["start_index"] <= cited["end_index"] <= len(message["content"])
        assert cited["url"].startswith(("http://", "https://"))
    if (body.get("response_format") or {}).get("type") == "json_object" and not calls:
        assert isinstance(json.loads(message["content"]), dict), "json_object gets a JSON object"


def test_the_spec_has_examples_of_both_kinds() -> None:
    """Guards the parametrisation below: an empty or one-sided list would test nothing."""
    streamed = [e for e in EXAMPLES if e["body"].get("stream") is True]
    assert len(EXAMPLES) >= 20
    assert 0 < len(streamed) < len(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
async def test_spec_example_request(
    client: TestClient[Any, Any],
    example: dict[str, Any],
    completion_schema: jsonschema.Draft7Validator,
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    body: dict[str, Any] = example["body"]
    response = await post_chat(client, body)
    raw = await response.read()
    assert response.status == 200, raw
    expected_choices = list(range(body.get("n", 1)))
    if body.get("stream") is True:
        assert response.content_type == "text/event-stream"
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        summary = check_stream(sse_chunks(raw), chunk_schema, include_usage=include_usage)
        assert summary.model == body["model"]
        assert sorted(summary.content) == expected_choices
        for index in expected_choices:
            check_answer(body, message_of(summary, index), summary.finish_reason[index])
        assert (summary.usage is not None) == include_usage
    else:
        assert response.content_type == "application/json"
        reply = await response.json()
        assert_valid_completion(reply, completion_schema)
        assert reply["model"] == body["model"]
        assert [c["index"] for c in reply["choices"]] == expected_choices
        for choice in reply["choices"]:
            check_answer(body, choice["message"], choice["finish_reason"])


def message_of(summary: StreamSummary, index: int) -> dict[str, Any]:
    """The message a client's stream helper would assemble for one choice."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": summary.content[index] or None,
        "annotations": summary.annotations.get(index, []),
    }
    if summary.reasoning.get(index):
        message["reasoning_content"] = summary.reasoning[index]
    if summary.tool_calls.get(index):
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in summary.tool_calls[index]
        ]
    if index in summary.function_call:
        message["function_call"] = summary.function_call[index]
    return message


def comparable(message: dict[str, Any]) -> dict[str, Any]:
    """A message without what is fresh per reply (tool call ids) and the constant refusal."""
    kept = {k: v for k, v in message.items() if k != "refusal"}
    kept["content"] = kept.get("content") or None
    for call in kept.get("tool_calls") or []:
        call.pop("id")
    return kept


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
async def test_spec_example_stream_and_json_agree(
    client: TestClient[Any, Any],
    example: dict[str, Any],
    chunk_schema: jsonschema.Draft7Validator,
) -> None:
    """The same example asked both ways gets the same answer, reasoning, calls and usage."""
    body = {k: v for k, v in example["body"].items() if k not in ("stream", "stream_options")}
    reply = await completion(client, body)
    chunks = await stream(client, {**body, "stream_options": {"include_usage": True}})
    summary = check_stream(chunks, chunk_schema, include_usage=True)
    for choice in reply["choices"]:
        index = choice["index"]
        assert comparable(message_of(summary, index)) == comparable(choice["message"])
        assert summary.finish_reason[index] == choice["finish_reason"]
    assert summary.usage is not None
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert summary.usage[key] == reply["usage"][key], key
    reasoning = summary.usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning == reply["usage"]["completion_tokens_details"]["reasoning_tokens"]


def test_spec_example_response_matches_the_response_schema(
    completion_schema: jsonschema.Draft7Validator,
) -> None:
    responses: list[dict[str, Any]] = load_schema("spec_examples.json")["responses"]
    assert responses, "the spec has an example response"
    assert_valid_completion(responses[0], completion_schema)


def test_response_schema_rejects_a_broken_reply(
    completion_schema: jsonschema.Draft7Validator,
) -> None:
    """The validator used above is not vacuous: the example minus `choices` fails it."""
    reply = dict(load_schema("spec_examples.json")["responses"][0])
    del reply["choices"]
    assert not completion_schema.is_valid(reply)
