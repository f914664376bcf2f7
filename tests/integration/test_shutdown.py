"""Stopping a real `mockserver serve` process with replies in flight (issue #12.1, #17.1).

In-flight replies get at most --shutdown-timeout; then a stream ends with an error event and
[DONE] and is journaled as cut by shutdown. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from mockserver.app.serving import CLOSE_S, CUT_GRACE_S
from tests.cli_support import ROOT, Server

pytestmark = pytest.mark.timeout(30)
SLOW = "chunk_ms=300"  # a default reply streams for many seconds at this pace
BODY = json.dumps(
    {
        "model": "gpt-4o",
        "stream": True,
        "messages": [{"role": "user", "content": "写一段很长的介绍"}],
        "max_tokens": 400,
    }
)


class OpenStream:
    """A streamed chat completion, read line by line as it arrives."""

    def __init__(self, server: Server, fault: str = SLOW) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        headers = {
            "Authorization": "Bearer sk-test",
            "Content-Type": "application/json",
            "X-Mock-Fault": fault,
        }
        self.conn.request("POST", "/v1/chat/completions", BODY, headers)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        self.events: list[str] = []

    def read_events(self, count: int) -> None:
        while len(self.events) < count:
            self.events.append(self._next())

    def read_to_end(self) -> list[str]:
        while not self.events or self.events[-1] != "[DONE]":
            event = self._next()
            if not event:
                break
            self.events.append(event)
        self.response.close()
        self.conn.close()
        return self.events

    def _next(self) -> str:
        while True:
            line = self.response.readline()
            if not line:
                return ""
            text = line.decode().strip()
            if text.startswith("data: "):
                return text.removeprefix("data: ")


def assert_cut_by_shutdown(events: list[str]) -> None:
    assert events[-1] == "[DONE]", events[-3:]
    error = json.loads(events[-2])["error"]
    assert (error["type"], error["code"]) == ("server_error", "server_shutting_down")
    assert not any('"finish_reason":"stop"' in e.replace(" ", "") for e in events), "it was cut"


def journaled(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("timeout", [0.0, 1.5])
def test_shutdown_timeout_cuts_a_slow_stream(
    servers: list[Server], tmp_path: Path, timeout: float
) -> None:
    journal = tmp_path / "run.jsonl"
    server = Server(
        "--port", "0", "--shutdown-timeout", str(timeout), "--journal-file", str(journal)
    )
    servers.append(server)
    stream = OpenStream(server)
    stream.read_events(2)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    events = stream.read_to_end()
    cut_after = time.monotonic() - started
    assert server.proc.wait(timeout=10) == 0
    stopped_after = time.monotonic() - started
    assert_cut_by_shutdown(events)
    # Upper bounds with room for a loaded machine; before, 0 meant the whole stream (~40 s).
    assert timeout <= cut_after < timeout + 3.0, cut_after
    assert stopped_after < timeout + 5.0, stopped_after
    (entry,) = journaled(journal)
    assert (entry["cut_by_shutdown"], entry["client_hung_up"]) == (True, False)
    assert entry["status"] == 200


def test_a_second_ctrl_c_stops_at_once(servers: list[Server]) -> None:
    server = Server("--port", "0", "--shutdown-timeout", "30")
    servers.append(server)
    stream = OpenStream(server)
    stream.read_events(2)
    server.proc.send_signal(signal.SIGINT)
    server.stderr.wait_for("shutting down", 5)
    time.sleep(0.3)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 4.0, "not the 30 s timeout"
    assert_cut_by_shutdown(stream.read_to_end())


def test_sigterm_cuts_many_streams_within_the_timeout(servers: list[Server]) -> None:
    server = Server("--port", "0", "--shutdown-timeout", "1")
    servers.append(server)
    streams = [OpenStream(server) for _ in range(20)]
    for stream in streams:
        stream.read_events(1)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 6.0
    for stream in streams:
        assert_cut_by_shutdown(stream.read_to_end())


# Windows' event loops have no add_signal_handler: simulate that on Linux, then serve.
NO_SIGNAL_HANDLERS = (
    "-c",
    "import asyncio, sys\n"
    "def refuse(self, *args):\n"
    "    raise NotImplementedError\n"
    "asyncio.SelectorEventLoop.add_signal_handler = refuse\n"
    "from mockserver.cli import run\n"
    "sys.argv[0] = 'mockserver'\n"
    "run()\n",
)


def test_without_add_signal_handler_ctrl_c_still_drains(servers: list[Server]) -> None:
    server = Server("--port", "0", "--shutdown-timeout", "5", program=NO_SIGNAL_HANDLERS)
    servers.append(server)
    stream = OpenStream(server, fault="chunk_ms=20")  # done well within the timeout
    stream.read_events(2)
    server.proc.send_signal(signal.SIGINT)
    server.stderr.wait_for("shutting down", 5)
    events = stream.read_to_end()
    assert server.proc.wait(timeout=10) == 0
    assert events[-1] == "[DONE]"
    assert '"finish_reason"' in events[-2], "the stream was finished, not cut"


def test_without_add_signal_handler_the_timeout_still_cuts(servers: list[Server]) -> None:
    server = Server("--port", "0", "--shutdown-timeout", "0.5", program=NO_SIGNAL_HANDLERS)
    servers.append(server)
    stream = OpenStream(server)
    stream.read_events(2)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert_cut_by_shutdown(stream.read_to_end())
    assert server.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 6.0


def test_the_image_stops_within_docker_stops_grace() -> None:
    """docker stop kills 10 s after SIGTERM: the image's timeout plus the cut must fit."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"MOCKSERVER_SHUTDOWN_TIMEOUT=(\d+(?:\.\d+)?)", dockerfile)
    assert found is not None
    assert float(found[1]) + CUT_GRACE_S + CLOSE_S + 1.0 < 10.0
