"""Stream faults as exact bytes on the wire: a raw TCP socket, an HTTP/1.1 request written by
hand, and everything read until EOF, reset or a read timeout.

Most tests compare a faulty stream with the same request's clean stream, byte for byte: with
`seed=N` in X-Mock-Fault the ids and `created` are fixed, so the two differ only by the fault.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mockserver.app.factory import create_app
from mockserver.app.state import JOURNAL
from mockserver.journal.store import Journal
from mockserver.settings import Settings
from mockserver.wire.faults import HEADER
from tests.conftest import sse_chunks
from tests.support import MakeClient, write_yaml

Client = TestClient[Any, Any]
FIXTURES = """
- name: greeting
  match: {last_user: hi}
  reply:
    content: "Hello over the wire — 你好, 世界! Every byte of this reply counts here."
- name: two-calls
  match: {tools: [get_weather]}
  reply:
    tool_calls:
      - id: call_paris00000000000000001
        name: get_weather
        arguments: {city: Paris, unit: celsius, days: 3, hourly: false}
      - id: call_lyon000000000000000002
        name: get_weather
        arguments: {city: Lyon, unit: fahrenheit, days: 10, hourly: true}
"""
HI: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TWO_CALLS: dict[str, Any] = {
    **HI,
    "messages": [{"role": "user", "content": "weather in Paris and Lyon?"}],
    "tools": [WEATHER_TOOL],
    "tool_choice": "required",
    "parallel_tool_calls": True,
}
DONE = b"data: [DONE]\n\n"
TERMINATOR = b"0\r\n\r\n"
ERROR_FRAME = (
    b'data: {"error":{"message":"The server had an error while processing your request. '
    b'Sorry about that!","type":"server_error","param":null,"code":null}}\n\n'
)


@dataclass
class Capture:
    """One exchange as the client's socket saw it."""

    status_line: str
    headers: dict[str, str]
    raw_body: bytes  # after the header block, still chunked
    recv_sizes: list[int]  # the length of every recv() that returned data
    ended: str  # eof | reset | timeout | deadline
    chunks: list[bytes] = field(default_factory=list)  # HTTP/1.1 chunks, de-framed
    terminated: bool = False  # the zero-length chunk 0\r\n\r\n arrived
    leftover: bytes = b""  # bytes after the last complete chunk

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def frames(self, separator: bytes = b"\n\n") -> list[bytes]:
        """The body's SSE blocks, each with its blank line; nothing may trail the last one."""
        parts = self.body.split(separator)
        assert parts[-1] == b"", f"the body ends mid-frame: {parts[-1][:80]!r}"
        return [part + separator for part in parts[:-1]]


def dechunk(raw: bytes) -> tuple[list[bytes], bool, bytes]:
    """Parse Transfer-Encoding: chunked strictly: (chunks, terminated, leftover)."""
    chunks: list[bytes] = []
    position = 0
    while True:
        line_end = raw.find(b"\r\n", position)
        if line_end < 0:
            return chunks, False, raw[position:]
        size = int(raw[position:line_end], 16)
        start = line_end + 2
        if size == 0:
            assert raw[start:] == b"\r\n", f"bytes after the terminator: {raw[start:]!r}"
            return chunks, True, b""
        if len(raw) < start + size + 2:
            return chunks, False, raw[position:]
        assert raw[start + size : start + size + 2] == b"\r\n", "a chunk ends with CRLF"
        chunks.append(raw[start : start + size])
        position = start + size + 2


async def exchange(
    server: Client | int,
    body: Mapping[str, Any],
    fault: str | None = None,
    *,
    read_timeout: float = 2.0,
    deadline: float | None = None,
) -> Capture:
    """Send one request by hand on a fresh socket; read until EOF/reset/timeout/deadline."""
    port = server if isinstance(server, int) else server.server.port
    assert port is not None
    payload = json.dumps(body).encode()
    lines = [
        "POST /v1/chat/completions HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Authorization: Bearer sk-test",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
    ]
    if fault is not None:
        lines.append(f"{HEADER}: {fault}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    received = bytearray()
    sizes: list[int] = []
    ended = "eof"
    stop_at = None if deadline is None else time.monotonic() + deadline
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, request)
        while True:
            wait = read_timeout
            if stop_at is not None:
                wait = min(wait, stop_at - time.monotonic())
                if wait <= 0:
                    ended = "deadline"
                    break
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 65536), wait)
            except TimeoutError:
                ended = "timeout" if stop_at is None or time.monotonic() < stop_at else "deadline"
                break
            except ConnectionResetError:
                ended = "reset"
                break
            if not data:
                break
            sizes.append(len(data))
            received += data
    finally:
        sock.close()

    raw = bytes(received)
    head, separator, rest = raw.partition(b"\r\n\r\n")
    assert separator, f"no complete header block: {raw[:200]!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    capture = Capture(status_line, headers, rest, sizes, ended)
    if headers.get("transfer-encoding") == "chunked":
        capture.chunks, capture.terminated, capture.leftover = dechunk(rest)
    else:
        capture.chunks = [rest]
        capture.terminated = len(rest) == int(headers["content-length"])
    return capture


