"""/__admin: the control panel for CI (health for now). No CORS headers, ever."""

from __future__ import annotations

import time

from aiohttp import web

from mockserver import __version__
from mockserver.state import CONTRACT, STARTED


async def health(request: web.Request) -> web.Response:
    app = request.app
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(time.monotonic() - app[STARTED], 3),
            "contract": app[CONTRACT].describe(),
        }
    )
