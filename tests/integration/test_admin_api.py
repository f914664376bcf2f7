"""The journal and every /__admin route through real HTTP, plus the admin API's security.

Each server loads FILE_FIXTURES from a file in tmp_path; each fixture answers with words that name
it, so which one answered is read from the reply itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from mockserver.contract.schemas import load_schema
from mockserver.settings import Settings
from mockserver.testing.runner import MockServer
from tests.conftest import AUTH
from tests.support import (
    CHAT,
    WEATHER_TOOL,
    MakeClient,
    ask,
    chat,
    content_of,
    error_of,
    file_lines,
    serve_yaml,
    write_yaml,
)

Client = TestClient[Any, Any]
ADMIN = "/__admin"
SECRET = "sk-proj-Zq8vT3kW9mN2xR7pL4sJ6hB1"
SECRET_MIDDLE = SECRET[3:-4]
OTHER_SECRET = "k3y-Yb5nC8dF2gH6jK9mP1qR4sT7"
FILE_FIXTURES = """
- name: greet
  match: {last_user: hello}
  reply: {content: greet says hi}
- name: weather
  match:
    model: gpt-4o-mini
    tools: [get_weather]
  reply: {content: weather says sunny}
- name: counter
  match: {last_user: count}
  reply:
    sequence:
      - {content: counter one}
      - {content: counter two}
- name: ticker
  match: {last_user: tick}
  reply:
    sequence:
      - {content: ticker one}
      - {content: ticker two}
"""
FILE_NAMES = ["greet", "weather", "counter", "ticker"]
EXTRA = {"name": "extra", "match": {"last_user": "extra"}, "reply": {"content": "extra says hi"}}


@pytest.fixture
async def served(make_client: MakeClient, tmp_path: Path) -> Client:
    return await serve_yaml(make_client, tmp_path, FILE_FIXTURES)


async def call(client: Client, method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
    """An admin call that must answer `status` with a JSON body; the parsed body."""
    response = await client.request(method, f"{ADMIN}{path}", **kwargs)
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json", text
    return json.loads(text)


async def admin_error(
    client: Client, method: str, path: str, status: int, **kwargs: Any
) -> dict[str, Any]:
    """An admin call that must fail with `status` in OpenAI's error shape; the error object."""
    return await error_of(await client.request(method, f"{ADMIN}{path}", **kwargs), status)


async def send(
    client: Client,
    last_user: str = "hello",
    headers: Mapping[str, str] | None = None,
    **fields: Any,
) -> tuple[str, ClientResponse, bytes]:
    """POST a chat request; its request id (x-request-id), the response and the whole body."""
    response = await ask(client, chat(last_user, **fields), headers)
    raw = await response.read()
    return response.headers["x-request-id"], response, raw


async def journal_ids(client: Client, **query: str) -> list[str]:
    listing = await call(client, "GET", "/requests", params=query)
    return [entry["id"] for entry in listing["requests"]]


async def fixture_names(client: Client) -> list[str]:
    return [f["name"] for f in (await call(client, "GET", "/fixtures"))["fixtures"]]


def app_of(client: Client) -> web.Application:
    app = client.app
    assert isinstance(app, web.Application)
    return app


def admin_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every admin route the app registers (HEAD is implied)."""
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method == "HEAD":
            continue
        if resource.canonical.startswith(ADMIN):
            found.add((route.method, resource.canonical))
    return found


def open_routes() -> set[tuple[str, str]]:
    """What the OpenAPI document says needs no token: health and the dashboard's static files."""
    document = load_schema("admin.openapi.json")
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and operation.get("security") == []
    }


def test_only_health_and_the_dashboard_files_are_open() -> None:
    assert open_routes() == {
        ("GET", f"{ADMIN}/health"),
        ("GET", f"{ADMIN}/ui"),
        ("GET", f"{ADMIN}/ui/"),
        ("GET", f"{ADMIN}/ui/{{name}}"),
    }


def concrete(template: str) -> str:
    return template.replace("{id}", "req_missing").replace("{name}", "greet")


# --- 1. the journal ----------------------------------------------------------------------------


