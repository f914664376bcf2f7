"""One worker's state, in its own memory: a thin async face over today's objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mockserver.journal.live import Feed
from mockserver.journal.store import Journal, ServeEvent
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.model import Fixture
from mockserver.wire.faults import Chaos, FaultPlan
from mockserver.wire.ratelimit import RateLimiter

T = TypeVar("T")


class MemoryState:
    """Nothing is awaited for real: the one-worker server stays as fast as it was."""

    backend = "memory"

    def __init__(
        self,
        journal: Journal,
        fixtures: FixtureSet,
        limiter: RateLimiter,
        chaos: Chaos,
        feed: Feed,
    ) -> None:
        self.journal = journal
        self.fixtures = fixtures
        self.limiter = limiter
        self._chaos = chaos
        self._feed = feed  # open dashboards hear of every change to the fixtures

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.journal.close()

    async def health(self) -> dict[str, Any]:
        return {"status": "ok", "state": {"backend": self.backend}}

    async def record(self, event: ServeEvent) -> None:
        self.journal.record(event)

    async def events(self) -> Sequence[ServeEvent]:
        return list(self.journal)

    async def event(self, event_id: str) -> ServeEvent | None:
        return self.journal.get(event_id)

    async def journal_usage(self) -> tuple[int, int]:
        return len(self.journal), self.journal.bytes

    async def clear_journal(self) -> None:
        self.journal.clear()

    async def charge(self, key: str, tokens: int) -> dict[str, str]:
        return self.limiter.charge(key, tokens)

    async def chaos(self) -> FaultPlan:
        return self._chaos.draw()

    async def respond(self, answer: Callable[[], T]) -> T:
        return answer()

    async def fresh(self) -> None:
        return None

    async def add_fixtures(self, fixtures: Sequence[Fixture]) -> None:
        for fixture in fixtures:
            self.fixtures.add(fixture)
        self._feed.fixtures_changed()

    async def replace_fixture(self, fixture: Fixture) -> None:
        self.fixtures.replace(fixture)
        self._feed.fixtures_changed()

    async def remove_fixture(self, name: str) -> None:
        self.fixtures.remove(name)
        self._feed.fixtures_changed()

    async def set_enabled(self, name: str, enabled: bool) -> None:
        self.fixtures.set_enabled(name, enabled)
        self._feed.fixtures_changed()

    async def calls(self) -> dict[str, int]:
        return dict(self.fixtures.calls)

    async def reset_counters(self, name: str | None = None) -> None:
        self.fixtures.reset(name)
        self._feed.fixtures_changed()

    async def reset_all(self) -> None:
        self.journal.clear()
        self.fixtures.reset_all()
        self._feed.fixtures_changed()

    async def reload_files(self, fixtures: Sequence[Fixture], *, spec: bool = False) -> None:
        self.fixtures.reload(fixtures)
        self._feed.fixtures_changed()
