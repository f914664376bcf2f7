"""FixtureSet: the fixtures in force, indexed once, with their counters and scenario states.

Order is priority (highest first), then load order. Each fixture is filed under one exact key
of its top-level match block when it has one (a header value, the exact last user message, an
exact model), so a request only tests the fixtures of its own keys plus the unkeyed ones:
matching stays flat however many keyed fixtures are loaded.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.stubs.context import MatchContext
from mockserver.stubs.model import Fixture
from mockserver.stubs.steps import Step

KEY_PREFERENCE = ("header:", "last_user", "model")  # most selective first
NEAR_MISSES = 3


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A fixture that did not match, and each condition that failed."""

    name: str
    source: str
    failed: tuple[str, ...]
    total: int

    def to_json(self) -> dict[str, Any]:
        return {"fixture": self.name, "source": self.source, "failed": list(self.failed)}


class ScenarioExhausted(Exception):
    """A sequence with after_last: error was asked for one reply too many."""


def _index_key(fixture: Fixture) -> tuple[str, str] | None:
    for prefix in KEY_PREFERENCE:
        for key in fixture.match.keys:
            if key[0].startswith(prefix):
                return key
    return None


def _headers_read(spec: Mapping[str, Any]) -> set[str]:
    """The request headers a fixture's match conditions read, at any depth (lower-case)."""
    found: set[str] = set()
    pending = [spec.get("match")]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            headers = node.get("headers")
            if isinstance(headers, Mapping):
                found.update(str(name).lower() for name in headers)
            pending.extend(node.values())
        elif isinstance(node, list | tuple):
            pending.extend(node)
    return found