async def test_every_request_is_journaled_with_what_was_decided(served: Client) -> None:
    before = time.time()
    scripted, _, _ = await send(served, "hello", {"X-Trace": "t-1"})
    generated, _, _ = await send(served, "nothing scripted this")
    invalid, response, _ = await send(served, "hello", temperature=9)
    assert response.status == 400
    models = await served.get("/v1/models", headers=AUTH)
    no_key = await served.post(CHAT, json=chat("hello"))
    after = time.time()
    assert await journal_ids(served) == [
        no_key.headers["x-request-id"],
        models.headers["x-request-id"],
        invalid,
        generated,
        scripted,
    ], "every API request, newest first"

    entry = await call(served, "GET", f"/requests/{scripted}")
    assert entry["id"] == scripted
    assert (entry["method"], entry["path"]) == ("POST", "/v1/chat/completions")
    assert entry["headers"]["X-Trace"] == "t-1"
    assert entry["body"] == chat("hello")
    assert (entry["model"], entry["stream"], entry["status"]) == ("gpt-4o", False, 200)
    assert (entry["fixture"], entry["generated"]) == ("greet", False)
    assert entry["violations"] == []
    assert entry["response"]["choices"][0]["message"]["content"] == "greet says hi"
    assert before <= entry["at"] <= after
    assert entry["duration_ms"] > 0
    assert entry["frames"] == []

    miss = await call(served, "GET", f"/requests/{generated}")
    assert (miss["fixture"], miss["generated"], miss["status"]) == (None, True, 200)

    bad = await call(served, "GET", f"/requests/{invalid}")
    assert (bad["status"], bad["fixture"], bad["generated"]) == (400, None, False)
    assert [v["param"] for v in bad["violations"]] == ["temperature"]
    assert bad["violations"][0]["message"]
    assert bad["error"]["param"] == "temperature"
    assert bad["body"]["temperature"] == 9

    listed = await call(served, "GET", f"/requests/{models.headers['x-request-id']}")
    assert (listed["method"], listed["path"], listed["status"]) == ("GET", "/v1/models", 200)
    unauthenticated = await call(served, "GET", f"/requests/{no_key.headers['x-request-id']}")
    assert unauthenticated["status"] == 401
    assert unauthenticated["error"]["type"] == "invalid_request_error"


