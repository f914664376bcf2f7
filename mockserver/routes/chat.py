"""POST /v1/chat/completions: authenticate, parse, validate, respond, encode."""

from __future__ import annotations

from aiohttp import web

from mockserver.auth import authenticate
from mockserver.chat_request import ChatRequest, read_json_body
from mockserver.chunks import chunks
from mockserver.delivery import send_json, send_stream
from mockserver.generated import generate
from mockserver.state import CONTRACT, SETTINGS, TEXT
from mockserver.validation import ValidationFailed, validate


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    authenticate(request.headers, settings.api_keys)
    body = await read_json_body(request)
    violations = validate(body, request.app[CONTRACT], settings.disabled_rules)
    if violations:
        raise ValidationFailed(violations)
    chat = ChatRequest(body, request.headers)
    completion = generate(chat, request.app[TEXT], settings.seed)
    if chat.stream:
        return await send_stream(request, chunks(completion, include_usage=chat.include_usage), {})
    return send_json(completion.to_json(), {})
