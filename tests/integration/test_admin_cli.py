"""The CI side of the command line: `serve --port 0` readiness, JSON logs, the journal file across
SIGTERM (real subprocesses), and `mockserver requests` / `mockserver report` against a server."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mockserver.cli.main import main
from mockserver.testing.runner import MockServer
from tests.cli_support import ROOT, START_TIMEOUT, LineReader, free_port
from tests.support import chat, end_process, write_yaml

pytestmark = pytest.mark.timeout(30)
SECRET = "sk-proj-Zq8vT3kW9mN2xR7pL4sJ6hB1"
FIXTURES = """
- name: greet
  match: {last_user: hello}
  reply: {content: greet says hi}
- name: weather
  match: {tools: [get_weather]}
  reply: {content: weather says sunny}
- name: counter
  match: {last_user: count}
  reply: {content: counted}
"""
TOKEN = "t0p"


class Served:
    """`python -m mockserver serve --port 0 ARGS` in a subprocess, ready after MOCKSERVER_READY."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.stdout = LineReader(self.proc.stdout)
        self.stderr = LineReader(self.proc.stderr)
        self.ready: dict[str, Any] = {}
        self.port = 0

    def wait_ready(self) -> Served:
        line = self.stdout.wait_for(r"^MOCKSERVER_READY ", START_TIMEOUT)
        self.ready = json.loads(line.removeprefix("MOCKSERVER_READY "))
        self.port = self.ready["port"]
        return self

    @property
    def url(self) -> str:
        url: str = self.ready["url"]
        return url

    def post(
        self, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[str, int, bytes]:
        """POST a chat request; its x-request-id, status and body (errors included)."""
        request = urllib.request.Request(
            f"{self.url}/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": "Bearer sk-test",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.headers["x-request-id"], response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.headers["x-request-id"], exc.code, exc.read()

    def stop(self) -> tuple[int, list[str], list[str]]:
        """SIGTERM; the exit code and every stdout and stderr line."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        self.stdout.lines += (self.stdout.buffer + out).decode().splitlines()
        self.stderr.lines += (self.stderr.buffer + err).decode().splitlines()
        return self.proc.returncode, self.stdout.lines, self.stderr.lines

    def close(self) -> None:
        end_process(self.proc)


@pytest.fixture
def started() -> Iterator[list[Served]]:
    servers: list[Served] = []
    yield servers
    for server in servers:
        server.close()


# --- 4. serve --port 0 -------------------------------------------------------------------------


def test_port_0_ready_line_and_two_servers_side_by_side(started: list[Served]) -> None:
    first, second = Served("--quiet"), Served("--quiet")  # both starting at once
    started += [first, second]
    first.wait_ready()
    second.wait_ready()
    assert first.port != second.port
    for server in (first, second):
        assert set(server.ready) == {"url", "port"}
        assert isinstance(server.port, int)
        assert 0 < server.port < 65536
        assert server.url == f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(f"{server.url}/__admin/health", timeout=5) as response:
            assert json.loads(response.read())["status"] == "ok"
    assert first.post(chat("hello"))[1] == 200
    for server in (first, second):
        code, out, _ = server.stop()
        assert code == 0
        ready = [line for line in out if "MOCKSERVER_READY" in line]
        assert len(ready) == 1, out
        assert ready[0].startswith("MOCKSERVER_READY {")


def test_json_logs_one_line_per_request(started: list[Served], tmp_path: Path) -> None:
    path = write_yaml(tmp_path, FIXTURES)
    server = Served("--log-format", "json", "--fixtures", str(path))
    started.append(server)
    server.wait_ready()
    sent = {
        "greet": server.post(chat("hello")),
        "generated": server.post(chat("nothing scripted")),
        "invalid": server.post(chat("hello", temperature=9)),
    }
    assert [status for _, status, _ in sent.values()] == [200, 200, 400]
    for request_id, _, _ in sent.values():
        server.stderr.wait_for(request_id, 5)
    code, _, err = server.stop()
    assert code == 0
    entries = []
    for line in err:
        if line.startswith("mockserver: shutting down"):
            continue  # the shutdown notice, printed after the last request
        entries.append(json.loads(line))  # every log line is one JSON object
    for expected_fixture, (request_id, status, _) in zip(
        ["greet", "generated", "-"], sent.values(), strict=True
    ):
        mine = [e for e in entries if e.get("request_id") == request_id]
        assert len(mine) == 1, (request_id, entries)
        entry = mine[0]
        assert entry["fixture"] == expected_fixture
        assert entry["status"] == status
        assert isinstance(entry["duration_ms"], float)
        assert entry["duration_ms"] > 0
        assert entry["level"] == "info"
        assert (entry["method"], entry["path"]) == ("POST", "/v1/chat/completions")


def test_journal_file_survives_sigterm(started: list[Served], tmp_path: Path) -> None:
    journal = tmp_path / "ci" / "run.jsonl"
    journal.parent.mkdir()
    fixtures = write_yaml(tmp_path, FIXTURES)
    server = Served(
        "--quiet",
        "--journal-file",
        str(journal),
        "--shutdown-timeout",
        "5",
        "--fixtures",
        str(fixtures),
    )
    started.append(server)
    server.wait_ready()
    ids = [server.post(chat(f"message {n}"))[0] for n in range(3)]
    ids.append(server.post(chat("secret"), {"Authorization": f"Bearer {SECRET}"})[0])
    # A stream still in flight when SIGTERM arrives: it finishes, and so does its line.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(
            "POST",
            "/v1/chat/completions",
            body=json.dumps(chat("hello", stream=True)),  # greet: a short stream
            headers={
                "Authorization": "Bearer sk-test",
                "Content-Type": "application/json",
                "X-Mock-Fault": "chunk_ms=40",
            },
        )
        response = conn.getresponse()
        ids.append(response.headers["x-request-id"])
        first = response.readline() + response.readline()
        assert first.startswith(b"data: ")
        server.proc.send_signal(signal.SIGTERM)
        rest = response.read()
    finally:
        conn.close()
    assert rest.endswith(b"data: [DONE]\n\n"), "the in-flight stream was allowed to finish"
    assert server.proc.wait(timeout=10) == 0
    text = journal.read_text(encoding="utf-8")
    assert text.endswith("\n"), "no half-written last line"
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["id"] for e in entries] == ids
    assert SECRET not in text
    assert SECRET[3:-4] not in text
    streamed = entries[-1]
    assert streamed["stream"] is True
    assert streamed["client_hung_up"] is False
    assert streamed["frames"][-1]["data"] == "data: [DONE]\n\n"
    assert "".join(f["data"] for f in streamed["frames"]).encode() == first + rest


# --- 5. mockserver requests / mockserver report ------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MockServer]:
    path = write_yaml(tmp_path, FIXTURES)
    with MockServer(fixture_paths=(path,)) as running:
        yield running


def post(server: MockServer, body: Mapping[str, Any]) -> str:
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer sk-test", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        request_id: str = response.headers["x-request-id"]
        response.read()
        return request_id


def cli(*args: str, env: Mapping[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=dict(env or {}), terminal_width=200)


def test_requests_prints_a_table(server: MockServer) -> None:
    greet = post(server, chat("hello"))
    streamed = post(server, chat("hello", stream=True))
    generated = post(server, chat("a rather long question that no fixture scripted " * 3))
    result = cli("requests", "--url", server.url)
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:6] == ["ID", "STATUS", "MODEL", "STREAM", "FIXTURE", "MS"]
    assert header.endswith("LAST USER MESSAGE")
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == [generated, streamed, greet], "newest first"
    assert cells[2][1:5] == ["200", "gpt-4o", "no", "greet"]
    assert cells[1][1:5] == ["200", "gpt-4o", "yes", "greet"]
    assert cells[0][4] == "generated"
    assert cells[2][6:] == ["hello"]
    assert len(rows[0]) < 200, "long messages are shortened"
    assert rows[0].rstrip().endswith("…")
    widths = {row.index(" 200 ") for row in rows}
    assert len(widths) == 1, "columns line up"


def test_requests_filters_and_json(server: MockServer) -> None:
    greet = post(server, chat("hello"))
    other = post(server, chat("something else"))
    result = cli("requests", "--url", server.url, "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [e["id"] for e in entries] == [other, greet]
    assert entries[1]["fixture"] == "greet"
    assert "frames" not in entries[0]
    limited = cli("requests", "--url", server.url, "--limit", "1")
    assert [row.split()[0] for row in limited.output.splitlines()[1:]] == [other]
    only = cli("requests", "--url", server.url, "--fixture", "greet", "--json")
    assert [e["id"] for e in json.loads(only.output)] == [greet]
    from_env = cli("requests", "--json", env={"MOCKSERVER_URL": server.url})
    assert [e["id"] for e in json.loads(from_env.output)] == [other, greet]


def test_requests_with_an_admin_token(tmp_path: Path) -> None:
    with MockServer(admin_token=TOKEN) as guarded:
        sent = post(guarded, chat("hello"))
        result = cli("requests", "--url", guarded.url, "--admin-token", TOKEN)
        assert result.exit_code == 0, result.output
        assert sent in result.output
        from_env = cli("requests", "--url", guarded.url, env={"MOCKSERVER_ADMIN_TOKEN": TOKEN})
        assert sent in from_env.output


def test_requests_without_the_admin_token_is_a_clear_error() -> None:
    with MockServer(admin_token=TOKEN) as guarded:
        result = cli("requests", "--url", guarded.url)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "--admin-token" in result.output


def test_requests_against_no_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for command in ("requests", "report"):
        result = cli(command, "--url", url)
        assert result.exit_code == 1
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert f"no mock server answers at {url}" in result.output


def test_report_writes_json_and_junit(server: MockServer, tmp_path: Path) -> None:
    post(server, chat("hello"))
    post(server, chat("count"))
    missed = post(server, chat("hellO"))
    json_path, junit_path = tmp_path / "out" / "report.json", tmp_path / "out" / "report.xml"
    done = subprocess.run(  # as a CI job runs it
        [
            sys.executable,
            "-m",
            "mockserver",
            "report",
            "--url",
            server.url,
            "--json",
            str(json_path),
            "--junit",
            str(junit_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "3 fixture(s); never fired: 1; requests that fell through to generation: 1" in (
        done.stdout
    )
    assert "never fired: weather" in done.stdout
    assert f"fell through: {missed} (closest greet:" in done.stdout

    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert report["fixtures"] == 3
    assert [f["name"] for f in report["never_fired"]] == ["weather"]
    assert report["never_fired"][0]["source"].endswith(":4")
    (fell,) = report["fell_through"]
    assert fell["request"] == missed
    assert fell["last_user"] == "hellO"
    assert fell["closest"]["fixture"] == "greet"
    assert fell["closest"]["failed"] == ["last user message equals 'hello', got 'hellO'"]

    suite = ET.parse(junit_path).getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {("mockserver.fixtures", "weather"), ("mockserver.unmatched", missed)}
    assert cases["mockserver.fixtures", "weather"].find("skipped") is not None
    failure = cases["mockserver.unmatched", missed].find("failure")
    assert failure is not None
    assert "greet" in (failure.get("message") or "")
    assert "got 'hellO'" in (failure.get("message") or "")


def test_report_of_a_clean_run(server: MockServer, tmp_path: Path) -> None:
    for text in ("hello", "count"):
        post(server, chat(text))
    post(
        server, chat("weather?", tools=[{"type": "function", "function": {"name": "get_weather"}}])
    )
    json_path = tmp_path / "clean.json"
    result = cli("report", "--url", server.url, "--json", str(json_path))
    assert result.exit_code == 0, result.output
    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert report["never_fired"] == []
    assert report["fell_through"] == []
    assert not (tmp_path / "clean.xml").exists(), "no --junit, no XML"
