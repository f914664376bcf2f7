"""Questions asked of the journal: filters, the verification count, near misses of a miss."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mockserver.contract.errors import InvalidRequest
from mockserver.journal.store import ServeEvent
from mockserver.stubs.conditions import compile_match
from mockserver.stubs.context import MatchContext
from mockserver.stubs.fixture_set import FixtureSet

DEFAULT_LIMIT = 100


def _flag(value: str, name: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise InvalidRequest(f"'{name}' must be true or false.", param=name, code="invalid_value")
    return value.lower() == "true"


def _number(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # nan and inf too: int() of them is a 500, not a 400
        raise InvalidRequest(f"'{name}' must be a number.", param=name, code="invalid_value")
    return number


def _integer(value: str, name: str, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequest(
            f"'{name}' must be an integer.", param=name, code="invalid_value"
        ) from None
    if minimum is not None and number < minimum:
        raise InvalidRequest(
            f"'{name}' must be at least {minimum}.", param=name, code="invalid_value"
        )
    return number


def filter_events(events: Iterable[ServeEvent], query: Mapping[str, str]) -> list[ServeEvent]:
    """Newest first, filtered by fixture, model, status, stream, since (unix time), limit."""
    limit = _integer(query.get("limit", str(DEFAULT_LIMIT)), "limit", minimum=0)
    tests: list[Callable[[ServeEvent], bool]] = []
    if "fixture" in query:
        tests.append(lambda e: e.fixture == query["fixture"])
    if "model" in query:
        tests.append(lambda e: e.model == query["model"])
    if "status" in query:
        status = _integer(query["status"], "status")
        tests.append(lambda e: e.status == status)
    if "stream" in query:
        stream = _flag(query["stream"], "stream")
        tests.append(lambda e: e.stream == stream)
    if "since" in query:
        since = _number(query["since"], "since")
        tests.append(lambda e: e.at >= since)
    found: list[ServeEvent] = []
    for event in events:
        if len(found) >= limit:  # checked first: limit=0 is no events, not one
            break
        if all(test(event) for test in tests):
            found.append(event)
    return found


def _context(event: ServeEvent) -> MatchContext:
    return MatchContext.recorded(event.body_json, event.headers)


def count_matching(events: Iterable[ServeEvent], match: Mapping[str, Any]) -> list[str]:
    """Ids of the journaled requests (newest first) that satisfy a fixture-format match block."""
    block = compile_match(match)
    return [e.id for e in events if isinstance(e.body_json, dict) and block.holds(_context(e))]


def near_misses_for(fixtures: FixtureSet, event: ServeEvent) -> list[dict[str, Any]]:
    return [m.to_json() for m in fixtures.near_misses(_context(event))]
