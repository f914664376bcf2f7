"""/__admin: the control panel for CI (WireMock's shape). No CORS headers, ever.

Each handler is a thin shell over the shared state (journal, counters, run-time fixtures): the
same for one worker or many, and what the pytest plugin and AdminClient reach. Errors use
OpenAI's error shape like the rest of the server.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import os
import socket
import time
import urllib.parse
from functools import cache
from typing import Any

import yaml
from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver._version import __version__
from mockserver.app.routes import live
from mockserver.app.scope import AddRoute
from mockserver.app.sources import contract_in_force, load_fixtures
from mockserver.app.state import (
    ADMIN_TOKEN,
    CONTRACT,
    FIXTURES,
    SETTINGS,
    STARTED,
    STATE,
)
from mockserver.bounded_yaml import Unbounded, safe_yaml
from mockserver.contract.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from mockserver.contract.request import read_within
from mockserver.contract.schemas import load_schema
from mockserver.contract.spec import SpecError
from mockserver.journal.queries import (
    count_matching_async,
    filter_events,
    limit_of,
    near_misses_for,
    paced,
    unmatched_async,
)
from mockserver.journal.store import ServeEvent
from mockserver.settings import LOOPBACK_NAMES, Settings
from mockserver.stubs.conditions import ConditionError
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.loader import fixture_validator, load_text
from mockserver.stubs.model import Fixture, FixtureLoadError

ADMIN = "/__admin"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@cache
def _machine_names() -> frozenset[str]:
    name = socket.gethostname().lower()
    return frozenset({name, name.split(".")[0], socket.getfqdn().lower()})


def host_allowed(host: str, settings: Settings) -> bool:
    """The Host names the admin API answers. DNS rebinding needs a name the attacker owns
    pointing at this server, so IP addresses are always fine; names must be known: loopback
    names (the only ones on a loopback bind), this machine's, and --admin-host."""
    if host in LOOPBACK_NAMES or host in settings.admin_hosts:
        return True
    if settings.loopback:
        return _is_ip(host) and ipaddress.ip_address(host).is_loopback
    return _is_ip(host) or host == settings.host.lower() or host in _machine_names()


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
    preflight; scripts, curl and the SDKs send none. Only the dashboard's own origin passes. On
    every bind, the Host must be an allowed name (host_allowed), which defeats DNS rebinding (a
    rebound page would be "same-origin" with the attacker's name).
    """
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(request, origin):
        raise Forbidden(
            f"The admin API does not take requests from web pages (Origin: {origin}).",
            code="admin_origin_refused",
        )
    settings = request.app[SETTINGS]
    try:
        host = urllib.parse.urlsplit(f"//{request.host}").hostname or ""
    except ValueError:
        host = ""
    if not host_allowed(host, settings):
        where = "loopback host names" if settings.loopback else "IP addresses and known names"
        raise Forbidden(
            f"The admin API answers only {where}, not {request.host!r}; "
            "name it with --admin-host to allow it.",
            code="admin_host_refused",
        )


def guarded(handler: Handler) -> Handler:
    """With --admin-token, the route needs `Authorization: Bearer <token>` (health does not)."""

    async def check(request: web.Request) -> web.StreamResponse:
        refuse_browsers(request)
        token = request.app[ADMIN_TOKEN]
        if token:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            # A header's non-UTF-8 bytes arrive as surrogate escapes: compare them as bytes.
            sent = given.strip().encode("utf-8", "surrogateescape")
            valid = hmac.compare_digest(sent, token.encode())
            if scheme.lower() != "bearer" or not valid:
                raise AuthenticationFailed(
                    "The admin API needs 'Authorization: Bearer <admin token>' (--admin-token).",
                    code="invalid_admin_token",
                )
        return await handler(request)

    return check


async def health(request: web.Request) -> web.Response:
    """200 and "ok"; 503 and "degraded" while the shared state (Redis) cannot be reached."""
    app = request.app
    state = app[STATE]
    checked = await state.health()
    requests, journal_bytes = (
        await state.journal_usage() if checked["status"] == "ok" else (None, None)
    )
    return web.json_response(
        {
            "status": checked["status"],
            "version": __version__,
            "uptime_s": round(time.monotonic() - app[STARTED], 3),
            "fixtures": len(app[FIXTURES]),
            "requests": requests,
            "journal_bytes": journal_bytes,  # with --state: the shared journal's entries
            "contract": app[CONTRACT].current.describe(),
            "spec": app[CONTRACT].current.to_json(),
            "state": checked["state"],
            "pid": os.getpid(),  # which worker answered (serve --workers N)
        },
        status=200 if checked["status"] == "ok" else 503,
    )


async def _event(request: web.Request) -> ServeEvent:
    event = await request.app[STATE].event(request.match_info["id"])
    if event is None:
        raise NotFound(
            f"No request with id {request.match_info['id']!r} in the journal.",
            code="request_not_found",
        )
    return event


async def list_requests(request: web.Request) -> web.Response:
    events = filter_events(await request.app[STATE].events(), request.query)
    found = [event.to_json(frames=False) async for event in paced(events, every=32)]
    return web.json_response({"requests": found})


async def get_request(request: web.Request) -> web.Response:
    """The whole entry; a request no fixture matched (generated, or refused under
    --strict-fixtures) also gets the fixtures that came closest, as they stand now."""
    event = await _event(request)
    found = event.to_json()
    unmatched = event.generated or (event.error or {}).get("code") == "fixture_not_matched"
    if unmatched and isinstance(event.body_json, dict):
        await request.app[STATE].fresh()
        found["near_misses"] = near_misses_for(request.app[FIXTURES], event)
    return web.json_response(found)


async def clear_requests(request: web.Request) -> web.Response:
    await request.app[STATE].clear_journal()
    return web.json_response({"cleared": True})


async def _body_text(request: web.Request) -> str:
    try:
        raw = await read_within(request, request.app[SETTINGS].body_timeout)
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body is not valid UTF-8.", code="invalid_body") from exc


async def _json_or_yaml(request: web.Request) -> Any:
    text = await _body_text(request)
    try:
        return safe_yaml(text)
    except Unbounded as exc:
        raise InvalidRequest(f"The body is refused: {exc}", code="invalid_body") from exc
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
    events = await request.app[STATE].events()
    try:
        ids = await count_matching_async(events, match)
    except ConditionError as exc:
        raise InvalidRequest(
            f"Not a match block: {exc}", param="match", code="invalid_match"
        ) from exc
    return web.json_response({"count": len(ids), "requests": ids})


async def unmatched_requests(request: web.Request) -> web.Response:
    """The newest generated replies (?limit, default 100) with the fixtures closest to them."""
    await request.app[STATE].fresh()
    limit = limit_of(request.query)
    events = await request.app[STATE].events()
    found = await unmatched_async(request.app[FIXTURES], events, limit)
    return web.json_response({"requests": found})


def _fixture_json(fixture: Fixture, fixtures: FixtureSet, calls: dict[str, int]) -> dict[str, Any]:
    return {
        "name": fixture.name,
        "priority": fixture.priority,
        "times": fixture.times,
        "calls": calls.get(fixture.name, 0),
        "enabled": fixture.name not in fixtures.disabled,
        "steps": len(fixture.replies) if fixture.is_sequence else None,
        "source": fixture.source,
        "fixture": fixture.spec,
    }


async def list_fixtures(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.fresh()
    calls = await state.calls()
    fixtures = request.app[FIXTURES]
    return web.json_response(
        {"fixtures": [_fixture_json(f, fixtures, calls) for f in fixtures.fixtures]}
    )


async def _named(request: web.Request) -> Fixture:
    await request.app[STATE].fresh()
    name = request.match_info["name"]
    fixture = request.app[FIXTURES].by_name.get(name)
    if fixture is None:
        raise NotFound(f"No fixture named {name!r}.", code="fixture_not_found")
    return fixture


async def get_fixture(request: web.Request) -> web.Response:
    fixture = await _named(request)
    calls = await request.app[STATE].calls()
    return web.json_response(_fixture_json(fixture, request.app[FIXTURES], calls))


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
    new = await _parse_fixtures(request)
    await request.app[STATE].fresh()
    fixtures = request.app[FIXTURES]
    taken = [f.name for f in new if f.name in fixtures.by_name]
    if taken or len({f.name for f in new}) < len(new):
        raise Conflict(
            f"Fixture name(s) already in use: {', '.join(taken) or 'duplicated in body'}"
            "; PUT /__admin/fixtures/{name} replaces one.",
            code="fixture_exists",
        )
    await request.app[STATE].add_fixtures(new)
    return web.json_response({"added": [f.name for f in new]}, status=201)


async def replace_fixture(request: web.Request) -> web.Response:
    old = await _named(request)
    new = await _parse_fixtures(request)
    if len(new) != 1 or new[0].name != old.name:
        raise InvalidRequest(
            f"PUT needs exactly one fixture named {old.name!r}.", code="invalid_fixture"
        )
    await request.app[STATE].replace_fixture(new[0])
    return web.json_response({"replaced": old.name})


async def delete_fixture(request: web.Request) -> web.Response:
    fixture = await _named(request)
    await request.app[STATE].remove_fixture(fixture.name)
    return web.json_response({"deleted": fixture.name})


async def reset_fixture(request: web.Request) -> web.Response:
    fixture = await _named(request)
    await request.app[STATE].reset_counters(fixture.name)
    return web.json_response({"reset": fixture.name})


async def enable_fixture(request: web.Request) -> web.Response:
    fixture = await _named(request)
    await request.app[STATE].set_enabled(fixture.name, True)
    return web.json_response({"enabled": fixture.name})


async def disable_fixture(request: web.Request) -> web.Response:
    """The fixture stays listed but answers nothing until enabled (or a full reset)."""
    fixture = await _named(request)
    await request.app[STATE].set_enabled(fixture.name, False)
    return web.json_response({"disabled": fixture.name})


async def reset(request: web.Request) -> web.Response:
    """Journal cleared, scenario states and counters restarted, run-time fixtures dropped."""
    await request.app[STATE].reset_all()
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
    await app[STATE].reload_files(fixtures, spec=settings.spec is not None)
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


def add_routes(add: AddRoute) -> None:
    add("GET", f"{ADMIN}/health", health)  # open: CI polls it before it has a token
    for method, path, handler in ROUTES:
        add(method, f"{ADMIN}{path}", guarded(handler), head=False)
