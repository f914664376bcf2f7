"""The fake gateway (tests/gateway) as a real process on loopback, shared by the upstream tests;
and `servers`, which closes the `serve` subprocesses a test started."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli_support import ROOT, START_TIMEOUT, LineReader, Server
from tests.support import end_process


class Gateway:
    """`python -m tests.gateway` in a subprocess; its state is reset for each test."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = LineReader(self.proc.stdout).wait_for(r"^GATEWAY_READY ", START_TIMEOUT)
        self.port: int = json.loads(line.removeprefix("GATEWAY_READY "))["port"]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def mode(self, **mode: Any) -> None:
        """Drift (added_field | no_usage | changed_type), busy (429s to send); forgets requests."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/__gateway/mode",
            data=json.dumps(mode).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def seen(self) -> list[dict[str, Any]]:
        """What each chat request carried: its Authorization and body."""
        url = f"http://127.0.0.1:{self.port}/__gateway/seen"
        with urllib.request.urlopen(url, timeout=5) as response:
            seen: list[dict[str, Any]] = json.loads(response.read())["requests"]
            return seen

    def max_in_flight(self) -> int:
        """The most chat requests it was answering at once since the last mode()."""
        url = f"http://127.0.0.1:{self.port}/__gateway/seen"
        with urllib.request.urlopen(url, timeout=5) as response:
            most: int = json.loads(response.read())["max_in_flight"]
            return most

    def close(self) -> None:
        end_process(self.proc)


@pytest.fixture(scope="session")
def gateway_process() -> Iterator[Gateway]:
    gateway = Gateway()
    yield gateway
    gateway.close()


@pytest.fixture
def gateway(gateway_process: Gateway) -> Gateway:
    gateway_process.mode()
    return gateway_process


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Started servers are killed at the end whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.close()
