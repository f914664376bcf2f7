"""Running the app on a socket: banner, readiness line, graceful shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import json
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

from mockserver._version import __version__
from mockserver.app.factory import create_app
from mockserver.app.guard import RedactingAccessLogger, guard
from mockserver.app.sources import EXAMPLES_SOURCE, watch_sources
from mockserver.app.state import ADMIN_TOKEN, CONTRACT, FEED, FIXTURES, IN_FLIGHT, SCOPE
from mockserver.settings import Settings

log = logging.getLogger("mockserver")
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs request_id=%{x-request-id}o'


class AccessLogger(RedactingAccessLogger):
    """aiohttp's access log minus the API requests the journal logs already (with the fixture
    and the model): one line per request, whatever the --log-format."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        scope = request.get(SCOPE)
        if scope is None or scope.event is None:
            super().log(request, response, time)


def banner(settings: Settings, app: web.Application, url: str, *, bound: str = "") -> str:
    keys = (
        f"{len(settings.api_keys)} accepted key(s)"
        if settings.api_keys
        else "any non-empty Bearer key (no Authorization header: 401, as the gateway)"
    )
    everywhere = f"   (bound to {bound}: every interface)" if bound in ("0.0.0.0", "::") else ""
    return "\n".join(
        [
            f"mockserver {__version__}: OpenAI-compatible mock of POST /v1/chat/completions",
            f"  listening  {url}/v1   (health: {url}/__admin/health){everywhere}",
            f"  fixtures   {_fixture_line(settings, app)}",
            f"  contract   {app[CONTRACT].current.describe()}",
            *(f"  warning    {w}" for w in app[CONTRACT].current.warnings),
            f"  models     {_models_line(settings)}",
            f"  pace       {_pace_line(settings)}",
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
    return generated_admin_line(token, settings.host)


def generated_admin_line(token: str, host: str) -> str:
    """The banner's admin line for a token made at start (a bind beyond loopback)."""
    return (
        f"needs 'Authorization: Bearer {token}' (generated: bound to {host} without --admin-token)"
    )


def _pace_line(settings: Settings) -> str:
    if settings.pace == "realistic":
        return "realistic: each model's time to first token and tokens per second"
    return "instant (--pace realistic streams at each model's speed)"


def _models_line(settings: Settings) -> str:
    if settings.models is None:
        return "any model (--models limits them)"
    return f"{', '.join(settings.models)}; any other gets 404 model_not_found"


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
    paths = ", ".join(str(p) for p in settings.paths) or "none"
    if settings.spec_examples:
        examples = sum(f.source == EXAMPLES_SOURCE for f in app[FIXTURES].ranked)
        paths += f" and the spec's examples ({examples} of them)"
    watching = " (watching for changes)" if settings.watch else ""
    rest = "the gateway" if settings.upstream is not None else "generated replies"
    return f"{count} loaded from {paths}{watching}; unmatched requests get {rest}"


class CannotListen(OSError):
    """The socket could not be opened: what is wrong and what to do, in one line."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        if isinstance(error, socket.gaierror):
            why = f"--host {host!r} is neither an IP address nor a known host name"
        elif error.errno == errno.EADDRINUSE:
            why = f"port {port} is in use: pick another with --port, or --port 0 for a free one"
        elif error.errno == errno.EACCES:
            why = f"port {port} needs privileges here: pick one above 1023 with --port"
        elif error.errno == errno.EADDRNOTAVAIL:
            why = (
                f"--host {host} is not an address of this machine: keep 127.0.0.1, or use "
                "0.0.0.0 to listen on every interface"
            )
        else:
            why = f"cannot listen on {host}:{port}: {error.strerror or error}"
        super().__init__(why)
        self.errno = error.errno


CUT_GRACE_S = 0.5  # after --shutdown-timeout: time for cut streams to send their error event
CLOSE_S = 0.25  # then aiohttp's own wait before it closes what is left (0 would mean forever)


async def shut_down(
    runner: web.AppRunner, app: web.Application, grace_s: float, now: asyncio.Event | None = None
) -> None:
    """Stop listening, let requests in flight finish for up to `grace_s` (less if `now` is set:
    a second Ctrl-C), then cut what is left: streams end with an error event and [DONE] and are
    journaled as cut by shutdown. Takes at most about grace_s + 1 s in all.

    runner.cleanup() alone would close connections still receiving a body (aio-libs/aiohttp#2298),
    wait up to twice its shutdown_timeout, and wait forever when that is 0.
    """
    for site in list(runner.sites):
        await site.stop()
    app[FEED].close()  # open dashboards would otherwise count as requests in flight
    in_flight = app[IN_FLIGHT]
    waits = [in_flight.idle()] + ([now.wait()] if now is not None else [])
    await _first_of(waits, grace_s)
    if in_flight.count:
        in_flight.cut.set()
        cut_grace = 0.1 if now is not None and now.is_set() else CUT_GRACE_S
        await _first_of([in_flight.idle()], cut_grace)
    await runner.cleanup()


async def _first_of(waits: list[Coroutine[Any, Any, Any]], seconds: float) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()


class Signals:
    """SIGINT/SIGTERM (and Ctrl-Break on Windows): the first asks for a graceful stop, the
    second for an immediate one."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.now = asyncio.Event()

    def received(self) -> None:
        (self.now if self.stop.is_set() else self.stop).set()

    def install(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Handle the signals on `loop`; returns what undoes it.

        loop.add_signal_handler is Unix-only: Windows' event loops raise NotImplementedError.
        There the handler is signal.signal's, run in the main thread between bytecodes, which
        hands over to the loop with call_soon_threadsafe.
        """
        names = ("SIGINT", "SIGTERM", "SIGBREAK")  # SIGBREAK: Ctrl-Break, Windows only
        signals = [getattr(signal, name) for name in names if hasattr(signal, name)]
        try:
            for sig in signals:
                loop.add_signal_handler(sig, self.received)
        except NotImplementedError:
            previous = {sig: signal.signal(sig, self._from_main_thread(loop)) for sig in signals}

            def restore() -> None:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

            return restore

        def remove() -> None:
            for sig in signals:
                loop.remove_signal_handler(sig)

        return remove

    def _from_main_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[int, Any], None]:
        def handler(signum: int, frame: Any) -> None:
            loop.call_soon_threadsafe(self.received)

        return handler


def usable_url(host: str, port: int) -> str:
    """The URL to print: a wildcard bind (0.0.0.0, ::) is reached through loopback."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


Announce = Callable[[str, int, str], None]  # (url, port, banner) once the socket listens


def announce_ready(url: str, port: int, text: str) -> None:
    print(text, flush=True)
    # One machine-readable line, so a CI script using --port 0 can learn the port.
    print("MOCKSERVER_READY " + json.dumps({"url": url, "port": port}), flush=True)


async def listen(settings: Settings) -> tuple[web.AppRunner, int]:
    """The app built and listening on its socket (the one set-up `serve` and the in-process
    MockServer share): the runner, and the port (the one picked when settings.port is 0).

    Raises CannotListen (an OSError saying what to do) when the socket cannot be opened.
    """
    runner = web.AppRunner(
        create_app(settings),
        access_log_format=ACCESS_LOG_FORMAT,
        access_log=logging.getLogger("mockserver.access") if settings.access_log else None,
        access_log_class=AccessLogger,
        shutdown_timeout=CLOSE_S,  # shut_down() gives the grace; this is only the last step
        handle_signals=False,
    )
    await runner.setup()
    guard(runner, settings.header_timeout)
    try:
        site = web.TCPSite(
            runner, settings.host, settings.port, reuse_port=settings.reuse_port or None
        )
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise CannotListen(settings.host, settings.port, exc) from exc
    except BaseException:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]


def _settle_garbage_collector() -> None:
    """What start-up built (compiled schemas, fixtures, Faker's word lists, the app) lives as
    long as the server: moved out of the collector's sight (gc.freeze), so the full collections
    that a growing journal sets off do not walk it again and again. Measured here: 3-8% less CPU
    per request (bench/README.md). No gc.collect() first: it would hold READY back ~40 ms, and
    start-up leaves about 0.1 MB of garbage (measured) to be kept for good."""
    gc.freeze()


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, now: asyncio.Event | None = None
) -> AsyncIterator[tuple[web.AppRunner, int]]:
    """The app listening (see `listen`), its files followed with --watch, until the block ends;
    then `shut_down`. The one run of a server that `serve` and the in-process MockServer share.
    """
    runner, port = await listen(settings)
    watcher = asyncio.create_task(watch_sources(runner.app, settings)) if settings.watch else None
    try:
        yield runner, port
    finally:
        if watcher is not None:
            watcher.cancel()
        await shut_down(runner, runner.app, settings.shutdown_timeout, now)


async def serve(settings: Settings, announce: Announce = announce_ready) -> None:
    """Serve until SIGINT/SIGTERM, then stop accepting and let in-flight replies finish.

    A worker of `serve --workers N` announces to its supervisor instead of printing.
    """
    signals = Signals()
    undo = signals.install(asyncio.get_running_loop())  # before READY: a signal right after counts
    try:
        async with serving(settings, signals.now) as (runner, port):
            _settle_garbage_collector()  # this process is the server's (not a test's)
            host = runner.addresses[0][0]
            url = usable_url(host, port)
            announce(url, port, banner(settings, runner.app, url, bound=host))
            await signals.stop.wait()
            busy = runner.app[IN_FLIGHT].count
            if announce is announce_ready:  # a worker's supervisor speaks for it
                print(
                    f"mockserver: shutting down; {busy} repl{'y' if busy == 1 else 'ies'} in "
                    f"flight get up to {settings.shutdown_timeout:g} s (--shutdown-timeout). "
                    "Ctrl-C again: stop now.",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        undo()
