"""Real JavaScript clients against a real mock process: `node --test tests/node/`.

The node tests (tests/node/*.test.mjs) drive the Vercel AI SDK 5, openai-node and, when Debian's
chromium is installed, a browser page on another origin. They need `npm ci --prefix tests/node`
(.ci/run does it); without node or those packages this test is skipped, not failed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mock_process import MockProcess, node_or_skip

ROOT = Path(__file__).resolve().parents[2]
NODE_TIMEOUT = 45.0

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def node() -> str:
    return node_or_skip()


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
