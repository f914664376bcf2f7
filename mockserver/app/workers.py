"""`serve --workers N`: N processes, each a full server, accepting on one port.

The supervisor (this process) reserves the port, spawns the workers, prints one banner and one
MOCKSERVER_READY line when every worker listens, forwards SIGINT/SIGTERM, and restarts a worker
that dies while serving. The kernel spreads connections over the workers (SO_REUSEPORT), and
their state is shared in Redis (--state), so they answer as one mock.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

from mockserver.app.factory import admin_token
from mockserver.app.serving import announce_ready, generated_admin_line
from mockserver.settings import Settings

READY_TIMEOUT_S = 60.0
MAX_RESTARTS = 5  # per worker slot and minute; past it the supervisor gives up


def cpu_count() -> int:
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _reserve(host: str, port: int) -> socket.socket:
    """Bind (without listening) so that --port 0 gives every worker the same free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(settings: Settings, log_format: str, quiet: bool, ready: Any) -> None:
    """A spawned worker: a full server that reports to the supervisor instead of printing."""
    from mockserver.app.serving import serve
    from mockserver.cli.logs import configure
    from mockserver.state.connect import StateConnectError
    from mockserver.stubs.model import FixtureLoadError

    faulthandler.enable()  # a worker that crashes in C (a segfault) says where, on stderr
    _die_with_parent()
    configure(log_format, quiet=quiet)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor sends SIGTERM when it is time

    def announce(url: str, port: int, banner: str) -> None:
        with contextlib.suppress(OSError):  # a restarted worker's supervisor no longer listens
            ready.send((url, port, banner))

    try:
        run(serve(settings, announce), settings.event_loop)
    except (StateConnectError, FixtureLoadError) as exc:
        print(f"mockserver worker {os.getpid()}: {str(exc).splitlines()[0]}", file=sys.stderr)
        raise SystemExit(2) from exc


def _die_with_parent() -> None:
    """A supervisor killed outright (SIGKILL) must not leave workers holding the port."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent was already gone
        raise SystemExit(1)


def run(main: Any, event_loop: str = "asyncio") -> None:
    """asyncio.run, on uvloop when asked for (serve --loop uvloop).

    asyncio stays the default: on the 2-core machine this was built on, uvloop saved the mock no
    CPU per request that could be measured and made its p99 several times worse whenever the
    server did not have its core to itself (bench/README.md, "Event loop").
    """
    import asyncio

    if event_loop != "uvloop":
        asyncio.run(main)
        return
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


class Supervisor:
    def __init__(self, settings: Settings, count: int, log_format: str, quiet: bool) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._settings = settings
        self._count = count
        self._log = (log_format, quiet)
        self._procs: list[BaseProcess] = []
        self._restarts: list[list[float]] = [[] for _ in range(count)]
        self._stopping = False

    def _spawn(self, settings: Settings) -> tuple[BaseProcess, Any]:
        receive, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_worker, args=(settings, *self._log, send), name="mockserver-worker"
        )
        proc.start()
        send.close()
        return proc, receive

    def run(self) -> int:
        reserved = _reserve(self._settings.host, self._settings.port)
        port = reserved.getsockname()[1]
        # Every worker must answer to one admin token: one generated here, not one per worker.
        token = admin_token(self._settings)
        generated = token if token != self._settings.admin_token else None
        self._settings = replace(self._settings, port=port, reuse_port=True, admin_token=token)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        waiting = [self._spawn(self._settings) for _ in range(self._count)]
        self._procs = [proc for proc, _ in waiting]
        first = self._await_ready(waiting)
        reserved.close()
        if first is None:
            self._terminate()
            return max((p.exitcode or 0 for p in self._procs), default=1) or 1
        url, _, banner = first
        banner = banner.replace(
            "  listening  ",
            f"  workers    {self._count} processes sharing port {port}\n  listening  ",
            1,
        )
        if generated is not None:  # the workers were handed it: say what it is, once
            banner = "\n".join(
                "  admin      " + generated_admin_line(generated, self._settings.host)
                if line.startswith("  admin ")
                else line
                for line in banner.split("\n")
            )
        announce_ready(url, port, banner)
        return self._supervise()

    def _await_ready(self, waiting: list[tuple[BaseProcess, Any]]) -> tuple[str, int, str] | None:
        """Wait for every worker to listen; a worker that dies first is said and started again.

        Exit status 2 is a worker that already explained a configuration error (Redis down, a
        broken fixture): starting it again would only repeat it, so the supervisor stops.
        """
        deadline = time.monotonic() + READY_TIMEOUT_S
        first = None
        for slot, (proc, receive) in enumerate(waiting):
            while True:
                announced = self._announcement(proc, receive, deadline)
                receive.close()
                if announced is not None or self._stopping:
                    break
                if time.monotonic() > deadline:
                    _say(f"mockserver: worker {slot} was not ready after {READY_TIMEOUT_S:.0f} s")
                    return None
                _say(f"mockserver: worker {slot} {_died(proc)} before it was ready")
                if proc.exitcode == 2:
                    return None
                if not self._may_restart(slot):
                    _say(f"mockserver: worker {slot} keeps dying before it is ready; stopping")
                    return None
                proc, receive = self._spawn(self._settings)
                self._procs[slot] = proc
            if self._stopping:
                return None
            first = first or announced
        return first

    def _announcement(
        self, proc: BaseProcess, receive: Any, deadline: float
    ) -> tuple[str, int, str] | None:
        while not self._stopping and time.monotonic() <= deadline:
            if receive.poll(0.1):
                with contextlib.suppress(EOFError):
                    announced: tuple[str, int, str] = receive.recv()
                    return announced
                proc.join(1.0)  # the pipe closed: the worker is exiting
                return None
            if not proc.is_alive():
                return None
        return None

    def _may_restart(self, slot: int) -> bool:
        """At most MAX_RESTARTS per worker slot and minute."""
        recent = [t for t in self._restarts[slot] if time.monotonic() - t < 60]
        self._restarts[slot] = [*recent, time.monotonic()]
        return len(recent) < MAX_RESTARTS

    def _supervise(self) -> int:
        while not self._stopping:
            multiprocessing.connection.wait([p.sentinel for p in self._procs], timeout=0.5)
            for slot, proc in enumerate(self._procs):
                if proc.is_alive() or self._stopping:
                    continue
                if not self._may_restart(slot):
                    _say(f"mockserver: worker {slot} keeps dying ({_died(proc)}); stopping")
                    self._terminate()
                    return 1
                _say(f"mockserver: worker {slot} {_died(proc)}; starting another")
                self._procs[slot], receive = self._spawn(self._settings)
                receive.close()
        print("mockserver: shutting down, finishing in-flight replies", file=sys.stderr, flush=True)
        self._terminate()
        return 0

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _terminate(self) -> None:
        for proc in self._procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._settings.shutdown_timeout + 5
        for proc in self._procs:
            proc.join(max(deadline - time.monotonic(), 0))
            if proc.is_alive():
                proc.kill()
                proc.join()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _died(proc: BaseProcess) -> str:
    """'exited with status 1' or 'was killed by SIGKILL'."""
    code = proc.exitcode
    if code is None:
        return "stopped answering"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"
