"""create_app(settings): the routes and app state of one mock server."""

from __future__ import annotations

import secrets
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.app.cors import preflight
from mockserver.app.routes import admin, chat, models, ui
from mockserver.app.scope import AddRoute, scoped
from mockserver.app.sources import contract_in_force, load_fixtures, swap_contract
from mockserver.app.state import (
    ADMIN_TOKEN,
    CHAOS,
    CONTRACT,
    FEED,
    FIXTURES,
    IN_FLIGHT,
    JOURNAL,
    LIMITER,
    REPEATS,
    SETTINGS,
    STARTED,
    STATE,
    TEXT,
)
from mockserver.app.tracing import InFlight
from mockserver.app.unrouted import Unrouted, unrouted
from mockserver.contract.live import LiveContract
from mockserver.journal.live import Feed
from mockserver.journal.store import Journal
from mockserver.replies.generated import TextGenerator
from mockserver.replies.repeats import Repeats
from mockserver.settings import Settings
from mockserver.state.base import SharedState
from mockserver.state.memory import MemoryState
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.upstream import client
from mockserver.upstream.gate import RECORDER
from mockserver.upstream.record import DEFAULT_MATCH, Recorder
from mockserver.wire.faults import Chaos
from mockserver.wire.ratelimit import RateLimiter


def create_app(settings: Settings) -> web.Application:
    """Everything is loaded and compiled here, once; the request path only reads it.

    Raises FixtureLoadError (every problem of every file) when a fixture is broken, SpecError
    when the --spec document cannot serve as the contract.
    """
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    contract = contract_in_force(settings)
    app[CONTRACT] = LiveContract(contract)
    app[TEXT] = TextGenerator()
    app[FIXTURES] = FixtureSet(load_fixtures(settings, contract))
    journal_file = settings.journal_file if settings.state_url is None else None
    app[JOURNAL] = Journal(
        settings.journal_limit, journal_file, max_bytes=settings.journal_max_bytes
    )
    app[ADMIN_TOKEN] = admin_token(settings)
    app[FEED] = Feed()
    app[JOURNAL].listeners.append(app[FEED])
    app[LIMITER] = RateLimiter(settings.rpm, settings.tpm)
    app[IN_FLIGHT] = InFlight()
    app[CHAOS] = Chaos(settings.chaos_rate, settings.chaos_status, settings.seed)
    app[STATE] = _state(app)
    app[REPEATS] = Repeats(
        settings, app[CONTRACT], app[FIXTURES], app[STATE], app[CHAOS], app[LIMITER]
    )
    app.on_startup.append(_start_state)
    app.on_shutdown.append(_close_feeds)
    app.on_cleanup.append(_close_state)
    if settings.upstream is not None:
        client.install(app, settings.upstream)
        if settings.record_dir is not None:
            app[RECORDER] = Recorder(settings.record_dir, settings.record_match or DEFAULT_MATCH)
    app[STARTED] = time.monotonic()
    add = _adder(app)
    add("POST", "/v1/chat/completions", chat.chat_completions(app))
    add("GET", "/v1/models", models.list_models)
    add("GET", "/v1/models/{model}", models.get_model)
    for path in ("/v1/chat/completions", "/v1/models", "/v1/models/{model}"):
        add("OPTIONS", path, preflight)  # CORS preflights
    admin.add_routes(add)
    ui.add_routes(add)
    app.router.register_resource(Unrouted(scoped(app, unrouted)))  # last: what no route takes
    return app


def _adder(app: web.Application) -> AddRoute:
    """Routes go in through here, each handler inside the request scope. A GET answers HEAD
    too, as aiohttp's add_get does, unless `head=False` (the admin API: a HEAD of its live
    feed would hold a feed open for a reply with no body)."""

    def add(method: str, path: str, handler: Handler, *, head: bool = True) -> None:
        if method == "GET":
            app.router.add_get(path, scoped(app, handler), allow_head=head)
        else:
            app.router.add_route(method, path, scoped(app, handler))

    return add


def _state(app: web.Application) -> SharedState:
    """In memory for one process; in Redis (--state) when workers or replicas share it."""
    settings = app[SETTINGS]
    if settings.state_url is None:
        return MemoryState(app[JOURNAL], app[FIXTURES], app[LIMITER], app[CHAOS], app[FEED])
    from mockserver.state.redis_backend import RedisState  # redis-py only when asked for

    return RedisState(
        settings.state_url,
        fixtures=app[FIXTURES],
        load_files=lambda: load_fixtures(settings, app[CONTRACT].current),
        limiter=app[LIMITER],
        chaos=app[CHAOS],
        feed=app[FEED],
        journal_limit=settings.journal_limit,
        journal_bytes=settings.journal_max_bytes,
        journal_file=settings.journal_file,
        on_spec_reload=lambda: swap_contract(app, settings),
    )


async def _start_state(app: web.Application) -> None:
    await app[STATE].start()


async def _close_state(app: web.Application) -> None:
    await app[STATE].close()


def admin_token(settings: Settings) -> str | None:
    """--admin-token; bound beyond loopback without one, a fresh random token (printed in the
    banner): the journal holds prompts, and anything on the network could read it."""
    if settings.admin_token or settings.loopback:
        return settings.admin_token
    return secrets.token_urlsafe(24)


async def _close_feeds(app: web.Application) -> None:
    app[FEED].close()
