"""Structured output: content that is a JSON object (json_object) or valid against the request's
json_schema, strict or not, so `chat.completions.parse` and the stream helpers accept it; else
the format the messages prescribe (prompted.py), when one is found and not switched off."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from random import Random
from typing import Any

from faker import Faker

from mockserver.contract.request import ChatRequest
from mockserver.replies.prompted import SCAN_CHARS, PromptedFormat, prompted_format, render
from mockserver.replies.schema_values import Budget, OverBudget, UnsupportedSchema, value_for
from mockserver.replies.tool_calls import over_budget

# Keys a prompt spells out, as the spec's example does: { "title": "...", "bullets": [...] }
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*(\[)?')


def _object_from_prompt(prompt: str, rng: Random, fake: Faker, budget: Budget) -> dict[str, Any]:
    """An object with the keys the prompt asks for (lists where it shows a list), read from its
    first SCAN_CHARS as prompted.py reads; each value spent from the reply's budget."""
    keys = {key: bool(is_list) for key, is_list in _KEY.findall(prompt[:SCAN_CHARS])}
    if not keys:
        keys = {"answer": False, "points": True}
    value: dict[str, Any] = {}
    for key, is_list in keys.items():
        budget.node()
        value[key] = (
            [fake.sentence(nb_words=rng.randint(4, 8)) for _ in range(rng.randint(2, 4))]
            if is_list
            else fake.sentence(nb_words=rng.randint(4, 10))
        )
    return value


PromptedReader = Callable[[], PromptedFormat | None]


def prompted_reader(request: ChatRequest, *, follow_prompt: bool) -> PromptedReader:
    """The output format the messages prescribe (None under a json_schema, or when switched
    off), read once when first asked for: every choice of a reply asks, and reading scans up
    to five long messages."""
    kind = (request.body.get("response_format") or {}).get("type")

    @functools.cache
    def read() -> PromptedFormat | None:
        if kind == "json_schema" or not follow_prompt:
            return None
        return prompted_format(request.messages, json_object=kind == "json_object")

    return read


def structured_content(
    request: ChatRequest,
    rng: Random,
    fake: Faker,
    budget: Budget,
    prompted: PromptedReader,
) -> str | None:
    """The JSON text the response_format asks for, else the format the prompt prescribes, or
    None for plain text."""
    response_format = request.body.get("response_format") or {}
    kind = response_format.get("type")
    prescribed = prompted()
    if prescribed is not None:
        return render(prescribed, rng, fake, budget)
    if kind == "json_object":
        try:
            value: Any = _object_from_prompt(request.last_user_text, rng, fake, budget)
        except OverBudget:  # no schema was given: nothing to name in a 400
            value = {}
    elif kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        try:
            value = value_for(
                schema if isinstance(schema, dict) else {"type": "object"},
                rng,
                fake=fake,
                budget=budget,
            )
        except UnsupportedSchema:
            value = {}
        except OverBudget as exc:
            raise over_budget("response_format.json_schema.schema", exc) from None
    else:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
