"""MockServer: the mock on its own thread and event loop, for tests and scripts.

The one bridge between synchronous callers and the async server: start() returns once the
socket is listening, stop() lets in-flight replies finish. Used by the pytest plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from types import TracebackType
from typing import Any

from mockserver.app.serving import serving
from mockserver.settings import Settings
from mockserver.testing.admin_client import AdminClient


class MockServer:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings(port=0, access_log=False)
        self.settings = dataclasses.replace(base, **overrides)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as base_url."""
        return f"{self.url}/v1"

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.url, self.settings.admin_token)

    def start(self) -> MockServer:
        self._ready.clear()  # a restart waits for its own socket, not the last run's
        self._error = None
        self._thread = threading.Thread(target=self._run, name="mockserver", daemon=True)
        self._thread.start()
        self._ready.wait()
        error = self._failure()
        if error is not None:
            self.stop()  # the thread is ending: join it and forget its loop
            raise error
        return self

    def _failure(self) -> BaseException | None:
        """What made the server thread fail to start (set by that thread), taken once."""
        error, self._error = self._error, None
        return error

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already closed: nothing to stop
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join()
        # Forget the closed loop: a second stop() (e.g. __exit__ after an explicit stop) is a
        # no-op, not call_soon_threadsafe on a closed loop.
        self._thread = self._loop = self._stop = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(), in the caller's thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serving(self.settings) as (_, self.port):
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
