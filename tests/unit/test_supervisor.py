"""The `serve --workers N` supervisor, run in this process (its workers are real spawned
processes): one port for all, a killed worker replaced, SIGTERM ends them all."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mockserver.app.platforms import reuse_port_balances
from mockserver.app.workers import Supervisor, cpu_count
from mockserver.resources import bundled
from mockserver.settings import Settings
from tests.redis_server import REDIS, RedisServer

pytestmark = [
    pytest.mark.skipif(REDIS is None, reason="redis-server is not installed"),
    pytest.mark.skipif(not reuse_port_balances(), reason="SO_REUSEPORT: Linux only"),
    pytest.mark.timeout(120),
]


def health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=2) as r:
            found: dict[str, object] = json.loads(r.read())
            return found
    except OSError:
        return None


def test_supervisor_serves_replaces_and_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cpu_count() >= 1
    redis = RedisServer(tmp_path)
    settings = Settings(
        fixture_paths=(bundled("fixtures"),), state_url=redis.url, port=0, access_log=False
    )
    supervisor = Supervisor(settings, 2, "text", True)
    seen: dict[str, object] = {}

    def drive() -> None:
        try:
            deadline = time.monotonic() + 60
            while supervisor._settings.port == 0 or len(supervisor._procs) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            port = supervisor._settings.port
            pids: set[object] = set()
            while len(pids) < 2:  # both workers answer on the one port
                assert time.monotonic() < deadline
                found = health(port)
                if found is not None:
                    pids.add(found["pid"])
            victim = supervisor._procs[0]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            while supervisor._procs[0] is victim or not supervisor._procs[0].is_alive():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            fresh: set[object] = set()
            while supervisor._procs[0].pid not in fresh:  # the replacement serves too
                assert time.monotonic() < deadline
                found = health(port)
                if found is not None:
                    fresh.add(found["pid"])
            seen["ok"] = True
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # the supervisor's handler: stop everything

    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=drive)
    thread.start()
    try:
        assert supervisor.run() == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        thread.join(timeout=30)
        redis.kill()
    assert seen.get("ok") is True
    assert all(not p.is_alive() for p in supervisor._procs), "every worker stopped"
    out = capsys.readouterr()
    assert out.out.count("MOCKSERVER_READY") == 1, "one readiness line for all workers"
    assert "workers    2 processes sharing port" in out.out
    assert "worker 0 was killed by SIGKILL; starting another" in out.err
