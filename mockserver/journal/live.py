"""Journal changes pushed to watchers (the dashboard's live list), never slowing a request.

The journal calls `Feed.recorded` / `Feed.cleared` synchronously while a request finishes; each
only appends a reference to every watcher's bounded queue. A watcher that falls `QUEUE_LIMIT`
notices or `MAX_QUEUED_BYTES` of entries behind is dropped (told so, and it reloads the list)
rather than holding memory or making the request path wait. Serialising happens in the watcher's
own task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mockserver.journal.store import ServeEvent

QUEUE_LIMIT = 1000  # notices per watcher before it is dropped as too slow
# Entries (ServeEvent.cost) waiting for one watcher: its queue keeps alive entries the journal
# may have dropped already, so a count alone would let 1000 large streams pile up.
MAX_QUEUED_BYTES = 64 * 1024 * 1024
MAX_WATCHERS = 32  # open dashboards (each holds one queue)


@dataclass(slots=True)
class Recorded:
    """One notice shared by every watcher: its wire form is made once, by the first to send it."""

    event: ServeEvent
    encoded: bytes | None = None
    size: int = 0  # the entry's cost, what it holds in every queue it waits in


@dataclass(frozen=True, slots=True)
class Cleared:
    pass


@dataclass(frozen=True, slots=True)
class FixturesChanged:
    pass


Notice = Recorded | Cleared | FixturesChanged
Ending = Literal["overflow", "closed"]


class TooManyWatchers(Exception):
    """MAX_WATCHERS feeds are open already."""


class Watcher:
    """One subscriber: its queue, and why it ended if it did."""

    def __init__(self) -> None:
        self._queue: deque[Notice] = deque()
        self._bytes = 0  # of the entries queued
        self._ready = asyncio.Event()
        self.ended: Ending | None = None

    def push(self, notice: Notice) -> None:
        if self.ended is not None:
            return
        size = notice.size if isinstance(notice, Recorded) else 0
        over = self._queue and self._bytes + size > MAX_QUEUED_BYTES  # one always fits
        if len(self._queue) >= QUEUE_LIMIT or over:
            self.end("overflow")
            return
        self._queue.append(notice)
        self._bytes += size
        self._ready.set()

    def end(self, why: Ending) -> None:
        self.ended = why
        self._queue.clear()
        self._bytes = 0
        self._ready.set()

    async def next(self, wait_s: float) -> Notice | None:
        """The next notice; None on timeout or once ended (then `ended` says why)."""
        if not self._queue and self.ended is None:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), wait_s)
            except TimeoutError:
                return None
        if self.ended is not None or not self._queue:
            return None
        notice = self._queue.popleft()
        if isinstance(notice, Recorded):
            self._bytes -= notice.size
        return notice


class Feed:
    """The set of watchers; what the journal and the fixture admin routes notify."""

    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()
        self.watched = asyncio.Event()  # set while a watcher is open (the shared state tails)

    def __len__(self) -> int:
        return len(self._watchers)

    def watch(self) -> Watcher:
        if len(self._watchers) >= MAX_WATCHERS:
            raise TooManyWatchers
        watcher = Watcher()
        self._watchers.add(watcher)
        self.watched.set()
        return watcher

    def forget(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        if not self._watchers:
            self.watched.clear()

    def _push(self, notice: Notice) -> None:
        for watcher in self._watchers:
            watcher.push(notice)

    def recorded(self, event: ServeEvent) -> None:
        if self._watchers:
            self._push(Recorded(event, size=event.cost()))

    def cleared(self) -> None:
        self._push(Cleared())

    def fixtures_changed(self) -> None:
        self._push(FixturesChanged())

    def close(self) -> None:
        """Shutdown: every feed ends now, so draining does not wait for open dashboards."""
        for watcher in self._watchers:
            watcher.end("closed")
        self._watchers.clear()
        self.watched.clear()
