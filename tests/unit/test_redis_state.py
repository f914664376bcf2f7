"""Two apps in one process sharing one real redis-server: the Redis backend end to end, in
process (the CLI tests run it in subprocesses, which coverage does not see)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mockserver.app.state import STATE
from mockserver.resources import bundled
from mockserver.settings import Settings
from mockserver.state import redis_backend
from mockserver.state.connect import StateConnectError, check_reachable
from mockserver.wire.faults import Chaos
from tests.conftest import AUTH, ClientFactory
from tests.redis_server import REDIS, RedisServer
from tests.spec_documents import REQUIRED, openapi_31, write_json

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
Client = TestClient[Any, Any]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.kill()


async def pair(aiohttp_client: ClientFactory, url: str, **options: Any) -> tuple[Client, Client]:
    settings = Settings(fixture_paths=(bundled("fixtures"),), state_url=url, **options)
    from mockserver.app.factory import create_app

    return await aiohttp_client(create_app(settings)), await aiohttp_client(create_app(settings))


async def chat(
    client: Client, text: str, key: str = "sk-test"
) -> tuple[int, Mapping[str, str], Any]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
    response = await client.post(
        "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    return response.status, response.headers, await response.json()  # names case-blind


async def test_two_apps_are_one_mock(aiohttp_client: ClientFactory, redis: RedisServer) -> None:
    a, b = await pair(aiohttp_client, redis.url, rpm=3)
    fixture = {
        "name": "steps",
        "times": 3,
        "match": {"last_user": "go"},
        "reply": {"sequence": [{"content": "one"}, {"content": "two"}, {"content": "three"}]},
    }
    assert (await a.post("/__admin/fixtures", json=fixture, headers=AUTH)).status == 201
    seen = [await chat(c, "go", f"sk-{i}") for i, c in enumerate([b, a, b])]
    assert [r[2]["choices"][0]["message"]["content"] for r in seen] == ["one", "two", "three"]
    status, headers, _ = await chat(a, "go", "sk-9")
    assert status == 200
    assert "X-Mock-Matched" not in headers, "times: 3 is spent across both apps"
    listed = await (await b.get("/__admin/fixtures/steps")).json()
    assert listed["calls"] == 3
    assert (await b.post("/__admin/fixtures/steps/disable", headers=AUTH)).status == 200
    assert (await a.get("/__admin/fixtures/steps")).status == 200
    assert (await (await a.get("/__admin/fixtures/steps")).json())["enabled"] is False
    assert (await b.post("/__admin/fixtures/steps/reset")).status == 200
    assert (await (await a.get("/__admin/fixtures/steps")).json())["calls"] == 0
    new = {"name": "steps", "match": {"last_user": "go"}, "reply": {"content": "new"}}
    assert (await a.put("/__admin/fixtures/steps", json=new)).status == 200
    assert (await b.post("/__admin/fixtures/steps/enable")).status == 200
    assert (await chat(b, "go", "sk-10"))[2]["choices"][0]["message"]["content"] == "new"
    # The journal: every request of both apps, readable from either.
    journal = await (await b.get("/__admin/requests?limit=50")).json()
    assert len(journal["requests"]) == 5
    one = journal["requests"][0]["id"]
    assert (await (await a.get(f"/__admin/requests/{one}")).json())["id"] == one
    count = await (await a.post("/__admin/requests/count", json={"last_user": "go"})).json()
    assert count["count"] == 5
    assert (await a.get("/__admin/requests/req_nope")).status == 404
    # Rate budgets: one per key across both apps (rpm=3).
    statuses = [(await chat(c, "budget", "sk-rate"))[0] for c in (a, b, a, b)]
    assert statuses == [200, 200, 200, 429]
    assert (await a.delete("/__admin/requests")).status == 200
    assert (await (await b.get("/__admin/requests")).json())["requests"] == []
    assert (await b.post("/__admin/fixtures/steps/reset")).status == 200
    assert (await a.delete("/__admin/fixtures/steps")).status == 200
    assert (await b.get("/__admin/fixtures/steps")).status == 404
    assert (await a.post("/__admin/reload")).status == 200
    assert (await (await b.post("/__admin/reset")).json())["reset"] is True
    health = await (await a.get("/__admin/health")).json()
    assert health["state"] == {"backend": "redis", "reachable": True}
    models = await (await b.get("/v1/models", headers=AUTH)).json()
    assert models["object"] == "list"


async def test_chaos_is_one_sequence(aiohttp_client: ClientFactory, redis: RedisServer) -> None:
    a, b = await pair(aiohttp_client, redis.url, chaos_rate=0.5, seed=3)
    statuses = [(await chat(c, "x"))[0] for c in [a, b] * 6]
    expected = Chaos(0.5, 503, 3)
    assert statuses == [expected.draw().status or 200 for _ in range(12)]


async def test_lost_redis_is_a_503_then_back(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    a, b = await pair(aiohttp_client, redis.url)
    assert (await chat(a, "hi"))[0] == 200
    redis.kill()
    status, headers, body = await chat(b, "hi")
    assert status == 503
    assert body["error"]["code"] == "state_unavailable"
    assert headers["retry-after"] == "1"
    health = await a.get("/__admin/health")
    assert health.status == 503
    assert (await health.json())["status"] == "degraded"
    assert (await a.get("/__admin/requests")).status == 503
    redis.start()
    assert (await chat(b, "hi"))[0] == 200
    assert (await (await a.get("/__admin/health")).json())["status"] == "ok"
    assert a.app is not None
    await a.app[STATE].close()  # closing twice (cleanup closes again) is harmless


def test_unreachable_at_start(redis: RedisServer) -> None:
    check_reachable(redis.url)
    url = redis.url
    redis.kill()
    with pytest.raises(StateConnectError, match="cannot reach Redis"):
        check_reachable(url, timeout=0.5)


async def test_the_shared_journal_keeps_to_journal_max_bytes(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    """--journal-max-bytes bounds the shared journal too (the newest entry is always kept)."""
    a, b = await pair(aiohttp_client, redis.url, journal_max_bytes=1024)
    for client in (a, b, a):
        assert (await chat(client, "hi"))[0] == 200
    journal = await (await b.get("/__admin/requests")).json()
    assert len(journal["requests"]) == 1
    health = await (await a.get("/__admin/health")).json()
    assert health["requests"] == 1
    assert 0 < health["journal_bytes"] <= 1024 + len(json.dumps(journal["requests"][0])), (
        "the shared journal's bytes, not this process's (none)"
    )


async def test_the_live_feed_hears_of_requests_and_clears(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    a, _ = await pair(aiohttp_client, redis.url)
    feed = await a.get("/__admin/events")
    assert (await feed.content.readuntil(b"\n\n")).endswith(b"event: hello\ndata: {}\n\n")
    assert (await chat(a, "hi"))[0] == 200
    assert (await feed.content.readuntil(b"\n\n")).startswith(b"event: request\n")
    assert (await a.delete("/__admin/requests")).status == 200
    assert await feed.content.readuntil(b"\n\n") == b"event: cleared\ndata: {}\n\n"
    feed.close()


async def test_the_live_feed_hears_of_every_worker(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    """A dashboard open on one worker sees the requests the others serve, and their clears,
    once each (its own worker's too)."""
    a, b = await pair(aiohttp_client, redis.url)
    feed = await a.get("/__admin/events")
    assert (await feed.content.readuntil(b"\n\n")).endswith(b"event: hello\ndata: {}\n\n")
    status, headers, _ = await chat(b, "served by b")
    assert status == 200
    notice = await asyncio.wait_for(feed.content.readuntil(b"\n\n"), 5)
    assert notice.startswith(b"event: request\n")
    assert headers["x-request-id"].encode() in notice
    status, headers, _ = await chat(a, "served by a")
    notice = await asyncio.wait_for(feed.content.readuntil(b"\n\n"), 5)
    assert headers["x-request-id"].encode() in notice
    assert (await b.delete("/__admin/requests")).status == 200
    notice = await asyncio.wait_for(feed.content.readuntil(b"\n\n"), 5)
    assert notice == b"event: cleared\ndata: {}\n\n", "not the same request again"
    with pytest.raises(TimeoutError):  # nothing more: every notice came once
        await asyncio.wait_for(feed.content.readuntil(b"\n\n"), 1.5)
    feed.close()


async def test_the_shared_journal_is_read_a_page_at_a_time(
    aiohttp_client: ClientFactory, redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_backend, "PAGE", 2)
    a, b = await pair(aiohttp_client, redis.url)
    ids = []
    for n in range(5):
        response = await (a if n % 2 else b).post(
            "/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": f"hi {n}"}]},
            headers={"Authorization": "Bearer sk-test"},
        )
        ids.append(response.headers["x-request-id"])
    listed = await (await a.get("/__admin/requests")).json()
    assert [e["id"] for e in listed["requests"]] == ids[::-1], "all of them, newest first"
    assert [
        e["id"] for e in (await (await a.get("/__admin/requests?limit=2")).json())["requests"]
    ] == ids[:2:-1]
    oldest = await (await b.get(f"/__admin/requests/{ids[0]}")).json()
    assert oldest["body"]["messages"][0]["content"] == "hi 0"
    assert (await b.get("/__admin/requests/req_nope")).status == 404
    count = await (await a.post("/__admin/requests/count", json={"last_user": "hi 3"})).json()
    assert count["requests"] == [ids[3]]


