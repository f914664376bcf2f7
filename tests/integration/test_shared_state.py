"""What users observe stays one mock across processes: the same cases run against one in-memory
server and against `mockserver serve --workers 3 --state redis://...` (real subprocesses, a real
redis-server), every request on a fresh connection so the kernel spreads them over the workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mockserver.wire.faults import Chaos
from tests.cli_support import ROOT, Answer, LineReader, Server, run_mockserver
from tests.redis_server import REDIS, RedisServer
from tests.support import assert_openai_error, end_process

pytestmark = [
    pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (.ci/run installs it)"),
    pytest.mark.timeout(90),
]
START_TIMEOUT = 45.0  # three spawned workers on a busy 2-core machine
RPM = 4


class Mock(Server):
    """`python -m mockserver serve --port 0 ...`, ready once it printed MOCKSERVER_READY."""

    def __init__(self, *args: str) -> None:
        super().__init__("--port", "0", *args, start_timeout=START_TIMEOUT)

    def chat(self, text: str, key: str = "sk-test", timeout: float = 10) -> Answer:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
        headers = {"Authorization": f"Bearer {key}"}
        return self.call("POST", "/v1/chat/completions", body, headers, timeout=timeout)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        return super().stop(sig, timeout)  # three workers drain before the supervisor exits

    def close(self) -> None:
        if self.proc.poll() is None:
            self.stop()
        super().close()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.kill()


@pytest.fixture(scope="module", params=["memory", "3 workers"])
def served(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Mock]:
    args = ["--rpm", str(RPM), "--seed", "1"]
    if request.param == "3 workers":
        args += ["--workers", "3", "--state", redis_server.url]
    server = Mock(*args)
    yield server
    assert server.stop() == 0
    server.close()


@pytest.fixture
def mock(served: Mock) -> Mock:
    """The module's server (in memory, or 3 workers sharing Redis), reset for each test."""
    assert served.call("POST", "/__admin/reset")[0] == 200
    return served


def keyed() -> str:
    """A key of its own per test: rate budgets are per key and outlive /__admin/reset."""
    return f"sk-{uuid.uuid4().hex}"


def content(reply: Any) -> str:
    text: str = reply["choices"][0]["message"]["content"]
    return text


def test_workers_share_the_port(mock: Mock) -> None:
    pids = {mock.call("GET", "/__admin/health")[2]["pid"] for _ in range(30)}
    if mock.call("GET", "/__admin/health")[2]["state"]["backend"] == "redis":
        assert len(pids) >= 2, "fresh connections reach more than one worker"
    else:
        assert len(pids) == 1


def test_scenario_steps_in_order_across_workers(mock: Mock) -> None:
    fixture = {
        "name": "checkout",
        "match": {"last_user": "checkout"},
        "reply": {
            "sequence": [{"content": "one"}, {"content": "two"}, {"content": "three"}],
            "after_last": "error",
        },
    }
    assert mock.call("POST", "/__admin/fixtures", fixture)[0] == 201
    replies = [mock.chat("checkout", keyed()) for _ in range(4)]
    assert [content(r[2]) for r in replies[:3]] == ["one", "two", "three"]
    status, _, body = replies[3]
    assert status == 500
    assert assert_openai_error(body)["type"] == "mock_scenario_exhausted"
    listed = mock.call("GET", "/__admin/fixtures/checkout")[2]
    assert listed["calls"] == 4


def test_times_holds_under_concurrent_requests(mock: Mock) -> None:
    fixture = {
        "name": "twice",
        "times": 2,
        "match": {"last_user": "race"},
        "reply": {"content": "won"},
    }
    assert mock.call("POST", "/__admin/fixtures", fixture)[0] == 201
    key = keyed()
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: mock.chat("race", key), range(RPM)))
    assert all(status == 200 for status, _, _ in replies), replies
    won = [r for r in replies if r[1].get("X-Mock-Matched") == "twice"]
    assert len(won) == 2, "each of `times` is used once, whichever worker answers"
    assert {content(r[2]) for r in won} == {"won"}
    assert mock.call("GET", "/__admin/fixtures/twice")[2]["calls"] == 2


def test_journal_is_one_across_workers(mock: Mock) -> None:
    keys = [keyed() for _ in range(9)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda k: mock.chat(f"note {k[-6:]}", k), keys))
    ids = {r[2]["id"] for r in replies}
    assert len(ids) == 9
    listed = mock.call("GET", "/__admin/requests?limit=100")[2]["requests"]
    assert len(listed) == 9
    assert {e["body"]["messages"][0]["content"] for e in listed} == {f"note {k[-6:]}" for k in keys}
    # No fault was asked for: a worker's settings arrive pickled, and used to journal `""` here.
    assert {e["fault"] for e in listed} == {None}
    assert all(
        e["headers"]["Authorization"].endswith("****") or "*" in e["headers"]["Authorization"]
        for e in listed
    )
    first = listed[-1]
    status, _, entry = mock.call("GET", f"/__admin/requests/{first['id']}")
    assert status == 200
    assert entry["response"]["id"] in ids
    count = mock.call("POST", "/__admin/requests/count", {"last_user": f"note {keys[0][-6:]}"})
    assert count[2]["count"] == 1
    assert mock.call("GET", "/__admin/health")[2]["requests"] == 9
    assert mock.call("DELETE", "/__admin/requests")[0] == 200
    assert mock.call("GET", "/__admin/requests")[2]["requests"] == []


