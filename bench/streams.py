"""Streams the way issue 14 measured them: many clients at once, each reading every event.

bench.py drives streams with wrk, which reads each reply to its end as fast as it can and never
looks inside: the server's CPU is the bottleneck, and streams/s is its figure. Issue 14's stream
targets were set on another load: 200 concurrent clients, each reading its stream event by event,
with events/s and the time to the first event (TTFB) as figures. That is what a frontend or an
agent fleet does, and what this script runs, against the mock and against bare aiohttp serving
the mock's own stream (bench/bare_server.py), interleaved round by round like bench.py.

    .venv/bin/python bench/streams.py [--clients 200] [--duration 5] [--rounds 3]
                                      [--json bench/results/streams.json]

Each client is one keep-alive connection: it sends the stream request, decodes the chunked body,
splits it into SSE events and counts each one (checking each is a `data:` event), notes when the
first event arrived, and sends its next request once `data: [DONE]` and the end of the body are
in. All clients run in this process, on uvloop when it is installed, pinned to the CPU the server
is not on (2 CPUs or more). The client's and the server's CPU use are reported for every run:
a side near one full core is the bottleneck, and the report says which. With a bare server that
needs less CPU per stream than a client needs to read one, the client is the bottleneck, and the
events/s ratio then says whether the mock keeps up with clients, not how its CPU compares (that
is bench.py's and bench/instructions.py's figure).

Exit status: 0 when every stream came back whole with a 200, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from bench import (
    BUSY,
    CHAT_PATH,
    STREAM_BODY,
    BenchError,
    Server,
    bare_command,
    capture,
    cpu_seconds,
    log,
    mock_command,
    running,
)

TARGETS = {"events/s mock/bare": 0.85, "TTFB p99 mock/bare": 2.0}  # at most, for the TTFB
DONE = b"data: [DONE]"


@dataclass
class Tally:
    """What the clients saw in one run."""

    events: int = 0
    streams: int = 0
    ttfb_s: list[float] = field(default_factory=list)  # request sent -> first whole event
    total_s: list[float] = field(default_factory=list)  # request sent -> end of the body
    bad: list[str] = field(default_factory=list)  # a non-200, a cut stream, a non-data event


class StreamReader(asyncio.Protocol):
    """One client: a keep-alive connection reading one stream after another, event by event.

    The body is chunked (Transfer-Encoding: chunked, as aiohttp sends a stream); an event may
    span chunks and a chunk may hold many events, so both are buffered across reads.
    """

    def __init__(self, request: bytes, tally: Tally, until: float, closed: asyncio.Future[None]):
        self._request, self._tally, self._until, self._closed = request, tally, until, closed
        self._transport: asyncio.Transport | None = None
        self._buffer = b""  # undecoded bytes of the response
        self._pending = b""  # decoded body bytes not yet ending an event
        self._state = "head"
        self._left = 0  # bytes left in the current chunk
        self._sent = self._first = 0.0
        self._events = 0
        self._done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._state != "idle":
            self._tally.bad.append(f"connection lost mid-stream ({exc!r})")
        if not self._closed.done():
            self._closed.set_result(None)

    def _send(self) -> None:
        assert self._transport is not None
        self._state, self._pending, self._events, self._done, self._first = "head", b"", 0, False, 0
        self._sent = time.perf_counter()
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            self._decode()
        except BenchError as exc:
            self._tally.bad.append(str(exc))
            self._state = "idle"
            assert self._transport is not None
            self._transport.close()

    def _decode(self) -> None:
        while self._buffer:
            if self._state == "head":
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
                if not head.startswith(b"HTTP/1.1 200"):
                    raise BenchError(f"not a 200: {head[:60]!r}")
                if b"transfer-encoding: chunked" not in head.lower():
                    raise BenchError("the stream is not chunked")
                self._state = "size"
            elif self._state == "size":
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(self._buffer[:end].split(b";")[0], 16)
                self._buffer = self._buffer[end + 2 :]
                self._state, self._left = ("chunk", size) if size else ("trailer", 0)
            elif self._state == "chunk":
                piece, self._buffer = self._buffer[: self._left], self._buffer[self._left :]
                self._left -= len(piece)
                self._read(piece)
                if not self._left:
                    self._state = "chunk-end"
            elif self._state == "chunk-end":
                if len(self._buffer) < 2:
                    return
                self._buffer = self._buffer[2:]
                self._state = "size"
            elif self._state == "trailer":
                if len(self._buffer) < 2:
                    return
                self._buffer = self._buffer[2:]
                self._finished()
            else:
                raise BenchError(f"{len(self._buffer)} bytes after the end of a stream")

    def _read(self, piece: bytes) -> None:
        """Every whole event in what has come: counted, checked, the first one timed."""
        *events, self._pending = (self._pending + piece).split(b"\n\n")
        for event in events:
            if not event.startswith(b"data: "):
                raise BenchError(f"not a data event: {event[:60]!r}")
            if not self._events:
                self._first = time.perf_counter()
            self._events += 1
            self._done = event == DONE

    def _finished(self) -> None:
        ended = time.perf_counter()
        if not self._done or self._pending:
            raise BenchError("the stream did not end with data: [DONE]")
        tally = self._tally
        tally.streams += 1
        tally.events += self._events
        tally.ttfb_s.append(self._first - self._sent)
        tally.total_s.append(ended - self._sent)
        if ended < self._until:
            self._send()
        else:
            self._state = "idle"
            assert self._transport is not None
            self._transport.close()


def stream_request(url: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    return (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def load(url: str, body: bytes, clients: int, seconds: float) -> tuple[Tally, float]:
    """`clients` connections reading streams for `seconds`; the tally of streams that ended in
    that time, and the wall time they took."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request, tally = stream_request(url, body), Tally()
    started = time.perf_counter()
    until = started + seconds
    closed: list[asyncio.Future[None]] = []
    for _ in range(clients):
        future: asyncio.Future[None] = loop.create_future()
        closed.append(future)
        await loop.create_connection(
            lambda f=future: StreamReader(request, tally, until, f),  # type: ignore[misc]
            host,
            port,
        )
    await asyncio.wait_for(asyncio.gather(*closed), timeout=seconds + 30)
    return tally, time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def measure(
    server: Server, body: bytes, clients: int, seconds: float, frames: int
) -> dict[str, Any]:
    server_before, client_before = cpu_seconds(server.process.pid), time.process_time()
    tally, wall = asyncio.run(load(server.url, body, clients, seconds))
    server_after, client_cpu = cpu_seconds(server.process.pid), time.process_time() - client_before
    if tally.bad:
        raise BenchError(f"{server.name}: {len(tally.bad)} bad streams, first: {tally.bad[0]}")
    if not tally.streams or tally.events != tally.streams * frames:
        raise BenchError(f"{server.name}: {tally.events} events in {tally.streams} streams")
    server_cores = (
        (server_after - server_before) / wall
        if server_after is not None and server_before is not None
        else None
    )
    return {
        "events_per_s": tally.events / wall,
        "streams_per_s": tally.streams / wall,
        "ttfb_p50_ms": percentile(tally.ttfb_s, 50) * 1000,
        "ttfb_p99_ms": percentile(tally.ttfb_s, 99) * 1000,
        "total_p99_ms": percentile(tally.total_s, 99) * 1000,
        "server_cores": server_cores,
        "client_cores": client_cpu / wall,
    }