async def test_an_unparsable_body_is_journaled_as_text(served: Client) -> None:
    response = await served.post(
        CHAT,
        data=b'{"model": "gpt-4o", "messages": [',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status == 400
    entry = await call(served, "GET", f"/requests/{response.headers['x-request-id']}")
    assert entry["body"] == '{"model": "gpt-4o", "messages": ['
    assert entry["status"] == 400
    assert entry["error"]["message"]


async def test_credentials_never_reach_the_journal_or_its_file(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    client = await make_client(journal_file=path, api_keys=frozenset({"sk-accepted-000000"}))
    accepted = {"Authorization": "Bearer sk-accepted-000000", "X-Api-Key": SECRET}
    ok = await client.post(CHAT, json=chat("hi"), headers={**accepted, "api-key": OTHER_SECRET})
    assert ok.status == 200
    rejected = await client.post(
        CHAT, json=chat("hi"), headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert rejected.status == 401, "a wrong key is journaled too: redacted"
    await file_lines(path, 2)
    texts = [
        await (await client.get(f"{ADMIN}/requests")).text(),
        await (await client.get(f"{ADMIN}/requests/{ok.headers['x-request-id']}")).text(),
        await (await client.get(f"{ADMIN}/requests/{rejected.headers['x-request-id']}")).text(),
        path.read_text(encoding="utf-8"),
    ]
    for text in texts:
        for secret in (SECRET, SECRET_MIDDLE, OTHER_SECRET, OTHER_SECRET[3:-4]):
            assert secret not in text
    entry = json.loads(texts[1])
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    assert headers["x-api-key"].startswith(SECRET[:3])
    assert headers["x-api-key"].endswith(SECRET[-4:])
    assert headers["api-key"] != OTHER_SECRET
    assert headers["authorization"].startswith("Bearer ")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        ok.headers["x-request-id"],
        rejected.headers["x-request-id"],
    ], "one JSON line per request, in order"


async def test_stream_frames_are_the_exact_bytes_sent_with_times(served: Client) -> None:
    request_id, response, raw = await send(
        served, "hello", {"X-Mock-Fault": "chunk_ms=5"}, stream=True
    )
    assert response.status == 200
    entry = await call(served, "GET", f"/requests/{request_id}")
    frames = entry["frames"]
    assert "".join(f["data"] for f in frames) == raw.decode(), "every byte, in order"
    assert all(re.fullmatch(r"data: .+\n\n", f["data"], re.DOTALL) for f in frames), frames
    assert frames[-1]["data"] == "data: [DONE]\n\n"
    assert entry["frame_count"] == len(frames) > 2
    times = [f["at_ms"] for f in frames]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 5 * (len(frames) - 2), "chunk_ms=5 between frames"
    assert 0 <= entry["first_byte_ms"] <= times[0]
    assert entry["duration_ms"] >= times[-1]
    assert (entry["stream"], entry["fixture"], entry["client_hung_up"]) == (True, "greet", False)
    assert "chunk_ms=5" in entry["fault"]
    summary = (await call(served, "GET", "/requests"))["requests"][0]
    assert "frames" not in summary, "the list leaves frames out"
    assert summary["frame_count"] == len(frames)


async def test_a_client_hanging_up_mid_stream_is_recorded(tmp_path: Path) -> None:
    """On a server set up as `serve` and MockServer run it. (aiohttp's TestServer cancels the
    handler when the client leaves, which the served app never does.)"""
    path = write_yaml(tmp_path, FILE_FIXTURES)
    with MockServer(fixture_paths=(path,)) as server:
        async with aiohttp.ClientSession(server.url) as session:
            response = await session.post(
                CHAT,
                json=chat("hello", stream=True),
                headers={**AUTH, "X-Mock-Fault": "chunk_ms=50"},
            )
            assert response.status == 200
            request_id = response.headers["x-request-id"]
            first = await response.content.readuntil(b"\n\n")
            response.close()  # gone after the first frame
            entry: dict[str, Any] = {}
            for _ in range(100):  # journaled once the server noticed: a chunk gap or two
                found = await session.get(f"{ADMIN}/requests/{request_id}")
                if found.status == 200:
                    entry = await found.json()
                    break
                await asyncio.sleep(0.02)
            finished, _, _ = await send_to(session, "hello", stream=True)
    assert entry, "the request was never journaled"
    assert entry["client_hung_up"] is True
    assert entry["status"] == 200
    assert entry["fixture"] == "greet"
    assert entry["frames"][0]["data"] == first.decode()
    assert "data: [DONE]\n\n" not in [f["data"] for f in entry["frames"]]
    assert entry["duration_ms"] >= 50, "it noticed at the next write, a chunk gap later"
    assert finished["client_hung_up"] is False, "a stream read to the end is not a hang-up"


async def send_to(
    session: aiohttp.ClientSession, last_user: str, **fields: Any
) -> tuple[dict[str, Any], int, bytes]:
    """POST a chat request through a plain session; its journal entry, status and body."""
    response = await session.post(CHAT, json=chat(last_user, **fields), headers=AUTH)
    raw = await response.read()
    found = await session.get(f"{ADMIN}/requests/{response.headers['x-request-id']}")
    entry: dict[str, Any] = await found.json()
    return entry, response.status, raw


async def test_the_journal_is_a_bounded_ring(make_client: MakeClient) -> None:
    client = await make_client(journal_limit=5)
    sent = [(await send(client, f"message {n}"))[0] for n in range(8)]
    assert await journal_ids(client) == sent[:2:-1], "only the newest 5, newest first"
    for evicted in sent[:3]:
        error = await admin_error(client, "GET", f"/requests/{evicted}", 404)
        assert error["code"] == "request_not_found"
        assert evicted in error["message"]
    assert (await call(client, "GET", f"/requests/{sent[3]}"))["id"] == sent[3]
    assert (await call(client, "GET", "/health"))["requests"] == 5


async def test_journal_file_appends_to_what_is_there(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"id": "from-an-earlier-run"}\n', encoding="utf-8")
    client = await make_client(journal_file=path)
    first, _, _ = await send(client, "one")
    second, _, _ = await send(client, "two", stream=True)
    lines = await file_lines(path, 3)
    entries = [json.loads(line) for line in lines]
    assert [e["id"] for e in entries] == ["from-an-earlier-run", first, second]
    assert entries[2]["frames"], "the file keeps the stream frames"


async def test_admin_routes_are_not_journaled(served: Client) -> None:
    api, _, _ = await send(served, "hello")
    for method, template in sorted(admin_routes(app_of(served))):
        if method == "GET":
            await served.get(concrete(template))
    await served.post(f"{ADMIN}/requests/count", json={"last_user": "hello"})
    await served.get(f"{ADMIN}/no-such-route")
    assert await journal_ids(served) == [api]
    assert (await call(served, "GET", "/health"))["requests"] == 1


# --- 2. the admin routes: requests -------------------------------------------------------------


@pytest.fixture
async def four(served: Client) -> tuple[Client, dict[str, str]]:
    """Four requests: greet, greet streamed, weather (gpt-4o-mini), a 400; ids by name."""
    sent = {
        "greet": (await send(served, "hello"))[0],
        "stream": (await send(served, "hello", stream=True))[0],
        "weather": (await send(served, "hi", model="gpt-4o-mini", tools=[WEATHER_TOOL]))[0],
        "invalid": (await send(served, "hello", temperature=9))[0],
    }
    return served, sent


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["invalid", "weather", "stream", "greet"]),
        ({"fixture": "greet"}, ["stream", "greet"]),
        ({"fixture": "weather"}, ["weather"]),
        ({"model": "gpt-4o-mini"}, ["weather"]),
        ({"status": "400"}, ["invalid"]),
        ({"status": "200", "stream": "false"}, ["weather", "greet"]),
        ({"stream": "true"}, ["stream"]),
        ({"limit": "2"}, ["invalid", "weather"]),
        ({"fixture": "greet", "limit": "1"}, ["stream"]),
        ({"limit": "0"}, []),
    ],
)
async def test_list_requests_with_filters(
    four: tuple[Client, dict[str, str]], query: dict[str, str], expected: list[str]
) -> None:
    client, sent = four
    assert await journal_ids(client, **query) == [sent[name] for name in expected]


