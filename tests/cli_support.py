"""A real `python -m mockserver serve` subprocess, and reading its output with deadlines."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

from tests.support import end_process

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 20.0  # a ceiling: 2 cores shared by many processes start slowly


class LineReader:
    """Lines of a subprocess pipe with a deadline, without blocking forever on a silent child."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.fd = pipe.fileno()
        self.buffer = b""
        self.lines: list[str] = []

    def wait_for(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if re.search(pattern, line):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} in {self.lines!r}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            data = os.read(self.fd, 65536)
            if not data:
                raise AssertionError(f"pipe closed before {pattern!r}; got {self.lines!r}")
            self.buffer += data
            *complete, self.buffer = self.buffer.split(b"\n")
            self.lines.extend(line.decode("utf-8", "replace") for line in complete)

    def rest(self, timeout: float = 2.0) -> list[str]:
        """Every line, with what the pipe still holds (for a failure message: the child has
        exited or been killed)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], remaining)
            data = os.read(self.fd, 65536) if ready else b""
            if not data:
                break
            self.buffer += data
        return self.lines + self.buffer.decode("utf-8", "replace").splitlines()


class Server:
    """`python -m mockserver serve ...` in a subprocess, ready once it printed MOCKSERVER_READY."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        program: tuple[str, ...] = ("-m", "mockserver"),
        quiet: bool = True,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *program, "serve", *(["--quiet"] if quiet else []), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.stdout = LineReader(self.proc.stdout)
        self.stderr = LineReader(self.proc.stderr)
        try:
            line = self.stdout.wait_for(r"^MOCKSERVER_READY ", start_timeout)
        except AssertionError as exc:
            code = self.proc.poll()
            if code is None:
                self.proc.kill()
            said = self.stderr.rest()[-20:]
            self.close()  # no caller holds it yet to clean up
            raise AssertionError(f"{exc}; exit status {code}; stderr: {said!r}") from exc
        self.ready: dict[str, Any] = json.loads(line.removeprefix("MOCKSERVER_READY "))
        self.port: int = self.ready["port"]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        raw: bytes | None = None,
        timeout: float = 10,
    ) -> Answer:
        """One request on its own connection (a JSON body, or `raw` bytes); an error status
        is an answer too. Its body is JSON, or text when it is not JSON."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data, dict(headers or {}), method=method)
        if data is not None and not request.has_header("Content-type"):
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(
                    response.status, dict(response.headers), json_or_text(response.read())
                )
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, dict(error.headers), json_or_text(error.read()))

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        with urllib.request.urlopen(f"{self.ready['url']}{path}", timeout=5) as response:
            status: int = response.status
            body: dict[str, Any] = json.loads(response.read())
            return status, body

    @property
    def url(self) -> str:
        url: str = self.ready["url"]
        return url

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        end_process(self.proc)


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: Any


def json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_mockserver(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """`python -m mockserver ARGS` run to its end (a command that exits, or a serve that must
    refuse to start): its exit status and text output."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
