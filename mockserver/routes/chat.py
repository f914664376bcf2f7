"""POST /v1/chat/completions: authenticate, parse, validate, respond, deliver."""

from __future__ import annotations

from aiohttp import web

from mockserver.auth import authenticate
from mockserver.chat_request import ChatRequest, read_json_body
from mockserver.delivery import deliver
from mockserver.respond import respond
from mockserver.state import CONTRACT, FIXTURES, SETTINGS, TEXT
from mockserver.validation import ValidationFailed, validate


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    authenticate(request.headers, settings.api_keys)
    body = await read_json_body(request)
    violations = validate(body, request.app[CONTRACT], settings.disabled_rules)
    if violations:
        raise ValidationFailed(violations)
    chat = ChatRequest(body, request.headers)
    reply = respond(chat, request.app[FIXTURES], settings, request.app[TEXT])
    return await deliver(request, reply, stream=chat.stream, include_usage=chat.include_usage)
