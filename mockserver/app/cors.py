"""CORS for browser apps on other origins (a Vite dev server on :5173), on the /v1 API only.

Preflights reflect the requested headers: the SDKs send x-stainless-*, Firefox sends user-agent.
The admin API gets no CORS headers, so a web page open in the developer's browser cannot drive
the local mock (MockServer's CVE-2021-32827).
"""

from __future__ import annotations

from aiohttp import web
from multidict import CIMultiDict

from mockserver.app.tracing import EXPOSED

API_PREFIX = "/v1/"


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX)


async def preflight(request: web.Request) -> web.Response:
    """Answer an OPTIONS preflight (registered for every /v1 route)."""
    headers = {
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", ""),
        "Access-Control-Max-Age": "86400",
    }
    if request.headers.get("Access-Control-Request-Private-Network") == "true":
        headers["Access-Control-Allow-Private-Network"] = "true"
    return web.Response(status=204, headers=headers)


def add_cors_headers(request: web.Request, headers: CIMultiDict[str]) -> None:
    origin = request.headers.get("Origin")
    if origin is None or not _is_api(request):
        return
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED)
    headers.add("Vary", "Origin")
