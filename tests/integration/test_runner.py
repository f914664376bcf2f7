"""MockServer: the mock on its own thread, started and stopped from synchronous code."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mockserver.settings import Settings
from mockserver.stubs.model import FixtureLoadError
from mockserver.testing.runner import MockServer
from tests.support import chat, write_yaml

pytestmark = pytest.mark.timeout(20)


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/__admin/health", timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def refused(url: str) -> bool:
    try:
        health(url)
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)
    return False


def post(
    url: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    answering: threading.Event | None = None,
) -> bytes:
    """POST a chat request; the body. `answering` is set once the reply's headers are in."""
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": "Bearer sk-test",
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        if answering is not None:
            answering.set()
        raw: bytes = response.read()
        return raw


def mock_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mockserver"]


def test_start_and_stop() -> None:
    server = MockServer()
    assert server.start() is server
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.base_url == f"{server.url}/v1"
        assert health(server.url)["status"] == "ok"
        assert len(mock_threads()) == 1
        reply = json.loads(post(server.url, chat("hello")))
        assert reply["object"] == "chat.completion"
        assert server.admin.requests()[0]["body"] == chat("hello")
    finally:
        server.stop()
    assert refused(server.url)
    assert mock_threads() == []


def test_context_manager_and_settings() -> None:
    with MockServer(seed=5, admin_token="t0p") as server:
        assert server.settings.seed == 5
        assert server.settings.port == 0, "a free port unless told otherwise"
        assert server.settings.access_log is False
        assert server.settings.host == "127.0.0.1"
        assert server.admin.token == "t0p"
        assert server.admin.fixtures() == [], "the admin client carries the token"
        url = server.url
    assert refused(url)


def test_overrides_apply_on_top_of_given_settings(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path, "- name: greet\n  match: {last_user: hello}\n  reply: {content: hi}\n"
    )
    base = Settings(port=0, access_log=False, fixture_paths=(path,), seed=1)
    with MockServer(base, seed=2) as server:
        assert server.settings.seed == 2
        assert server.settings.fixture_paths == (path,)
        assert [f["name"] for f in server.admin.fixtures()] == ["greet"]
    assert base.seed == 1, "the caller's settings are not changed"


def test_watch_reloads_edited_fixtures(tmp_path: Path) -> None:
    """MockServer runs a server as serve does: watch=True (--watch) follows the files too."""
    path = write_yaml(tmp_path, "- {name: greet, match: {last_user: hi}, reply: {content: one}}")

    def answer(url: str) -> str:
        content: str = json.loads(post(url, chat("hi")))["choices"][0]["message"]["content"]
        return content

    with MockServer(fixture_paths=(path,), watch=True) as server:
        assert answer(server.url) == "one"
        write_yaml(tmp_path, "- {name: greet, match: {last_user: hi}, reply: {content: two}}")
        deadline = time.monotonic() + 10
        while answer(server.url) != "two":
            if time.monotonic() > deadline:
                pytest.fail("the edited fixture was not loaded within 10 s")
            time.sleep(0.05)


def test_two_servers_side_by_side() -> None:
    with MockServer() as first, MockServer() as second:
        assert first.port != second.port
        post(first.url, chat("to the first"))
        assert len(first.admin.requests()) == 1
        assert second.admin.requests() == [], "each has its own journal"


def test_stop_twice_and_restart() -> None:
    server = MockServer()
    with server:
        first_port = server.port
        server.stop()  # an explicit stop inside the block: __exit__ must not fail
        assert refused(server.url)
    server.stop()
    server.start()
    try:
        assert health(server.url)["status"] == "ok", "a stopped server starts again"
        assert server.admin.requests() == []
    finally:
        server.stop()
    assert first_port > 0


def test_stop_before_start_is_a_no_op() -> None:
    MockServer().stop()


def test_a_broken_fixture_raises_in_the_callers_thread(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path,
        """
        - name: broken
          match: {last_user: {regex: "("}}
          reply: {content: x}
        - name: broken
          reply: {content: y}
        """,
    )
    server = MockServer(fixture_paths=(path,))
    with pytest.raises(FixtureLoadError) as caught:
        server.start()
    problems = [str(p) for p in caught.value.problems]
    assert any("regex" in p for p in problems), problems
    assert all(str(path) in p for p in problems), problems
    assert len(problems) >= 2, "every problem, not only the first"
    assert mock_threads() == [], "no thread left behind"
    server.stop()


def test_a_port_in_use_raises_in_the_callers_thread() -> None:
    with MockServer() as running:
        with pytest.raises(OSError, match="is in use: pick another"):
            MockServer(port=running.port).start()
        assert health(running.url)["status"] == "ok"


def test_stop_lets_an_in_flight_request_finish(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path, "- name: slow\n  match: {last_user: slow}\n  reply: {content: ok}\n"
    )
    server = MockServer(fixture_paths=(path,)).start()
    replies: list[bytes] = []
    errors: list[BaseException] = []

    streaming = threading.Event()

    def slow() -> None:
        try:
            replies.append(post(server.url, chat("slow"), {"X-Mock-Fault": "delay_ms=500"}))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    def slow_stream() -> None:
        try:
            body = chat("slow", stream=True)
            fault = {"X-Mock-Fault": "chunk_ms=80"}
            replies.append(post(server.url, body, fault, answering=streaming))
        except BaseException as exc:
            errors.append(exc)

    clients = [threading.Thread(target=slow), threading.Thread(target=slow_stream)]
    for client in clients:
        client.start()
    assert streaming.wait(5), errors  # the stream has begun; the slow request came in first
    time.sleep(0.05)
    started = time.monotonic()
    server.stop()
    waited = time.monotonic() - started
    for client in clients:
        client.join(timeout=10)
    assert errors == []
    assert len(replies) == 2
    stream, plain = sorted(replies, key=lambda r: r.startswith(b"data: "), reverse=True)
    assert stream.endswith(b"data: [DONE]\n\n"), "the stream was finished, not cut"
    assert json.loads(plain)["object"] == "chat.completion"
    assert waited >= 0.2, "stop() waited for the replies"
    assert refused(server.url)
