"""Running the app on a socket: banner, readiness line, graceful shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from mockserver._version import __version__
from mockserver.app.factory import create_app
from mockserver.app.guard import RedactingAccessLogger, guard
from mockserver.app.sources import EXAMPLES_SOURCE, watch_sources
from mockserver.app.state import ADMIN_TOKEN, CONTRACT, FEED, FIXTURES, IN_FLIGHT
from mockserver.settings import Settings

log = logging.getLogger("mockserver")
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs request_id=%{x-request-id}o'


def banner(settings: Settings, app: web.Application, url: str) -> str:
    keys = f"{len(settings.api_keys)} accepted key(s)" if settings.api_keys else "any Bearer key"
    return "\n".join(
        [
            f"mockserver {__version__}: OpenAI-compatible mock of POST /v1/chat/completions",
            f"  listening  {url}/v1   (health: {url}/__admin/health)",
            f"  fixtures   {_fixture_line(settings, app)}",
            f"  contract   {app[CONTRACT].current.describe()}",
            *(f"  warning    {w}" for w in app[CONTRACT].current.warnings),
            f"  auth       {keys}",
            f"  state      {_state_line(settings)}",
            f"  dashboard  {url}/__admin/ui",
            f"  admin      {_admin_line(settings, app)}",
            *_upstream_lines(settings),
        ]
    )


def _state_line(settings: Settings) -> str:
    if settings.state_url is None:
        return "in memory (this process only)"
    scheme, _, rest = settings.state_url.partition("://")
    return f"shared in {scheme}://{rest.rpartition('@')[2]}"  # never the password


def _admin_line(settings: Settings, app: web.Application) -> str:
    token = app[ADMIN_TOKEN]
    if token is None:
        return "open to this machine only (bound to loopback; --admin-token to require one)"
    if settings.admin_token:
        return "needs 'Authorization: Bearer <--admin-token>'"
    return (
        f"needs 'Authorization: Bearer {token}' (generated: bound to {settings.host} "
        "without --admin-token)"
    )


def _upstream_lines(settings: Settings) -> list[str]:
    upstream = settings.upstream
    if upstream is None:
        return []
    which = "every valid request" if upstream.proxy_all else "requests no fixture matches"
    key = "its own key (--upstream-key)" if upstream.key else "the client's key"
    lines = [f"  upstream   {upstream.display} gets {which}, with {key}"]
    if settings.record_dir is not None:
        lines.append(f"  recording  into {settings.record_dir} (secrets redacted)")
    return lines


def _fixture_line(settings: Settings, app: web.Application) -> str:
    count = len(app[FIXTURES])
    paths = ", ".join(str(p) for p in settings.fixture_paths) or "none"
    if settings.spec_examples:
        examples = sum(f.source == EXAMPLES_SOURCE for f in app[FIXTURES].ranked)
        paths += f" and the spec's examples ({examples} of them)"
    watching = " (watching for changes)" if settings.watch else ""
    rest = "the gateway" if settings.upstream is not None else "generated replies"
    return f"{count} loaded from {paths}{watching}; unmatched requests get {rest}"


async def drain(runner: web.AppRunner, app: web.Application, grace_s: float) -> None:
    """Stop listening, then let requests in flight finish (up to `grace_s`) before closing.

    runner.cleanup() alone closes connections still receiving a body (aio-libs/aiohttp#2298).
    """
    for site in list(runner.sites):
        await site.stop()
    app[FEED].close()  # open dashboards would otherwise count as requests in flight
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app[IN_FLIGHT].idle.wait(), grace_s)


Announce = Callable[[str, int, str], None]  # (url, port, banner) once the socket listens


def announce_ready(url: str, port: int, text: str) -> None:
    print(text, flush=True)
    # One machine-readable line, so a CI script using --port 0 can learn the port.
    print("MOCKSERVER_READY " + json.dumps({"url": url, "port": port}), flush=True)


async def listen(settings: Settings) -> tuple[web.AppRunner, int]:
    """The app built and listening on its socket (the one set-up `serve` and the in-process
    MockServer share): the runner, and the port (the one picked when settings.port is 0)."""
    runner = web.AppRunner(
        create_app(settings),
        access_log_format=ACCESS_LOG_FORMAT,
        access_log_class=RedactingAccessLogger,
        access_log=logging.getLogger("mockserver.access") if settings.access_log else None,
        shutdown_timeout=settings.shutdown_timeout,
        handle_signals=False,
    )
    await runner.setup()
    guard(runner, settings.header_timeout)
    try:
        site = web.TCPSite(
            runner, settings.host, settings.port, reuse_port=settings.reuse_port or None
        )
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]


async def serve(settings: Settings, announce: Announce = announce_ready) -> None:
    """Serve until SIGINT/SIGTERM, then stop accepting and let in-flight replies finish.

    A worker of `serve --workers N` announces to its supervisor instead of printing.
    """
    runner, port = await listen(settings)
    app = runner.app
    host = runner.addresses[0][0]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before READY: a signal right after it counts
        loop.add_signal_handler(sig, stop.set)
    announce(url, port, banner(settings, app, url))
    watcher = None
    if settings.watch:
        watcher = asyncio.create_task(watch_sources(app, settings))
    await stop.wait()
    if announce is announce_ready:
        print("mockserver: shutting down, finishing in-flight replies", file=sys.stderr, flush=True)
    if watcher is not None:
        watcher.cancel()
    await drain(runner, app, settings.shutdown_timeout)
    await runner.cleanup()
