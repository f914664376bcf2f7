"""What the dashboard stands on, through real HTTP: its static files and their CSP, the live feed
(/__admin/events), same-origin admin calls, enabling and disabling fixtures, near misses in a
request's detail. The page itself is driven in a real browser by test_dashboard_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from mockserver.app.factory import create_app
from mockserver.app.routes import ui
from mockserver.app.serving import banner
from mockserver.app.state import FEED
from mockserver.journal import live
from mockserver.journal.live import Feed, Recorded
from mockserver.journal.store import Journal, ServeEvent
from mockserver.settings import Settings
from mockserver.testing.runner import MockServer
from tests.conftest import AUTH
from tests.support import CHAT, MakeClient, chat, content_of, error_of, serve_yaml

Client = TestClient[Any, Any]
ADMIN = "/__admin"
TOKEN = "dash-t0ken-9f3"
FIXTURES = """
- name: greet
  match: {last_user: hello}
  reply: {content: greet says hi}
- name: farewell
  match: {last_user: bye}
  reply: {content: farewell says bye}
"""


@pytest.fixture
async def served(make_client: MakeClient, tmp_path: Path) -> Client:
    return await serve_yaml(make_client, tmp_path, FIXTURES)


def own_origin(client: Client) -> str:
    return f"http://{client.host}:{client.port}"


# --- the page and its files ---------------------------------------------------------------------


async def test_the_page_and_every_file_it_loads_are_served_with_a_strict_csp(
    served: Client,
) -> None:
    for path in (f"{ADMIN}/ui", f"{ADMIN}/ui/"):
        response = await served.get(path)
        assert response.status == 200
        assert response.content_type == "text/html"
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assert "connect-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe" not in csp, "no inline script or style, no eval"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = await (await served.get(f"{ADMIN}/ui")).text()
    assert "<script>" not in page, "nothing inline: the CSP forbids it"
    assert " style=" not in page
    linked = re.findall(r'(?:src|href)="(/__admin/ui/[^"]+)"', page)
    assert {f"{ADMIN}/ui/app.js", f"{ADMIN}/ui/app.css"} <= set(linked)
    # Follow the module graph: every import of every script resolves, as the browser needs.
    pending, seen = [f"{ADMIN}/ui/app.js"], set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        response = await served.get(url)
        assert response.status == 200, url
        assert response.content_type == "text/javascript", url
        assert "Content-Security-Policy" in response.headers
        source = await response.text()
        assert "new Function" not in source, url
        assert "eval(" not in source, url
        for target in re.findall(r"""(?:from|import)\s*['"](\.[^'"]+)['"]""", source):
            pending.append(str(Path(url).parent / target).replace("/./", "/"))
    assert len(seen) >= 5, seen  # app.js, js-yaml, the validator's modules
    css = await served.get(f"{ADMIN}/ui/app.css")
    assert css.content_type == "text/css"
    schema = await served.get(f"{ADMIN}/ui/fixture.schema.json")
    assert (await schema.json())["$id"] == "fixture.schema.json"
    licences = await (await served.get(f"{ADMIN}/ui/vendor/LICENSES.txt")).text()
    assert "MIT" in licences
    assert "js-yaml" in licences


@pytest.mark.parametrize(
    "path",
    [
        "nope.js",
        "..%2f..%2fpyproject.toml",
        "%2e%2e/%2e%2e/settings.py",
        "vendor/../../../settings.py",
        "app.js.map",
        "index.html/",
    ],
)
async def test_only_the_shipped_files_are_served(served: Client, path: str) -> None:
    response = await served.get(f"{ADMIN}/ui/{path}")
    error = await error_of(response, 404)
    assert error["code"] == "unknown_url"


def test_the_files_ship_inside_the_package() -> None:
    """hatch puts mockserver/ into the wheel, so the dashboard is where the code is."""
    files = ui.assets()
    assert {"index.html", "app.js", "app.css", "vendor/js-yaml.mjs"} <= files.keys()
    assert ui.ROOT.parent.name == "mockserver"


async def test_the_page_needs_no_token_and_holds_no_secret(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(make_client, tmp_path, FIXTURES, admin_token=TOKEN)
    for name in ("", "/app.js", "/app.css"):
        response = await client.get(f"{ADMIN}/ui{name}")
        assert response.status == 200
        assert TOKEN not in await response.text()
    refused = await client.get(f"{ADMIN}/events")
    assert (await error_of(refused, 401))["code"] == "invalid_admin_token"
    wrong = await client.get(f"{ADMIN}/events", headers={"Authorization": "Bearer nope"})
    assert (await error_of(wrong, 401))["code"] == "invalid_admin_token"


# --- same origin only ---------------------------------------------------------------------------

EXTRA = json.dumps({"name": "extra", "match": {"last_user": "extra"}, "reply": {"content": "x"}})


async def test_the_dashboards_own_origin_may_call_the_admin_api(served: Client) -> None:
    same = {"Origin": own_origin(served), "Sec-Fetch-Site": "same-origin"}
    added = await served.post(f"{ADMIN}/fixtures", data=EXTRA, headers=same)
    assert added.status == 201, await added.text()
    assert await content_of(served, chat("extra")) == "x"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Origin": "OWN", "Sec-Fetch-Site": "cross-site"},  # a claim the browser contradicts
        {"Origin": "OWN", "Sec-Fetch-Site": "same-site"},  # another port of the same host
        {"Origin": "http://127.0.0.1:1"},
    ],
)
async def test_every_other_origin_is_refused(served: Client, headers: dict[str, str]) -> None:
    headers = {k: own_origin(served) if v == "OWN" else v for k, v in headers.items()}
    for method, path in [
        ("POST", "/fixtures"),
        ("GET", "/requests"),
        ("GET", "/events"),
        ("POST", "/fixtures/greet/disable"),
        ("GET", "/ui"),
    ]:
        response = await served.request(method, f"{ADMIN}{path}", data=EXTRA, headers=headers)
        error = await error_of(response, 403)
        assert error["code"] == "admin_origin_refused", (method, path)
        assert not any(k.lower().startswith("access-control-") for k in response.headers)
    listing = await (await served.get(f"{ADMIN}/fixtures")).json()
    assert [f["name"] for f in listing["fixtures"]] == ["greet", "farewell"]
    assert all(f["enabled"] for f in listing["fixtures"])


async def test_the_page_of_a_loopback_server_answers_only_loopback_names(served: Client) -> None:
    rebound = await served.get(f"{ADMIN}/ui", headers={"Host": "evil.example:8080"})
    assert (await error_of(rebound, 403))["code"] == "admin_host_refused"


# --- the live feed ------------------------------------------------------------------------------


async def next_event(response: ClientResponse) -> tuple[str, Any]:
    """The next named server-sent event (comments and retry lines skipped)."""
    name, data = "message", ""
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if not line:
            raise AssertionError("the feed ended")
        line = line.rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            return name, json.loads(data)


async def test_the_feed_pushes_requests_clears_and_fixture_changes(served: Client) -> None:
    feed = await served.get(f"{ADMIN}/events")
    assert feed.status == 200
    assert feed.content_type == "text/event-stream"
    assert feed.headers["Cache-Control"] == "no-store"
    assert await next_event(feed) == ("hello", {})

    sent = await served.post(CHAT, json=chat("hello"), headers=AUTH)
    name, entry = await next_event(feed)
    assert name == "request"
    assert entry["id"] == sent.headers["x-request-id"]
    assert entry["fixture"] == "greet"
    assert entry["body"]["messages"][0]["content"] == "hello"
    assert "frames" not in entry, "the list shape; frames come with the detail"
    assert entry["headers"]["Authorization"] != AUTH["Authorization"], "redacted"

    rejected = await served.post(CHAT, json=chat("hello", temperature=9), headers=AUTH)
    name, entry = await next_event(feed)
    assert (name, entry["id"], entry["status"]) == (
        "request",
        rejected.headers["x-request-id"],
        400,
    )
    assert entry["violations"][0]["param"] == "temperature"

    await served.post(f"{ADMIN}/fixtures/greet/disable")
    assert await next_event(feed) == ("fixtures", {})
    await served.delete(f"{ADMIN}/requests")
    assert await next_event(feed) == ("cleared", {})
    await served.post(f"{ADMIN}/reload")
    assert await next_event(feed) == ("fixtures", {})
    feed.close()


async def test_a_closed_feed_is_forgotten(served: Client) -> None:
    feed_of = served.app[FEED]
    feed = await served.get(f"{ADMIN}/events")
    await next_event(feed)
    assert len(feed_of) == 1
    feed.close()
    for _ in range(100):  # the next notice finds the reader gone
        await served.post(CHAT, json=chat("hello"), headers=AUTH)
        if not len(feed_of):
            break
        await asyncio.sleep(0.01)
    assert len(feed_of) == 0


async def test_too_many_feeds_get_a_429(served: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "MAX_WATCHERS", 2)
    feeds = [await served.get(f"{ADMIN}/events") for _ in range(2)]
    assert [f.status for f in feeds] == [200, 200]
    third = await served.get(f"{ADMIN}/events")
    error = await error_of(third, 429)
    assert error["code"] == "too_many_feeds"
    for feed in feeds:
        feed.close()


def event(number: int) -> ServeEvent:
    return ServeEvent(id=f"req_{number}", at=0.0, method="POST", path=CHAT, headers={})


def ending(watcher: live.Watcher) -> str | None:
    """Read afresh each time (the journal changes it behind the type checker's back)."""
    return watcher.ended


async def test_a_reader_that_falls_behind_is_dropped_not_waited_for() -> None:
    journal, feed = Journal(limit=10), Feed()
    journal.listeners.append(feed)
    slow, quick = feed.watch(), feed.watch()
    for number in range(live.QUEUE_LIMIT):
        journal.record(event(number))
        if number % 100 == 0:  # the quick reader keeps up; the slow one never reads
            while (notice := await quick.next(0.01)) is not None:
                assert isinstance(notice, Recorded)
    assert ending(slow) is None, "exactly QUEUE_LIMIT notices still fit"
    journal.record(event(-1))
    assert ending(slow) == "overflow"
    assert await slow.next(0.01) is None, "its backlog was let go"
    assert quick.ended is None
    received = []
    while (notice := await quick.next(0.01)) is not None:
        assert isinstance(notice, Recorded)
        received.append(notice.event.id)
    assert received[-1] == "req_-1"
    assert len(journal) == 10, "the journal itself stays bounded"


async def test_a_reader_behind_by_too_many_bytes_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its queue keeps alive entries the journal dropped: bounded in bytes, not only count."""
    large = [event(n) for n in range(4)]
    for entry in large:
        entry.body = b"x" * 100_000
    monkeypatch.setattr(live, "MAX_QUEUED_BYTES", 3 * large[0].cost())
    feed = Feed()
    slow, quick = feed.watch(), feed.watch()
    feed.recorded(large[0])
    assert await quick.next(0.01) is not None
    for entry in large[1:3]:
        feed.recorded(entry)
    assert ending(slow) is None, "three entries' worth still fit"
    feed.recorded(large[3])
    assert ending(slow) == "overflow"
    assert ending(quick) is None
    monkeypatch.setattr(live, "MAX_QUEUED_BYTES", 1)
    alone = feed.watch()
    feed.recorded(large[0])
    assert ending(alone) is None, "one entry always fits, however large"


def stop_and_note(server: MockServer, ended: threading.Event) -> None:
    server.stop()
    ended.set()


async def test_an_open_dashboard_does_not_hold_up_shutdown() -> None:
    server = MockServer(Settings(port=0, access_log=False, shutdown_timeout=30)).start()
    ended = threading.Event()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}{ADMIN}/events") as feed,
    ):
        assert feed.status == 200
        stopper = threading.Thread(target=stop_and_note, args=(server, ended))
        stopper.start()
        rest = await asyncio.wait_for(feed.content.read(), 10)
        assert rest.endswith(b"\n\n"), "the feed ended cleanly"
    await asyncio.to_thread(stopper.join, 10)
    assert ended.is_set(), "stop() returned well before the 30 s drain limit"


# --- fixtures: enable, disable; near misses -----------------------------------------------------


async def test_a_disabled_fixture_is_listed_but_never_answers(served: Client) -> None:
    assert await content_of(served, chat("hello")) == "greet says hi"
    assert (await (await served.post(f"{ADMIN}/fixtures/greet/disable")).json()) == {
        "disabled": "greet"
    }
    listing = {
        f["name"]: f for f in (await (await served.get(f"{ADMIN}/fixtures")).json())["fixtures"]
    }
    assert listing["greet"]["enabled"] is False
    assert listing["greet"]["calls"] == 1
    assert listing["farewell"]["enabled"] is True

    generated = await served.post(CHAT, json=chat("hello"), headers=AUTH)
    assert generated.status == 200
    assert (await generated.json())["choices"][0]["message"]["content"] != "greet says hi"
    detail = await (
        await served.get(f"{ADMIN}/requests/{generated.headers['x-request-id']}")
    ).json()
    assert detail["generated"] is True
    greet = next(m for m in detail["near_misses"] if m["fixture"] == "greet")
    assert greet["failed"] == ["disabled"], "its match held: only being disabled stopped it"

    assert (await served.post(f"{ADMIN}/fixtures/greet/enable")).status == 200
    assert await content_of(served, chat("hello")) == "greet says hi"
    await served.post(f"{ADMIN}/fixtures/farewell/disable")
    await served.post(f"{ADMIN}/reset")
    assert await content_of(served, chat("bye")) == "farewell says bye", "reset enables all"


async def test_enable_and_disable_need_a_known_fixture(served: Client) -> None:
    for action in ("enable", "disable"):
        response = await served.post(f"{ADMIN}/fixtures/nope/{action}")
        assert (await error_of(response, 404))["code"] == "fixture_not_found"


async def test_a_scripted_answer_has_no_near_misses_in_its_detail(served: Client) -> None:
    scripted = await served.post(CHAT, json=chat("bye"), headers=AUTH)
    detail = await (await served.get(f"{ADMIN}/requests/{scripted.headers['x-request-id']}")).json()
    assert detail["fixture"] == "farewell"
    assert "near_misses" not in detail
    missed = await served.post(CHAT, json=chat("good bye"), headers=AUTH)
    detail = await (await served.get(f"{ADMIN}/requests/{missed.headers['x-request-id']}")).json()
    assert {m["fixture"] for m in detail["near_misses"]} == {"greet", "farewell"}
    assert all(m["failed"] for m in detail["near_misses"])


def test_the_admin_client_enables_and_disables(tmp_path: Path) -> None:
    path = tmp_path / "fixtures.yaml"
    path.write_text(FIXTURES, encoding="utf-8")
    with MockServer(Settings(port=0, access_log=False, fixture_paths=(path,))) as server:
        server.admin.set_fixture_enabled("greet", False)
        listed = {f["name"]: f["enabled"] for f in server.admin.fixtures()}
        assert listed == {"greet": False, "farewell": True}
        server.admin.set_fixture_enabled("greet", True)
        assert all(f["enabled"] for f in server.admin.fixtures())


def test_the_banner_points_at_the_dashboard() -> None:
    settings = Settings(access_log=False)
    text = banner(settings, create_app(settings), "http://127.0.0.1:8080")
    assert "  dashboard  http://127.0.0.1:8080/__admin/ui" in text.splitlines()


async def test_strict_fixtures_refusals_list_their_near_misses(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(make_client, tmp_path, FIXTURES, strict_fixtures=True)
    refused = await client.post(CHAT, json=chat("hello there"), headers=AUTH)
    assert (await error_of(refused, 404))["code"] == "fixture_not_matched"
    detail = await (await client.get(f"{ADMIN}/requests/{refused.headers['x-request-id']}")).json()
    greet = next(m for m in detail["near_misses"] if m["fixture"] == "greet")
    assert greet["failed"] == ["last user message equals 'hello', got 'hello there'"]
    faulted = await client.post(
        CHAT, json=chat("hello"), headers={**AUTH, "X-Mock-Fault": "status=503"}
    )
    detail = await (await client.get(f"{ADMIN}/requests/{faulted.headers['x-request-id']}")).json()
    assert "near_misses" not in detail, "an error the client asked for consulted no fixture"
