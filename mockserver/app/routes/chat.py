"""POST /v1/chat/completions: authenticate, parse, validate, plan faults, respond, deliver.

The journal middleware records what each stage decided (the ServeEvent filled in here).
"""

from __future__ import annotations

import asyncio
import dataclasses
from random import Random

from aiohttp import web

from mockserver.app.state import (
    CHAOS,
    CONTRACT,
    EVENT,
    FIXTURES,
    LIMITER,
    RATE_HEADERS,
    SETTINGS,
    TEXT,
)
from mockserver.contract.auth import authenticate
from mockserver.contract.request import ChatRequest, parse_json_object, read_body
from mockserver.contract.validation import ValidationFailed, validate
from mockserver.journal.store import ServeEvent, summarized
from mockserver.replies import tokens
from mockserver.replies.completion import replayable
from mockserver.replies.error_catalog import html_error, scripted_error
from mockserver.replies.respond import respond
from mockserver.wire import json_bytes
from mockserver.wire.delivery import deliver
from mockserver.wire.faults import NO_FAULT, FaultPlan, planned

BODY_KEPT = 64 * 1024  # of an unparsable body, this much text is kept in the journal


async def _fail(plan: FaultPlan, event: ServeEvent) -> web.Response:
    """A scripted HTTP error, after the plan's delay: OpenAI's JSON error (raised), or a
    reverse proxy's HTML page."""
    assert plan.status is not None
    event.fault = plan.describe()
    if plan.delay_ms is not None:
        await asyncio.sleep(Random(plan.seed or 0).randint(*plan.delay_ms) / 1000)
    if plan.html:
        return html_error(plan.status)
    raise scripted_error(plan.status, variant=plan.error, retry_after=plan.retry_after)


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    app, event = request.app, request[EVENT]
    settings = app[SETTINGS]
    key = authenticate(request.headers, settings.api_keys)
    raw = await read_body(request, settings.body_timeout)
    event.body = raw[:BODY_KEPT]
    body = parse_json_object(raw)
    # A large body is journaled with its long strings cut: memory stays flat (parsing bounded
    # its depth, so the walk cannot recurse too far).
    event.body = raw if len(raw) <= BODY_KEPT else json_bytes.dumps(summarized(body))
    event.model, event.stream = body.get("model"), body.get("stream") is True
    violations = validate(body, app[CONTRACT], settings.disabled_rules)
    if violations:
        event.violations = [v.to_json() for v in violations]
        raise ValidationFailed(violations)
    chat = ChatRequest(body, request.headers)
    if app[LIMITER].active:
        prompt = tokens.prompt_tokens(chat.messages, body.get("tools"))
        request[RATE_HEADERS] = app[LIMITER].charge(key, prompt + (chat.max_tokens or 0))
    server_plan, header_plan = planned(request.headers, settings.fault, app[CHAOS])
    if header_plan.status is not None:  # the client asked for an error: no fixture is consulted
        return await _fail(server_plan.merged(header_plan), event)
    reply = respond(chat, app[FIXTURES], settings, app[TEXT])
    event.fixture, event.warnings = reply.fixture, list(reply.warnings)
    event.generated = reply.completion is not None and reply.fixture is None
    plan = server_plan.merged(reply.fault or NO_FAULT).merged(header_plan)
    if plan.status is not None:
        return await _fail(plan, event)
    if plan.seed is not None and reply.completion is not None:
        reply = dataclasses.replace(reply, completion=replayable(reply.completion, plan.seed))
    return await deliver(
        request, reply, stream=chat.stream, include_usage=chat.include_usage, plan=plan
    )