async def test_list_requests_since(four: tuple[Client, dict[str, str]]) -> None:
    client, sent = four
    weather = await call(client, "GET", f"/requests/{sent['weather']}")
    assert await journal_ids(client, since=repr(weather["at"])) == [
        sent["invalid"],
        sent["weather"],
    ]
    assert await journal_ids(client, since=str(time.time() + 60)) == []


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("stream", "maybe"),
        ("status", "ok"),
        ("status", "nan"),
        ("limit", "many"),
        ("limit", "-1"),
        ("limit", "inf"),
        ("since", "yesterday"),
    ],
)
async def test_bad_filter_values_are_400s(served: Client, param: str, value: str) -> None:
    error = await admin_error(served, "GET", "/requests", 400, params={param: value})
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


async def test_get_a_request_by_the_reply_request_id(four: tuple[Client, dict[str, str]]) -> None:
    client, sent = four
    for name, request_id in sent.items():
        entry = await call(client, "GET", f"/requests/{request_id}")
        assert entry["id"] == request_id, name
    error = await admin_error(client, "GET", "/requests/req_0000", 404)
    assert error["code"] == "request_not_found"


async def test_delete_requests_clears_the_journal(four: tuple[Client, dict[str, str]]) -> None:
    client, sent = four
    assert await call(client, "DELETE", "/requests") == {"cleared": True}
    assert await journal_ids(client) == []
    await admin_error(client, "GET", f"/requests/{sent['greet']}", 404)
    assert await fixture_names(client) == FILE_NAMES, "fixtures are not touched"
    again, _, _ = await send(client, "hello")
    assert await journal_ids(client) == [again]


async def test_count_with_a_json_match_block(four: tuple[Client, dict[str, str]]) -> None:
    client, sent = four
    found = await call(client, "POST", "/requests/count", json={"last_user": "hello"})
    assert found == {"count": 3, "requests": [sent["invalid"], sent["stream"], sent["greet"]]}
    streamed = {"last_user": "hello", "stream": True}
    found = await call(client, "POST", "/requests/count", json=streamed)
    assert found == {"count": 1, "requests": [sent["stream"]]}
    found = await call(client, "POST", "/requests/count", json={"tools": ["get_weather"]})
    assert found == {"count": 1, "requests": [sent["weather"]]}
    found = await call(client, "POST", "/requests/count", json={"last_user": "goodbye"})
    assert found == {"count": 0, "requests": []}


async def test_count_with_a_yaml_match_block(four: tuple[Client, dict[str, str]]) -> None:
    client, sent = four
    text = "last_user: hello\nbody:\n  /temperature: {gt: 1}\n"
    found = await call(
        client,
        "POST",
        "/requests/count",
        data=text,
        headers={"Content-Type": "application/yaml"},
    )
    assert found == {"count": 1, "requests": [sent["invalid"]]}
    everything = await call(client, "POST", "/requests/count", data="")
    assert everything["count"] == 4, "an empty match block matches every request"


