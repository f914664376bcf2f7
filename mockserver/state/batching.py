"""Concurrent requests share round trips to Redis.

While one batch is on its way, the calls that arrive queue for the next one, which leaves as soon
as the first is answered. Under load a worker thus makes a few large round trips instead of many
small ones; alone, a call leaves at once. A batch sent after a call arrived always answers it, so
a request still reads what was written before it came (nothing is cached).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    def __init__(self, run: Callable[[Sequence[In]], Awaitable[Sequence[Out]]]) -> None:
        self._run = run  # one result per item, in order
        self._queue: list[tuple[In, asyncio.Future[Out]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():  # a caller that timed out cancelled its own
                            future.set_exception(exc)
                    continue
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._task = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
