"""The respond stage: decide what to answer, as data. Nothing here touches the wire.

An error the client asked for (X-Mock-Fault: status=...) comes first and consults no fixture.
Otherwise the fixture forced by X-Mock-Fixture or the first that matches answers (its step
rendered), else the gateway (--upstream; asked first with --proxy-all), else the generator;
the final fault plan (server < fixture < header) rides along, and a plan with a `status`
turns the answer into that scripted error. Scripted outcomes are returned,
never raised: only real failures raise (bad input, a broken template, --strict verdicts).
"""

from __future__ import annotations

import dataclasses
from random import Random

from mockserver.contract.errors import InvalidRequest, MockError, NotFound
from mockserver.contract.request import ChatRequest
from mockserver.journal.headers import redact_headers
from mockserver.replies.completion import replayable
from mockserver.replies.drift import drift
from mockserver.replies.error_catalog import fault_error, scripted_error
from mockserver.replies.generated import TextGenerator, generate, seed_key, with_logprobs
from mockserver.replies.prompted import SWITCH as PROMPTED_FORMAT
from mockserver.replies.reply import Completed, Forward, Reply
from mockserver.replies.scripted import rendered_headers, scripted_reply
from mockserver.settings import Settings
from mockserver.stubs.context import MatchContext
from mockserver.stubs.fixture_set import FixtureSet, ScenarioExhausted
from mockserver.stubs.model import Fixture
from mockserver.stubs.steps import GeneratedStep, Step
from mockserver.stubs.templates import Rendering, TemplateError, template_context
from mockserver.wire.faults import FaultLayers, FaultPlan

FORCE_HEADER = "X-Mock-Fixture"
WARNING_HEADER = "X-Mock-Warning"
MATCHED_HEADER = "X-Mock-Matched"  # which fixture answered (WireMock's Matched-Stub-Id)
NO_RETRY = {"x-should-retry": "false"}


def follows_prompt(settings: Settings) -> bool:
    """Whether generated replies use an output format the messages prescribe."""
    return PROMPTED_FORMAT not in settings.disabled_rules


def respond(
    chat: ChatRequest,
    fixtures: FixtureSet,
    settings: Settings,
    text: TextGenerator,
    faults: FaultLayers,
) -> Reply:
    """What to answer `chat` with, and under which fault plan."""
    asked = faults.header_error
    if asked is not None:
        return fault_error(asked)
    ctx = MatchContext(chat.body, chat.headers)
    forced = chat.headers.get(FORCE_HEADER)
    upstream = settings.upstream
    if upstream is not None and upstream.proxy_all and not forced:
        return _under(Reply(payload=Forward()), faults.over(None))
    fixture = _forced(fixtures, forced) if forced else fixtures.select(ctx)
    key = seed_key(chat, settings.seed)
    if fixture is None and upstream is not None:  # the gateway answers what no fixture does
        return _under(Reply(payload=Forward()), faults.over(None))
    if fixture is None:
        if settings.strict_fixtures:
            raise _no_match(fixtures, ctx)
        reply = Reply(
            payload=Completed(
                generate(chat, text, settings.seed, key, follow_prompt=follows_prompt(settings))
            )
        )
    else:
        reply = _scripted(fixture, fixtures, chat, ctx, settings, text, key)
    return _under(reply, faults.over(fixture.fault if fixture else None))


def _under(reply: Reply, plan: FaultPlan) -> Reply:
    """The reply under its final plan: a planned status replaces it; a seed fixes its ids."""
    if plan.status is not None:
        error = fault_error(plan)
        matched = {MATCHED_HEADER: reply.fixture} if reply.fixture else {}
        headers = {**matched, **error.headers}
        return dataclasses.replace(error, fixture=reply.fixture, headers=headers)
    payload = reply.payload
    if plan is reply.plan and plan.seed is None:  # the common case: nothing to change
        return reply
    if plan.seed is not None and isinstance(payload, Completed):
        payload = dataclasses.replace(payload, completion=replayable(payload.completion, plan.seed))
    return dataclasses.replace(reply, payload=payload, plan=plan)