def bottleneck(run: dict[str, Any]) -> str:
    if run["client_cores"] >= BUSY:
        return "client"
    if run["server_cores"] is not None and run["server_cores"] >= BUSY:
        return "server"
    return "neither"


@dataclass
class Report:
    clients: int
    duration_s: float
    rounds: int
    frames_per_stream: int
    client_loop: str
    pinned: bool
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)


def plan_cpus() -> tuple[frozenset[int] | None, set[int] | None]:
    """The server on the first CPU this process may use, the clients on the others."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return None, None
    return frozenset(cpus[:1]), set(cpus[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.rounds < 1 or args.warmup < 0:
        parser.error("--clients, --duration and --rounds must be positive")
    try:
        import uvloop

        uvloop.install()
        client_loop = "uvloop"
    except ImportError:
        client_loop = "asyncio"
    server_cpus, client_cpus = plan_cpus()
    if client_cpus is not None:
        os.sched_setaffinity(0, client_cpus)
    body = json.dumps(STREAM_BODY, separators=(",", ":")).encode()
    with tempfile.TemporaryDirectory(prefix="mockserver-streams-") as tmp:
        work = Path(tmp)
        with running("mock", mock_command([]), work, server_cpus) as mock:
            reply, shape = capture(mock.url, body, stream=True)
            reply_file = work / "reply.json"
            reply_file.write_text(json.dumps(reply, ensure_ascii=False))
            with running("bare", bare_command(reply_file), work, server_cpus) as bare:
                _, bare_shape = capture(bare.url, body, stream=True)
                if bare_shape != shape:
                    raise BenchError(f"the baseline's stream {bare_shape} differs from {shape}")
                report = Report(
                    args.clients,
                    args.duration,
                    args.rounds,
                    shape.frames,
                    client_loop,
                    server_cpus is not None,
                )
                for server in (bare, mock):  # warm-up: the mock's stream becomes a repeat
                    measure(server, body, args.clients, args.warmup or 0.2, shape.frames)
                for round_no in range(1, args.rounds + 1):
                    for server in (bare, mock):
                        run = measure(server, body, args.clients, args.duration, shape.frames)
                        report.runs.setdefault(server.name, []).append(run)
                        log(
                            f"round {round_no} {server.name}: {run['events_per_s']:,.0f} events/s,"
                            f" TTFB p50/p99 {run['ttfb_p50_ms']:.1f}/{run['ttfb_p99_ms']:.1f} ms,"
                            f" server {run['server_cores']:.2f} cores, client"
                            f" {run['client_cores']:.2f} (bottleneck: {bottleneck(run)})"
                        )
    pairs = list(zip(report.runs["bare"], report.runs["mock"], strict=True))
    report.ratios = {
        "events/s mock/bare": statistics.median(
            m["events_per_s"] / b["events_per_s"] for b, m in pairs
        ),
        "TTFB p50 mock/bare": statistics.median(
            m["ttfb_p50_ms"] / b["ttfb_p50_ms"] for b, m in pairs
        ),
        "TTFB p99 mock/bare": statistics.median(
            m["ttfb_p99_ms"] / b["ttfb_p99_ms"] for b, m in pairs
        ),
    }
    print(render(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 0


def render(report: Report) -> str:
    lines = [
        f"{report.clients} clients reading every event, {report.frames_per_stream} events per"
        f" stream, {report.duration_s:g} s per run, {report.rounds} round(s), client on"
        f" {report.client_loop}, {'pinned apart' if report.pinned else 'unpinned'}",
        "",
        f"{'server':<6} {'events/s':>9} {'streams/s':>9} {'TTFB p50':>8} {'TTFB p99':>8}"
        f" {'end p99':>8} {'server':>6} {'client':>6}  bottleneck",
    ]
    for name, runs in report.runs.items():
        for run in runs:
            lines.append(
                f"{name:<6} {run['events_per_s']:9,.0f} {run['streams_per_s']:9,.0f}"
                f" {run['ttfb_p50_ms']:8.1f} {run['ttfb_p99_ms']:8.1f} {run['total_p99_ms']:8.1f}"
                f" {run['server_cores']:6.2f} {run['client_cores']:6.2f}  {bottleneck(run)}"
            )
    lines.append("")
    for name, value in report.ratios.items():
        target, verdict = TARGETS.get(name), ""
        if target is not None:
            at_most = name.startswith("TTFB")
            met = value <= target if at_most else value >= target
            sign = "<=" if at_most else ">="
            verdict = f"  (target {sign} {target}: {'met' if met else 'not met'})"
        lines.append(f"{name:<20} {value:5.2f}{verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