def json_of(frame: bytes) -> Any:
    assert frame.startswith(b"data: "), frame
    assert frame.endswith(b"\n\n"), frame
    return json.loads(frame[len(b"data: ") : -2])


def assert_clean_end(capture: Capture) -> None:
    assert capture.status_line == "HTTP/1.1 200 OK"
    assert capture.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert capture.terminated, "the chunked body ends with 0\\r\\n\\r\\n"
    assert capture.raw_body.endswith(TERMINATOR)
    assert capture.ended == "eof"


def assert_cut(capture: Capture) -> None:
    assert capture.status_line == "HTTP/1.1 200 OK"
    assert not capture.terminated, "no zero-length chunk: the body did not end properly"
    assert not capture.raw_body.endswith(TERMINATOR)
    assert capture.leftover == b"", "whole HTTP chunks, then nothing"
    assert capture.ended in ("eof", "reset")


@pytest.fixture
async def wire(make_client: MakeClient, tmp_path: Path) -> Client:
    return await make_client(fixture_paths=(write_yaml(tmp_path, FIXTURES),))


@pytest.fixture
async def baseline(wire: Client) -> list[bytes]:
    """The clean stream of HI with seed=1: what every faulty stream is compared with."""
    capture = await exchange(wire, HI, "seed=1")
    assert_clean_end(capture)
    frames = capture.frames()
    assert capture.chunks == [b"".join(frames)], "unpaced: the whole stream in one HTTP chunk"
    assert frames[-1] == DONE
    chunks = sse_chunks(b"".join(frames))
    assert len(chunks) >= 5
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks).startswith(
        "Hello over the wire"
    )
    return frames


async def test_the_clean_stream_is_reproducible(wire: Client, baseline: list[bytes]) -> None:
    again = await exchange(wire, HI, "seed=1")
    assert again.frames() == baseline
    other = await exchange(wire, HI, "seed=2")
    assert other.frames() != baseline
    unseeded = [(await exchange(wire, HI)).body for _ in range(2)]
    assert unseeded[0] != unseeded[1], "without a seed every reply has a fresh id"


async def test_a_paced_stream_is_written_a_frame_at_a_time(
    wire: Client, baseline: list[bytes]
) -> None:
    capture = await exchange(wire, HI, "seed=1, chunk_ms=1")
    assert_clean_end(capture)
    assert capture.chunks == baseline, "one HTTP chunk per SSE frame, the same frames"


@pytest.mark.parametrize("after", [0, 1, 3])
async def test_disconnect_after(wire: Client, baseline: list[bytes], after: int) -> None:
    capture = await exchange(wire, HI, f"seed=1, disconnect_after={after}")
    assert_cut(capture)
    assert capture.frames() == baseline[:after]
    assert len(capture.chunks) == after


async def test_disconnect_after_more_frames_than_there_are(
    wire: Client, baseline: list[bytes]
) -> None:
    capture = await exchange(wire, HI, "seed=1, disconnect_after=500")
    assert_cut(capture)
    assert capture.frames() == baseline, "every frame, [DONE] too, but no proper end"