async def test_the_journal_survives_a_script_flush(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    """The journal's append script goes by EVALSHA; Redis forgetting it (a restart, SCRIPT
    FLUSH) loads it again, and no entry is lost or written twice."""
    import redis.asyncio as aioredis

    a, b = await pair(aiohttp_client, redis.url)
    assert (await chat(a, "before"))[0] == 200
    async with aioredis.Redis.from_url(redis.url) as admin:
        await admin.script_flush()
    assert (await chat(b, "after"))[0] == 200
    assert (await chat(a, "again"))[0] == 200
    journal = (await (await a.get("/__admin/requests")).json())["requests"]
    said = [e["body"]["messages"][0]["content"] for e in journal]
    assert said == ["again", "after", "before"]


async def test_an_admin_reload_of_the_spec_reaches_every_worker(
    aiohttp_client: ClientFactory, redis: RedisServer, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "chat.json", openapi_31())
    a, b = await pair(aiohttp_client, redis.url, spec=path)
    assert (await chat(b, "hi"))[0] == 200
    stricter = openapi_31()
    stricter["components"]["schemas"]["ChatCompletionRequest"]["required"].append(REQUIRED)
    write_json(path, stricter)
    reloaded = await a.post("/__admin/reload")
    assert reloaded.status == 200
    digest = (await reloaded.json())["spec"]["digest"]
    deadline = asyncio.get_running_loop().time() + 10
    while (await (await b.get("/__admin/health")).json())["spec"]["digest"] != digest:
        assert asyncio.get_running_loop().time() < deadline, "the other worker read it too"
        await asyncio.sleep(0.05)
    status, _, refused = await chat(b, "hi")
    assert status == 400
    assert refused["error"]["param"] == REQUIRED


async def test_the_live_feed_skips_a_stream_entry_it_cannot_read(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    """An entry of another version (or written by hand) is skipped; the feed goes on."""
    import redis.asyncio as aioredis

    a, b = await pair(aiohttp_client, redis.url)
    feed = await a.get("/__admin/events")
    await feed.content.readuntil(b"\n\n")  # hello
    async with aioredis.Redis.from_url(redis.url) as admin:
        await admin.xadd("mockserver:journal", {"i": "x", "e": b"{not json", "s": 9, "w": "z"})
    status, headers, _ = await chat(b, "after the odd one")
    assert status == 200
    notice = await asyncio.wait_for(feed.content.readuntil(b"\n\n"), 5)
    assert headers["x-request-id"].encode() in notice
    feed.close()


async def test_a_fixture_replaced_between_answer_and_claim_is_answered_again(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    """A worker answered under a fixture another worker replaced before the claim: the claim
    must not count the old answer against the new fixture (its first step was skipped, found
    by review). The claim compares the fixture-set version, and the request is answered again."""
    a, b = await pair(aiohttp_client, redis.url)
    plain = {"name": "f", "match": {"last_user": "go"}, "reply": {"content": "old"}}
    assert (await a.post("/__admin/fixtures", json=plain, headers=AUTH)).status == 201
    assert (await chat(a, "go"))[2]["choices"][0]["message"]["content"] == "old"
    state: Any = a.app[STATE]
    claim = state._claim
    steps = {
        "name": "f",
        "match": {"last_user": "go"},
        "reply": {"sequence": [{"content": "one"}, {"content": "two"}], "after_last": "error"},
    }

    async def replaced_first(**kwargs: Any) -> Any:
        state._claim = claim  # once
        assert (await b.put("/__admin/fixtures/f", json=steps, headers=AUTH)).status == 200
        return await claim(**kwargs)

    state._claim = replaced_first
    first = (await chat(a, "go"))[2]["choices"][0]["message"]["content"]
    second = (await chat(b, "go"))[2]["choices"][0]["message"]["content"]
    assert (first, second) == ("one", "two")


async def test_a_stream_read_to_its_end_is_journaled_on_every_worker(
    aiohttp_client: ClientFactory, redis: RedisServer
) -> None:
    """The entry was appended to Redis after the stream's end had gone out, so a test that
    read a stream and asked another worker's journal for it at once sometimes got a 404
    (about 1 in 3, found by review). The end now goes out once the entry is in Redis."""
    a, b = await pair(aiohttp_client, redis.url)
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "stream me"}],
        "stream": True,
    }
    for _ in range(12):
        response = await a.post("/v1/chat/completions", json=body, headers=AUTH)
        raw = await response.read()
        assert raw.endswith(b"data: [DONE]\n\n")
        entry = await b.get(f"/__admin/requests/{response.headers['x-request-id']}")
        assert entry.status == 200, await entry.text()
        assert (await entry.json())["frame_count"] > 2
