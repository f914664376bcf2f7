"""Faults, latency, rate limits and chaos through aiohttp's test server (issue #5).

Errors come from three sources (the X-Mock-Fault header, a fixture's `fault:` block, the
server-wide --fault) and must look the same from each. Timing is measured with
time.monotonic() against generous bounds; every delay is kept small so the file stays fast.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from mockserver.replies.error_catalog import QUOTA
from mockserver.wire.faults import HEADER, KEYS, parse_fault
from tests.conftest import sse_chunks
from tests.support import CHAT, MakeClient, chat, error_of, tool, write_yaml

Client = TestClient[Any, Any]
# status -> (type, code) of the body the real API sends
STATUSES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}
SOURCES = ["header", "fixture", "server"]
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)


async def post(
    client: Client,
    body: dict[str, Any],
    fault: str | None = None,
    *,
    key: str = "sk-test",
) -> ClientResponse:
    headers = {"Authorization": f"Bearer {key}"}
    if fault is not None:
        headers[HEADER] = fault
    return await client.post(CHAT, json=body, headers=headers)


async def faulty(
    source: str, fault: str, make_client: MakeClient, tmp_path: Path
) -> tuple[Client, str | None]:
    """A server and the header to send so that `fault` applies, coming from `source`."""
    if source == "header":
        return await make_client(), fault
    if source == "server":
        return await make_client(fault=parse_fault(fault)), None
    block = json.dumps(_yaml_values(fault))  # JSON is YAML's flow style
    path = write_yaml(tmp_path, f"- name: faulty\n  fault: {block}\n")
    return await make_client(fixture_paths=(path,)), None


def _yaml_values(fault: str) -> dict[str, Any]:
    """The header text as a fixture block (`html` alone becomes html: true)."""
    values: dict[str, Any] = {}
    for part in fault.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            values[key] = True
        elif key == "error":
            values[key] = value
        else:
            values[key] = json.loads(value)
    return values


async def last_event(client: Client) -> dict[str, Any]:
    response = await client.get("/__admin/requests")
    events: list[dict[str, Any]] = (await response.json())["requests"]
    assert events, "the journal is empty"
    return events[0]


# --- HTTP errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("status", list(STATUSES))
async def test_every_error_status(
    make_client: MakeClient, tmp_path: Path, source: str, status: int
) -> None:
    client, fault = await faulty(source, f"status={status}", make_client, tmp_path)
    for stream in (False, True):
        response = await post(client, chat("hi", stream=stream), fault)
        error = await error_of(response, status)
        error_type, code = STATUSES[status]
        assert error["type"] == error_type
        assert error["code"] == code
        assert error["param"] is None
        assert "text/event-stream" not in response.headers["Content-Type"], "before any byte"
        assert ("retry-after" in response.headers) == (status == 429)
        assert ("x-ratelimit-remaining-requests" in response.headers) == (status == 429)
    event = await last_event(client)
    assert event["status"] == status
    assert event["fault"] == f"status={status}"
    assert event["fixture"] == ("faulty" if source == "fixture" else None)


async def test_404_says_model_not_found(client: Client) -> None:
    error = await error_of(await post(client, chat(), "status=404"), 404)
    assert error == {
        "message": "The model does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }


@pytest.mark.parametrize("source", SOURCES)
async def test_429_headers_say_when_to_retry(
    make_client: MakeClient, tmp_path: Path, source: str
) -> None:
    client, fault = await faulty(source, "status=429, retry_after=2", make_client, tmp_path)
    response = await post(client, chat(), fault)
    error = await error_of(response, 429)
    assert error == {
        "message": "Rate limit reached for requests. Please try again in 2s.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "2000"
    assert response.headers["x-ratelimit-limit-requests"] == "500"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["x-ratelimit-reset-requests"] == "2s"


@pytest.mark.parametrize(
    ("retry_after", "seconds", "ms", "reset"),
    [(None, "1", "1000", "1s"), (0.05, "1", "50", "50ms"), (90, "90", "90000", "1m30s")],
)
async def test_429_retry_after_values(
    client: Client, retry_after: float | None, seconds: str, ms: str, reset: str
) -> None:
    fault = "status=429" + (f", retry_after={retry_after}" if retry_after is not None else "")
    response = await post(client, chat(), fault)
    await error_of(response, 429)
    assert response.headers["retry-after"] == seconds, "whole seconds, never 0"
    assert response.headers["retry-after-ms"] == ms
    assert response.headers["x-ratelimit-reset-requests"] == reset


@pytest.mark.parametrize("source", SOURCES)
async def test_insufficient_quota(make_client: MakeClient, tmp_path: Path, source: str) -> None:
    client, fault = await faulty(
        source, "status=429, error=insufficient_quota", make_client, tmp_path
    )
    response = await post(client, chat(), fault)
    error = await error_of(response, 429)
    assert error == {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    assert error["message"] == QUOTA.message
    for name in ("retry-after", "retry-after-ms", *RATE_HEADERS):
        assert name in response.headers, name


async def test_503_retry_after_only_when_asked(client: Client) -> None:
    response = await post(client, chat(), "status=503, retry_after=3")
    await error_of(response, 503)
    assert response.headers["retry-after"] == "3"
    response = await post(client, chat(), "status=503")
    await error_of(response, 503)
    assert "retry-after" not in response.headers


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_every_retryable_status_sends_the_same_retry_headers(
    client: Client, status: int
) -> None:
    response = await post(client, chat(), f"status={status}, retry_after=0.1")
    await error_of(response, status)
    assert response.headers["retry-after"] == "1", "whole seconds, never 0"
    assert response.headers["retry-after-ms"] == "100", "what the SDKs read first"


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(("status", "reason"), [(502, "Bad Gateway"), (504, "Gateway Timeout")])
async def test_html_proxy_pages(
    make_client: MakeClient, tmp_path: Path, source: str, status: int, reason: str
) -> None:
    client, fault = await faulty(source, f"status={status}, html", make_client, tmp_path)
    for stream in (False, True):
        response = await post(client, chat(stream=stream), fault)
        text = await response.text()
        assert response.status == status
        assert response.content_type == "text/html"
        assert f"<title>{status} {reason}</title>" in text
        assert "<hr><center>nginx</center>" in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        # A fixture's page names the fixture, as its JSON errors do.
        assert response.headers.get("X-Mock-Matched") == ("faulty" if source == "fixture" else None)


@pytest.mark.parametrize(
    "value", ["status=abc", "status=302", "bogus", "delay_ms=9-1", "html=maybe", "seed=1.5"]
)
@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_header_is_400_invalid_fault(
    client: Client, value: str, stream: bool
) -> None:
    error = await error_of(await post(client, chat(stream=stream), value), 400)
    assert error["code"] == "invalid_fault"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == HEADER
    assert error["message"].startswith(f"{HEADER}: ")
    for key in KEYS:
        assert key in error["message"], f"the message lists {key}"


# --- where a fault comes from: server < fixture < header ---------------------------------------


async def test_header_overrides_fixture_key_by_key(make_client: MakeClient, tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path,
        """
        - name: throttled
          fault: {status: 429, retry_after: 2, error: insufficient_quota}
        """,
    )
    client = await make_client(fixture_paths=(path,))
    response = await post(client, chat(), "retry_after=0.5")
    error = await error_of(response, 429)
    assert error["code"] == "insufficient_quota", "kept from the fixture"
    assert response.headers["retry-after-ms"] == "500", "from the header"
    await error_of(await post(client, chat(), "status=500"), 500)


async def test_header_overrides_server(make_client: MakeClient) -> None:
    client = await make_client(fault=parse_fault("status=503, retry_after=4"))
    response = await post(client, chat(), "status=429")
    await error_of(response, 429)
    assert response.headers["retry-after-ms"] == "4000", "retry_after kept from --fault"
    response = await post(client, chat(), "html")
    assert response.status == 503
    assert response.content_type == "text/html"


async def test_header_overrides_fixture_stream_fault(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path, "- name: drops\n  fault: {disconnect_after: 1}\n")
    client = await make_client(fixture_paths=(path,))
    assert len(await frames_until_drop(client, None)) == 1
    assert len(await frames_until_drop(client, "disconnect_after=3")) == 3


async def frames_until_drop(client: Client, fault: str | None) -> list[bytes]:
    response = await post(client, chat(stream=True), fault)
    assert response.status == 200
    data = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        await read_into(response, data)
    assert data.endswith(b"\n\n")
    return bytes(data).split(b"\n\n")[:-1]


async def read_into(response: ClientResponse, data: bytearray) -> None:
    async for piece in response.content.iter_any():
        data += piece


async def test_fixture_status_overrides_server(make_client: MakeClient, tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "- name: throttled\n  fault: {status: 429}\n")
    client = await make_client(fixture_paths=(path,), fault=parse_fault("status=503"))
    await error_of(await post(client, chat()), 429)


async def test_fixture_stream_fault_overrides_server(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path, "- name: drops\n  fault: {disconnect_after: 3}\n")
    client = await make_client(fixture_paths=(path,), fault=parse_fault("disconnect_after=1"))
    assert len(await frames_until_drop(client, None)) == 3


async def test_delay_applies_to_scripted_errors(client: Client) -> None:
    started = time.monotonic()
    await error_of(await post(client, chat(), "status=504, delay_ms=200"), 504)
    assert time.monotonic() - started >= 0.19


@pytest.mark.parametrize(
    "reply",
    ["{error: {status: 429}}", "{content: fine}"],
    ids=["scripted-error", "content"],
)
async def test_fixture_delay_applies_to_its_scripted_error_too(
    make_client: MakeClient, tmp_path: Path, reply: str
) -> None:
    """A fixture's `fault: {delay_ms}` delays every reply of it: an `error:` step was answered
    at once while a content step waited (scripted errors were raised past delivery)."""
    path = write_yaml(tmp_path, f"- name: slow\n  fault: {{delay_ms: 300}}\n  reply: {reply}\n")
    client = await make_client(fixture_paths=(path,))
    started = time.monotonic()
    response = await post(client, chat())
    await response.read()
    assert time.monotonic() - started >= 0.29
    assert response.headers["X-Mock-Matched"] == "slow"
    [entry] = (await (await client.get("/__admin/requests")).json())["requests"]
    assert entry["fault"] == "delay_ms=(300, 300)"
    assert entry["fixture"] == "slow"


# --- latency ----------------------------------------------------------------------------------


async def timed_frames(response: ClientResponse) -> list[tuple[float, bytes]]:
    """Each SSE block (data frames and `: ping` comments) with the time it arrived."""
    out: list[tuple[float, bytes]] = []
    buffer = b""
    async for piece in response.content.iter_any():
        now = time.monotonic()
        buffer += piece
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            out.append((now, block))
    assert buffer == b"", "the stream ends on a blank line"
    return out


async def test_defaults_add_no_delay(client: Client) -> None:
    await post(client, chat())  # warm up
    started = time.monotonic()
    response = await post(client, chat("hello there"))
    await response.read()
    assert time.monotonic() - started < 0.2
    started = time.monotonic()
    response = await post(client, chat("hello there", stream=True))
    frames = await timed_frames(response)
    assert len(frames) > 5
    assert time.monotonic() - started < 0.25
    assert frames[-1][0] - frames[0][0] < 0.2


async def test_delay_ms_before_the_headers(client: Client) -> None:
    for stream in (False, True):
        started = time.monotonic()
        response = await post(client, chat(stream=stream), "delay_ms=200")
        headers_at = time.monotonic() - started
        assert response.status == 200
        await response.read()
        assert 0.195 <= headers_at < 1.0


async def test_delay_ms_range_is_seeded(client: Client) -> None:
    """Seed 1 draws 34 ms from 0-250, seed 2 draws 244 ms: each the same every time."""

    async def delay(seed: int) -> float:
        started = time.monotonic()
        response = await post(client, chat(), f"delay_ms=0-250, seed={seed}")
        await response.read()
        return time.monotonic() - started

    await delay(1)  # warm up
    short = [await delay(1), await delay(1)]
    long = [await delay(2), await delay(2)]
    assert all(0.03 <= d < 0.15 for d in short), short
    assert all(0.24 <= d < 0.8 for d in long), long


async def test_ttft_ms_delays_the_first_content_chunk(client: Client) -> None:
    started = time.monotonic()
    response = await post(client, chat(stream=True), "ttft_ms=250")
    frames = await timed_frames(response)
    times = [at for at, _ in frames]
    assert times[0] - started < 0.15, "the role chunk comes at once"
    assert times[1] - times[0] >= 0.24, "then the pause before the first content"
    assert json.loads(frames[1][1][len(b"data: ") :])["choices"][0]["delta"]["content"]
    assert times[-1] - times[1] < 0.2, "no pause after that"
    assert all(not block.startswith(b":") for _, block in frames), "no pings unless asked"


async def test_ping_ms_keeps_the_connection_alive_during_ttft(client: Client) -> None:
    response = await post(client, chat(stream=True), "ttft_ms=250, ping_ms=50")
    frames = await timed_frames(response)
    blocks = [block for _, block in frames]
    pings = [i for i, block in enumerate(blocks) if block == b": ping"]
    assert pings == [1, 2, 3, 4], "every 50 ms between the role chunk and the content"
    chunks = sse_chunks(b"".join(b + b"\n\n" for b in blocks if not b.startswith(b":")))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"


async def test_chunk_ms_with_jitter(client: Client) -> None:
    body = chat("hi", stream=True, max_tokens=12)
    started = time.monotonic()
    response = await post(client, body, "chunk_ms=30, jitter_ms=20, seed=5")
    frames = await timed_frames(response)
    elapsed = time.monotonic() - started
    gaps = len(frames) - 1
    assert 5 <= gaps <= 12
    assert gaps * 0.01 <= elapsed < gaps * 0.05 + 0.3
    event = await last_event(client)
    journal = await (await client.get(f"/__admin/requests/{event['id']}")).json()
    stamps = [frame["at_ms"] for frame in journal["frames"]]
    server_gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(server_gaps) == gaps
    assert all(9 <= gap <= 150 for gap in server_gaps), server_gaps
    assert max(server_gaps) - min(server_gaps) >= 8, f"jitter varies the gaps: {server_gaps}"


# --- transport faults on non-stream replies ---------------------------------------------------


async def test_non_stream_disconnect_cuts_the_body(client: Client) -> None:
    response = await post(client, chat(), "disconnect_after=30")
    assert response.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    event = await last_event(client)
    assert event["fault"] == "disconnect_after=30 (connection dropped)"


async def test_non_stream_malformed_and_split(client: Client) -> None:
    whole = await (await post(client, chat(), "seed=9")).read()
    response = await post(client, chat(), "malformed_at=0, seed=9")
    cut = await response.read()
    assert response.status == 200
    assert response.content_length == len(cut)
    assert whole.startswith(cut)
    assert len(cut) == len(whole) // 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)
    split = await (await post(client, chat(), "split_bytes=64, seed=9")).read()
    assert split == whole


# --- rate limits ------------------------------------------------------------------------------


async def test_rpm_counts_down_then_429(make_client: MakeClient) -> None:
    client = await make_client(rpm=3)
    remaining = []
    for stream in (False, True, False):
        response = await post(client, chat(stream=stream))
        await response.read()
        assert response.status == 200
        assert response.headers["x-ratelimit-limit-requests"] == "3"
        remaining.append(response.headers["x-ratelimit-remaining-requests"])
    assert remaining == ["2", "1", "0"]
    response = await post(client, chat())
    error = await error_of(response, 429)
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert 0 < int(response.headers["retry-after-ms"]) <= 60_000
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    other = await post(client, chat(), key="sk-other")
    assert other.status == 200
    assert other.headers["x-ratelimit-remaining-requests"] == "2", "its own budget"
    await error_of(await post(client, chat()), 429)


async def test_rate_headers_on_every_charged_reply(make_client: MakeClient) -> None:
    client = await make_client(rpm=5)
    response = await post(client, chat(), "status=500")
    await error_of(response, 500)
    assert response.headers["x-ratelimit-remaining-requests"] == "4", "errors count and say so"
    response = await post(client, chat(), "status=429")
    assert response.headers["x-ratelimit-remaining-requests"] == "0", "a scripted 429's own"
    response = await post(client, chat(stream=True))
    assert response.headers["x-ratelimit-remaining-requests"] == "2"
    assert response.content_type == "text/event-stream"


async def test_tpm_budget(make_client: MakeClient) -> None:
    body = chat("count my tokens", max_tokens=20)
    probe = await make_client(tpm=100_000)
    response = await post(probe, body)
    reply = await response.json()
    cost = 100_000 - int(response.headers["x-ratelimit-remaining-tokens"])
    assert cost == reply["usage"]["prompt_tokens"] + 20, "prompt plus max_tokens"

    limit = 2 * cost + cost // 2
    client = await make_client(tpm=limit)
    remaining = []
    for _ in range(2):
        response = await post(client, body)
        assert response.status == 200
        assert response.headers["x-ratelimit-limit-tokens"] == str(limit)
        assert "x-ratelimit-limit-requests" not in response.headers
        remaining.append(int(response.headers["x-ratelimit-remaining-tokens"]))
    assert remaining == [limit - cost, limit - 2 * cost]
    response = await post(client, body)
    error = await error_of(response, 429)
    assert error["type"] == "tokens"
    assert error["code"] == "rate_limit_exceeded"
    assert f"Limit {limit}" in error["message"]
    assert int(response.headers["retry-after"]) >= 1
    small = await post(client, chat("count my tokens", max_tokens=1))
    assert small.status == 200, "a smaller request still fits"
    other = await post(client, body, key="sk-other")
    assert other.status == 200
    assert other.headers["x-ratelimit-remaining-tokens"] == str(limit - cost), "its own budget"


# --- chaos ------------------------------------------------------------------------------------


async def chaos_pattern(make_client: MakeClient, **settings: Any) -> list[int]:
    client = await make_client(**settings)
    statuses = []
    for i in range(20):
        response = await post(client, chat(f"request {i}"))
        if response.status != 200:
            await error_of(response, settings.get("chaos_status", 503))
        statuses.append(response.status)
    return statuses


async def test_chaos_is_reproducible(make_client: MakeClient) -> None:
    first = await chaos_pattern(make_client, chaos_rate=0.5, seed=42)
    failed = [i for i, status in enumerate(first) if status == 503]
    assert set(first) == {200, 503}
    assert 4 <= len(failed) <= 16, failed
    assert await chaos_pattern(make_client, chaos_rate=0.5, seed=42) == first
    assert await chaos_pattern(make_client, chaos_rate=0.5, seed=7) != first
    assert set(await chaos_pattern(make_client, chaos_rate=0.0, seed=42)) == {200}
    other = await chaos_pattern(make_client, chaos_rate=1.0, chaos_status=500, seed=1)
    assert set(other) == {500}


async def test_chaos_failures_are_journaled(make_client: MakeClient) -> None:
    client = await make_client(chaos_rate=1.0, seed=3)
    error = await error_of(await post(client, chat()), 503)
    assert error["code"] == "service_unavailable"
    assert (await last_event(client))["fault"] == "status=503"


# --- tool calls interleaved (generator) -------------------------------------------------------


async def test_interleave_tools_with_generated_parallel_calls(client: Client) -> None:
    city = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tools = [tool("get_weather", city), tool("get_time", city)]
    for attempt in range(12):  # find a request the generator answers with two calls
        body = chat(
            f"weather {attempt} in Paris and Lyon",
            tools=tools,
            tool_choice="required",
            parallel_tool_calls=True,
        )
        plain = await (await post(client, body, "seed=4")).json()
        calls = plain["choices"][0]["message"]["tool_calls"]
        if len(calls) == 2:
            break
    else:
        pytest.fail("no request among 12 made the generator call two tools in parallel")
    response = await post(client, {**body, "stream": True}, "seed=4, interleave_tools")
    chunks = sse_chunks(await response.read())
    order = [
        (d["index"], "id" in d)
        for c in chunks
        if c["choices"]
        for d in c["choices"][0]["delta"].get("tool_calls") or ()
    ]
    assert order[:2] == [(0, True), (1, True)]
    fragments = [index for index, _ in order[2:]]
    assert fragments[:2] == [0, 1], fragments
    assert any(a != b for a, b in itertools.pairwise(fragments))
    joined = {0: "", 1: ""}
    for c in chunks:
        for d in (c["choices"][0]["delta"].get("tool_calls") or ()) if c["choices"] else ():
            joined[d["index"]] += d["function"]["arguments"]
    assert joined == {i: calls[i]["function"]["arguments"] for i in (0, 1)}


async def test_auth_is_checked_before_faults(client: Client) -> None:
    response = await client.post(CHAT, json=chat(), headers={HEADER: "status=429"})
    error = await error_of(response, 401)
    assert error["message"].startswith("You didn't provide an API key.")


async def test_seed_keeps_scripted_tool_call_ids(make_client: MakeClient, tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path,
        """
        - name: call
          reply:
            tool_calls: [{id: call_scripted0000000000000001, name: get_weather, arguments: {}}]
        """,
    )
    client = await make_client(fixture_paths=(path,))
    body = chat("weather", tools=[tool("get_weather")])
    plain = await (await post(client, body)).json()
    assert plain["choices"][0]["message"]["tool_calls"][0]["id"] == "call_scripted0000000000000001"
    seeded = await (await post(client, body, "seed=3")).json()
    assert seeded["choices"][0]["message"]["tool_calls"][0]["id"] == "call_scripted0000000000000001"


@pytest.mark.parametrize("fault", ["{status: 503, retry_after: 0.1}", "{status: 502, html: true}"])
async def test_a_fault_only_fixture_names_itself(
    make_client: MakeClient, tmp_path: Path, fault: str
) -> None:
    """The README's flaky-upstream shape (a `fault:` and no `reply:`) says which fixture failed
    the request, as every scripted reply does."""
    path = write_yaml(tmp_path, f"- name: flaky\n  match: {{stream: any}}\n  fault: {fault}\n")
    client = await make_client(fixture_paths=(path,))
    response = await post(client, chat())
    await response.read()
    assert response.status in (502, 503)
    assert response.headers["X-Mock-Matched"] == "flaky"