def every_worker_counts(mock: Mock, fixtures: int) -> set[int]:
    """Health on fresh connections until every worker seen reports `fixtures` loaded: health
    reads the worker's own set, which pub/sub announcements update (no Redis read)."""
    deadline = time.monotonic() + 10
    pids: dict[int, int] = {}
    while time.monotonic() < deadline:
        health = mock.call("GET", "/__admin/health")[2]
        pids[health["pid"]] = health["fixtures"]
        if len(pids) >= 2 and set(pids.values()) == {fixtures}:
            return set(pids)
        time.sleep(0.05)
    raise AssertionError(f"workers did not all apply the change: {pids}")


def test_admin_changes_reach_every_worker_at_once(mock: Mock) -> None:
    before = mock.call("GET", "/__admin/health")[2]["fixtures"]
    fixture = {"name": "greet", "match": {"last_user": "hello there"}, "reply": {"content": "v1"}}
    assert mock.call("POST", "/__admin/fixtures", fixture)[0] == 201
    if mock.call("GET", "/__admin/health")[2]["state"]["backend"] == "redis":
        assert len(every_worker_counts(mock, before + 1)) >= 2, "announced to every worker"
    assert mock.call("POST", "/__admin/fixtures", fixture)[0] == 409, "the name is taken everywhere"
    # Every following request may land on any worker: each must already see the change.
    assert {content(mock.chat("hello there", keyed())[2]) for _ in range(3)} == {"v1"}
    fixture["reply"] = {"content": "v2"}
    assert mock.call("PUT", "/__admin/fixtures/greet", fixture)[0] == 200
    assert {content(mock.chat("hello there", keyed())[2]) for _ in range(3)} == {"v2"}
    names = {f["name"]: f for f in mock.call("GET", "/__admin/fixtures")[2]["fixtures"]}
    assert names["greet"]["calls"] == 3
    assert mock.call("POST", "/__admin/fixtures/greet/reset")[0] == 200
    assert mock.call("GET", "/__admin/fixtures/greet")[2]["calls"] == 0
    assert mock.call("DELETE", "/__admin/fixtures/greet")[0] == 200
    for _ in range(3):
        status, headers, _ = mock.chat("hello there", keyed())
        assert status == 200
        assert "X-Mock-Matched" not in headers
        assert mock.call("GET", "/__admin/fixtures/greet")[0] == 404
    assert mock.call("POST", "/__admin/reset")[2]["reset"] is True


def test_repeated_requests_follow_admin_changes_on_every_worker(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Without --rpm each worker answers a repeated request from its first reply's bytes
    (replies/repeats.py): a change made through any worker must still reach every repeat."""
    fixtures = tmp_path / "once.yaml"
    fixtures.write_text(
        "- name: once\n  times: 1\n  match: {last_user: count me}\n"
        "  reply: {content: the fixture answered}\n"
    )
    server = Mock("--workers", "3", "--state", redis_server.url, "--fixtures", str(fixtures))
    try:
        assert server.call("POST", "/__admin/reset")[0] == 200
        assert content(server.chat("count me")[2]) == "the fixture answered"
        # Enough that every worker has answered (and kept) the used-up request at least once.
        used_up = {content(server.chat("count me")[2]) for _ in range(30)}
        assert len(used_up) == 1, "generated, alike"
        assert "the fixture answered" not in used_up
        assert server.call("POST", "/__admin/fixtures/once/reset")[0] == 200  # counters only
        after = [content(server.chat("count me")[2]) for _ in range(3)]
        assert after.count("the fixture answered") == 1, after
        generated = {content(server.chat("otters?")[2]) for _ in range(6)}
        assert len(generated) == 1
        fixture = {"name": "otters", "match": {"last_user": "otters?"}, "reply": {"content": "v1"}}
        assert server.call("POST", "/__admin/fixtures", fixture)[0] == 201
        assert {content(server.chat("otters?")[2]) for _ in range(6)} == {"v1"}
    finally:
        assert server.stop() == 0
        server.close()


def test_a_fixture_that_answers_alike_never_races(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Workers claimed every use of a fixture step by compare-and-set, so concurrent uses of
    one plain fixture raced and about 1 in 60 got a 503 (found by review). A fixture whose
    every use is the same step is now only counted."""
    fixtures = tmp_path / "plain.yaml"
    fixtures.write_text("- name: plain\n  match: {last_user: busy}\n  reply: {content: ok}\n")
    server = Mock("--workers", "3", "--state", redis_server.url, "--fixtures", str(fixtures))
    try:
        assert server.call("POST", "/__admin/reset")[0] == 200
        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(lambda _: server.chat("busy")[0], range(240)))
        assert statuses.count(200) == 240, {s: statuses.count(s) for s in set(statuses)}
        assert server.call("GET", "/__admin/fixtures/plain")[2]["calls"] == 240
    finally:
        assert server.stop() == 0
        server.close()


