"""A fixture's reply steps, compiled at load into a closed set of typed values.

Which kind of answer a step is (a scripted completion, an error, a raw body, raw SSE events, or
"let the generator answer") is decided here, once; nothing interprets a reply dict at request
time. Templated leaves stay compiled templates (`Text`): rendering them is all that is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from mockserver.stubs.recorded import RecordedStream

Text = str | jinja2.Template  # sent as written, or rendered per request
Tree = Any  # a JSON value whose strings may be compiled templates (raw bodies, arguments)
Headers = tuple[tuple[str, Text], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptedCall:
    """A tool call (or legacy function_call) as the fixture wrote it."""

    name: Text
    arguments: Tree  # an object (serialised per request) or a JSON string
    id: Text | None = None  # None: drawn per request


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptedChoice:
    content: Text | None  # None: `null` (tool calls without text)
    reasoning_content: Text | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()
    function_call: ScriptedCall | None = None
    finish_reason: str | None = None  # None: follows from the payload
    annotations: Tree = ()
    at: str = ""  # "" for a reply's own fields, "/choices/N" for one of its `choices`


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageOverride:
    """Counts the fixture pins; the rest are counted by the token rule."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompletionStep:
    """A scripted chat.completion: one choice answers each of `n`, or `choices` in turn."""

    at: str  # where the step sits in the fixture, for error messages
    choices: tuple[ScriptedChoice, ...]
    model: Text | None = None
    usage: UsageOverride = UsageOverride()
    status: int = 200
    headers: Headers = ()
    recorded: RecordedStream | None = None  # `frames:`: a streamed request replays them


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorStep:
    """A well-formed HTTP error in OpenAI's shape; unset fields come from the error catalog."""

    at: str
    status: int
    message: Text | None = None
    type: Text | None = None
    code: Text | None = None
    param: Text | None = None
    error_headers: Headers = ()
    headers: Headers = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RawBodyStep:
    """Any JSON value, sent as the body exactly as written (`unchecked` bodies included)."""

    at: str
    body: Tree
    status: int = 200
    headers: Headers = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RawEventsStep:
    """SSE events sent as written, each ending with a blank line."""

    at: str
    events: tuple[Text, ...]
    status: int = 200
    headers: Headers = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedStep:
    """No payload scripted (headers, a status, `generated: true`): the generator answers."""

    at: str
    status: int = 200
    headers: Headers = ()


Step = CompletionStep | ErrorStep | RawBodyStep | RawEventsStep | GeneratedStep

_PAYLOAD_KEYS = ("content", "reasoning_content", "tool_calls", "function_call", "choices")


def compile_step(tree: Mapping[str, Any], at: str) -> Step:
    """One step from its schema-valid, template-compiled form."""
    headers = _headers(tree.get("headers"))
    status = int(tree.get("status", 200))
    if "error" in tree:
        spec = tree["error"]
        return ErrorStep(
            at=at,
            status=int(spec["status"]),
            message=spec.get("message"),
            type=spec.get("type"),
            code=spec.get("code"),
            param=spec.get("param"),
            error_headers=_headers(spec.get("headers")),
            headers=headers,
        )
    if "raw_sse" in tree:
        return RawEventsStep(at=at, events=tuple(tree["raw_sse"]), status=status, headers=headers)
    if "raw" in tree:
        return RawBodyStep(at=at, body=tree["raw"], status=status, headers=headers)
    if tree.get("generated") or not any(k in tree for k in _PAYLOAD_KEYS):
        return GeneratedStep(at=at, status=status, headers=headers)
    return CompletionStep(
        at=at,
        choices=(
            tuple(_choice(c, f"/choices/{i}") for i, c in enumerate(tree["choices"]))
            if "choices" in tree
            else (_choice(tree, ""),)
        ),
        model=tree.get("model"),
        usage=UsageOverride(**(tree.get("usage") or {})),
        status=status,
        headers=headers,
        recorded=RecordedStream.compile(tree["frames"]) if tree.get("frames") else None,
    )


def _headers(spec: Mapping[str, Any] | None) -> Headers:
    return tuple((str(name), value) for name, value in (spec or {}).items())


def _call(spec: Mapping[str, Any]) -> ScriptedCall:
    return ScriptedCall(name=spec["name"], arguments=spec.get("arguments"), id=spec.get("id"))


def _choice(spec: Mapping[str, Any], at: str) -> ScriptedChoice:
    calls = tuple(_call(c) for c in spec.get("tool_calls") or ())
    legacy = spec.get("function_call")
    function_call = _call(legacy) if legacy else None
    return ScriptedChoice(
        # Left out, content is "" for text and null beside calls (as the real API sends it).
        content=spec.get("content", None if calls or function_call else ""),
        reasoning_content=spec.get("reasoning_content"),
        tool_calls=calls,
        function_call=function_call,
        finish_reason=spec.get("finish_reason"),
        annotations=spec.get("annotations") or (),
        at=at,
    )
