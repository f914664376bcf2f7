"""--spec-examples: the document's request examples as fixtures, like the bundled ones.

Each example that fits the document's own schema becomes a fixture matching its model and its
exact messages. The reply is the document's response example of the same name when there is
one (OpenAPI pairs them by name, as Prism does), otherwise a generated reply.
"""

from __future__ import annotations

from typing import Any

from mockserver.contract.spec.document import Example, SpecDocument

PREFIX = "spec-example-"


def example_fixtures(document: SpecDocument, broken: frozenset[str]) -> list[dict[str, Any]]:
    """Fixture definitions (as a file would hold them) for the examples not in `broken`."""
    replies = {e.name: e.body for e in document.response_examples}
    fixtures = []
    for i, example in enumerate(document.request_examples, 1):
        body = example.body
        if example.name in broken or not isinstance(body, dict):
            continue
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            continue
        fixtures.append(
            {
                "name": f"{PREFIX}{i}",
                "description": f"request example {example.name!r} of {document.source}",
                "match": {
                    "body": {"/model": body["model"], "/messages": {"equals": body["messages"]}}
                },
                "reply": _reply(replies.get(example.name), example),
            }
        )
    return fixtures


def _reply(response: Any, example: Example) -> dict[str, Any]:
    """The scripted form of a paired response example; generated when there is none."""
    choices = response.get("choices") if isinstance(response, dict) else None
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    if not isinstance(message, dict):
        return {"generated": True}
    reply: dict[str, Any] = {}
    if isinstance(message.get("content"), str):
        reply["content"] = message["content"]
    calls = []
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            calls.append({"name": function["name"], "arguments": function.get("arguments", "{}")})
    if calls:
        reply["tool_calls"] = calls
    return reply or {"generated": True}
