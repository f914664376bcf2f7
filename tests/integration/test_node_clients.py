"""Real JavaScript clients against a real mock process: `node --test tests/node/`.

The node tests (tests/node/*.test.mjs) drive the Vercel AI SDK 5, openai-node and, when Debian's
chromium is installed, a browser page on another origin. They need `npm ci --prefix tests/node`
(.ci/run does it); without node or those packages this test is skipped, not failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mock_process import ROOT, MockProcess, node_or_skip, run_node_tests

NODE_TIMEOUT = 45.0

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def node() -> str:
    return node_or_skip()


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[MockProcess]:
    server = MockProcess(tmp_path)
    try:
        yield server
    finally:
        server.close()


def test_node_clients(node: str, mock: MockProcess) -> None:
    command = [node, "--test", "--test-reporter=spec", "tests/node/"]
    env = {"MOCK_BASE_URL": f"{mock.url}/v1"}
    result, output = run_node_tests(command, cwd=ROOT, env=env, timeout=NODE_TIMEOUT, mocks=[mock])
    assert result.returncode == 0, (
        f"`{' '.join(command)}` exited {result.returncode}:\n{output}\n"
        f"--- mock output ---\n{mock.output()}"
    )
