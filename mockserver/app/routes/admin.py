"""/__admin: the control panel for CI (WireMock's shape). No CORS headers, ever.

Each handler is a thin shell over Journal and FixtureSet, the same objects the pytest plugin
and AdminClient reach. Errors use OpenAI's error shape like the rest of the server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import urllib.parse
from functools import cache
from typing import Any

import yaml
from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver._version import __version__
from mockserver.app.routes import live
from mockserver.app.sources import contract_in_force, load_fixtures
from mockserver.app.state import CONTRACT, FEED, FIXTURES, JOURNAL, SETTINGS, STARTED
from mockserver.contract.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from mockserver.contract.schemas import load_schema
from mockserver.contract.spec import SpecError
from mockserver.journal.queries import count_matching, filter_events, near_misses_for
from mockserver.journal.store import Journal, ServeEvent
from mockserver.stubs.conditions import ConditionError
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.loader import fixture_validator, load_text
from mockserver.stubs.model import Fixture, FixtureLoadError

ADMIN = "/__admin"


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def same_origin(request: web.Request, origin: str) -> bool:
    """The Origin is this server's own: the dashboard, served from here, calling home.

    Browsers set Origin and Sec-Fetch-Site themselves (no page script can), so a page elsewhere
    cannot claim either.
    """
    own = f"{request.scheme}://{request.host}".lower()
    fetch_site = request.headers.get("Sec-Fetch-Site", "same-origin")
    return origin.lower() == own and fetch_site == "same-origin"


def refuse_browsers(request: web.Request) -> None:
    """No other web page may drive the admin API (MockServer's CVE-2021-32827 was exactly that).

    A browser marks every cross-site request with Origin, even a "simple" POST that needs no
    preflight; scripts, curl and the SDKs send none. Only the dashboard's own origin passes. A
    server bound to loopback also answers only loopback host names, which defeats DNS rebinding.
    """
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(request, origin):
        raise Forbidden(
            f"The admin API does not take requests from web pages (Origin: {origin}).",
            code="admin_origin_refused",
        )
    if request.app[SETTINGS].host in LOOPBACK_NAMES:
        host = urllib.parse.urlsplit(f"//{request.host}").hostname or ""
        if host not in LOOPBACK_NAMES:
            raise Forbidden(
                f"The admin API of a server bound to loopback answers only loopback "
                f"host names, not {request.host!r}.",
                code="admin_host_refused",
            )


def guarded(handler: Handler) -> Handler:
    """With --admin-token, the route needs `Authorization: Bearer <token>` (health does not)."""

    async def check(request: web.Request) -> web.StreamResponse:
        refuse_browsers(request)
        token = request.app[SETTINGS].admin_token
        if token:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            valid = hmac.compare_digest(given.strip().encode(), token.encode())
            if scheme.lower() != "bearer" or not valid:
                raise AuthenticationFailed(
                    "The admin API needs 'Authorization: Bearer <admin token>' (--admin-token).",
                    code="invalid_admin_token",
                )
        return await handler(request)

    return check


async def health(request: web.Request) -> web.Response:
    app = request.app
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(time.monotonic() - app[STARTED], 3),
            "fixtures": len(app[FIXTURES]),
            "requests": len(app[JOURNAL]),
            "contract": app[CONTRACT].current.describe(),
            "spec": app[CONTRACT].current.to_json(),
        }
    )


def _event(request: web.Request) -> ServeEvent:
    event = request.app[JOURNAL].get(request.match_info["id"])
    if event is None:
        raise NotFound(
            f"No request with id {request.match_info['id']!r} in the journal.",
            code="request_not_found",
        )
    return event


async def list_requests(request: web.Request) -> web.Response:
    journal: Journal = request.app[JOURNAL]
    events = filter_events(journal, request.query)
    return web.json_response({"requests": [e.to_json(frames=False) for e in events]})


async def get_request(request: web.Request) -> web.Response:
    """The whole entry; a request no fixture matched (generated, or refused under
    --strict-fixtures) also gets the fixtures that came closest, as they stand now."""
    event = _event(request)
    found = event.to_json()
    unmatched = event.generated or (event.error or {}).get("code") == "fixture_not_matched"
    if unmatched and isinstance(event.body_json, dict):
        found["near_misses"] = near_misses_for(request.app[FIXTURES], event)
    return web.json_response(found)


async def clear_requests(request: web.Request) -> web.Response:
    request.app[JOURNAL].clear()
    return web.json_response({"cleared": True})


async def _body_text(request: web.Request) -> str:
    try:
        return (await request.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body is not valid UTF-8.", code="invalid_body") from exc


async def _json_or_yaml(request: web.Request) -> Any:
    text = await _body_text(request)
    try:
        return yaml.safe_load(text)
    except RecursionError as exc:
        raise InvalidRequest("The body is nested too deeply.", code="invalid_body") from exc
    except yaml.YAMLError as exc:
        raise InvalidRequest(
            f"The body is neither JSON nor YAML: {exc}", code="invalid_body"
        ) from exc


async def count_requests(request: web.Request) -> web.Response:
    """The verification call: how many journaled requests satisfy a match block."""
    match = await _json_or_yaml(request) or {}
    errors = list(fixture_validator().iter_errors({"name": "count", "match": match}))
    if errors:
        raise InvalidRequest(
            f"Not a match block: {errors[0].message}", param="match", code="invalid_match"
        )
    journal: Journal = request.app[JOURNAL]
    try:
        ids = count_matching(journal, match)
    except ConditionError as exc:
        raise InvalidRequest(
            f"Not a match block: {exc}", param="match", code="invalid_match"
        ) from exc
    return web.json_response({"count": len(ids), "requests": ids})


async def unmatched_requests(request: web.Request) -> web.Response:
    fixtures = request.app[FIXTURES]
    found = []
    for event in request.app[JOURNAL]:
        if event.generated and isinstance(event.body_json, dict):
            misses = near_misses_for(fixtures, event)
            found.append({**event.to_json(frames=False), "near_misses": misses})
    return web.json_response({"requests": found})


def _fixture_json(fixture: Fixture, fixtures: FixtureSet) -> dict[str, Any]:
    return {
        "name": fixture.name,
        "priority": fixture.priority,
        "times": fixture.times,
        "calls": fixtures.calls.get(fixture.name, 0),
        "enabled": fixture.name not in fixtures.disabled,
        "steps": len(fixture.replies) if fixture.is_sequence else None,
        "source": fixture.source,
        "fixture": fixture.spec,
    }


async def list_fixtures(request: web.Request) -> web.Response:
    fixtures = request.app[FIXTURES]
    return web.json_response({"fixtures": [_fixture_json(f, fixtures) for f in fixtures.fixtures]})


def _named(request: web.Request) -> Fixture:
    name = request.match_info["name"]
    fixture = request.app[FIXTURES].by_name.get(name)
    if fixture is None:
        raise NotFound(f"No fixture named {name!r}.", code="fixture_not_found")
    return fixture


async def get_fixture(request: web.Request) -> web.Response:
    fixture = _named(request)
    return web.json_response(_fixture_json(fixture, request.app[FIXTURES]))


async def _parse_fixtures(request: web.Request) -> list[Fixture]:
    """Fixtures from a JSON or YAML body, checked exactly as files are."""
    response = request.app[CONTRACT].current.response
    fixtures, problems = load_text(await _body_text(request), "admin-api.yaml", [], response)
    if problems:
        raise InvalidRequest(
            "The fixtures have problems: " + "; ".join(str(p) for p in problems),
            code="invalid_fixture",
        )
    if not fixtures:
        raise InvalidRequest("The body holds no fixture.", code="invalid_fixture")
    return fixtures


async def add_fixtures(request: web.Request) -> web.Response:
    fixtures = request.app[FIXTURES]
    new = await _parse_fixtures(request)
    taken = [f.name for f in new if f.name in fixtures.by_name]
    if taken or len({f.name for f in new}) < len(new):
        raise Conflict(
            f"Fixture name(s) already in use: {', '.join(taken) or 'duplicated in body'}"
            "; PUT /__admin/fixtures/{name} replaces one.",
            code="fixture_exists",
        )
    for fixture in new:
        fixtures.add(fixture)
    request.app[FEED].fixtures_changed()
    return web.json_response({"added": [f.name for f in new]}, status=201)


async def replace_fixture(request: web.Request) -> web.Response:
    old = _named(request)
    new = await _parse_fixtures(request)
    if len(new) != 1 or new[0].name != old.name:
        raise InvalidRequest(
            f"PUT needs exactly one fixture named {old.name!r}.", code="invalid_fixture"
        )
    request.app[FIXTURES].replace(new[0])
    request.app[FEED].fixtures_changed()
    return web.json_response({"replaced": old.name})


async def delete_fixture(request: web.Request) -> web.Response:
    fixture = _named(request)
    request.app[FIXTURES].remove(fixture.name)
    request.app[FEED].fixtures_changed()
    return web.json_response({"deleted": fixture.name})


async def reset_fixture(request: web.Request) -> web.Response:
    fixture = _named(request)
    request.app[FIXTURES].reset(fixture.name)
    request.app[FEED].fixtures_changed()
    return web.json_response({"reset": fixture.name})


async def enable_fixture(request: web.Request) -> web.Response:
    fixture = _named(request)
    request.app[FIXTURES].set_enabled(fixture.name, True)
    request.app[FEED].fixtures_changed()
    return web.json_response({"enabled": fixture.name})


async def disable_fixture(request: web.Request) -> web.Response:
    """The fixture stays listed but answers nothing until enabled (or a full reset)."""
    fixture = _named(request)
    request.app[FIXTURES].set_enabled(fixture.name, False)
    request.app[FEED].fixtures_changed()
    return web.json_response({"disabled": fixture.name})


async def reset(request: web.Request) -> web.Response:
    """Journal cleared, scenario states and counters restarted, run-time fixtures dropped."""
    request.app[JOURNAL].clear()
    request.app[FIXTURES].reset_all()
    request.app[FEED].fixtures_changed()
    return web.json_response({"reset": True, "fixtures": len(request.app[FIXTURES])})


async def reload(request: web.Request) -> web.Response:
    """Fixtures (and the --spec document) from disk, both or neither: a broken one is refused
    and the last good ones stay. The document compiles off the event loop."""
    app, settings = request.app, request.app[SETTINGS]
    contract = app[CONTRACT].current
    if settings.spec is not None:
        try:
            contract = await asyncio.to_thread(contract_in_force, settings)
        except SpecError as exc:
            raise InvalidRequest(
                f"Reload refused, the last good contract stays: {exc}", code="invalid_spec"
            ) from exc
    try:
        fixtures = load_fixtures(settings, contract)
    except FixtureLoadError as exc:
        raise InvalidRequest(
            "Reload refused, the last good fixtures stay: "
            + "; ".join(str(p) for p in exc.problems),
            code="invalid_fixture",
        ) from exc
    app[CONTRACT].swap(contract)
    app[FIXTURES].reload(fixtures)
    app[FEED].fixtures_changed()
    return web.json_response({"reloaded": len(fixtures), "spec": contract.to_json()})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


@cache
def openapi_document() -> dict[str, Any]:
    """schemas/admin.openapi.json with the fixture schema bundled in, so that every $ref
    resolves from the served URL (the file refers to fixture.schema.json beside it)."""
    fixture = load_schema("fixture.schema.json")
    text = json.dumps(load_schema("admin.openapi.json"))
    text = text.replace('"fixture.schema.json#/definitions/', '"#/components/schemas/')
    text = text.replace('"fixture.schema.json"', '"#/components/schemas/FixtureFile"')
    document: dict[str, Any] = json.loads(text)
    definitions = json.loads(
        json.dumps(fixture["definitions"]).replace('"#/definitions/', '"#/components/schemas/')
    )
    top = {k: v for k, v in fixture.items() if k not in ("definitions", "$schema", "$id")}
    top = json.loads(json.dumps(top).replace('"#/definitions/', '"#/components/schemas/'))
    document["components"]["schemas"].update({**definitions, "FixtureFile": top})
    return document


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/openapi.json", openapi),
    ("GET", "/requests", list_requests),
    ("DELETE", "/requests", clear_requests),
    ("POST", "/requests/count", count_requests),
    ("GET", "/requests/unmatched", unmatched_requests),
    ("GET", "/requests/{id}", get_request),
    ("GET", "/fixtures", list_fixtures),
    ("POST", "/fixtures", add_fixtures),
    ("GET", "/fixtures/{name}", get_fixture),
    ("PUT", "/fixtures/{name}", replace_fixture),
    ("DELETE", "/fixtures/{name}", delete_fixture),
    ("POST", "/fixtures/{name}/reset", reset_fixture),
    ("POST", "/fixtures/{name}/enable", enable_fixture),
    ("POST", "/fixtures/{name}/disable", disable_fixture),
    ("GET", "/events", live.events),
    ("POST", "/reset", reset),
    ("POST", "/reload", reload),
]


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{ADMIN}/health", health)  # open: CI polls it before it has a token
    for method, path, handler in ROUTES:
        app.router.add_route(method, f"{ADMIN}{path}", guarded(handler))
