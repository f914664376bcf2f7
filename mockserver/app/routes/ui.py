"""/__admin/ui: the dashboard, static files shipped in the package (no CDN, no build step).

The page holds no secrets, so it loads without the admin token; everything it shows comes from
the admin API, which asks for the token. Only the files found under mockserver/ui/ at start-up
are served (a fixed table: no path from the URL ever reaches the file system), with a strict
Content-Security-Policy: scripts, styles and connections from this origin only.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web

from mockserver.app.routes.admin import ADMIN, refuse_browsers
from mockserver.app.scope import AddRoute
from mockserver.contract.errors import NotFound
from mockserver.resources import bundled

UI = f"{ADMIN}/ui"
ROOT = Path(__file__).resolve().parents[2] / "ui"
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@cache
def assets() -> dict[str, tuple[bytes, str]]:
    """Relative path -> (bytes, content type), read once; the schema the editor checks against
    comes from schemas/ so that the page and the server never disagree."""
    found: dict[str, tuple[bytes, str]] = {}
    for path in sorted(ROOT.rglob("*")):
        kind = TYPES.get(path.suffix)
        if path.is_file() and kind is not None:
            found[path.relative_to(ROOT).as_posix()] = (path.read_bytes(), kind)
    schema = bundled("schemas") / "fixture.schema.json"
    found["fixture.schema.json"] = (schema.read_bytes(), "application/json")
    return found


def _send(name: str) -> web.Response:
    body, kind = assets()[name]
    return web.Response(body=body, content_type=kind, charset="utf-8", headers=HEADERS)


async def page(request: web.Request) -> web.Response:
    refuse_browsers(request)
    return _send("index.html")


async def asset(request: web.Request) -> web.Response:
    refuse_browsers(request)
    name = request.match_info["name"]
    if name not in assets():
        raise NotFound(f"The dashboard has no file {name!r}.", code="unknown_url")
    return _send(name)


def add_routes(add: AddRoute) -> None:
    add("GET", UI, page)
    add("GET", f"{UI}/", page)
    add("GET", UI + "/{name:.+}", asset)
