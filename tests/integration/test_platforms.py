"""What differs on Windows and macOS (issue #17), run here by simulation: a legacy console
encoding, the platform's path separator, and platforms without SO_REUSEPORT.

Not simulated (cannot be run on this Linux machine): a real Windows console (Ctrl-C and
Ctrl-Break through the Proactor event loop), watchfiles' Windows and macOS backends, Docker
Desktop. The signal fallback itself is tested in test_shutdown.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli.main import main
from mockserver.cli.options import PathList
from tests.cli_support import ROOT, Server

pytestmark = pytest.mark.timeout(60)
LEGACY = {"PYTHONIOENCODING": "cp1252"}  # a Windows redirect's code page: no Chinese in it


def test_check_writes_chinese_to_a_legacy_encoded_pipe(tmp_path: Path) -> None:
    fixture = tmp_path / "天气.yaml"
    fixture.write_text(
        "- name: 天气\n  reply: {content: 晴}\n- name: 天气\n  reply: {content: 雨}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "check", str(fixture)],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, **LEGACY},
        timeout=30,
        check=False,
    )
    err = result.stderr.decode("utf-8")  # UTF-8 whatever the console said
    assert result.returncode == 1, err
    assert "UnicodeEncodeError" not in err
    assert "天气.yaml" in err
    assert "duplicate" in err.lower()


def test_serve_prints_a_chinese_path_to_a_legacy_encoded_pipe(tmp_path: Path) -> None:
    folder = tmp_path / "夹具"
    folder.mkdir()
    (folder / "a.yaml").write_text("- name: 你好\n  reply: {content: 你好！}\n", encoding="utf-8")
    server = Server("--port", "0", "--fixtures", str(folder), env=LEGACY)
    try:
        assert any("1 loaded from" in line and "夹具" in line for line in server.stdout.lines)
    finally:
        server.close()


def test_fixture_paths_split_on_the_platforms_separator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "pathsep", ";")  # Windows
    paths = PathList().split_envvar_value(r"C:\fixtures;D:\more fixtures\qa")
    assert paths == [r"C:\fixtures", r"D:\more fixtures\qa"]
    monkeypatch.setattr(os, "pathsep", ":")  # Linux, macOS
    assert PathList().split_envvar_value("/a/b:/c d/e") == ["/a/b", "/c d/e"]


def test_fixture_paths_variable_takes_several_paths(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, name in ((first, "one"), (second, "two")):
        folder.mkdir()
        (folder / "f.yaml").write_text(f"- name: {name}\n  reply: {{content: x}}\n")
    result = CliRunner().invoke(
        main, ["check"], env={"MOCKSERVER_FIXTURES": f"{first}{os.pathsep}{second}"}
    )
    assert result.exit_code == 0, result.output
    assert "2 fixture(s) in 2 file(s)" in result.output


def test_help_states_both_separators() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    assert "':' on Linux and macOS, ';' on Windows" in text
    assert "takes space-separated paths" not in text, "what --help said before"


def test_workers_without_so_reuseport_refuse_in_one_line() -> None:
    """Windows has no SO_REUSEPORT: `--workers 2` says so, and points to replicas (exit 2)."""
    code = (
        "import socket; del socket.SO_REUSEPORT; from mockserver.cli import main; "
        "main(['serve', '--workers', '2', '--state', 'redis://127.0.0.1:1/0', '--port', '0'])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "no SO_REUSEPORT" in line
    assert "replicas" in line
    assert "Traceback" not in proc.stderr
