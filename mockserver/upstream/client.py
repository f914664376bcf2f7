"""The connection pool to the gateway: one aiohttp ClientSession per server, opened on startup.

Connections are reused across requests (up to `pool_size` at once); `connect_timeout_s` bounds
reaching the gateway, `read_timeout_s` each wait for more bytes, so a gateway that stalls
mid-stream is noticed, and `max_duration_s` the whole exchange. Proxy settings from the
environment are ignored: the upstream URL is the one the user gave.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from mockserver.upstream.config import Upstream

UPSTREAM_CLIENT: web.AppKey[UpstreamClient] = web.AppKey("upstream_client")


class UpstreamClient:
    """The gateway's settings and, while the app runs, the session that talks to it."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the upstream session opens on app startup")
        return self._session

    async def open(self) -> None:
        upstream = self.upstream
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=upstream.pool_size),
            timeout=aiohttp.ClientTimeout(
                total=upstream.max_duration_s,
                connect=upstream.connect_timeout_s,
                sock_read=upstream.read_timeout_s,
            ),
            auto_decompress=False,  # we ask for identity; anything else passes through as is
            trust_env=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def install(app: web.Application, upstream: Upstream) -> None:
    """Give `app` a client whose session lives exactly as long as the app."""
    client = UpstreamClient(upstream)
    app[UPSTREAM_CLIENT] = client

    async def opened(_: web.Application) -> None:
        await client.open()

    async def closed(_: web.Application) -> None:
        await client.close()

    app.on_startup.append(opened)
    app.on_cleanup.append(closed)
