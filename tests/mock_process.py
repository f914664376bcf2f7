"""A real mock server process (`python -m mockserver serve --port 0`) for tests that drive it
from another program: node clients, a browser. Its output goes to files (no pipe to fill up)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 10.0


class MockProcess:
    """Started in `workdir`, serving the fixtures in `fixtures` (an empty folder when None)."""

    def __init__(
        self, workdir: Path, *, fixtures: Path | None = None, args: tuple[str, ...] = ()
    ) -> None:
        if fixtures is None:
            fixtures = workdir / "fixtures"
            fixtures.mkdir(parents=True)  # no fixtures: every reply is generated
        workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = workdir / "mock.stdout"
        self.stderr_path = workdir / "mock.stderr"
        command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--quiet"]
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [*command, "--fixtures", str(fixtures), *args],
                cwd=ROOT,
                stdout=stdout,
                stderr=stderr,
            )
        self.url = self._wait_ready()

    def output(self) -> str:
        return self.stdout_path.read_text("utf-8", "replace") + self.stderr_path.read_text(
            "utf-8", "replace"
        )

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.stdout_path.read_text("utf-8", "replace").splitlines():
                if line.startswith("MOCKSERVER_READY "):
                    ready: dict[str, Any] = json.loads(line.removeprefix("MOCKSERVER_READY "))
                    url: str = ready["url"]
                    return url
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise AssertionError(f"the mock did not print MOCKSERVER_READY:\n{self.output()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


NODE_DIR = ROOT / "tests" / "node"
MIN_NODE_MAJOR = 20  # playwright-core and `node --test <directory>`


def node_or_skip() -> str:
    """The node binary, or a skip saying what is missing (checked before a mock starts)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript client tests need Node.js 20+")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        pytest.skip(f"node {version} is too old: the JavaScript client tests need Node.js 20+")
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.skip("tests/node/node_modules is missing: run `npm ci --prefix tests/node`")
    return node


def _text(captured: str | bytes | None) -> str:
    """What a timed-out subprocess had written (bytes on POSIX even with text=True)."""
    if captured is None:
        return ""
    return captured.decode("utf-8", "replace") if isinstance(captured, bytes) else captured


def run_node_tests(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    mocks: Sequence[MockProcess],
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run `node --test ...` without colours; its result and output (printed, for -rP / -s:
    which node tests ran and which were skipped). Running over `timeout` fails the test with
    what node and the mocks had written."""
    environment = {**os.environ, **env, "NO_COLOR": "1"}
    environment.pop("FORCE_COLOR", None)
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as over:
        output = _text(over.stdout) + _text(over.stderr)
        logs = "\n".join(mock.output() for mock in mocks)
        pytest.fail(f"`{' '.join(command)}` ran over {timeout:.0f} s:\n{output}\n{logs}")
    output = f"{result.stdout}\n{result.stderr}"
    print(output)
    return result, output
