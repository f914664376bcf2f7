"""A rendered fixture reply -> Reply: the scripted completion, a raw body, raw SSE, or an error.

Scripted content is sent exactly as written (no stop or max_tokens cutting); usage is counted by
the token rule unless the fixture overrides it. One scripted choice answers every one of `n`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from random import Random
from typing import Any

from mockserver.contract.errors import MockError
from mockserver.contract.request import ChatRequest
from mockserver.contract.rules import MAX_CHOICES
from mockserver.replies import tokens
from mockserver.replies.completion import (
    Choice,
    Completion,
    ToolCall,
    Usage,
    latency_checkpoint,
    new_id,
)
from mockserver.replies.reply import Reply
from mockserver.wire.faults import FaultPlan

PAYLOAD_KEYS = (
    "content",
    "reasoning_content",
    "tool_calls",
    "function_call",
    "choices",
    "raw",
    "raw_sse",
    "error",
)
NO_RETRY = {"x-should-retry": "false"}


def is_generated(reply: Mapping[str, Any]) -> bool:
    """A reply that scripts no payload (only headers, say) lets the generator answer."""
    return bool(reply.get("generated")) or not any(k in reply for k in PAYLOAD_KEYS)


def error_from(spec: Mapping[str, Any]) -> MockError:
    status = int(spec["status"])
    default_type = "invalid_request_error" if status < 500 else "server_error"
    return MockError(
        spec.get("message", f"Scripted error {status}."),
        status=status,
        error_type=spec.get("type", default_type),
        code=spec.get("code"),
        param=spec.get("param"),
        headers=spec.get("headers"),
    )


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


def _choice(index: int, spec: Mapping[str, Any]) -> Choice:
    calls = tuple(
        ToolCall(
            id=c.get("id") or new_id("call_", 24),
            scripted_id="id" in c,
            name=c["name"],
            arguments=_arguments(c.get("arguments")),
        )
        for c in spec.get("tool_calls") or ()
    )
    legacy = spec.get("function_call")
    function_call = (
        ToolCall(id="", name=legacy["name"], arguments=_arguments(legacy.get("arguments")))
        if legacy
        else None
    )
    finish = "tool_calls" if calls else "function_call" if function_call else "stop"
    return Choice(
        index=index,
        content=spec.get("content", None if calls or function_call else ""),
        reasoning_content=spec.get("reasoning_content"),
        tool_calls=calls,
        function_call=function_call,
        annotations=tuple(spec.get("annotations") or ()),
        finish_reason=spec.get("finish_reason") or finish,
    )


def completion_from(reply: Mapping[str, Any], request: ChatRequest, rng: Random) -> Completion:
    # One scripted reply answers each of n; scripted `choices` give the first n, in turn.
    scripted = reply.get("choices") or [reply]
    specs = [scripted[i % len(scripted)] for i in range(min(request.n, MAX_CHOICES))]
    choices = tuple(_choice(i, spec) for i, spec in enumerate(specs))
    counted = sum(
        tokens.count(c.content or "")
        + tokens.count(c.reasoning_content or "")
        + sum(tokens.count(t.arguments) for t in c.tool_calls)
        + (tokens.count(c.function_call.arguments) if c.function_call else 0)
        for c in choices
    )
    overrides = reply.get("usage") or {}
    completion_tokens = overrides.get("completion_tokens", counted)
    usage = Usage(
        prompt_tokens=overrides.get(
            "prompt_tokens", tokens.prompt_tokens(request.messages, request.body.get("tools"))
        ),
        completion_tokens=completion_tokens,
        reasoning_tokens=overrides.get(
            "reasoning_tokens", sum(tokens.count(c.reasoning_content or "") for c in choices)
        ),
        cached_tokens=overrides.get("cached_tokens", 0),
        latency_checkpoint=latency_checkpoint(rng, completion_tokens),
    )
    return Completion(model=reply.get("model") or request.model, choices=choices, usage=usage)


def _framed(event: str) -> str:
    """An event ends with a blank line (YAML block scalars keep only one newline); an event
    already ending with one, in LF or CRLF, is sent as written."""
    if event.endswith(("\n\n", "\r\n\r\n")):
        return event
    return event.rstrip("\r\n") + "\n\n"


def scripted_reply(
    reply: Mapping[str, Any],
    request: ChatRequest,
    rng: Random,
    fixture: str,
    fault: FaultPlan | None = None,
) -> Reply:
    """The Reply a rendered fixture step asks for. Error steps raise their MockError."""
    headers = dict(reply.get("headers") or {})
    status = int(reply.get("status", 200))
    if "error" in reply:
        error = error_from(reply["error"])
        error.headers = {**headers, **error.headers}
        raise error
    if "raw_sse" in reply:
        events = tuple(_framed(e) for e in reply["raw_sse"])
        return Reply(
            raw_events=events, status=status, headers=headers, fixture=fixture, fault=fault
        )
    if "raw" in reply:
        return Reply(
            raw_body=reply["raw"],
            has_raw_body=True,
            status=status,
            headers=headers,
            fixture=fixture,
            fault=fault,
        )
    completion = completion_from(reply, request, rng)
    return Reply(
        completion=completion, status=status, headers=headers, fixture=fixture, fault=fault
    )
