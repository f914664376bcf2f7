"""Repeats (replies/repeats.py): a request sent again, byte for byte, is answered from the first
reply's bytes with its own id and created; whatever could make the answer differ keeps the
request on the full path, and the memory of answers stays bounded."""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from mockserver.app.state import CONTRACT, REPEATS
from mockserver.contract.schemas import Contract
from mockserver.replies import repeats
from tests.conftest import AUTH, sse_chunks
from tests.spec_documents import openapi_31, write_json
from tests.support import CHAT, MakeClient, chat, serve_yaml

Client = TestClient[Any, Any]
OTTERS = chat("Tell me three facts about sea otters.")
# What each reply has of its own: its id and created, in the body and in every chunk.
OWN = re.compile(
    rb'"id":"chatcmpl-[A-Za-z0-9]{29}","object":"chat\.completion(\.chunk)?","created":\d+'
)
FIXTURES = """
- name: once
  times: 1
  match: {last_user: count me}
  reply: {content: the fixture answered}
- name: tenant
  match:
    last_user: which tenant?
    headers: {x-tenant: blue}
  reply: {content: the blue tenant}
"""


async def raw_reply(client: Client, body: Any, headers: dict[str, str] | None = None) -> bytes:
    response = await client.post(CHAT, json=body, headers={**AUTH, **(headers or {})})
    raw = await response.read()
    assert response.status == 200, raw
    return raw


def content_of(raw: bytes) -> str:
    content: str = json.loads(raw)["choices"][0]["message"]["content"]
    return content


@pytest.fixture
async def served(make_client: MakeClient, tmp_path: Path) -> Client:
    return await serve_yaml(make_client, tmp_path, FIXTURES)


async def test_a_repeated_request_gets_the_same_bytes_with_its_own_id(
    client: Client, completion_schema: jsonschema.Draft7Validator
) -> None:
    replies = [await raw_reply(client, OTTERS) for _ in range(3)]
    assert len(client.app[REPEATS]) == 1, "the answer was kept"
    ids = {json.loads(raw)["id"] for raw in replies}
    assert len(ids) == 3, "every reply has an id of its own"
    assert len({OWN.sub(b"", raw) for raw in replies}) == 1, "and nothing else of its own"
    for raw in replies:
        completion_schema.validate(json.loads(raw))
    listing = await (await client.get("/__admin/requests")).json()
    entries = listing["requests"]
    assert [e["generated"] for e in entries] == [True] * 3
    assert {e["model"] for e in entries} == {"gpt-4o"}
    assert {e["response"]["id"] for e in entries} == ids, "the journal has what was sent"


async def test_a_repeated_stream_is_the_same_frames_with_its_own_id(
    client: Client, chunk_schema: jsonschema.Draft7Validator
) -> None:
    body = {**OTTERS, "stream": True, "stream_options": {"include_usage": True}}
    streams = [await raw_reply(client, body) for _ in range(3)]
    assert len(client.app[REPEATS]) == 1
    assert all(raw.endswith(b"data: [DONE]\n\n") for raw in streams)
    assert len({OWN.sub(b"", raw) for raw in streams}) == 1
    stream_ids = []
    for raw in streams:
        chunks = sse_chunks(raw)
        for chunk in chunks:
            chunk_schema.validate(chunk)
        assert len({c["id"] for c in chunks}) == 1, "one id for the whole stream"
        stream_ids.append(chunks[0]["id"])
        assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert len(set(stream_ids)) == 3
    listing = await (await client.get("/__admin/requests")).json()
    assert [e["stream"] for e in listing["requests"]] == [True] * 3
    entry = await (await client.get(f"/__admin/requests/{listing['requests'][0]['id']}")).json()
    assert "".join(f["data"] for f in entry["frames"]).encode() == streams[-1]


async def test_a_fixture_added_after_the_first_request_answers_the_repeat(client: Client) -> None:
    generated = content_of(await raw_reply(client, OTTERS))
    fixture = {
        "name": "otters",
        "match": {"last_user": OTTERS["messages"][0]["content"]},
        "reply": {"content": "Otters hold hands while they sleep."},
    }
    added = await client.post("/__admin/fixtures", json=fixture)
    assert added.status == 201, await added.text()
    assert content_of(await raw_reply(client, OTTERS)) == "Otters hold hands while they sleep."
    removed = await client.delete("/__admin/fixtures/otters")
    assert removed.status == 200, await removed.text()
    assert content_of(await raw_reply(client, OTTERS)) == generated


async def test_a_used_up_fixture_answers_again_after_its_reset(served: Client) -> None:
    body = chat("count me")
    assert content_of(await raw_reply(served, body)) == "the fixture answered"
    used_up = content_of(await raw_reply(served, body))
    assert used_up != "the fixture answered", "times: 1 is used up: generated"
    assert content_of(await raw_reply(served, body)) == used_up
    reset = await served.post("/__admin/fixtures/once/reset")
    assert reset.status == 200, await reset.text()
    assert content_of(await raw_reply(served, body)) == "the fixture answered"


