"""Forwarding a validated request to the gateway and passing its answer back.

A stream is passed through event by event as it arrives (nothing is buffered beyond the event
being read), with the gateway's status and the headers clients act on. Failures are mapped the
way a client can survive them: before the reply started, an OpenAI-shaped 502 (unreachable,
reset, not an API reply) or 504 (timeout); after, an error event and `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy

from mockserver.app.stamp import prepare
from mockserver.contract.errors import MockError
from mockserver.journal.store import ServeEvent
from mockserver.upstream.client import UpstreamClient
from mockserver.upstream.exchange import DONE_DATA, Exchange
from mockserver.upstream.redact import Redactor, bearer_key
from mockserver.wire import sse

log = logging.getLogger("mockserver.upstream")

# What the client sent that the gateway needs; everything else (X-Mock-*, cookies, hop-by-hop
# headers) stays here. Authorization is added separately.
FORWARDED = ("accept", "user-agent", "openai-organization", "openai-project", "openai-beta")
FORWARDED_PREFIXES = ("x-stainless-",)
# What the gateway sent that clients act on.
KEPT = (
    "retry-after",
    "retry-after-ms",
    "x-request-id",
    "openai-processing-ms",
    "openai-version",
    "openai-organization",
    "openai-model",
    "x-should-retry",
    "content-encoding",
)
KEPT_PREFIXES = ("x-ratelimit-",)
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_EVENT_BYTES = 16 * 1024 * 1024


class UpstreamFailed(MockError):
    """The gateway could not give an answer: 502 (or 504 for a timeout), OpenAI-shaped."""

    default_status = 502


def _forward_headers(headers: Mapping[str, str], key: str | None) -> dict[str, str]:
    out = {
        name: value
        for name, value in headers.items()
        if name.lower() in FORWARDED or name.lower().startswith(FORWARDED_PREFIXES)
    }
    auth = f"Bearer {key}" if key else headers.get("Authorization")
    if auth:
        out["Authorization"] = auth
    out["Content-Type"] = "application/json"
    out["Accept-Encoding"] = "identity"  # a compressed stream could not be passed on per event
    return out


def kept_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() in KEPT or name.lower().startswith(KEPT_PREFIXES)
    }


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def failure(exc: BaseException, where: str) -> UpstreamFailed:
    """A transport failure as the client sees it; the message names the gateway, no secret."""
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return UpstreamFailed(
            f"The upstream gateway {where} did not answer in time.",
            status=504,
            code="upstream_timeout",
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error)
        return UpstreamFailed(
            f"The upstream gateway {where} could not be reached: {reason}.",
            code="upstream_unreachable",
        )
    return UpstreamFailed(
        f"The upstream gateway {where} closed the connection: {type(exc).__name__}.",
        code="upstream_disconnected",
    )


class Forwarding:
    """One request on its way to the gateway and back, recorded in `exchange` (which the
    journal's `record` holds). `on_complete` gets a successful exchange once it is whole,
    before the client has all of it."""

    def __init__(
        self,
        request: web.Request,
        client: UpstreamClient,
        body: bytes,
        *,
        stream: bool,
        record: ServeEvent | None,
        on_complete: Callable[[Exchange, Redactor], Awaitable[object]] | None = None,
    ) -> None:
        upstream = client.upstream
        self.request, self.client, self.record = request, client, record
        self.on_complete = on_complete
        self.redactor = Redactor([upstream.key, bearer_key(request.headers)])
        self.headers = _forward_headers(request.headers, upstream.key)
        self.exchange = Exchange(
            url=upstream.display,
            request_headers=self.redactor.headers(self.headers),
            request_body=body,
            stream=stream,
            max_kept=upstream.max_reply_bytes,
        )
        self.where = self.exchange.url  # upstream.display: the URL without its secrets
        if record is not None:
            record.upstream = self.exchange

    async def send(self) -> web.StreamResponse:
        """The client's response: the gateway's answer passed through, or a mapped failure
        (the body, already validated, goes as the client sent it)."""
        exchange = self.exchange
        try:
            try:
                reply = await self.client.session.post(
                    self.client.upstream.url,
                    data=exchange.request_body,
                    headers=self.headers,
                    allow_redirects=False,  # a redirect is a misconfigured URL: a 502 says so
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise self._failed(exc) from exc
            async with reply:
                exchange.status = reply.status
                exchange.headers = self.redactor.headers(kept_headers(reply.headers))
                if reply.content_type == "text/event-stream":
                    return await self._pass_stream(reply)
                return await self._pass_body(reply)
        finally:
            exchange.duration_ms = exchange.elapsed_ms()
            exchange.settle()

    def _failed(self, exc: BaseException) -> UpstreamFailed:
        error = failure(exc, self.where)
        self.exchange.error = error.message
        log.warning("%s", error.message)
        return error

    async def _pass_body(self, reply: aiohttp.ClientResponse) -> web.StreamResponse:
        exchange, limit = self.exchange, self.client.upstream.max_reply_bytes
        body = bytearray()
        try:
            async for piece in reply.content.iter_any():
                if exchange.first_byte_ms is None:
                    exchange.first_byte_ms = exchange.elapsed_ms()
                body += piece
                if len(body) > limit:
                    raise self._bad(f"sent a reply larger than {limit} bytes")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._failed(exc) from exc
        exchange.body = bytes(body)
        exchange.journal_body = self._redacted(exchange.body)
        if not _is_json(reply.content_type):
            what = reply.content_type or "no content type"
            raise self._bad(f"answered {reply.status} with {what}, not an API reply")
        if self.record is not None:  # the journal's copy: no key, even one the gateway echoed
            self.record.response = exchange.journal_body
        await self._completed()
        return web.Response(
            status=reply.status,
            body=exchange.body,
            headers={**kept_headers(reply.headers), "Content-Type": reply.headers["Content-Type"]},
        )

    def _bad(self, what: str) -> UpstreamFailed:
        error = UpstreamFailed(f"The upstream gateway {self.where} {what}.", code="bad_gateway")
        self.exchange.error = error.message
        log.warning("%s", error.message)
        return error

    async def _pass_stream(self, reply: aiohttp.ClientResponse) -> web.StreamResponse:
        """Each event goes to the client as soon as its blank line arrives."""
        content_type = reply.headers.get("Content-Type", "text/event-stream")
        headers = {**STREAM_HEADERS, **kept_headers(reply.headers), "Content-Type": content_type}
        response = web.StreamResponse(status=reply.status, headers=headers)
        await prepare(self.request, response)
        if self.record is not None:
            self.record.status = response.status
        buffer = bytearray()  # an event still arriving: appended to, never copied whole
        try:
            async for piece in reply.content.iter_any():
                scanned = max(len(buffer) - 3, 0)  # a blank line may straddle two pieces
                buffer += piece
                await self._write_events(response, buffer, scanned)
                if len(buffer) > MAX_EVENT_BYTES:
                    raise aiohttp.ClientPayloadError("an event larger than 16 MB")
            if buffer.strip():  # the gateway ended without the last blank line: pass it on
                await self._write(response, [bytes(buffer)])
        except (TimeoutError, aiohttp.ClientError) as exc:
            await self._end_with_error(response, exc)
            return response
        except ConnectionError:  # the client hung up: stop reading, drop the upstream reply
            reply.close()
            if self.record is not None:
                self.record.client_hung_up = True
            return response
        await response.write_eof()
        return response

    async def _write_events(
        self, response: web.StreamResponse, buffer: bytearray, scanned: int
    ) -> None:
        """Pass on the complete events of `buffer` and drop them from it; what stays is an
        event still arriving. Only bytes after `scanned` are searched for a blank line, so a
        large event arriving in many pieces is scanned once. Events that arrived together go
        out in one write (one system call, no added wait)."""
        events, start = [], 0
        for end in sse.EVENT_END.finditer(buffer, scanned):
            events.append(bytes(buffer[start : end.end()]))
            start = end.end()
        if events:
            del buffer[:start]
            await self._write(response, events)

    async def _write(self, response: web.StreamResponse, events: list[bytes]) -> None:
        finished = False
        for event in events:
            self.exchange.add_frame(event)
            frames = self.exchange.frames
            finished = finished or (
                b"[DONE]" in event and frames[-1:] != [] and frames[-1].data == DONE_DATA
            )
        if finished:
            await self._completed()  # before the client has it all: then it can replay it
        await response.write(events[0] if len(events) == 1 else b"".join(events))
        if self.record is not None:
            for event in events:
                self.record.add_frame(self._redacted(event))

    async def _completed(self) -> None:
        status = self.exchange.status
        if self.on_complete is not None and status is not None and 200 <= status < 300:
            await self.on_complete(self.exchange, self.redactor)

    def _redacted(self, data: bytes) -> bytes:
        if not self.redactor.may_match(data):
            return data
        text = data.decode("utf-8", "replace")
        safe = self.redactor.text(text)
        return data if safe == text else safe.encode()

    async def _end_with_error(self, response: web.StreamResponse, exc: BaseException) -> None:
        """After the headers, a failure can only be told inside the stream."""
        error = self._failed(exc)
        event = sse.frame({"error": error.error_object()}) + sse.DONE
        try:
            await response.write(event)
            if self.record is not None:
                self.record.add_frame(event, "upstream failed")
            await response.write_eof()
        except ConnectionError:
            if self.record is not None:
                self.record.client_hung_up = True
