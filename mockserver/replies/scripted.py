"""A fixture's compiled step -> the Reply it scripts, its templates rendered for this request.

Scripted content is sent exactly as written (no stop or max_tokens cutting); usage is counted by
the token rule unless the fixture overrides it. One scripted choice answers every one of `n`.
A GeneratedStep is not handled here: respond() asks the generator.
"""

from __future__ import annotations

import json
from random import Random
from typing import Any

from mockserver.contract.request import ChatRequest
from mockserver.contract.rules import MAX_CHOICES
from mockserver.replies import tokens
from mockserver.replies.completion import (
    Choice,
    Completion,
    ToolCall,
    Usage,
    completion_tokens,
    latency_checkpoint,
    new_id,
)
from mockserver.replies.error_catalog import scripted_error
from mockserver.replies.reply import Completed, Payload, RawBody, RawEvents, Reply
from mockserver.stubs.steps import (
    CompletionStep,
    ErrorStep,
    Headers,
    RawBodyStep,
    RawEventsStep,
    ScriptedCall,
    ScriptedChoice,
)
from mockserver.stubs.templates import Rendering

ScriptedStep = CompletionStep | ErrorStep | RawBodyStep | RawEventsStep


def scripted_reply(
    step: ScriptedStep, request: ChatRequest, rng: Random, render: Rendering
) -> Reply:
    """The Reply a step scripts: a completion, an error, a raw body or raw SSE events."""
    headers = rendered_headers(step.headers, render, "/headers")
    payload: Payload
    match step:
        case ErrorStep():
            return _error(step, render, headers)
        case RawEventsStep(events=events):
            payload = RawEvents(
                tuple(_framed(render.text(e, f"/raw_sse/{i}")) for i, e in enumerate(events))
            )
        case RawBodyStep(body=body):
            payload = RawBody(render.tree(body, "/raw"))
        case CompletionStep():
            payload = Completed(completion_from(step, request, rng, render), step.recorded)
    return Reply(payload=payload, status=step.status, headers=headers)


def rendered_headers(headers: Headers, render: Rendering, path: str) -> dict[str, str]:
    return {name: render.text(value, f"{path}/{name}") for name, value in headers}


def _error(step: ErrorStep, render: Rendering, headers: dict[str, str]) -> Reply:
    def optional(value: Any, name: str) -> str | None:
        return None if value is None else render.text(value, f"/error/{name}")

    body, error_headers = scripted_error(
        step.status,
        message=optional(step.message, "message"),
        type=optional(step.type, "type"),
        code=optional(step.code, "code"),
        param=optional(step.param, "param"),
    )
    own = rendered_headers(step.error_headers, render, "/error/headers")
    return Reply(payload=body, status=step.status, headers={**headers, **error_headers, **own})


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))


def _call(call: ScriptedCall, render: Rendering, path: str) -> ToolCall:
    return ToolCall(
        id=render.text(call.id, f"{path}/id") if call.id is not None else new_id("call_", 24),
        scripted_id=call.id is not None,
        name=render.text(call.name, f"{path}/name"),
        arguments=_arguments(render.tree(call.arguments, f"{path}/arguments")),
    )


def _choice(index: int, spec: ScriptedChoice, render: Rendering) -> Choice:
    at = spec.at
    calls = tuple(_call(c, render, f"{at}/tool_calls/{i}") for i, c in enumerate(spec.tool_calls))
    legacy = spec.function_call
    function_call = None
    if legacy is not None:
        function_call = ToolCall(
            id="",
            name=render.text(legacy.name, f"{at}/function_call/name"),
            arguments=_arguments(render.tree(legacy.arguments, f"{at}/function_call/arguments")),
        )
    finish = "tool_calls" if calls else "function_call" if function_call else "stop"
    return Choice(
        index=index,
        content=None if spec.content is None else render.text(spec.content, f"{at}/content"),
        reasoning_content=(
            None
            if spec.reasoning_content is None
            else render.text(spec.reasoning_content, f"{at}/reasoning_content")
        ),
        tool_calls=calls,
        function_call=function_call,
        annotations=tuple(render.tree(spec.annotations, f"{at}/annotations")),
        finish_reason=spec.finish_reason or finish,
    )


def completion_from(
    step: CompletionStep, request: ChatRequest, rng: Random, render: Rendering
) -> Completion:
    # One scripted reply answers each of n; scripted `choices` give the first n, in turn.
    scripted = step.choices
    choices = tuple(
        _choice(i, scripted[i % len(scripted)], render) for i in range(min(request.n, MAX_CHOICES))
    )
    counts = [completion_tokens(c) for c in choices]
    pinned = step.usage
    total = _or(pinned.completion_tokens, sum(count for count, _ in counts))
    usage = Usage(
        prompt_tokens=_or(
            pinned.prompt_tokens, tokens.prompt_tokens(request.messages, request.body.get("tools"))
        ),
        completion_tokens=total,
        reasoning_tokens=_or(pinned.reasoning_tokens, sum(reasoning for _, reasoning in counts)),
        cached_tokens=_or(pinned.cached_tokens, 0),
        latency_checkpoint=latency_checkpoint(rng, total, request.model),
    )
    model = render.text(step.model, "/model") if step.model else request.model
    return Completion(model=model, choices=choices, usage=usage)


def _or(pinned: int | None, counted: int) -> int:
    return counted if pinned is None else pinned


def _framed(event: str) -> str:
    """An event ends with a blank line (YAML block scalars keep only one newline); an event
    already ending with one, in LF or CRLF, is sent as written."""
    if event.endswith(("\n\n", "\r\n\r\n")):
        return event
    return event.rstrip("\r\n") + "\n\n"