def _scripted(
    fixture: Fixture,
    fixtures: FixtureSet,
    chat: ChatRequest,
    ctx: MatchContext,
    settings: Settings,
    text: TextGenerator,
    key: str,
) -> Reply:
    step = _step(fixture, fixtures)
    if step is None:
        return _exhausted(fixture)
    rng = Random(key)
    render = Rendering(
        template_context(ctx, text.faker(False, rng), text.faker(True, rng)), step.at
    )
    try:
        if isinstance(step, GeneratedStep):
            headers = rendered_headers(step.headers, render, "/headers")
            completion = generate(
                chat, text, settings.seed, key, follow_prompt=follows_prompt(settings)
            )
            reply = Reply(payload=Completed(completion), status=step.status, headers=headers)
        else:
            reply = _with_logprobs(scripted_reply(step, chat, Random(key), render), chat, key)
    except TemplateError as exc:
        raise _fixture_error(fixture, str(exc)) from exc
    reply = dataclasses.replace(
        reply, fixture=fixture.name, headers={MATCHED_HEADER: fixture.name, **reply.headers}
    )
    if isinstance(step, GeneratedStep):
        return reply  # generated for this request: nothing to drift from
    return _checked(reply, fixture, chat, strict=settings.strict)


def _with_logprobs(reply: Reply, chat: ChatRequest, key: str) -> Reply:
    """A scripted completion gets logprobs for its content too when the request asks."""
    payload = reply.payload
    if not isinstance(payload, Completed) or chat.body.get("logprobs") is not True:
        return reply
    choices = tuple(with_logprobs(c, chat, key) for c in payload.completion.choices)
    completion = dataclasses.replace(payload.completion, choices=choices)
    return dataclasses.replace(reply, payload=Completed(completion))


def _step(fixture: Fixture, fixtures: FixtureSet) -> Step | None:
    """This request's step of the fixture's scenario; None once a sequence is exhausted."""
    try:
        return fixtures.take_reply(fixture)
    except ScenarioExhausted:
        return None


def _exhausted(fixture: Fixture) -> Reply:
    """`after_last: error`: the scenario's scripted end, a 500 the test can see."""
    body, _ = scripted_error(
        500,
        message=f"Fixture {fixture.name!r} ({fixture.source}) failed: its sequence is "
        "exhausted (after_last: error)",
        type="mock_scenario_exhausted",
    )
    headers = {**NO_RETRY, MATCHED_HEADER: fixture.name}
    return Reply(payload=body, status=500, headers=headers, fixture=fixture.name)


def _forced(fixtures: FixtureSet, name: str) -> Fixture:
    fixture = fixtures.by_name.get(name)
    if fixture is None:
        close = fixtures.closest_names(name)
        hint = f" Closest names: {', '.join(close)}." if close else " No fixtures are loaded."
        raise InvalidRequest(
            f"{FORCE_HEADER}: no fixture named {name!r}.{hint}",
            param=FORCE_HEADER,
            code="unknown_fixture",
        )
    return fixture


def _no_match(fixtures: FixtureSet, ctx: MatchContext) -> MockError:
    # The message quotes what the request had: never the caller's credentials.
    misses = fixtures.near_misses(MatchContext.recorded(ctx.body, redact_headers(ctx.headers)))
    detail = " ".join(f"[{m.name} ({m.source}): {'; '.join(m.failed)}]" for m in misses)
    return NotFound(
        f"No fixture matches this request (--strict-fixtures). Closest: "
        f"{detail or 'no fixtures loaded'}",
        code="fixture_not_matched",
        headers=NO_RETRY,
    )


def _fixture_error(fixture: Fixture, why: str) -> MockError:
    return MockError(
        f"Fixture {fixture.name!r} ({fixture.source}) failed: {why}",
        error_type="mock_fixture_error",
        headers={**NO_RETRY, MATCHED_HEADER: fixture.name},
    )


def _checked(reply: Reply, fixture: Fixture, chat: ChatRequest, *, strict: bool) -> Reply:
    """Contract drift: a warning header on the reply, or under --strict a 400."""
    payload = reply.payload
    warnings = tuple(drift(payload.completion, chat.body)) if isinstance(payload, Completed) else ()
    if not warnings:
        return reply
    if strict:
        raise InvalidRequest(
            f"Fixture {fixture.name!r} drifted from the request (--strict): " + "; ".join(warnings),
            code="fixture_drift",
            headers={**NO_RETRY, MATCHED_HEADER: fixture.name},
        )
    headers = {**reply.headers, WARNING_HEADER: "; ".join(warnings)[:4000]}
    return dataclasses.replace(reply, headers=headers, warnings=warnings)
