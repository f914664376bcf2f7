"""The respond stage: pick the fixture (forced, matched, or none) and build the Reply.

No fixture: a generated reply, or under --strict-fixtures a 404 naming the near misses.
A scripted reply that drifted from the request gets a warning header, or under --strict a 400.
"""

from __future__ import annotations

import dataclasses
from random import Random
from typing import Any

from mockserver.contract.errors import InvalidRequest, MockError, NotFound
from mockserver.contract.request import ChatRequest
from mockserver.journal.store import redact_headers
from mockserver.replies.drift import drift
from mockserver.replies.generated import TextGenerator, generate, seed_key
from mockserver.replies.prompted import SWITCH as PROMPTED_FORMAT
from mockserver.replies.reply import Reply
from mockserver.replies.scripted import NO_RETRY, is_generated, scripted_reply
from mockserver.settings import Settings
from mockserver.stubs.context import MatchContext
from mockserver.stubs.fixture_set import FixtureSet, ScenarioExhausted
from mockserver.stubs.model import Fixture
from mockserver.stubs.templates import TemplateError, render_tree, template_context

FORCE_HEADER = "X-Mock-Fixture"
WARNING_HEADER = "X-Mock-Warning"
MATCHED_HEADER = "X-Mock-Matched"  # which fixture answered (WireMock's Matched-Stub-Id)


def follows_prompt(settings: Settings) -> bool:
    """Whether generated replies use an output format the messages prescribe."""
    return PROMPTED_FORMAT not in settings.disabled_rules


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
    error = NotFound(
        f"No fixture matches this request (--strict-fixtures). Closest: "
        f"{detail or 'no fixtures loaded'}",
        code="fixture_not_matched",
        headers=NO_RETRY,
    )
    return error


def _fixture_error(fixture: Fixture, why: str, error_type: str) -> MockError:
    return MockError(
        f"Fixture {fixture.name!r} ({fixture.source}) failed: {why}",
        error_type=error_type,
        headers={**NO_RETRY, MATCHED_HEADER: fixture.name},
    )


def respond(
    chat: ChatRequest, fixtures: FixtureSet, settings: Settings, text: TextGenerator
) -> Reply:
    """The fixture forced by X-Mock-Fixture or the first that matches, else the generator."""
    ctx = MatchContext(chat.body, chat.headers)
    forced = chat.headers.get(FORCE_HEADER)
    fixture = _forced(fixtures, forced) if forced else fixtures.select(ctx)
    key = seed_key(chat, settings.seed)
    if fixture is None:
        if settings.strict_fixtures:
            raise _no_match(fixtures, ctx)
        return Reply(
            completion=generate(
                chat, text, settings.seed, key, follow_prompt=follows_prompt(settings)
            )
        )
    rendered = _rendered_step(fixture, fixtures, ctx, text, Random(key))
    if is_generated(rendered):
        completion = generate(
            chat, text, settings.seed, key, follow_prompt=follows_prompt(settings)
        )
        return Reply(
            completion=completion,
            headers=rendered["headers"],
            status=rendered.get("status", 200),
            fixture=fixture.name,
            fault=fixture.fault,
        )
    reply = scripted_reply(rendered, chat, Random(key), fixture.name, fixture.fault)
    return _checked(reply, fixture, chat, strict=settings.strict)


def _rendered_step(
    fixture: Fixture, fixtures: FixtureSet, ctx: MatchContext, text: TextGenerator, rng: Random
) -> dict[str, Any]:
    """This request's step of the fixture's scenario, templates rendered."""
    try:
        step = fixtures.take_reply(fixture)
    except ScenarioExhausted:
        raise _fixture_error(
            fixture, "its sequence is exhausted (after_last: error)", "mock_scenario_exhausted"
        ) from None
    try:
        context = template_context(ctx, text.faker(False, rng), text.faker(True, rng))
        rendered: dict[str, Any] = render_tree(step, context)
    except TemplateError as exc:
        raise _fixture_error(fixture, str(exc), "mock_fixture_error") from exc
    rendered["headers"] = {MATCHED_HEADER: fixture.name, **(rendered.get("headers") or {})}
    return rendered


def _checked(reply: Reply, fixture: Fixture, chat: ChatRequest, *, strict: bool) -> Reply:
    """Contract drift: a warning header on the reply, or under --strict a 400."""
    warnings = tuple(drift(reply.completion, chat.body)) if reply.completion else ()
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
