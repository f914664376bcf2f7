"""Typed keys for what the app and each request carry: no module-level singletons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from mockserver.app.tracing import InFlight
    from mockserver.contract.live import LiveContract
    from mockserver.journal.live import Feed
    from mockserver.journal.store import Journal, ServeEvent
    from mockserver.replies.generated import TextGenerator
    from mockserver.replies.repeats import Repeats
    from mockserver.settings import Settings
    from mockserver.state.base import SharedState
    from mockserver.stubs.fixture_set import FixtureSet
    from mockserver.wire.faults import Chaos
    from mockserver.wire.ratelimit import RateLimiter

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CONTRACT: web.AppKey[LiveContract] = web.AppKey("contract")
TEXT: web.AppKey[TextGenerator] = web.AppKey("text")
FIXTURES: web.AppKey[FixtureSet] = web.AppKey("fixtures")
JOURNAL: web.AppKey[Journal] = web.AppKey("journal")
FEED: web.AppKey[Feed] = web.AppKey("feed")  # journal and fixture changes, to dashboards
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter")
CHAOS: web.AppKey[Chaos] = web.AppKey("chaos")
STATE: web.AppKey[SharedState] = web.AppKey("state")
REPEATS: web.AppKey[Repeats] = web.AppKey("repeats")
IN_FLIGHT: web.AppKey[InFlight] = web.AppKey("in_flight")
STARTED: web.AppKey[float] = web.AppKey("started")
ADMIN_TOKEN: web.AppKey[str | None] = web.AppKey("admin_token")  # given, generated, or none


@dataclass(slots=True)
class Scope:
    """What one request carries from its scope (app/scope.py) to its stages and its reply's
    headers: one object, not four request keys (each a Python-level mapping call)."""

    id: str
    started: float  # time.perf_counter() when it came
    event: ServeEvent | None  # its journal entry: API requests only
    rate_headers: dict[str, str] | None = None  # --rpm/--tpm: the budget it left


SCOPE: web.RequestKey[Scope] = web.RequestKey("scope")
