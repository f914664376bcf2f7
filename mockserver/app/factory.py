"""create_app(settings): the middlewares, routes and app state of one mock server."""

from __future__ import annotations

import time

from aiohttp import web

from mockserver.app.cors import add_cors_headers, preflight
from mockserver.app.errors import error_middleware
from mockserver.app.routes import admin, chat, models
from mockserver.app.state import (
    CHAOS,
    CONTRACT,
    FIXTURES,
    IN_FLIGHT,
    JOURNAL,
    LIMITER,
    SETTINGS,
    STARTED,
    TEXT,
)
from mockserver.app.tracing import InFlight, add_trace_headers, tracing_middleware
from mockserver.contract.schemas import Contract
from mockserver.journal.store import Journal, journal_middleware
from mockserver.replies.generated import TextGenerator
from mockserver.settings import Settings
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.loader import load_paths
from mockserver.wire.faults import Chaos
from mockserver.wire.ratelimit import RateLimiter, add_rate_headers


def create_app(settings: Settings) -> web.Application:
    """Everything is loaded and compiled here, once; the request path only reads it.

    Raises FixtureLoadError (every problem of every file) when a fixture is broken.
    """
    app = web.Application(
        middlewares=[tracing_middleware, journal_middleware, error_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[CONTRACT] = Contract.load(strict_spec=settings.strict_spec)
    app[TEXT] = TextGenerator()
    app[FIXTURES] = FixtureSet(load_paths(settings.paths))
    app[JOURNAL] = Journal(settings.journal_limit, settings.journal_file)
    app[LIMITER] = RateLimiter(settings.rpm, settings.tpm)
    app[IN_FLIGHT] = InFlight()
    app[CHAOS] = Chaos(settings.chaos_rate, settings.chaos_status, settings.seed)
    app.on_cleanup.append(_close_journal)
    app[STARTED] = time.monotonic()
    app.on_response_prepare.append(_response_headers)
    app.router.add_post("/v1/chat/completions", chat.create_chat_completion)
    app.router.add_get("/v1/models", models.list_models)
    app.router.add_get("/v1/models/{model}", models.get_model)
    for path in ("/v1/chat/completions", "/v1/models", "/v1/models/{model}"):
        app.router.add_route("OPTIONS", path, preflight)  # CORS preflights
    admin.add_routes(app)
    return app


async def _close_journal(app: web.Application) -> None:
    app[JOURNAL].close()


async def _response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set before any header is sent, so streams get them too (a middleware would be late)."""
    add_trace_headers(request, response)
    add_cors_headers(request, response)
    add_rate_headers(request, response)
