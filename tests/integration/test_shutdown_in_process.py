"""Shutdown, start-up errors and signals inside this process (the subprocess tests in
test_shutdown.py and test_cli_errors.py are the user's view; these reach the same code where
coverage sees it, and run in a fraction of the time)."""

from __future__ import annotations

import asyncio
import errno
import http.client
import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from mockserver.app.factory import create_app
from mockserver.app.serving import CannotListen, Signals, banner, serve, usable_url
from mockserver.app.state import IN_FLIGHT, STATE
from mockserver.cli.console import run
from mockserver.cli.main import main
from mockserver.settings import Settings
from mockserver.testing.runner import MockServer
from tests.conftest import AUTH
from tests.support import CHAT, VALID_BODY

pytestmark = pytest.mark.timeout(30)
BODY = json.dumps(
    {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "讲讲历史"}]}
)


def test_stopping_mockserver_cuts_a_slow_stream_after_the_timeout() -> None:
    server = MockServer(Settings(port=0, access_log=False, shutdown_timeout=0.2)).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {
        "Authorization": "Bearer sk",
        "Content-Type": "application/json",
        "X-Mock-Fault": "chunk_ms=300",
    }
    conn.request("POST", "/v1/chat/completions", BODY, headers)
    response = conn.getresponse()
    response.readline()
    stopper = threading.Thread(target=server.stop)
    started = time.monotonic()
    stopper.start()
    lines = [line.strip() for line in response.read().decode().splitlines() if line.strip()]
    stopper.join()
    conn.close()
    assert time.monotonic() - started < 5
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2].removeprefix("data: "))["error"]["code"] == "server_shutting_down"


def test_a_delayed_json_reply_is_a_503_when_cut(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    settings = Settings(port=0, access_log=False, shutdown_timeout=0.1, journal_file=journal)
    server = MockServer(settings).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    headers = {
        "Authorization": "Bearer sk",
        "Content-Type": "application/json",
        "X-Mock-Fault": "delay_ms=20000",
    }
    conn.request("POST", "/v1/chat/completions", body, headers)
    time.sleep(0.3)  # the request is waiting out its delay
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    response = conn.getresponse()
    error = json.loads(response.read())["error"]
    stopper.join()
    conn.close()
    assert response.status == 503
    assert error["code"] == "server_shutting_down"
    [entry] = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert (entry["status"], entry["cut_by_shutdown"], entry["client_hung_up"]) == (
        503,
        True,
        False,
    )


def test_a_port_in_use_is_one_line_saying_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotListen, match=f"port {port} is in use: pick another") as caught:
            asyncio.run(serve(Settings(port=port, access_log=False)))
    assert caught.value.errno == errno.EADDRINUSE


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (socket.gaierror(-2, "Name or service not known"), "neither an IP address"),
        (OSError(errno.EACCES, "Permission denied"), "needs privileges here"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign"), "not an address of this machine"),
        (OSError(errno.EMFILE, "Too many open files"), "Too many open files"),
    ],
)
def test_cannot_listen_messages(error: OSError, expected: str) -> None:
    message = str(CannotListen("example.invalid", 80, error))
    assert expected in message
    assert "\n" not in message


def test_usable_url_and_banner() -> None:
    assert usable_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert usable_url("::", 8080) == "http://[::1]:8080"
    assert usable_url("::1", 9) == "http://[::1]:9"
    settings = Settings(models=("gpt-4o",), pace="realistic", api_keys=frozenset({"sk-1"}))
    text = banner(settings, create_app(settings), "http://127.0.0.1:8080", bound="0.0.0.0")
    assert "bound to 0.0.0.0" in text
    assert "gpt-4o; any other gets 404 model_not_found" in text
    assert "pace       realistic" in text
    assert "1 accepted key(s)" in text


def test_signals_first_stops_second_stops_now() -> None:
    signals = Signals()
    signals.received()
    assert (signals.stop.is_set(), signals.now.is_set()) == (True, False)
    signals.received()
    assert signals.now.is_set()


def test_without_add_signal_handler_signal_signal_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows' event loops raise NotImplementedError: the handlers go through signal.signal."""

    def refuse(*args: object) -> None:
        raise NotImplementedError

    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "add_signal_handler", refuse)
        before = signal.getsignal(signal.SIGTERM)
        signals = Signals()
        undo = signals.install(loop)
        try:
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(signals.stop.wait(), 5)
        finally:
            undo()
        return signals.stop.is_set(), signal.getsignal(signal.SIGTERM) == before

    assert asyncio.run(scenario()) == (True, True)


def test_usage_errors_are_one_line_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["serve", "--api-key", "Bearer sk-1"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("Error: Invalid value for --api-key")
    assert err[0].endswith("(see 'mockserver serve --help')")


def test_run_returns_the_commands_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["--version"])
    assert caught.value.code == 0
    assert "mockserver" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--models", ",, "], "--models names no model"),
        (["--admin-token", "a\tb"], "spaces or control characters"),
        (["--shutdown-timeout", "nan"], "must be a number of seconds"),
    ],
)
def test_serve_refuses_before_listening(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert expected in result.output


def test_an_unwritable_journal_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--journal-file", str(blocker / "j.jsonl")])
    assert result.exit_code == 2
    assert "cannot write the journal file" in result.output


async def test_a_journal_that_fails_loses_the_entry_not_the_reply_nor_the_count(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A journal write that fails (the journal file's disk full) left the request counted as
    in flight for good, so graceful shutdown waited out its whole timeout (found by review)."""
    app = client.app
    assert app is not None

    async def failing(event: Any) -> None:
        raise OSError("journal file: disk full")

    app[STATE].record = failing
    response = await client.post(CHAT, json=VALID_BODY, headers=AUTH)
    assert response.status == 200, await response.text()
    assert app[IN_FLIGHT].count == 0
    assert "not journaled" in caplog.text
