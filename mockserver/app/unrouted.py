"""What no route takes: 404, or 405 with the methods its path has, in OpenAI's shape.

The routes are not behind a middleware (app/scope.py), so these answers come from a resource of
their own, registered last, that takes every request no route before it took: any method, any
target (`/v1/%0a`, `OPTIONS *`). Its handler runs inside the request scope like every other,
with a request id, CORS headers and a journal entry; aiohttp's router would answer in plain text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import UrlMappingMatchInfo
from yarl import URL

if TYPE_CHECKING:
    from aiohttp.web_urldispatcher import _InfoDict


async def unrouted(request: web.Request) -> web.StreamResponse:
    """405 with the methods this path has (asked of every route as aiohttp's router asks), or
    404; the request scope turns either into OpenAI's shape."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if not isinstance(resource, Unrouted):
            _, methods = await resource.resolve(request)
            allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound


class Unrouted(web.AbstractResource):
    """A resource that takes every request: aiohttp's resolver asks it last, at "/", the
    last part of every path it walks."""

    def __init__(self, handler: Handler) -> None:
        super().__init__(name=None)
        self._route = web.ResourceRoute("*", handler, self)

    @property
    def canonical(self) -> str:
        return "/"

    def url_for(self, **kwargs: Any) -> URL:
        return URL("/")

    def add_prefix(self, prefix: str) -> None:
        raise RuntimeError("the catch-all resource belongs to the root app")

    def get_info(self) -> _InfoDict:
        return {"prefix": "/"}

    def raw_match(self, path: str) -> bool:
        return True

    async def resolve(self, request: web.Request) -> tuple[UrlMappingMatchInfo, set[str]]:
        return UrlMappingMatchInfo({}, self._route), {"*"}

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[web.ResourceRoute]:
        return iter((self._route,))
