"""A gateway's reply (a chat.completion, or the chunks of a stream) as a fixture `reply:` block.

The block holds what a client reads: content, reasoning, tool calls (ids kept when they are
OpenAI-shaped), the legacy function call, annotations, finish reason, usage and model, so that
the replayed reply gives the same `message` whether the replay streams or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

CALL_ID = re.compile(r"^call_")  # what fixture ids must look like (schemas/fixture.schema.json)
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


def _usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, Mapping):
        return None
    found = {
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "reasoning_tokens": (usage.get("completion_tokens_details") or {}).get("reasoning_tokens"),
        "cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
    }
    return {k: v for k, v in found.items() if isinstance(v, int) and v >= 0}


def _call(call: Mapping[str, Any]) -> dict[str, Any] | None:
    function = call.get("function") or {}
    name = function.get("name")
    if not isinstance(name, str) or not name:
        return None
    spec: dict[str, Any] = {}
    if isinstance(call.get("id"), str) and CALL_ID.match(call["id"]):
        spec["id"] = call["id"]
    spec["name"] = name
    spec["arguments"] = str(function.get("arguments") or "{}")
    return spec


def _choice(message: Mapping[str, Any], finish_reason: Any) -> dict[str, Any]:
    """One choice's fields, in the order a reader expects them."""
    spec: dict[str, Any] = {"content": message.get("content")}
    if isinstance(message.get("reasoning_content"), str):
        spec["reasoning_content"] = message["reasoning_content"]
    calls = [c for c in (_call(x) for x in message.get("tool_calls") or ()) if c]
    if calls:
        spec["tool_calls"] = calls
    legacy = message.get("function_call")
    if isinstance(legacy, Mapping) and isinstance(legacy.get("name"), str):
        spec["function_call"] = {
            "name": legacy["name"],
            "arguments": str(legacy.get("arguments") or "{}"),
        }
    if message.get("annotations"):
        spec["annotations"] = list(message["annotations"])
    if finish_reason in FINISH_REASONS:
        spec["finish_reason"] = finish_reason
    return spec


def _reply(choices: list[dict[str, Any]], model: Any, usage: Any) -> dict[str, Any] | None:
    if not choices:
        return None
    reply: dict[str, Any] = dict(choices[0]) if len(choices) == 1 else {"choices": choices}
    if isinstance(model, str) and model:
        reply["model"] = model
    if usage_block := _usage(usage):
        reply["usage"] = usage_block
    return reply


def reply_from_completion(body: Any) -> dict[str, Any] | None:
    """From a chat.completion body; None when it is not one."""
    if not isinstance(body, Mapping) or not isinstance(body.get("choices"), list):
        return None
    ordered = sorted(
        (c for c in body["choices"] if isinstance(c, Mapping)), key=lambda c: c.get("index", 0)
    )
    choices = [_choice(c.get("message") or {}, c.get("finish_reason")) for c in ordered]
    return _reply(choices, body.get("model"), body.get("usage"))


class _Accumulator:
    """One choice of a stream, put back together from its deltas (pieces appended, joined once
    at the end: a long stream costs its length, not its length squared)."""

    def __init__(self) -> None:
        self.content: list[str] | None = None
        self.reasoning: list[str] | None = None
        self.calls: dict[int, dict[str, Any]] = {}  # index -> id and name
        self.arguments: dict[int, list[str]] = {}
        self.legacy: dict[str, Any] | None = None
        self.legacy_arguments: list[str] = []
        self.annotations: list[Any] = []
        self.finish_reason: Any = None

    def add(self, delta: Mapping[str, Any], finish_reason: Any) -> None:
        if isinstance(delta.get("content"), str):
            self.content = self.content if self.content is not None else []
            self.content.append(delta["content"])
        if isinstance(delta.get("reasoning_content"), str):
            self.reasoning = self.reasoning if self.reasoning is not None else []
            self.reasoning.append(delta["reasoning_content"])
        for call in delta.get("tool_calls") or ():
            index = int(call.get("index", 0))
            slot = self.calls.setdefault(index, {})
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                slot["name"] = function["name"]
            self.arguments.setdefault(index, []).append(function.get("arguments") or "")
        legacy = delta.get("function_call")
        if isinstance(legacy, Mapping):
            self.legacy = self.legacy or {"name": None}
            self.legacy["name"] = legacy.get("name") or self.legacy["name"]
            self.legacy_arguments.append(legacy.get("arguments") or "")
        self.annotations.extend(delta.get("annotations") or ())
        if finish_reason is not None:
            self.finish_reason = finish_reason

    def _call(self, index: int) -> dict[str, Any]:
        slot = self.calls[index]
        function = {"arguments": "".join(self.arguments[index])}
        if "name" in slot:
            function = {"name": slot["name"], **function}
        return {**({"id": slot["id"]} if "id" in slot else {}), "function": function}

    def message(self) -> dict[str, Any]:
        legacy = self.legacy
        return {
            "content": "".join(self.content) if self.content is not None else None,
            "reasoning_content": "".join(self.reasoning) if self.reasoning is not None else None,
            "tool_calls": [self._call(i) for i in sorted(self.calls)],
            "function_call": legacy and {**legacy, "arguments": "".join(self.legacy_arguments)},
            "annotations": self.annotations,
        }


def reply_from_chunks(chunks: Iterable[Any]) -> dict[str, Any] | None:
    """From the chunks of a stream; None when they hold no choice."""
    lanes: dict[int, _Accumulator] = {}
    model: Any = None
    usage: Any = None
    for chunk in chunks:
        if not isinstance(chunk, Mapping):
            continue
        model = chunk.get("model") or model
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            if isinstance(choice, Mapping):
                lane = lanes.setdefault(int(choice.get("index", 0)), _Accumulator())
                lane.add(choice.get("delta") or {}, choice.get("finish_reason"))
    choices = [_choice(lanes[i].message(), lanes[i].finish_reason) for i in sorted(lanes)]
    return _reply(choices, model, usage)
