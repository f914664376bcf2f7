"""Ordinary mistakes in starting `mockserver serve` (issue #12.2): one line saying what is wrong
and what to do, exit status 2, no traceback, and nothing listening. Real subprocesses."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli.main import main
from tests.cli_support import Server, run_mockserver

pytestmark = pytest.mark.timeout(180)


@dataclass
class Case:
    args: list[str]
    expected: str
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def cases(tmp_path: Path, busy_port: int) -> list[Case]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder", encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: x\n  reply: {content: hi}\n  mtach: {}\n", encoding="utf-8")
    return [
        Case(["--port", str(busy_port)], f"port {busy_port} is in use: pick another with --port"),
        Case(["--host", "192.0.2.1"], "is not an address of this machine"),
        Case(["--journal-file", str(a_file / "run.jsonl")], "cannot write the journal file"),
        Case(["--fault", "status=999"], "Invalid value for --fault"),
        Case(["--api-key", ""], "Invalid value for --api-key: is empty"),
        Case(["--api-key", "Bearer sk-1"], "without 'Bearer '"),
        Case(["--admin-token", "two words"], "Invalid value for --admin-token"),
        Case(["--shutdown-timeout", "nan"], "Invalid value for --shutdown-timeout"),
        Case(["--port", "99999"], "99999 is not in the range"),
        Case(["--fixtures", str(tmp_path / "missing")], "does not exist"),
        Case(["--log-format", "xml"], "'xml' is not one of"),
        Case([], "Invalid value for '--strict'", env={"MOCKSERVER_STRICT": "maybe"}),
        Case(["--chaos-rate", "2"], "2.0 is not in the range"),
        Case(["--disable-rule", "no-such-rule"], "'no-such-rule' is not one of"),
    ]


def test_every_startup_mistake_is_one_line_and_exit_status_2(
    tmp_path: Path, busy_port: int
) -> None:
    all_cases = cases(tmp_path, busy_port)
    with ThreadPoolExecutor(max_workers=4) as pool:  # 2 shared cores: not all at once
        results = list(pool.map(serve_with, all_cases))
    for case, (code, out, err) in zip(all_cases, results, strict=True):
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, (case, err)
        assert len(lines) == 1, (case, err)
        assert lines[0].startswith("Error: "), (case, err)
        assert case.expected in lines[0], (case, err)
        assert "MOCKSERVER_READY" not in out, case


def serve_with(case: Case) -> tuple[int, str, str]:
    result = run_mockserver(
        "serve",
        "--quiet",
        "--port",
        "0",
        *case.args,
        env={"COLUMNS": "300", **case.env},
        timeout=60,
    )
    return result.returncode, result.stdout, result.stderr


def test_broken_fixtures_are_a_report_with_exit_status_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: x\n  reply: {content: hi}\n  mtach: {}\n", encoding="utf-8")
    result = run_mockserver("serve", "--port", "0", "--fixtures", str(broken))
    assert result.returncode == 2
    assert result.stderr.startswith("Error: mockserver refuses to start: 1 problem(s)")
    assert "mtach" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_journal_files_folder_is_created(tmp_path: Path) -> None:
    journal = tmp_path / "new" / "folder" / "run.jsonl"
    server = Server("--port", "0", "--journal-file", str(journal))
    try:
        assert server.get("/__admin/health")[0] == 200
        assert journal.is_file()
    finally:
        server.close()


def test_an_empty_fixtures_folder_is_a_warning(tmp_path: Path) -> None:
    server = Server("--port", "0", "--fixtures", str(tmp_path))
    try:
        server.stderr.wait_for(r"^warning: no fixture files .* in ", 5)
        assert "0 loaded" in "\n".join(server.stdout.lines)
    finally:
        server.close()


def test_an_unreadable_fixtures_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads everything, so the permission check (click.Path's) is simulated.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    result = CliRunner().invoke(main, ["serve", "--fixtures", str(tmp_path)])
    assert result.exit_code == 2
    assert f"Path '{tmp_path}' is not readable" in result.output
