"""POST /v1/chat/completions: the pipeline's stages, in order.

The request scope opened this request's journal entry; it is handed to the stages that fill it in.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.app.routes.models import check_served
from mockserver.app.state import (
    CONTRACT,
    FIXTURES,
    LIMITER,
    REPEATS,
    SCOPE,
    SETTINGS,
    STATE,
    TEXT,
)
from mockserver.contract.auth import authenticate
from mockserver.contract.errors import InvalidRequest
from mockserver.contract.request import ChatRequest, parse_json_object, read_body
from mockserver.contract.validation import ValidationFailed, validate
from mockserver.journal.store import ServeEvent
from mockserver.replies.repeats import Answer
from mockserver.replies.respond import respond
from mockserver.wire.delivery import Line, deliver
from mockserver.wire.faults import HEADER, FaultLayers, FaultPlan, FaultSyntaxError, layered


def chat_completions(app: web.Application) -> Handler:
    """The handler, with what every request uses of `app` looked up once, here (each
    `request.app[...]` is three Python calls)."""
    settings, repeats, line = app[SETTINGS], app[REPEATS], Line.of(app)

    async def create_chat_completion(request: web.Request) -> web.StreamResponse:
        record = request[SCOPE].event
        assert record is not None  # every /v1/ request is journaled
        key = authenticate(request.headers, settings.api_keys)
        raw = await read_body(request, settings.body_timeout)
        record.received(raw)
        answer = await repeats.recall(raw, request.headers) or await _decide(
            request, app, record, raw, key
        )
        record.decided(answer.reply, answer.model, answer.stream)
        return await deliver(
            request,
            answer.reply,
            stream=answer.stream,
            include_usage=answer.include_usage,
            record=record,
            line=line,
        )

    return create_chat_completion


async def _decide(
    request: web.Request, app: web.Application, record: ServeEvent, raw: bytes, key: str
) -> Answer:
    """The full path: parse, validate, and decide what to answer (then keep it if it can be
    repeated)."""
    settings = app[SETTINGS]
    body = parse_json_object(raw)
    record.parsed(raw, body)
    contract = app[CONTRACT].current
    violations = validate(body, contract, settings.disabled_rules)
    if violations:
        failed = ValidationFailed(violations)
        record.violations = [v.to_json() for v in failed.violations]
        raise failed
    chat = ChatRequest(body, request.headers)
    check_served(chat.model, settings.models)
    state = app[STATE]
    limiter = app[LIMITER]
    if limiter.active:  # the common case skips the token count
        request[SCOPE].rate_headers = await state.charge(key, limiter.cost(chat))
    faults = _fault_layers(request.headers, settings.fault, await state.chaos())
    fixtures, text = app[FIXTURES], app[TEXT]
    reply = await state.respond(lambda: respond(chat, fixtures, settings, text, faults))
    app[REPEATS].remember(raw, request.headers, chat, reply, faults, contract)
    return Answer(reply, chat.model, chat.stream, chat.include_usage)


def _fault_layers(headers: Mapping[str, str], server: FaultPlan, chaos: FaultPlan) -> FaultLayers:
    """The HTTP boundary of the fault grammar: a bad X-Mock-Fault is the client's 400."""
    try:
        return layered(headers, server, chaos)
    except FaultSyntaxError as exc:
        raise InvalidRequest(f"{HEADER}: {exc}", param=HEADER, code="invalid_fault") from exc