@pytest.mark.parametrize(
    "body",
    [
        b'{"no_such_condition": 1}',
        b'{"last_user": {"regex": "("}}',
        b'{"stream": "sometimes"}',
        b'["last_user", "hello"]',
        b'"hello"',
        b"last_user: [unclosed",
    ],
)
async def test_an_invalid_match_block_is_a_400(served: Client, body: bytes) -> None:
    await send(served, "hello")
    error = await admin_error(served, "POST", "/requests/count", 400, data=body)
    assert error["code"] in {"invalid_match", "invalid_body"}, error
    assert error["message"]


async def test_unmatched_requests_show_their_near_misses(served: Client) -> None:
    await send(served, "hello")  # answered by greet: not listed
    await send(served, "hello", temperature=9)  # a 400: nothing fell through
    missed, _, _ = await send(served, "hellO")
    listing = await call(served, "GET", "/requests/unmatched")
    assert [r["id"] for r in listing["requests"]] == [missed]
    entry = listing["requests"][0]
    assert entry["generated"] is True
    closest = entry["near_misses"][0]
    assert closest["fixture"] == "greet"
    assert closest["failed"] == ["last user message equals 'hello', got 'hellO'"]
    assert closest["source"].endswith(":1")


# --- 2. the admin routes: fixtures -------------------------------------------------------------


async def test_list_and_get_fixtures(served: Client, tmp_path: Path) -> None:
    await send(served, "hello")
    await send(served, "hello")
    listing = (await call(served, "GET", "/fixtures"))["fixtures"]
    assert [f["name"] for f in listing] == FILE_NAMES, "load order"
    greet = listing[0]
    assert greet["calls"] == 2
    assert greet["source"] == f"{tmp_path / 'fixtures.yaml'}:1"
    assert greet["fixture"] == {
        "name": "greet",
        "match": {"last_user": "hello"},
        "reply": {"content": "greet says hi"},
    }
    assert listing[1]["calls"] == 0
    assert await call(served, "GET", "/fixtures/greet") == greet
    error = await admin_error(served, "GET", "/fixtures/gret", 404)
    assert error["code"] == "fixture_not_found"


@pytest.mark.parametrize(
    ("body", "content_type", "added"),
    [
        (json.dumps(EXTRA), "application/json", ["extra"]),
        (
            json.dumps([EXTRA, {**EXTRA, "name": "extra-2", "match": {"last_user": "x2"}}]),
            "application/json",
            ["extra", "extra-2"],
        ),
        (
            "name: extra\nmatch: {last_user: extra}\nreply: {content: extra says hi}\n",
            "application/yaml",
            ["extra"],
        ),
        (
            "- name: extra\n  match: {last_user: extra}\n  reply: {content: extra says hi}\n"
            "- name: extra-2\n  match: {last_user: x2}\n  reply: {content: two}\n",
            "application/yaml",
            ["extra", "extra-2"],
        ),
    ],
    ids=["json-one", "json-list", "yaml-one", "yaml-list"],
)
async def test_add_fixtures(served: Client, body: str, content_type: str, added: list[str]) -> None:
    result = await call(
        served, "POST", "/fixtures", status=201, data=body, headers={"Content-Type": content_type}
    )
    assert result == {"added": added}
    assert await fixture_names(served) == FILE_NAMES + added
    assert await content_of(served, chat("extra")) == "extra says hi"
    assert (await call(served, "GET", "/fixtures/extra"))["calls"] == 1


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ({"name": "bad", "match": {"last_user": {"regex": "("}}}, "/match/last_user/regex"),
        ({"name": "has space", "reply": {"content": "x"}}, "/name"),
        ({"name": "bad", "match": {"lastuser": "x"}}, "lastuser"),
        ({"reply": {"content": "nameless"}}, "name"),
        ([EXTRA, {"name": "bad", "priority": "high"}], "/1/priority"),
    ],
)
async def test_a_broken_fixture_is_a_400_with_its_problems(
    served: Client, fixture: Any, expected: str
) -> None:
    error = await admin_error(served, "POST", "/fixtures", 400, json=fixture)
    assert error["code"] == "invalid_fixture"
    assert expected in error["message"], error["message"]
    assert await fixture_names(served) == FILE_NAMES, "nothing added, not even the good one"


async def test_an_empty_or_unparsable_fixture_body_is_a_400(served: Client) -> None:
    for body in (b"", b"[]", b"- name: [unclosed"):
        error = await admin_error(served, "POST", "/fixtures", 400, data=body)
        assert error["code"] == "invalid_fixture"
    assert await fixture_names(served) == FILE_NAMES


