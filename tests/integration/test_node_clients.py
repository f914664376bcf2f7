"""Real JavaScript clients against a real mock process: `node --test tests/node/`.

The node tests (tests/node/*.test.mjs) drive the Vercel AI SDK 5, openai-node and, when Debian's
chromium is installed, a browser page on another origin. They need `npm ci --prefix tests/node`
(.ci/run does it); without node or those packages this test is skipped, not failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
START_TIMEOUT = 10.0
NODE_TIMEOUT = 45.0
MIN_NODE_MAJOR = 20  # playwright-core and `node --test <directory>`

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def node() -> str:
    """The node binary, or a skip saying what is missing (checked before the mock starts)."""
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


class MockProcess:
    """`python -m mockserver serve --port 0` with its output in files (no pipe to fill up)."""

    def __init__(self, workdir: Path) -> None:
        fixtures = workdir / "fixtures"
        fixtures.mkdir()  # no fixtures: every reply is generated, as the node tests expect
        self.stdout_path = workdir / "mock.stdout"
        self.stderr_path = workdir / "mock.stderr"
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mockserver",
                    "serve",
                    "--port",
                    "0",
                    "--quiet",
                    "--fixtures",
                    str(fixtures),
                ],
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


def _text(captured: str | bytes | None) -> str:
    """What a timed-out subprocess had written (bytes on POSIX even with text=True)."""
    if captured is None:
        return ""
    return captured.decode("utf-8", "replace") if isinstance(captured, bytes) else captured


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[MockProcess]:
    server = MockProcess(tmp_path)
    try:
        yield server
    finally:
        server.close()


def test_node_clients(node: str, mock: MockProcess) -> None:
    env = {**os.environ, "MOCK_BASE_URL": f"{mock.url}/v1", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    command = [node, "--test", "--test-reporter=spec", "tests/node/"]
    try:
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        output = _text(timeout.stdout) + _text(timeout.stderr)
        pytest.fail(f"`node --test` ran over {NODE_TIMEOUT:.0f} s:\n{output}\n{mock.output()}")
    output = f"{result.stdout}\n{result.stderr}"
    print(output)  # shown with -rP / -s: which node tests ran, and which were skipped and why
    assert result.returncode == 0, (
        f"`{' '.join(command)}` exited {result.returncode}:\n{output}\n"
        f"--- mock output ---\n{mock.output()}"
    )
