"""Putting a reply on the wire: one JSON body, or an SSE stream that ends with [DONE].

The one place that sends every payload (completions, streams, scripted errors, raw bodies and
events, proxy HTML pages), and so the one that applies the reply's fault plan: delays, keep-alive
pings, odd TCP write boundaries, disconnects, stalls, and that records what was sent. Once a
stream's headers are out, a failure can only be reported inside the stream
(`data: {"error": ...}` then [DONE], as the gateway does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from random import Random

from aiohttp import web

from mockserver.app.stamp import prepare
from mockserver.app.state import IN_FLIGHT, SETTINGS, STATE
from mockserver.app.tracing import InFlight, ShuttingDown
from mockserver.contract.errors import MockError
from mockserver.journal.store import ServeEvent, cut
from mockserver.replies.reply import (
    Completed,
    Encoded,
    ErrorBody,
    Forward,
    HtmlPage,
    RawBody,
    RawEvents,
    Reply,
)
from mockserver.upstream.gate import forward_and_record
from mockserver.wire import json_bytes, sse, stream_faults
from mockserver.wire.chunks import chunks, sse_frames
from mockserver.wire.faults import NO_FAULT, FaultPlan
from mockserver.wire.headers import header_safe
from mockserver.wire.pacing import paced

log = logging.getLogger("mockserver")

STREAM_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
MAX_STALL_S = 300.0


@dataclass(frozen=True, slots=True)
class Line:
    """What every reply of one app is sent under, looked up in the app once (each
    `request.app[...]` is three Python calls, per reply)."""

    # Its sleep() ends early when shutdown cuts (an app without one: a plain sleep).
    in_flight: InFlight | None = None
    # A journal in Redis is written after the handler (a round trip): the stream's end is then
    # left to aiohttp, which sends it once the request scope has recorded the entry, so a
    # client that read the whole stream finds it journaled on any worker.
    ends_after_journal: bool = False
    realistic: bool = False  # --pace realistic

    @classmethod
    def of(cls, app: web.Application) -> Line:
        state, settings = app.get(STATE), app.get(SETTINGS)
        return cls(
            in_flight=app.get(IN_FLIGHT),
            ends_after_journal=state is not None and state.backend != "memory",
            realistic=settings is not None and settings.pace == "realistic",
        )


class Wire:
    """One reply's writer: timing and transport faults, and the journal's record of frames."""

    def __init__(
        self, request: web.Request, plan: FaultPlan, record: ServeEvent | None, line: Line
    ) -> None:
        self.request = request
        self.plan = plan
        self._rng: Random | None = None
        self.record = record
        self.line = line
        if self.record is not None and plan is not NO_FAULT:
            self.record.fault = plan.describe()

    @property
    def rng(self) -> Random:
        """The plan's randomness (jitter, delay ranges, split points), made when first needed."""
        if self._rng is None:
            self._rng = Random(self.plan.seed if self.plan.seed is not None else 0)
        return self._rng

    async def pause(self, ms: float, response: web.StreamResponse | None = None) -> None:
        """Sleep `ms`; on a started stream with ping_ms, send `: ping` comments meanwhile."""
        remaining = float(ms)  # in ms, not s: 0.2 - 4 * 0.05 > 0 made one ping too many
        every = float(self.plan.ping_ms or 0)
        while remaining > 0:
            step = min(remaining, every) if every and response is not None else remaining
            await self._sleep(step / 1000)
            remaining -= step
            if every and response is not None and remaining > 0:
                await self.write(response, b": ping\n\n", "ping")

    async def _sleep(self, seconds: float) -> None:
        """Sleep, unless shutdown cuts the reply: then ShuttingDown, noted in the journal."""
        try:
            if self.line.in_flight is None:
                await asyncio.sleep(seconds)
            else:
                await self.line.in_flight.sleep(seconds)
        except ShuttingDown:
            if self.record is not None:
                self.record.cut_by_shutdown = True
            raise

    def chunk_gap_ms(self) -> float:
        gap = float(self.plan.chunk_ms or 0)
        if self.plan.jitter_ms:
            gap += self.rng.uniform(-self.plan.jitter_ms, self.plan.jitter_ms)
        return max(gap, 0.0)

    async def write(self, response: web.StreamResponse, data: bytes, note: str | None) -> None:
        size = self.plan.split_bytes
        if size:
            start = 0
            while start < len(data):  # odd cut points: mid-line, mid-character
                end = min(start + self.rng.randint(1, size), len(data))
                await response.write(data[start:end])
                await asyncio.sleep(0.001)  # separate TCP segments, not one coalesced write
                start = end
        else:
            await response.write(data)
        if self.record is not None:
            self.record.add_frame(data, note)

    def drop(self) -> None:
        """Cut the connection, as a crashed upstream would (no terminating chunk)."""
        if self.request.transport is not None:
            self.request.transport.abort()
        if self.record is not None:
            self.record.fault = (self.record.fault or "") + " (connection dropped)"

    async def stall(self, response: web.StreamResponse) -> None:
        """Send nothing more (pings aside) until the client gives up, within MAX_STALL_S."""
        waited = 0.0
        while waited < MAX_STALL_S:
            transport = self.request.transport
            if transport is None or transport.is_closing():
                break
            step = (self.plan.ping_ms or 200) / 1000
            await self._sleep(step)
            waited += step
            if self.plan.ping_ms:
                await self.write(response, b": ping\n\n", "ping")
        if self.record is not None:
            self.record.client_hung_up = True


