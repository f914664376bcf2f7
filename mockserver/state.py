"""Typed keys for what the app and each request carry: no module-level singletons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from mockserver.contract import Contract
    from mockserver.fixtures.fixture_set import FixtureSet
    from mockserver.generated import TextGenerator
    from mockserver.journal import Journal, ServeEvent
    from mockserver.settings import Settings

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CONTRACT: web.AppKey[Contract] = web.AppKey("contract")
TEXT: web.AppKey[TextGenerator] = web.AppKey("text")
FIXTURES: web.AppKey[FixtureSet] = web.AppKey("fixtures")
JOURNAL: web.AppKey[Journal] = web.AppKey("journal")
STARTED: web.AppKey[float] = web.AppKey("started")

REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
STARTED_AT: web.RequestKey[float] = web.RequestKey("started_at")
EVENT: web.RequestKey[ServeEvent] = web.RequestKey("event")
