"""Generated tool calls: which offered functions to call, and arguments valid for them.

tool_choice none never calls, required always does, a named function calls that one; auto calls
when tools are offered and the last message is the user's, and answers in text once the last
message is a tool result. Legacy `functions` get one `function_call` the same way.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

from faker import Faker

from mockserver.contract.errors import InvalidRequest
from mockserver.contract.request import ChatRequest
from mockserver.replies.completion import ToolCall, new_id
from mockserver.replies.schema_values import Budget, OverBudget, UnsupportedSchema, value_for
from mockserver.replies.schema_values.limits import MAX_CHARS, MAX_NODES, MAX_SECONDS

log = logging.getLogger("mockserver")
MAX_PARALLEL = 3
_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")
EMPTY_OBJECT: Mapping[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True, slots=True)
class Offered:
    name: str
    description: str
    parameters: Mapping[str, Any]
    param: str = "tools"  # where the request declares it, for errors: tools[2].function.parameters


def over_budget(param: str, exc: OverBudget) -> InvalidRequest:
    """The 400 for a schema whose value would cost more than a reply's budget."""
    return InvalidRequest(
        f"The mock cannot generate a value for {param} within its budget ({exc.what}; a reply "
        f"may build {MAX_NODES} values and {MAX_CHARS} characters in {MAX_SECONDS:g} s). "
        "Lower minItems, minProperties or minLength, or bound the recursion.",
        param=param,
        code="schema_too_complex",
    )


def _offered(entries: Any, *, wrapped: bool) -> list[Offered]:
    found = []
    for index, entry in enumerate(entries or ()):
        function = entry.get("function") if wrapped else entry
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            found.append(
                Offered(
                    function["name"],
                    str(function.get("description") or ""),
                    parameters if isinstance(parameters, dict) else EMPTY_OBJECT,
                    f"tools[{index}].function.parameters"
                    if wrapped
                    else f"functions[{index}].parameters",
                )
            )
    return found


def _named(choice: Any) -> str | None:
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name") or choice.get("name")
    return None


def _relevance(tool: Offered, prompt: set[str]) -> int:
    words = set(_WORD.findall(f"{tool.name.replace('_', ' ')} {tool.description}".lower()))
    return len(words & prompt)


def _ranked(tools: Sequence[Offered], prompt_text: str) -> list[Offered]:
    prompt = set(_WORD.findall(prompt_text.lower()))
    order = sorted(range(len(tools)), key=lambda i: (-_relevance(tools[i], prompt), i))
    return [tools[i] for i in order]


def _choose(
    request: ChatRequest, tools: Sequence[Offered], choice: Any, rng: Random, parallel: bool
) -> list[Offered]:
    if choice == "none" or not tools:
        return []
    name = _named(choice)
    if name is not None:
        return [t for t in tools if t.name == name][:1]
    last_role = request.messages[-1].get("role") if request.messages else None
    if choice != "required" and last_role != "user":
        return []  # auto: a tool result (or an assistant turn) is answered in text
    ranked = _ranked(tools, request.last_user_text)
    count = rng.randint(1, min(MAX_PARALLEL, len(ranked))) if parallel else 1
    return ranked[:count]


def planned_tools(request: ChatRequest, rng: Random) -> list[Offered]:
    """The tools this reply calls (possibly several, in parallel), in call order."""
    body = request.body
    parallel = body.get("parallel_tool_calls") is not False
    tools = _offered(body.get("tools"), wrapped=True)
    return _choose(request, tools, body.get("tool_choice", "auto"), rng, parallel)


def planned_function(request: ChatRequest, rng: Random) -> Offered | None:
    """The legacy function this reply calls. The spec pairs `functions` with `tool_choice`."""
    body = request.body
    if body.get("tools"):
        return None
    functions = _offered(body.get("functions"), wrapped=False)
    choice = body.get("function_call", body.get("tool_choice", "auto"))
    chosen = _choose(request, functions, choice, rng, parallel=False)
    return chosen[0] if chosen else None


def arguments_for(tool: Offered, rng: Random, fake: Faker, budget: Budget | None = None) -> str:
    """A JSON object string valid against the tool's `parameters`, from the reply's budget."""
    try:
        value = value_for(tool.parameters, rng, fake=fake, budget=budget)
    except OverBudget as exc:
        raise over_budget(tool.param, exc) from None
    except UnsupportedSchema as exc:
        log.warning("cannot generate arguments for %s: %s", tool.name, exc)
        value = {}
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_calls(
    tools: Sequence[Offered], rng: Random, fake: Faker, budget: Budget | None = None
) -> tuple[ToolCall, ...]:
    return tuple(
        ToolCall(id=new_id("call_", 24), name=t.name, arguments=arguments_for(t, rng, fake, budget))
        for t in tools
    )


def last_tool_result(request: ChatRequest) -> tuple[str, str] | None:
    """(function name, result text) when the last message is a tool or function result."""
    if not request.messages:
        return None
    last = request.messages[-1]
    if last.get("role") not in ("tool", "function"):
        return None
    names = {
        c.get("id"): (c.get("function") or {}).get("name", "")
        for m in request.messages
        for c in m.get("tool_calls") or ()
        if isinstance(c, dict)
    }
    name = last.get("name") or names.get(last.get("tool_call_id"), "tool")
    content = last.get("content")
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return str(name), text