def test_rate_budget_is_one_across_workers(mock: Mock) -> None:
    key = keyed()
    replies = [mock.chat("budget", key) for _ in range(RPM + 2)]
    assert [status for status, _, _ in replies] == [200] * RPM + [429, 429]
    remaining = [int(h["x-ratelimit-remaining-requests"]) for _, h, _ in replies[:RPM]]
    assert remaining == list(range(RPM - 1, -1, -1))
    _, headers, body = replies[-1]
    assert assert_openai_error(body)["code"] == "rate_limit_exceeded"
    assert 1 <= int(headers["retry-after"]) <= 60
    assert mock.chat("budget", keyed())[0] == 200, "another key has its own budget"


def test_chaos_draws_are_one_sequence_across_workers(redis_server: RedisServer) -> None:
    chaos = ("--chaos-rate", "0.5", "--seed", "7", "--loop", "uvloop")  # workers on uvloop too
    server = Mock("--workers", "3", "--state", redis_server.url, *chaos)
    try:
        statuses = [server.chat("chaos")[0] for _ in range(16)]
    finally:
        assert server.stop() == 0
        server.close()
        redis_server.flush()
    expected = Chaos(0.5, 503, 7)
    assert statuses == [expected.draw().status or 200 for _ in range(16)]


def _workers(pid: int) -> list[int]:
    """The workers `pid` spawned (from Linux /proc; not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return sorted(c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes())


def test_a_worker_that_dies_before_it_is_ready_is_said_and_replaced(
    redis_server: RedisServer,
) -> None:
    args = ["serve", "--quiet", "--port", "0", "--workers", "2", "--state", redis_server.url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    stdout, stderr = LineReader(proc.stdout), LineReader(proc.stderr)
    try:
        deadline = time.monotonic() + 10
        while not (workers := _workers(proc.pid)):
            assert time.monotonic() < deadline, "the supervisor started no worker"
            time.sleep(0.005)
        os.kill(workers[0], signal.SIGKILL)  # long before it has imported aiohttp
        stdout.wait_for(r"^MOCKSERVER_READY ", START_TIMEOUT)
        said = stderr.wait_for(r"^mockserver: worker \d ", 5)
        assert said.endswith("was killed by SIGKILL before it was ready"), said
        assert len(set(_workers(proc.pid)) - set(workers)) >= 1, "a new worker took its place"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        end_process(proc)


def test_a_server_stopped_right_after_start_stops_at_once(redis_server: RedisServer) -> None:
    """redis-py 8.1 could swallow the change listener's cancellation: about half the servers
    stopped right after start waited out the whole --shutdown-timeout (30 s)."""
    for _ in range(4):
        server = Server("--port", "0", "--state", redis_server.url)
        try:
            assert server.stop(timeout=5) == 0
        finally:
            server.close()


def test_redis_lost_and_back(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    server = Mock("--workers", "2", "--state", redis.url)
    try:
        assert server.chat("before")[0] == 200
        redis.kill()
        started = time.monotonic()
        status, headers, body = server.chat("during", timeout=15)
        assert time.monotonic() - started < 5, "never a hung request"
        assert status == 503
        assert assert_openai_error(body)["code"] == "state_unavailable"
        assert headers["retry-after"] == "1"
        status, _, health = server.call("GET", "/__admin/health")
        assert status == 503
        assert health["status"] == "degraded"
        assert health["state"]["reachable"] is False
        redis.start()
        deadline = time.monotonic() + 15
        while server.chat("after")[0] != 200:
            assert time.monotonic() < deadline, "reconnects by itself"
            time.sleep(0.2)
        assert server.call("GET", "/__admin/health")[2]["status"] == "ok"
        before = server.call("GET", "/__admin/health")[2]["fixtures"]
        fixture = {"name": "late", "match": {"last_user": "late"}, "reply": {"content": "x"}}
        assert server.call("POST", "/__admin/fixtures", fixture)[0] == 201
        every_worker_counts(server, before + 1)  # the listeners subscribed again
        assert {content(server.chat("late")[2]) for _ in range(4)} == {"x"}
    finally:
        server.close()
        redis.kill()
    assert "Traceback" not in "\n".join(server.stderr.lines)


def test_unreachable_redis_is_one_line(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    url = redis.url
    redis.kill()
    result = run_mockserver("serve", "--port", "0", "--state", url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: cannot reach Redis for --state")
    assert "MOCKSERVER_READY" not in result.stdout


def test_workers_need_shared_state() -> None:
    result = run_mockserver("serve", "--port", "0", "--workers", "2")
    assert result.returncode == 2
    assert "--workers 2 needs --state redis://" in result.stderr
