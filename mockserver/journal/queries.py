"""Questions asked of the journal: filters, the verification count, near misses of a miss.

A full journal holds thousands of entries: the admin API walks a snapshot of it in slices and
lets the event loop serve other requests between two slices (the *_async functions).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from mockserver.contract.errors import InvalidRequest
from mockserver.journal.store import ServeEvent
from mockserver.stubs.conditions import MatchBlock, compile_match
from mockserver.stubs.context import MatchContext
from mockserver.stubs.fixture_set import FixtureSet

DEFAULT_LIMIT = 100
SLICE = 128  # entries examined between two turns of the event loop
T = TypeVar("T")


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
    limit = limit_of(query)
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
    return _matching(events, compile_match(match))


def _matching(events: Iterable[ServeEvent], block: MatchBlock) -> list[str]:
    return [e.id for e in events if _holds(block, e)]


def _holds(block: MatchBlock, event: ServeEvent) -> bool:
    return isinstance(event.body_json, dict) and block.holds(_context(event))


async def paced(items: Iterable[T], every: int = SLICE) -> AsyncIterator[T]:
    """Each item, with a turn of the event loop after every `every` of them: work per journal
    entry (parsing its body) that a full journal would otherwise hold the server with."""
    for i, item in enumerate(items):
        if i and i % every == 0:
            await asyncio.sleep(0)
        yield item


async def count_matching_async(events: Sequence[ServeEvent], match: Mapping[str, Any]) -> list[str]:
    """count_matching, a slice at a time: the server keeps answering meanwhile."""
    block = compile_match(match)
    return [e.id async for e in paced(events) if _holds(block, e)]


def near_misses_for(fixtures: FixtureSet, event: ServeEvent) -> list[dict[str, Any]]:
    return [m.to_json() for m in fixtures.near_misses(_context(event))]


async def unmatched_async(
    fixtures: FixtureSet, events: Sequence[ServeEvent], limit: int
) -> list[dict[str, Any]]:
    """The newest `limit` generated replies with their near misses, yielding between slices."""
    found: list[dict[str, Any]] = []
    async for event in paced(events, every=16):  # near misses test every fixture
        if len(found) >= limit:
            break
        if event.generated and isinstance(event.body_json, dict):
            misses = near_misses_for(fixtures, event)
            found.append({**event.to_json(frames=False), "near_misses": misses})
    return found


def limit_of(query: Mapping[str, str]) -> int:
    return _integer(query.get("limit", str(DEFAULT_LIMIT)), "limit", minimum=0)