async def deliver(
    request: web.Request,
    reply: Reply,
    *,
    stream: bool,
    include_usage: bool,
    record: ServeEvent | None = None,
    line: Line | None = None,
) -> web.StreamResponse:
    """Send `reply` the way the request asked (JSON, or SSE for stream: true), faults applied;
    `line`: the app's, when the caller holds it (else looked up)."""
    wire = Wire(request, reply.plan, record, line if line is not None else Line.of(request.app))
    payload = reply.payload
    if wire.line.realistic and isinstance(payload, Completed) and not (stream and payload.recorded):
        # not a fault, so not journaled as one; a recorded stream keeps its own timing
        wire.plan = paced(reply.plan, payload.completion, stream=stream)
    plan = wire.plan
    headers = header_safe(reply.headers)
    if plan.delay_ms is not None:
        await wire.pause(wire.rng.randint(*plan.delay_ms))
    match reply.payload:
        case Completed(_, recorded) if stream and recorded and recorded.fits(include_usage):
            timed = list(recorded.paced(request.app[SETTINGS].replay_pacing))
            frames = [(data, None) for data, _ in timed]
            gaps = [gap for _, gap in timed]
            return await send_frames(wire, frames, headers, reply.status, gaps_ms=gaps)
        case Completed(completion) if stream and not plan.reshapes_frames:
            pieces = sse_frames(completion, include_usage=include_usage)
            if not plan.times_frames:
                body, sizes = b"".join(pieces), tuple(map(len, pieces))
                return await send_whole_stream(wire, body, sizes, headers, reply.status)
            sent = [(data, None) for data in pieces]
            return await send_frames(wire, sent, headers, reply.status)
        case Completed(completion) if stream:
            events = list(chunks(completion, include_usage=include_usage))
            if plan.interleave_tools:
                events = stream_faults.interleaved(events)
            return await send_frames(wire, stream_faults.apply(events, plan), headers, reply.status)
        case Completed(completion):
            body = json_bytes.dumps(completion.to_json())
            return await send_body(wire, body, headers, reply.status)
        case Encoded(body, sizes) if stream and not plan.times_frames:
            return await send_whole_stream(wire, body, sizes, headers, reply.status)
        case Encoded(body, sizes) if stream:  # paced by a fault (repeats have none): per frame
            unjoined = [(data, None) for data in cut(body, sizes)]
            return await send_frames(wire, unjoined, headers, reply.status)
        case Encoded(body):  # a JSON body is one piece
            return await send_body(wire, body, headers, reply.status)
        case RawEvents(events):
            frames = [(event.encode(), None) for event in events]
            return await send_frames(wire, frames, headers, reply.status)
        case RawBody(body):
            return await send_body(wire, json_bytes.dumps(body), headers, reply.status)
        case ErrorBody():
            return send_error(wire, reply.payload, headers, reply.status)
        case HtmlPage(html):  # the reply's own headers (X-Mock-Matched) go with the page too
            return web.Response(
                status=reply.status, text=html, content_type="text/html", headers=headers
            )
        case Forward():
            return await forward_and_record(request, stream=stream, record=record)


