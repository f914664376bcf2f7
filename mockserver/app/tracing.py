"""The request id and timing headers that clients read, on every reply including streams.

openai-python and openai-node surface `x-request-id` as `_request_id` / `error.request_id`.
app/stamp.py sets them on every reply, streams included, before its headers are sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

from multidict import CIMultiDict

from mockserver.app.state import Scope
from mockserver.contract.errors import MockError

EXPOSED = (
    "x-request-id",
    "x-mock-request-id",
    "openai-processing-ms",
    "openai-version",
    "x-mock-matched",
    "x-mock-warning",
)


_IDS = random.Random(os.urandom(16))  # request ids must be unique, not secret: a fast source


def new_request_id() -> str:
    """`req_` and 32 hex digits, as the gateway's (secrets.token_hex read /dev/urandom each
    time: a system call per request)."""
    return f"req_{_IDS.getrandbits(128):032x}"


class ShuttingDown(MockError):
    """A reply cut because the server is stopping and its --shutdown-timeout ran out."""

    def __init__(self) -> None:
        super().__init__(
            "The server is shutting down; this reply was cut. Retry the request.",
            status=503,
            code="server_shutting_down",
        )


class InFlight:
    """How many requests are being handled: graceful shutdown waits for it to reach 0, then
    sets `cut`, and replies still running end early (a stream with an error event and [DONE])."""

    def __init__(self) -> None:
        self.count = 0
        self.cut = asyncio.Event()
        # Who waits for the count to reach 0 (shutdown): futures made only then, so a request
        # entering and leaving touches nothing but the count (an Event here cost two calls).
        self._waiting: list[asyncio.Future[None]] = []

    async def sleep(self, seconds: float) -> None:
        """Sleep, unless shutdown cuts replies meanwhile: then raise ShuttingDown at once."""
        if self.cut.is_set():
            raise ShuttingDown
        if seconds <= 0:
            return
        try:
            async with asyncio.timeout(seconds):
                await self.cut.wait()
        except TimeoutError:
            return
        raise ShuttingDown

    def enter(self) -> None:
        self.count += 1

    def leave(self) -> None:
        self.count -= 1
        if not self.count and self._waiting:
            for waiter in self._waiting:
                if not waiter.done():  # one that gave up waiting is cancelled
                    waiter.set_result(None)
            self._waiting.clear()

    async def idle(self) -> None:
        """Return once no request is in flight."""
        if self.count:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter


def add_trace_headers(scope: Scope, headers: CIMultiDict[str]) -> None:
    elapsed_ms = (time.perf_counter() - scope.started) * 1000
    if "x-request-id" in headers:  # the gateway's (--upstream): clients quote it
        headers["x-mock-request-id"] = scope.id
    else:
        headers["x-request-id"] = scope.id
    headers.setdefault("openai-processing-ms", str(round(elapsed_ms)))
    headers.setdefault("openai-version", "2020-10-01")
