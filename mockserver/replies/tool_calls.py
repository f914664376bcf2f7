"""Generated tool calls: which offered functions to call, and arguments valid for them.

tool_choice none never calls, required always does, a named function calls that one; auto calls
when tools are offered and the last message is the user's, and answers in text once the last
message is a tool result. Legacy `functions` get one `function_call` the same way.

Planning is turn-aware, as a real model's is: within the current turn (the messages since the
last user message) a tool that has been answered is not called again, unless its result reads
as an error asking for a retry (a few times at most). After results, `required` moves on to an
output tool when one is offered (pydantic-ai's `final_result`, any tool described as the final
answer), else to tools not called yet; `auto` calls an offered output tool, else answers in
text. So every agent loop ends within a few turns.
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
from mockserver.contract.request import ChatRequest, text_of
from mockserver.replies.completion import ToolCall, new_id
from mockserver.replies.schema_values import Budget, OverBudget, UnsupportedSchema, value_for
from mockserver.replies.schema_values.limits import MAX_CHARS, MAX_NODES, MAX_SECONDS

log = logging.getLogger("mockserver")
MAX_PARALLEL = 3
MAX_RETRIES = 2  # a tool whose result asks for a retry is called again at most this often
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


# How frameworks name and describe the tool that carries the final answer: pydantic-ai's
# `final_result` ("The final response which ends this conversation"), `final_answer`, `submit`...
_OUTPUT_NAME = re.compile(
    r"^(final_?(result|answer|output|response)\w*|answer|respond|submit\w*|output|finish)$",
    re.IGNORECASE,
)
_OUTPUT_DESCRIPTION = re.compile(
    r"final (response|answer|result|output)|ends? (this|the) conversation", re.IGNORECASE
)
# A tool result asking for another try: pydantic-ai's retry prompt, instructor's reask, errors.
_RETRY = re.compile(
    r'try again|fix the errors|validation error|^\W*(error|exception)\b|"error"\s*:',
    re.IGNORECASE,
)


def is_output_tool(tool: Offered) -> bool:
    """Whether the tool carries the final answer rather than fetching something."""
    return bool(_OUTPUT_NAME.match(tool.name) or _OUTPUT_DESCRIPTION.search(tool.description))


@dataclass(frozen=True, slots=True)
class Turn:
    """What the assistant did since the last user message: each function called, how often,
    and which of them last came back with a result asking for a retry."""

    calls: Mapping[str, int]
    retry: frozenset[str]
    answered: bool  # some tool or function result is in the turn

    def done(self, name: str) -> bool:
        count = self.calls.get(name, 0)
        return count > 0 and (name not in self.retry or count > MAX_RETRIES)


def current_turn(messages: Sequence[Mapping[str, Any]]) -> Turn:
    """The calls and results since the last user message."""
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    calls: dict[str, int] = {}
    names: dict[Any, str] = {}
    results: dict[str, str] = {}
    answered = False
    for message in messages[start + 1 :]:
        role = message.get("role")
        if role == "assistant":
            made = [c.get("function") or {} for c in message.get("tool_calls") or ()]
            made += (
                [message["function_call"]] if isinstance(message.get("function_call"), dict) else []
            )
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict):
                    names[call.get("id")] = str((call.get("function") or {}).get("name", ""))
            for function in made:
                if isinstance(function, dict) and isinstance(function.get("name"), str):
                    calls[function["name"]] = calls.get(function["name"], 0) + 1
        elif role in ("tool", "function"):
            answered = True
            name = message.get("name") or names.get(message.get("tool_call_id"), "")
            results[str(name)] = text_of(message.get("content"))[:2000]
    retry = frozenset(name for name, text in results.items() if _RETRY.search(text))
    return Turn(calls=calls, retry=retry, answered=answered)


@dataclass(frozen=True, slots=True)
class Plan:
    """The functions a reply calls, chosen once for all its choices (the choice reads every
    offered description and the whole turn): `tools` in call order; when `parallel`, each
    choice calls the first 1 to MAX_PARALLEL of them, drawn from its own rng."""

    tools: tuple[Offered, ...] = ()
    parallel: bool = False

    def calls(self, rng: Random) -> list[Offered]:
        if not self.parallel:
            return list(self.tools)
        return list(self.tools[: rng.randint(1, min(MAX_PARALLEL, len(self.tools)))])


def _choose(request: ChatRequest, tools: Sequence[Offered], choice: Any, parallel: bool) -> Plan:
    if choice == "none" or not tools:
        return Plan()
    name = _named(choice)
    if name is not None:
        return Plan(tuple(t for t in tools if t.name == name)[:1])
    last_role = request.messages[-1].get("role") if request.messages else None
    turn = current_turn(request.messages)
    outputs = [t for t in tools if is_output_tool(t)]
    if last_role != "user":
        if turn.answered:  # after results: a retry the result asks for, else the output tool
            retried = [t for t in tools if t.name in turn.retry and not turn.done(t.name)]
            if retried or outputs:
                return Plan(tuple(retried or outputs)[:1])
        if choice != "required":
            return Plan()  # auto: a tool result (or an assistant turn) is answered in text
    fresh = [t for t in tools if not turn.done(t.name) and not is_output_tool(t)]
    pool = fresh or outputs or list(tools)
    ranked = tuple(_ranked(pool, request.last_user_text))
    return Plan(ranked, parallel=True) if parallel else Plan(ranked[:1])


def tool_plan(request: ChatRequest) -> Plan:
    """The tools this request's replies call (possibly several, in parallel), in call order."""
    body = request.body
    parallel = body.get("parallel_tool_calls") is not False
    tools = _offered(body.get("tools"), wrapped=True)
    return _choose(request, tools, body.get("tool_choice", "auto"), parallel)


def planned_tools(request: ChatRequest, rng: Random) -> list[Offered]:
    """The tools one reply calls: tool_plan's, as many as `rng` draws."""
    return tool_plan(request).calls(rng)


def planned_function(request: ChatRequest, rng: Random | None = None) -> Offered | None:
    """The legacy function this reply calls (drawing nothing: one at most). The spec pairs
    `functions` with `tool_choice`."""
    body = request.body
    if body.get("tools"):
        return None
    functions = _offered(body.get("functions"), wrapped=False)
    choice = body.get("function_call", body.get("tool_choice", "auto"))
    chosen = _choose(request, functions, choice, parallel=False).tools
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