@pytest.mark.parametrize(
    "fixtures",
    [
        {**EXTRA, "name": "greet"},
        [EXTRA, {**EXTRA, "match": {"last_user": "other"}}],
    ],
    ids=["file-name-taken", "twice-in-body"],
)
async def test_a_duplicate_name_is_a_409(served: Client, fixtures: Any) -> None:
    error = await admin_error(served, "POST", "/fixtures", 409, json=fixtures)
    assert error["code"] == "fixture_exists"
    assert await fixture_names(served) == FILE_NAMES
    assert await content_of(served, chat("hello")) == "greet says hi"


async def test_put_replaces_a_fixture_in_place(served: Client) -> None:
    await call(served, "POST", "/fixtures", status=201, json=EXTRA)
    assert await content_of(served, chat("hello")) == "greet says hi"
    greet = {"name": "greet", "match": {"last_user": "hello"}, "reply": {"content": "new greet"}}
    assert await call(served, "PUT", "/fixtures/greet", json=greet) == {"replaced": "greet"}
    assert await fixture_names(served) == [*FILE_NAMES, "extra"], "same position"
    assert await content_of(served, chat("hello")) == "new greet"
    assert (await call(served, "GET", "/fixtures/greet"))["fixture"] == greet
    extra = {**EXTRA, "reply": {"content": "new extra"}}
    await call(served, "PUT", "/fixtures/extra", data=json.dumps(extra))
    assert await fixture_names(served) == [*FILE_NAMES, "extra"]
    assert await content_of(served, chat("extra")) == "new extra"