async def test_the_headers_fixtures_read_tell_two_equal_bodies_apart(served: Client) -> None:
    body = chat("which tenant?")
    plain = content_of(await raw_reply(served, body))
    assert plain != "the blue tenant"
    assert content_of(await raw_reply(served, body, {"X-Tenant": "blue"})) == "the blue tenant"
    assert content_of(await raw_reply(served, body, {"X-Tenant": "red"})) == plain
    assert content_of(await raw_reply(served, body)) == plain


async def test_a_fault_header_is_never_answered_from_a_repeat(client: Client) -> None:
    await raw_reply(client, OTTERS)
    await raw_reply(client, OTTERS)
    headers = {**AUTH, "X-Mock-Fault": "status=503"}
    response = await client.post(CHAT, json=OTTERS, headers=headers)
    assert response.status == 503, await response.text()


async def test_a_rate_limit_counts_repeated_requests(make_client: MakeClient) -> None:
    client = await make_client(rpm=2)
    statuses = []
    for _ in range(3):
        response = await client.post(CHAT, json=OTTERS, headers=AUTH)
        await response.read()
        statuses.append(response.status)
    assert statuses == [200, 200, 429]


async def test_tool_call_ids_are_new_in_every_reply(client: Client) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    body = chat("Weather in Paris?", tools=[tool], tool_choice="required")
    ids = set()
    for _ in range(3):
        call = json.loads(await raw_reply(client, body))["choices"][0]["message"]["tool_calls"][0]
        ids.add(call["id"])
    assert len(ids) == 3


async def test_an_invalid_request_is_refused_every_time(client: Client) -> None:
    for _ in range(3):
        response = await client.post(CHAT, json={"model": "gpt-4o"}, headers=AUTH)
        assert response.status == 400, await response.text()
    assert len(client.app[REPEATS]) == 0


async def test_the_answers_kept_are_bounded(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = client.app[REPEATS]
    await raw_reply(client, chat("only once"))
    assert len(kept) == 0, "a request is kept the second time it comes"
    monkeypatch.setattr(repeats, "MAX_ENTRIES", 3)
    for i in range(5):
        await raw_reply(client, chat(f"question {i}"))
        await raw_reply(client, chat(f"question {i}"))
    assert len(kept) == 3, "the oldest went first"
    monkeypatch.setattr(repeats, "MAX_ENTRIES", 10)
    big = chat("x" * (repeats.MAX_BODY + 1))
    for _ in range(3):
        await raw_reply(client, big)
    assert len(kept) == 3, "a body past MAX_BODY is not kept"
    monkeypatch.setattr(repeats, "MAX_BYTES", kept.bytes // 2)
    await raw_reply(client, chat("one more"))
    await raw_reply(client, chat("one more"))
    assert kept.bytes <= repeats.MAX_BYTES
    assert 1 <= len(kept) < 3


async def test_requests_seen_once_are_remembered_as_hashes_and_bounded(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repeats, "MAX_SEEN", 4)
    kept = client.app[REPEATS]
    await raw_reply(client, chat("first"))
    for i in range(4):
        await raw_reply(client, chat(f"filler {i}"))
    await raw_reply(client, chat("first"))
    assert len(kept) == 0, "forgotten: five others came after it"
    await raw_reply(client, chat("filler 3"))
    assert len(kept) == 1


async def test_a_contract_reload_drops_every_answer_kept_under_the_old_one(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """Each answer kept pinned the contract it was validated under (~150 KB, outside the byte
    bound) until that very request came again (found by review)."""
    client = await make_client(spec=write_json(tmp_path / "spec.json", openapi_31()))
    kept = client.app[REPEATS]
    for i in range(5):
        assert (await client.post("/__admin/reload")).status == 200
        for _ in range(2):
            await raw_reply(client, chat(f"question {i}"))
        assert len(kept) == 1, "what was kept under the contract before is gone"
    live = client.app[CONTRACT].current
    assert gc.get_referrers(live), "the current contract is in force"
    old = [o for o in gc.get_objects() if isinstance(o, Contract) and o is not live]
    assert not [o for o in old if any(r is kept for r in gc.get_referrers(o))]


async def test_the_header_values_in_keys_count_against_the_bound(
    make_client: MakeClient, tmp_path: Path
) -> None:
    fixtures = "- name: t\n  match: {headers: {x-a: never, x-b: never}}\n  reply: {content: x}\n"
    client = await serve_yaml(make_client, tmp_path, fixtures)
    for i in range(20):
        value = f"{i:04d}" + "v" * 8000
        for _ in range(2):
            await raw_reply(client, chat("same body"), {"x-a": value, "x-b": value})
    kept = client.app[REPEATS]
    assert len(kept) == 20
    assert kept.bytes >= 20 * 2 * 8004
