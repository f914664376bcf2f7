"""Input that must never hang, crash or expose the server (found by an independent review)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from mockserver.journal.store import MAX_KEPT_STRING, summarized
from mockserver.replies.logprobs import MAX_TOP
from mockserver.testing.admin_client import AdminClient
from mockserver.testing.runner import MockServer
from mockserver.wire.headers import header_safe
from mockserver.wire.ratelimit import MAX_KEYS, RateLimiter
from tests.conftest import AUTH
from tests.support import MakeClient, body_with, error_of, post_chat, serve_yaml

Client = TestClient[Any, Any]


async def test_a_huge_schema_bound_falls_back_instead_of_hanging(client: Client) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "f",
            "parameters": {
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"type": "string", "minLength": 100_000_000}},
            },
        },
    }
    started = time.monotonic()
    response = await post_chat(client, body_with(tools=[tool], tool_choice="required"))
    assert response.status == 200
    call = (await response.json())["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == "{}"  # the documented fallback
    assert time.monotonic() - started < 5
    assert (await client.get("/__admin/health")).status == 200


async def test_many_choices_cost_what_eight_do(client: Client) -> None:
    # Within the reply's generation budget (8 distinct choices x 3 tools x 10 x 50 characters):
    # the bombs past it are in test_bombs.py.
    items = {"type": "array", "minItems": 10, "items": {"type": "string", "minLength": 50}}
    tools = [
        {
            "type": "function",
            "function": {
                "name": f"t{i}",
                "parameters": {"type": "object", "required": ["a"], "properties": {"a": items}},
            },
        }
        for i in range(3)
    ]
    response = await post_chat(client, body_with(n=128, tools=tools, tool_choice="required"))
    assert response.status == 200
    choices = (await response.json())["choices"]
    assert [c["index"] for c in choices] == list(range(128))
    assert (
        choices[8]["message"]["tool_calls"][0]["function"]["arguments"]
        == (choices[0]["message"]["tool_calls"][0]["function"]["arguments"])
    )
    ids = {c["message"]["tool_calls"][0]["id"] for c in choices}
    assert len(ids) == 128, "repeated choices still get their own call ids"


LOOP = (
    "{% if request.last_user == 'loop' %}{% for i in range(99999) %}"
    "{% for j in range(99999) %}{% endfor %}{% endfor %}{% endif %}"
)


async def test_a_template_that_loops_forever_is_stopped(
    make_client: MakeClient, tmp_path: Path
) -> None:
    fixture = {"name": "looping", "match": {"last_user": "loop"}, "reply": {"content": LOOP}}
    client = await serve_yaml(make_client, tmp_path, json.dumps([fixture]))
    started = time.monotonic()
    response = await post_chat(client, body_with(messages=[{"role": "user", "content": "loop"}]))
    error = await error_of(response, 500)
    assert error["type"] == "mock_fixture_error"
    assert "longer than" in error["message"]
    assert time.monotonic() - started < 5
    assert (await client.get("/__admin/health")).status == 200


async def test_templates_cannot_ask_for_huge_outputs(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: wide
          match: {last_user: wide}
          reply: {content: "{{ request.last_user|center(request.body.n * 1000000) }}"}
        """,
    )
    response = await post_chat(
        client, body_with(n=100, messages=[{"role": "user", "content": "wide"}])
    )
    error = await error_of(response, 500)
    assert "sandbox" in error["message"]


async def test_admin_api_refuses_web_pages_and_foreign_hosts(client: Client) -> None:
    fixture = json.dumps({"name": "pwned", "priority": 1000, "reply": {"content": "pwned"}})
    from_page = await client.post(
        "/__admin/fixtures",
        data=fixture,
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
    )
    assert (await error_of(from_page, 403))["code"] == "admin_origin_refused"
    rebound = await client.get("/__admin/requests", headers={"Host": "evil.example:8080"})
    assert (await error_of(rebound, 403))["code"] == "admin_host_refused"
    local = await client.get("/__admin/requests", headers={"Host": "localhost:8080"})
    assert local.status == 200
    reply = await post_chat(client, body_with())
    assert "pwned" not in await reply.text()