async def test_put_keeps_precedence_among_matching_fixtures(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: first
          match: {any_message: {contains: both}}
          reply: {content: first answers}
        - name: second
          match: {any_message: {contains: both}}
          reply: {content: second answers}
        """,
    )
    replacement = {
        "name": "first",
        "match": {"any_message": {"contains": "both"}},
        "reply": {"content": "first, replaced"},
    }
    await call(client, "PUT", "/fixtures/first", json=replacement)
    assert await content_of(client, chat("both")) == "first, replaced"


async def test_put_errors(served: Client) -> None:
    error = await admin_error(served, "PUT", "/fixtures/nope", 404, json={**EXTRA, "name": "nope"})
    assert error["code"] == "fixture_not_found"
    renamed = {**EXTRA, "name": "renamed"}
    error = await admin_error(served, "PUT", "/fixtures/greet", 400, json=renamed)
    assert "greet" in error["message"]
    broken = {"name": "greet", "match": {"last_user": {"regex": "("}}}
    await admin_error(served, "PUT", "/fixtures/greet", 400, json=broken)
    assert await content_of(served, chat("hello")) == "greet says hi", "unchanged"


async def test_delete_a_fixture(served: Client) -> None:
    assert await call(served, "DELETE", "/fixtures/greet") == {"deleted": "greet"}
    assert await fixture_names(served) == FILE_NAMES[1:]
    assert await content_of(served, chat("hello")) != "greet says hi"
    await admin_error(served, "GET", "/fixtures/greet", 404)
    await admin_error(served, "DELETE", "/fixtures/greet", 404)
    await call(served, "POST", "/fixtures", status=201, json=EXTRA)
    await call(served, "DELETE", "/fixtures/extra")
    assert await fixture_names(served) == FILE_NAMES[1:]


async def test_reset_one_fixture_restarts_its_scenario_only(served: Client) -> None:
    assert await content_of(served, chat("count")) == "counter one"
    assert await content_of(served, chat("tick")) == "ticker one"
    assert await content_of(served, chat("count")) == "counter two"
    assert await call(served, "POST", "/fixtures/counter/reset") == {"reset": "counter"}
    assert (await call(served, "GET", "/fixtures/counter"))["calls"] == 0
    assert (await call(served, "GET", "/fixtures/ticker"))["calls"] == 1
    assert await content_of(served, chat("count")) == "counter one"
    assert await content_of(served, chat("tick")) == "ticker two", "the other one went on"
    error = await admin_error(served, "POST", "/fixtures/nope/reset", 404)
    assert error["code"] == "fixture_not_found"


async def test_reset_everything(served: Client) -> None:
    assert await content_of(served, chat("count")) == "counter one"
    await call(served, "POST", "/fixtures", status=201, json=EXTRA)
    await call(served, "DELETE", "/fixtures/weather")
    greet = {"name": "greet", "match": {"last_user": "hello"}, "reply": {"content": "new greet"}}
    await call(served, "PUT", "/fixtures/greet", json=greet)
    assert await journal_ids(served)

    assert await call(served, "POST", "/reset") == {"reset": True, "fixtures": 4}
    assert await journal_ids(served) == []
    assert await fixture_names(served) == FILE_NAMES, "file fixtures back, run-time ones gone"
    assert all(f["calls"] == 0 for f in (await call(served, "GET", "/fixtures"))["fixtures"])
    assert await content_of(served, chat("count")) == "counter one", "scenario restarted"
    assert await content_of(served, chat("hello")) == "greet says hi"
    assert await content_of(served, chat("extra")) != "extra says hi"


async def test_reload_reads_the_files_again(make_client: MakeClient, tmp_path: Path) -> None:
    client = await serve_yaml(make_client, tmp_path, FILE_FIXTURES)
    assert await content_of(client, chat("count")) == "counter one"
    await call(client, "POST", "/fixtures", status=201, json=EXTRA)
    write_yaml(
        tmp_path,
        """
        - name: greet
          match: {last_user: hello}
          reply: {content: greet reloaded}
        - name: counter
          match: {last_user: count}
          reply:
            sequence:
              - {content: counter one}
              - {content: counter two}
        """,
    )
    reloaded = await call(client, "POST", "/reload")
    assert (reloaded["reloaded"], reloaded["spec"]["source"]) == (2, "bundled")
    assert await fixture_names(client) == ["greet", "counter", "extra"]
    assert await content_of(client, chat("hello")) == "greet reloaded"
    assert await content_of(client, chat("count")) == "counter one", "scenarios start over"
    assert await content_of(client, chat("extra")) == "extra says hi", "run-time fixtures stay"


async def test_a_broken_reload_keeps_the_last_good_set(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(make_client, tmp_path, FILE_FIXTURES)
    path = write_yaml(
        tmp_path,
        """
        - name: greet
          match: {last_user: {regex: "("}}
          reply: {content: broken}
        """,
    )
    error = await admin_error(client, "POST", "/reload", 400)
    assert error["code"] == "invalid_fixture"
    assert str(path) in error["message"]
    assert "regex" in error["message"]
    assert await fixture_names(client) == FILE_NAMES
    assert await content_of(client, chat("hello")) == "greet says hi"
    path.write_text("- name: [unclosed\n", encoding="utf-8")
    error = await admin_error(client, "POST", "/reload", 400)
    assert "YAML" in error["message"]
    assert await fixture_names(client) == FILE_NAMES


async def test_health(served: Client) -> None:
    await send(served, "hello")
    health = await call(served, "GET", "/health")
    assert health["status"] == "ok"
    assert isinstance(health["version"], str)
    assert health["fixtures"] == 4
    assert health["requests"] == 1
    assert health["uptime_s"] >= 0


# --- 2. the OpenAPI document -------------------------------------------------------------------

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


async def test_openapi_document_lists_every_admin_route(served: Client) -> None:
    document = await call(served, "GET", "/openapi.json")
    source = load_schema("admin.openapi.json")
    assert document["paths"].keys() == source["paths"].keys()  # served: schemas bundled in
    assert "Fixture" in document["components"]["schemas"]
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"]
    assert document["info"]["version"]
    for ref in refs(document):
        if ref.startswith("#"):
            assert resolve(document, ref) is not None, ref
    documented = set()
    for path, item in document["paths"].items():
        shared = [p["name"] for p in item.get("parameters", []) if p["in"] == "path"]
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert method in HTTP_METHODS, (path, method)
            assert operation["responses"], (path, method)
            assert any(code.startswith("2") for code in operation["responses"]), (path, method)
            own = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            assert sorted(shared + own) == sorted(re.findall(r"{(\w+)}", path)), (path, method)
            documented.add((method.upper(), path))
    registered = admin_routes(app_of(served))
    assert len(registered) >= 15
    assert documented == registered


async def test_openapi_external_refs_resolve_from_the_served_url(served: Client) -> None:
    document = await call(served, "GET", "/openapi.json")
    external = sorted({r.partition("#")[0] for r in refs(document) if not r.startswith("#")})
    for target in external:
        url = urljoin(f"{ADMIN}/openapi.json", target)
        response = await served.get(url)
        assert response.status == 200, (target, url, response.status)
        assert isinstance(await response.json(), dict)


async def test_openapi_schemas_describe_real_answers(served: Client) -> None:
    """The Error schema's required keys are what an admin error really carries."""
    document = await call(served, "GET", "/openapi.json")
    error_schema = document["components"]["schemas"]["Error"]["properties"]["error"]
    error = await admin_error(served, "GET", "/fixtures/nope", 404)
    assert set(error_schema["required"]) <= set(error)
    assert document["paths"]["/__admin/health"]["get"]["security"] == [], "health is open"


# --- 3. security -------------------------------------------------------------------------------

TOKEN = "t0p"


@pytest.fixture
async def guarded(make_client: MakeClient, tmp_path: Path) -> Client:
    return await serve_yaml(make_client, tmp_path, FILE_FIXTURES, admin_token=TOKEN)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer t0", "Bearer t0pp", "Bearer T0P", "t0p", "Basic t0p", "Token t0p"],
)
async def test_admin_routes_need_the_token(guarded: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    routes = sorted(admin_routes(app_of(guarded)) - open_routes())
    assert len(routes) >= 17
    for method, template in routes:
        response = await guarded.request(method, concrete(template), headers=headers, json={})
        error = await error_of(response, 401)
        assert error["code"] == "invalid_admin_token", (method, template)
        assert TOKEN not in await response.text()
    assert await fixture_names_with_token(guarded) == FILE_NAMES, "nothing was changed"


async def fixture_names_with_token(client: Client) -> list[str]:
    listing = await call(client, "GET", "/fixtures", headers={"Authorization": f"Bearer {TOKEN}"})
    return [f["name"] for f in listing["fixtures"]]


async def test_the_token_opens_every_admin_route(guarded: Client) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for method, template in sorted(admin_routes(app_of(guarded))):
        response = await guarded.request(method, concrete(template), headers=headers)
        assert response.status != 401, (method, template, await response.text())
    sent, _, _ = await send(guarded, "hello")
    assert (await call(guarded, "GET", "/requests", headers=headers))["requests"][0]["id"] == sent
    lower = {"Authorization": f"bearer {TOKEN}"}
    assert (await guarded.get(f"{ADMIN}/requests", headers=lower)).status == 200


async def test_health_needs_no_token(guarded: Client) -> None:
    assert (await call(guarded, "GET", "/health"))["status"] == "ok"


async def test_the_api_is_not_guarded_by_the_admin_token(guarded: Client) -> None:
    assert await content_of(guarded, chat("hello")) == "greet says hi"


def cors_headers(response: ClientResponse) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


PREFLIGHT = {
    "Origin": "http://evil.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, authorization",
    "Access-Control-Request-Private-Network": "true",
}


@pytest.mark.parametrize("admin_token", [None, TOKEN])
async def test_no_admin_route_sends_cors_headers(
    make_client: MakeClient, tmp_path: Path, admin_token: str | None
) -> None:
    client = await serve_yaml(make_client, tmp_path, FILE_FIXTURES, admin_token=admin_token)
    control = await client.options(CHAT, headers=PREFLIGHT)
    assert cors_headers(control), "the API's preflight does answer: the check below can see it"
    token = {"Authorization": f"Bearer {TOKEN}"} if admin_token else {}
    origin = {"Origin": "http://evil.example"}
    for method, template in sorted(admin_routes(app_of(client))):
        path = concrete(template)
        for headers in ({**origin, **token}, origin):
            response = await client.request(method, path, headers=headers)
            assert cors_headers(response) == {}, (method, path, headers)
        preflight = await client.options(path, headers={**PREFLIGHT, **token})
        assert cors_headers(preflight) == {}, ("OPTIONS", path)
        assert preflight.status >= 400, "no preflight succeeds on the admin API"


def test_the_default_bind_address_is_loopback() -> None:
    assert Settings().host == "127.0.0.1"


@pytest.mark.parametrize(
    ("target", "journaled"),
    [
        ("/v1/models", "/v1/models"),
        ("/v1/models/my%20model", "/v1/models/my%20model"),
        ("/v1/models?api_key=sk-query-secret-1234", "/v1/models?api_key=sk-*************1234"),
        ("/v1/models?limit=2", "/v1/models?limit=2"),
    ],
    ids=["plain", "encoded", "query-credential", "query"],
)
async def test_the_journal_keeps_the_path_with_its_query_credentials_redacted(
    served: Client, target: str, journaled: str
) -> None:
    sent = await served.get(target, headers=AUTH)
    entry = await call(served, "GET", f"/requests/{sent.headers['x-request-id']}")
    assert entry["path"] == journaled