class FixtureSet:
    """File fixtures, plus what the admin API added, replaced or removed at run time."""

    def __init__(self, fixtures: Iterable[Fixture] = ()) -> None:
        self._files = list(fixtures)
        self._runtime: dict[str, Fixture] = {}  # added, or replacing a file fixture
        self._removed: set[str] = set()
        self.disabled: set[str] = set()  # loaded and listed, but never selected
        self.calls: dict[str, int] = {}
        self.last_taken: tuple[str, int] | None = None  # (fixture, step) of the last take_reply
        self.generation = 0  # changes whenever what select() answers may change
        self._rebuild()

    def _rebuild(self) -> None:
        self.generation += 1
        file_names = {f.name for f in self._files}
        self._loaded = [
            self._runtime.get(f.name, f) for f in self._files if f.name not in self._removed
        ]
        self._loaded += [f for name, f in self._runtime.items() if name not in file_names]
        order = {id(f): i for i, f in enumerate(self._loaded)}
        every = sorted(self._loaded, key=lambda f: (-f.priority, order[id(f)]))
        self.by_name = {f.name: f for f in every}
        self.disabled &= self.by_name.keys()
        self._every_ranked = every
        self.ranked = [f for f in every if f.name not in self.disabled]
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._unkeyed: list[int] = []
        for rank, fixture in enumerate(self.ranked):
            key = _index_key(fixture)
            if key is None:
                self._unkeyed.append(rank)
            else:
                self._buckets.setdefault(key, []).append(rank)
        self._headers = sorted(
            {k[len("header:") :] for k, _ in self._buckets if k.startswith("header:")}
        )
        self.headers_read = tuple(sorted({h for f in self.ranked for h in _headers_read(f.spec)}))
        self._limited = [rank for rank, f in enumerate(self.ranked) if f.times is not None]

    def __len__(self) -> int:
        return len(self._loaded)

    @property
    def fixtures(self) -> Sequence[Fixture]:
        """In load order (the order of files and of the admin API's additions)."""
        return tuple(self._loaded)

    def _candidates(self, ctx: MatchContext) -> list[int]:
        ranks = list(self._unkeyed)
        for key in [
            ("model", ctx.model),
            ("last_user", ctx.last_user),
            *((f"header:{h}", ctx.headers.get(h, "")) for h in self._headers),
        ]:
            ranks.extend(self._buckets.get(key, ()))
        ranks.sort()
        return ranks

    def _available(self, fixture: Fixture) -> bool:
        return fixture.times is None or self.calls.get(fixture.name, 0) < fixture.times

    def select(self, ctx: MatchContext) -> Fixture | None:
        """The first fixture (by priority, then order) whose match holds and has uses left."""
        for rank in self._candidates(ctx):
            fixture = self.ranked[rank]
            if self._available(fixture) and fixture.match.holds(ctx):
                return fixture
        return None

    def uses_decide(self, ctx: MatchContext) -> bool:
        """Whether what select(ctx) answers can change with the counters alone: a fixture
        limited by `times` would match but for its uses (a reset brings it back)."""
        return any(self.ranked[rank].match.holds(ctx) for rank in self._limited)

    def near_misses(self, ctx: MatchContext, limit: int = NEAR_MISSES) -> list[NearMiss]:
        """The fixtures closest to matching: fewest failed conditions, then priority order."""
        misses = []
        for fixture in self._every_ranked:
            failed = fixture.match.failures(ctx)
            if not self._available(fixture):
                failed.append(f"already answered its {fixture.times} time(s)")
            if fixture.name in self.disabled:
                failed.append("disabled")
            if failed:
                total = len(fixture.match.conditions)
                misses.append(NearMiss(fixture.name, fixture.source, tuple(failed), total))
        misses.sort(key=lambda m: len(m.failed) / max(m.total, 1) + len(m.failed) / 100)
        return misses[:limit]

    def closest_names(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, list(self.by_name), n=5, cutoff=0.3)

    def take_reply(self, fixture: Fixture) -> Step:
        """Count a use of `fixture` and return its compiled reply for this step of its scenario."""
        step = self.calls.get(fixture.name, 0)
        self.calls[fixture.name] = step + 1
        self.last_taken = (fixture.name, step)
        replies = fixture.replies
        if step < len(replies):
            return replies[step]
        if fixture.after_last == "cycle":
            return replies[step % len(replies)]
        if fixture.after_last == "error":
            raise ScenarioExhausted(fixture.name)
        return replies[-1]

    def reset(self, name: str | None = None) -> None:
        """Forget counters and scenario positions (of one fixture, or of all)."""
        self.generation += 1  # a fixture used up its `times` may answer again
        if name is None:
            self.calls.clear()
        else:
            self.calls.pop(name, None)

    def reload(self, fixtures: Iterable[Fixture]) -> None:
        """New file fixtures (run-time additions stay); counters and scenarios start over."""
        self._files = list(fixtures)
        self.calls.clear()
        self._rebuild()

    def add(self, fixture: Fixture) -> None:
        if fixture.name in self.by_name:
            raise KeyError(fixture.name)
        self._runtime[fixture.name] = fixture
        self._removed.discard(fixture.name)
        self._rebuild()

    def replace(self, fixture: Fixture) -> None:
        """Swap the fixture of that name in place (it keeps its position among equals)."""
        if fixture.name not in self.by_name:
            raise KeyError(fixture.name)
        self._runtime[fixture.name] = fixture
        self.calls.pop(fixture.name, None)
        self._rebuild()

    def remove(self, name: str) -> None:
        if name not in self.by_name:
            raise KeyError(name)
        self._runtime.pop(name, None)
        if any(f.name == name for f in self._files):
            self._removed.add(name)
        self.calls.pop(name, None)
        self._rebuild()

    def set_enabled(self, name: str, enabled: bool) -> None:
        """A disabled fixture stays listed (and can be a near miss) but never answers."""
        if name not in self.by_name:
            raise KeyError(name)
        if enabled:
            self.disabled.discard(name)
        else:
            self.disabled.add(name)
        self._rebuild()

    def is_file_fixture(self, name: str) -> bool:
        return any(f.name == name for f in self._files)

    def set_runtime(
        self, runtime: Iterable[Fixture], removed: Iterable[str], disabled: Iterable[str]
    ) -> None:
        """Run-time changes as a whole (another worker made them): additions and replacements
        in the order they were made, the file fixtures removed, the fixtures disabled."""
        self._runtime = {f.name: f for f in runtime}
        self._removed = set(removed)
        self.disabled = set(disabled)
        self._rebuild()

    def reset_all(self) -> None:
        """Back to the file fixtures as loaded: run-time changes dropped, scenarios restarted."""
        self._runtime.clear()
        self._removed.clear()
        self.disabled.clear()
        self.calls.clear()
        self._rebuild()

    def models(self) -> list[str]:
        return [m for f in self.ranked for m in f.models]