async def test_strict_fixtures_never_quote_the_api_key(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await serve_yaml(
        make_client,
        tmp_path,
        """
        - name: team-a
          match: {headers: {Authorization: "Bearer sk-team-a"}}
          reply: {content: a}
        """,
        strict_fixtures=True,
    )
    secret = "sk-live-SUPERSECRET-1234567890"
    response = await post_chat(client, body_with(), {"Authorization": f"Bearer {secret}"})
    error = await error_of(response, 404)
    assert "team-a" in error["message"]
    assert "SUPERSECRET" not in error["message"]
    journal = await (await client.get("/__admin/requests")).text()
    assert "SUPERSECRET" not in journal


CHUNK = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}'


async def test_raw_sse_block_scalars_keep_their_blank_lines(
    make_client: MakeClient, tmp_path: Path
) -> None:
    yaml_text = (
        "- name: blocks\n  reply:\n    raw_sse:\n"
        f"      - |\n        data: {CHUNK}\n      - |\n        data: [DONE]\n"
    )
    client = await serve_yaml(make_client, tmp_path, yaml_text)
    response = await post_chat(client, body_with(stream=True))
    text = await response.text()
    assert text.endswith('"choices":[]}\n\ndata: [DONE]\n\n')


async def test_odd_values_are_4xx_not_500(client: Client) -> None:
    fault = await post_chat(
        client, body_with(), {**AUTH, "X-Mock-Fault": "status=429, retry_after=1e308"}
    )
    assert (await error_of(fault, 400))["code"] == "invalid_fault"
    for body in (b"\xff\xfe", b"[" * 600 + b"]" * 600):
        for path in ("/__admin/fixtures", "/__admin/requests/count"):
            response = await client.post(path, data=body)
            assert 400 <= response.status < 500, (path, response.status)


async def test_top_logprobs_beyond_the_rule_are_bounded(make_client: MakeClient) -> None:
    """With logprobs-fields switched off, any top_logprobs is answered (up to MAX_TOP each)."""
    relaxed = await make_client(disabled_rules=frozenset({"logprobs-fields"}))
    for top in (24, 10**9, -5, "x", 1e308):
        response = await post_chat(relaxed, body_with(logprobs=True, top_logprobs=top))
        assert response.status == 200, (top, await response.text())
        for entry in (await response.json())["choices"][0]["logprobs"]["content"]:
            assert len(entry["top_logprobs"]) <= MAX_TOP


def test_fixture_headers_cannot_reframe_the_reply() -> None:
    kept = header_safe({"Content-Type": "text/html", "Content-Length": "5", "X-Trace": "ok"})
    assert kept == {"X-Trace": "ok"}


def test_large_bodies_are_journaled_cut() -> None:
    body = {"messages": [{"role": "user", "content": "x" * 10_000_000}], "model": "m"}
    kept = summarized(body)
    content = kept["messages"][0]["content"]
    assert len(content) < MAX_KEPT_STRING + 100
    assert content.endswith("[10000000 characters in all]")
    assert kept["model"] == "m"


def test_rate_limit_budgets_of_old_keys_are_dropped() -> None:
    now = [0.0]
    limiter = RateLimiter(rpm=10, tpm=None, clock=lambda: now[0])
    for i in range(MAX_KEYS):
        limiter.charge(f"key-{i}", 1)
    now[0] = 120.0
    limiter.charge("fresh", 1)
    assert len(limiter._budgets) == 1


def test_admin_client_quotes_slashes_in_names() -> None:
    with MockServer() as server:
        admin = AdminClient(server.url)
        admin.add_fixtures({"name": "team/a", "reply": {"content": "a"}})
        admin.reset_fixture("team/a")
        admin.delete_fixture("team/a")
        assert admin.fixtures() == []


async def test_check_reports_a_looping_template(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").write_text(
        '- name: loop\n  reply: {content: "{% for i in range(99999) %}{% for j in range(99999) '
        '%}{% endfor %}{% endfor %}"}\n',
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mockserver",
        "check",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "longer than" in stderr.decode()