async def test_no_done(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, no_done")
    assert_clean_end(capture)
    assert capture.frames() == baseline[:-1]
    assert b"[DONE]" not in capture.body


async def test_malformed_at(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, malformed_at=2")
    assert_clean_end(capture)
    frames = capture.frames()
    assert len(frames) == len(baseline)
    broken = frames[2]
    assert broken != baseline[2]
    assert broken.startswith(b"data: {")
    assert baseline[2].startswith(broken[:-2]), "the start of the real frame"
    with pytest.raises(json.JSONDecodeError):
        json_of(broken)
    for index, frame in enumerate(frames):
        if index != 2:
            assert frame == baseline[index]
            if frame != DONE:
                assert json_of(frame)["object"] == "chat.completion.chunk"


async def test_error_at(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, error_at=2")
    assert_clean_end(capture)
    assert capture.frames() == [*baseline[:2], ERROR_FRAME, DONE]
    assert json_of(ERROR_FRAME)["error"]["type"] == "server_error"


async def test_duplicate_finish(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, duplicate_finish")
    assert_clean_end(capture)
    finish = [
        i
        for i, frame in enumerate(baseline[:-1])
        if json_of(frame)["choices"][0]["finish_reason"] == "stop"
    ]
    assert len(finish) == 1
    at = finish[0]
    assert capture.frames() == [*baseline[: at + 1], baseline[at], *baseline[at + 1 :]]


async def test_empty_delta_at(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, empty_delta_at=2")
    assert_clean_end(capture)
    frames = capture.frames()
    assert frames[:2] + frames[3:] == baseline
    empty = json_of(frames[2])
    assert empty["choices"] == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}]
    assert empty["id"] == json_of(baseline[0])["id"]


async def test_pings_during_the_ttft_pause(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, ttft_ms=200, ping_ms=50")
    assert_clean_end(capture)
    frames = capture.frames()
    pings = [i for i, frame in enumerate(frames) if frame == b": ping\n\n"]
    assert pings == [1, 2, 3], "at 50, 100 and 150 ms of the 200 ms pause; none at 200 ms"
    assert [f for f in frames if f != b": ping\n\n"] == baseline
    assert b": ping\n\n" in capture.chunks, "each ping is written on its own"


@asynccontextmanager
async def served_like_the_cli(**settings: Any) -> AsyncIterator[tuple[int, Journal]]:
    """The app behind web.AppRunner as `mockserver serve` builds it: unlike aiohttp's
    TestServer, handlers are not cancelled when their client hangs up."""
    app = create_app(Settings(access_log=False, **settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield runner.addresses[0][1], app[JOURNAL]
    finally:
        await runner.cleanup()


async def finished(journal: Journal, within: float = 2.0) -> dict[str, Any]:
    """The newest journal entry, once the server has finished the request."""
    stop = time.monotonic() + within
    while not len(journal):
        assert time.monotonic() < stop, "the server never finished the request"
        await asyncio.sleep(0.02)
    return next(iter(journal)).to_json(frames=False)


async def test_stall_after(wire: Client, baseline: list[bytes]) -> None:
    journal = wire.app[JOURNAL]
    journal.clear()
    started = time.monotonic()
    capture = await exchange(wire, HI, "seed=1, stall_after=2", read_timeout=0.5)
    assert 0.45 <= time.monotonic() - started < 1.5
    assert capture.ended == "timeout", "nothing more came: the client gave up"
    assert capture.status_line == "HTTP/1.1 200 OK"
    assert not capture.terminated
    assert capture.frames() == baseline[:2]
    event = await finished(journal)
    assert event["client_hung_up"] is True, "the server noticed the client leaving"
    assert event["frame_count"] == 2


async def test_stall_ends_when_the_client_leaves_under_the_cli_runner() -> None:
    async with served_like_the_cli() as (port, journal):
        capture = await exchange(port, HI, "stall_after=1", read_timeout=0.3)
        assert capture.ended == "timeout"
        assert len(capture.frames()) == 1
        event = await finished(journal)  # the stall polls the socket every 200 ms
        assert event["client_hung_up"] is True
        assert event["status"] == 200
        assert event["frame_count"] == 1


async def test_a_hung_up_stream_is_journaled_as_sent(wire: Client) -> None:
    wire.app[JOURNAL].clear()
    await exchange(wire, HI, "stall_after=1", read_timeout=0.3)
    event = await finished(wire.app[JOURNAL])
    assert event["status"] == 200


async def test_stall_keeps_pinging(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, stall_after=1, ping_ms=100", deadline=0.55)
    assert capture.ended == "deadline", "pings kept the read from timing out"
    frames = capture.frames()
    assert frames[0] == baseline[0]
    assert set(frames[1:]) == {b": ping\n\n"}
    assert 3 <= len(frames) - 1 <= 6


def _mid_frame_boundaries(capture: Capture) -> int:
    """How many recv() boundaries fell inside an SSE frame of the de-chunked body."""
    head = len(capture.raw_body) - sum(capture.recv_sizes)  # header bytes (negative offset)
    inside = 0
    total = 0
    for size in capture.recv_sizes[:-1]:
        total += size
        cut = total + head
        if cut <= 0:
            continue
        chunks, _, _ = dechunk(capture.raw_body[:cut])
        if not b"".join(chunks).endswith(b"\n\n"):
            inside += 1
    return inside


async def test_split_bytes(wire: Client, baseline: list[bytes]) -> None:
    plain = await exchange(wire, HI, "seed=1")
    capture = await exchange(wire, HI, "seed=1, split_bytes=16")
    assert_clean_end(capture)
    assert capture.frames() == baseline, "reassembled, the stream is the same"
    sse_chunks(capture.body)
    assert all(1 <= len(chunk) <= 16 for chunk in capture.chunks)
    assert len(capture.chunks) > 4 * len(baseline)
    sizes = {len(chunk) for chunk in capture.chunks}
    assert len(sizes) > 5, f"odd, varying cut points: {sorted(sizes)}"
    offsets = []
    total = 0
    for chunk in capture.chunks:
        total += len(chunk)
        offsets.append(total)
    body = capture.body
    mid_line = [o for o in offsets[:-1] if body[o - 1 : o] != b"\n"]
    assert len(mid_line) > len(offsets) // 2, "most cuts fall inside a line"
    assert len(capture.recv_sizes) > len(plain.recv_sizes) + len(baseline)
    assert _mid_frame_boundaries(capture) > len(baseline), capture.recv_sizes[:40]


async def test_split_bytes_cut_points_are_seeded(wire: Client) -> None:
    first = await exchange(wire, HI, "seed=3, split_bytes=40")
    second = await exchange(wire, HI, "seed=3, split_bytes=40")
    other = await exchange(wire, HI, "seed=4, split_bytes=40")
    assert [len(c) for c in first.chunks] == [len(c) for c in second.chunks]
    assert first.body == second.body
    assert [len(c) for c in first.chunks] != [len(c) for c in other.chunks]


async def test_crlf(wire: Client, baseline: list[bytes]) -> None:
    capture = await exchange(wire, HI, "seed=1, crlf")
    assert_clean_end(capture)
    frames = capture.frames(b"\r\n\r\n")
    assert frames == [frame.replace(b"\n", b"\r\n") for frame in baseline]
    assert b"\n" not in capture.body.replace(b"\r\n", b""), "no bare LF anywhere"
    assert frames[-1] == b"data: [DONE]\r\n\r\n"


def _tool_order(frames: list[bytes]) -> list[tuple[int, bool]]:
    order = []
    for frame in frames[:-1]:
        for call in json_of(frame)["choices"][0]["delta"].get("tool_calls") or ():
            order.append((call["index"], "id" in call))
    return order


async def test_interleave_tools(wire: Client) -> None:
    plain = (await exchange(wire, TWO_CALLS, "seed=1")).frames()
    grouped = _tool_order(plain)
    assert grouped == sorted(grouped, key=lambda item: item[0]), "without the fault: in turn"
    capture = await exchange(wire, TWO_CALLS, "seed=1, interleave_tools")
    assert_clean_end(capture)
    frames = capture.frames()
    assert sorted(frames) == sorted(plain), "the same frames, in another order"
    order = _tool_order(frames)
    assert order[:2] == [(0, True), (1, True)]
    fragments = [index for index, is_header in order[2:]]
    assert len(fragments) >= 6
    assert fragments[:6] == [0, 1, 0, 1, 0, 1], fragments
    arguments = {0: "", 1: ""}
    for frame in frames[:-1]:
        for call in json_of(frame)["choices"][0]["delta"].get("tool_calls") or ():
            arguments[call["index"]] += call["function"]["arguments"]
    assert json.loads(arguments[0])["city"] == "Paris"
    assert json.loads(arguments[1])["city"] == "Lyon"


@pytest.mark.parametrize("stream", [True, False])
async def test_seed_gives_identical_bytes(wire: Client, stream: bool) -> None:
    body = {**HI, "messages": [{"role": "user", "content": "tell me about rivers"}]}
    body["stream"] = stream
    first = await exchange(wire, body, "seed=11")
    second = await exchange(wire, body, "seed=11")
    assert first.terminated
    assert second.terminated
    assert first.body == second.body, "the same request and seed: the same bytes"
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert b"chatcmpl-" in first.body
    third = await exchange(wire, body, "seed=12")
    assert third.body != first.body