def send_error(
    wire: Wire, error: ErrorBody, headers: Mapping[str, str], status: int
) -> web.Response:
    """A scripted error, whole: transport faults are for replies that got through."""
    if wire.record is not None:
        wire.record.error = error.error_object()
    body = json_bytes.dumps({"error": error.error_object()})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def send_body(
    wire: Wire, data: bytes, headers: Mapping[str, str], status: int
) -> web.StreamResponse:
    """A JSON body, already encoded."""
    if wire.record is not None:
        wire.record.response = data  # as bytes: parsed only when the journal is read
    plan = wire.plan
    if plan.disconnect_after is None and plan.malformed_at is None and not plan.split_bytes:
        return web.Response(
            status=status, body=data, content_type="application/json", headers=headers
        )
    if plan.malformed_at is not None:
        data = data[: len(data) // 2]
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = "application/json"
    if plan.disconnect_after is None:
        response.content_length = len(data)
    await prepare(wire.request, response)
    if wire.record is not None:
        wire.record.status = response.status  # sent, whatever happens next
    if plan.disconnect_after is not None:
        await wire.write(response, data[: plan.disconnect_after], "truncated")
        wire.drop()
        return response
    await wire.write(response, data, "malformed" if plan.malformed_at is not None else None)
    await response.write_eof()
    return response


class _WholeStream(web.StreamResponse):
    """A stream sent in one write: its headers go out with its body, not in a write (a system
    call) of their own at prepare(). aiohttp's Response does the same; the flag is aiohttp's
    (if a release renames it, the headers are sent separately again: slower, not wrong)."""

    _send_headers_immediately = False


async def _write_whole(wire: Wire, response: web.StreamResponse, body: bytes) -> None:
    if wire.line.ends_after_journal:
        await response.write(body)
    else:
        await response.write_eof(body)


async def send_whole_stream(
    wire: Wire,
    body: bytes,
    sizes: tuple[int, ...],
    headers: Mapping[str, str],
    status: int,
    faults: tuple[str | None, ...] | None = None,
) -> web.StreamResponse:
    """A stream whose frames are all there and that nothing paces (--pace instant, no timing
    fault), joined: the frames and the end of the body in one write, as they would all be
    there at once anyway, journaled as one piece with the frames' sizes (and their faults).
    One send instead of one per frame: that was most of the CPU a stream cost."""
    response = _WholeStream(status=status, headers={**STREAM_HEADERS, **headers})
    await prepare(wire.request, response)
    if wire.record is not None:
        wire.record.status = response.status  # sent, whatever happens next
    try:
        await _write_whole(wire, response, body)
    except BaseException as exc:  # a cancel is re-raised there
        await _stream_failed(wire, response, exc)
        return response
    if wire.record is not None:
        wire.record.add_burst(body, sizes, faults or (None,) * len(sizes))
    return response


async def send_frames(
    wire: Wire,
    frames: Iterable[tuple[bytes, str | None]],
    headers: Mapping[str, str],
    status: int = 200,
    *,
    gaps_ms: Sequence[float] | None = None,
) -> web.StreamResponse:
    """Stream the frames, then end the body (clients wait for EOF after [DONE]).

    `gaps_ms` (a recorded stream's pacing) gives the wait before each frame, the first too;
    without it the plan's ttft_ms, chunk_ms and jitter_ms decide.
    """
    plan = wire.plan
    if gaps_ms is None and not plan.times_frames:  # nothing paces it: sent whole
        sent = list(frames)
        pieces = list(map(itemgetter(0), sent))
        body, sizes = b"".join(pieces), tuple(map(len, pieces))
        faults = tuple(map(itemgetter(1), sent))
        return await send_whole_stream(wire, body, sizes, headers, status, faults)
    response = web.StreamResponse(status=status, headers={**STREAM_HEADERS, **headers})
    await prepare(wire.request, response)
    if wire.record is not None:
        wire.record.status = response.status  # sent, whatever happens next
    try:
        for index, (data, note) in enumerate(frames):
            if index == plan.disconnect_after:
                wire.drop()
                return response
            if index == plan.stall_after:
                await wire.stall(response)
                return response
            if gaps_ms is not None:
                gap = gaps_ms[index]
            else:
                gap = plan.ttft_ms if index == 1 and plan.ttft_ms else wire.chunk_gap_ms()
            if gap and (index or gaps_ms is not None):
                await wire.pause(gap, response)
            await wire.write(response, data, note)
        if plan.disconnect_after is not None and plan.disconnect_after >= 0:
            wire.drop()  # asked to drop after more frames than there were: drop at the end
            return response
        if not wire.line.ends_after_journal:
            await response.write_eof()
    except BaseException as exc:  # a cancel is re-raised there
        await _stream_failed(wire, response, exc)
    return response


async def _stream_failed(wire: Wire, response: web.StreamResponse, exc: BaseException) -> None:
    """A started stream that could not finish: its status is sent, so the request scope cannot
    answer any more; what is noted, and how the stream ends, depends on why."""
    if isinstance(exc, ConnectionError):
        log.info("client closed the stream early")
        if wire.record is not None:
            wire.record.client_hung_up = True
    elif isinstance(exc, ShuttingDown):  # --shutdown-timeout ran out: end it as the gateway would
        if wire.record is not None:
            wire.record.cut_by_shutdown = True
        await response.write(sse.frame({"error": exc.error_object()}) + sse.DONE)
        await response.write_eof()
    elif isinstance(exc, asyncio.CancelledError):  # a server with handler_cancellation (aiohttp's
        if wire.record is not None:  # TestServer) cancels the handler when the client hangs up
            in_flight = wire.line.in_flight
            if in_flight is not None and in_flight.cut.is_set():  # or a stopping server
                wire.record.cut_by_shutdown = True
            else:
                wire.record.client_hung_up = True
        raise exc
    elif isinstance(exc, Exception):
        log.exception("error while streaming", exc_info=exc)
        error = exc if isinstance(exc, MockError) else MockError("The stream failed.")
        await response.write(sse.frame({"error": error.error_object()}) + sse.DONE)
    else:  # KeyboardInterrupt, SystemExit: not the stream's to handle
        raise exc
