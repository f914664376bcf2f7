"""Contract drift: a scripted reply that no longer fits the request it answers.

The app changed its tool schema and the fixture did not: a scripted tool call names a function
the request does not offer, or its arguments break that function's `parameters` schema, or
scripted content breaks the request's response_format json_schema.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

from mockserver.replies.completion import Completion
from mockserver.replies.schema_values.limits import HARD_STOP_SECONDS
from mockserver.replies.schema_values.linear import linear_validator
from mockserver.stubs.render_guard import RenderTimeout, within_limit
from mockserver.wire import json_bytes


def _offered(body: Mapping[str, Any]) -> dict[str, Any]:
    """Function name -> parameters schema, from tools and legacy functions."""
    offered = {}
    for tool in body.get("tools") or ():
        function = tool.get("function") or {}
        offered[function.get("name", "")] = function.get("parameters")
    for function in body.get("functions") or ():
        offered[function.get("name", "")] = function.get("parameters")
    return offered


MAX_VERDICTS = 1024  # schemas whose metaschema verdict is remembered, by digest
_VERDICTS: dict[bytes, str | None] = {}  # oldest first


def _invalid(schema: dict[str, Any]) -> str | None:
    """What makes the client's schema no valid JSON Schema, None when nothing does. The check
    against its metaschema costs milliseconds ($dynamicRef resolution, every time) and an app
    sends the same tools with each request: the verdict is kept under the schema's digest."""
    key = hashlib.sha256(json_bytes.canonical(schema)).digest()
    if key not in _VERDICTS:
        try:
            validator_for(schema).check_schema(schema)
            verdict = None
        except jsonschema.SchemaError as exc:
            verdict = f"the request's schema is itself invalid: {exc.message}"
        if len(_VERDICTS) >= MAX_VERDICTS:
            del _VERDICTS[next(iter(_VERDICTS))]
        _VERDICTS[key] = verdict
    return _VERDICTS[key]


def _schema_errors(instance: Any, schema: Any) -> list[str]:
    """The first few ways `instance` breaks `schema`. The schema is the client's: checked against
    its metaschema first, since jsonschema assumes a valid one (`"minimum": "x"` or an unknown
    type raise mid-validation), and a `$ref` that points nowhere (or off this schema: nothing is
    fetched) is a finding, never a 500."""
    if not isinstance(schema, dict):
        return []
    try:
        invalid = _invalid(schema)
        if invalid is not None:
            return [invalid]
        # Patterns on RE2 (linear time); an empty registry: a remote $ref is unresolvable here,
        # where jsonschema's default would fetch it (the client's URL, from the server).
        validator = linear_validator(schema, formats=False)
        errors = within_limit(
            lambda: sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)),
            HARD_STOP_SECONDS,
        )
    except Unresolvable as exc:
        return [f"the request's schema has a $ref that cannot be resolved: {exc}"]
    except RecursionError:
        return ["the request's schema cannot be checked: a $ref loop that never ends"]
    except RenderTimeout:
        return [f"the request's schema took over {HARD_STOP_SECONDS:g} s to check"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}" for e in errors[:5]]


def drift(completion: Completion, body: Mapping[str, Any]) -> Iterator[str]:
    """One readable line per mismatch between the scripted completion and the request."""
    offered = _offered(body)
    response_format = body.get("response_format") or {}
    for choice in completion.choices:
        legacy = (choice.function_call,) if choice.function_call is not None else ()
        for call in (*choice.tool_calls, *legacy):
            kind = "function call" if call is choice.function_call else "tool call"
            if call.name not in offered:
                names = ", ".join(sorted(offered)) or "none"
                yield f"{kind} {call.name!r} is not offered by the request (offered: {names})"
                continue
            try:
                arguments = json.loads(call.arguments)
            except ValueError:
                yield f"{kind} {call.name!r}: arguments are not valid JSON"
                continue
            for error in _schema_errors(arguments, offered[call.name]):
                yield f"{kind} {call.name!r} arguments break its parameters: {error}"
        if response_format.get("type") == "json_schema" and choice.content is not None:
            schema = (response_format.get("json_schema") or {}).get("schema")
            try:
                content = json.loads(choice.content)
            except ValueError:
                yield "content is not JSON but the request asks for response_format json_schema"
                continue
            for error in _schema_errors(content, schema):
                yield f"content breaks the response_format json_schema: {error}"
