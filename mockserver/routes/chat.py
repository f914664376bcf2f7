"""POST /v1/chat/completions: authenticate, parse, validate, respond, deliver (recorded)."""

from __future__ import annotations

from aiohttp import web

from mockserver.auth import authenticate
from mockserver.chat_request import ChatRequest, parse_json_object, read_body
from mockserver.delivery import deliver
from mockserver.respond import respond
from mockserver.state import CONTRACT, EVENT, FIXTURES, SETTINGS, TEXT
from mockserver.validation import ValidationFailed, validate

BODY_KEPT = 64 * 1024  # of an unparsable body, this much text is kept in the journal


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    settings, event = request.app[SETTINGS], request[EVENT]
    authenticate(request.headers, settings.api_keys)
    raw = await read_body(request)
    event.body = raw[:BODY_KEPT].decode("utf-8", "replace")
    body = parse_json_object(raw)
    event.body, event.model, event.stream = body, body.get("model"), body.get("stream") is True
    violations = validate(body, request.app[CONTRACT], settings.disabled_rules)
    if violations:
        event.violations = [v.to_json() for v in violations]
        raise ValidationFailed(violations)
    chat = ChatRequest(body, request.headers)
    reply = respond(chat, request.app[FIXTURES], settings, request.app[TEXT])
    event.fixture, event.generated = (
        reply.fixture,
        reply.completion is not None and not reply.fixture,
    )
    event.warnings = list(reply.warnings)
    return await deliver(request, reply, stream=chat.stream, include_usage=chat.include_usage)
