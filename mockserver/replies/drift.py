"""Contract drift: a scripted reply that no longer fits the request it answers.

The app changed its tool schema and the fixture did not: a scripted tool call names a function
the request does not offer, or its arguments break that function's `parameters` schema, or
scripted content breaks the request's response_format json_schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.exceptions import Unresolvable

from mockserver.replies.completion import Completion


def _offered(body: Mapping[str, Any]) -> dict[str, Any]:
    """Function name -> parameters schema, from tools and legacy functions."""
    offered = {}
    for tool in body.get("tools") or ():
        function = tool.get("function") or {}
        offered[function.get("name", "")] = function.get("parameters")
    for function in body.get("functions") or ():
        offered[function.get("name", "")] = function.get("parameters")
    return offered


def _schema_errors(instance: Any, schema: Any) -> list[str]:
    """The first few ways `instance` breaks `schema`. The schema is the client's: checked against
    its metaschema first, since jsonschema assumes a valid one (`"minimum": "x"` or an unknown
    type raise mid-validation), and a `$ref` that points nowhere (or off this schema: nothing is
    fetched) is a finding, never a 500."""
    if not isinstance(schema, dict):
        return []
    validator_class = validator_for(schema)
    try:
        validator_class.check_schema(schema)
        # An empty registry: a remote $ref is unresolvable here, where jsonschema's default
        # would fetch it (the client's URL, from the server, blocking the event loop).
        validator = validator_class(schema, registry=Registry())
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    except jsonschema.SchemaError as exc:
        return [f"the request's schema is itself invalid: {exc.message}"]
    except Unresolvable as exc:
        return [f"the request's schema has a $ref that cannot be resolved: {exc}"]
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
