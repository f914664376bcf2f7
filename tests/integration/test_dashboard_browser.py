"""The dashboard in a real browser: `node --test tests/node/dashboard.browser.mjs`.

Two real mock processes (one with fixtures, one with --admin-token), Debian's chromium driven by
playwright-core, requests from the official openai-node SDK. Skipped, not failed, without node,
tests/node/node_modules or chromium (.ci/run installs all three).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mock_process import NODE_DIR, MockProcess, node_or_skip, run_node_tests

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NODE_TIMEOUT = 100.0
TOKEN = "dash-browser-t0ken-8c1"
FIXTURES = """\
- name: greeting-zh
  description: 中文问候
  priority: 0
  match: {last_user: 你好}
  reply: {content: 你好！我是模拟服务器。}
- name: slow-stream
  match: {last_user: {contains: slow stream}}
  reply:
    content: >-
      One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
      sixteen seventeen eighteen nineteen twenty.
  fault: {chunk_ms: 150}
- name: scenario
  match: {last_user: next step}
  reply:
    sequence:
      - {content: step one}
      - {content: step two}
- name: braces
  match: {last_user: braces please}
  reply: {content: "{% raw %}Use {{ name }} and {% if %} as written.{% endraw %}"}
- name: never-used
  match: {last_user: nobody sends this}
  reply: {content: unused}
"""

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def mocks(tmp_path: Path) -> Iterator[tuple[MockProcess, MockProcess, Path]]:
    node_or_skip()
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install chromium")
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    (fixtures / "dashboard.yaml").write_text(FIXTURES, encoding="utf-8")
    plain = MockProcess(tmp_path / "plain", fixtures=fixtures)
    try:
        guarded = MockProcess(tmp_path / "guarded", args=("--admin-token", TOKEN))
    except BaseException:
        plain.close()
        raise
    try:
        yield plain, guarded, fixtures
    finally:
        plain.close()
        guarded.close()


def test_dashboard_in_chromium(mocks: tuple[MockProcess, MockProcess, Path]) -> None:
    plain, guarded, fixtures = mocks
    env = {
        "DASHBOARD_URL": plain.url,
        "DASHBOARD_TOKEN_URL": guarded.url,
        "DASHBOARD_TOKEN": TOKEN,
        "FIXTURES_DIR": str(fixtures),
        "CHROMIUM_PATH": str(CHROMIUM),
    }
    command = [node_or_skip(), "--test", "--test-reporter=spec", "dashboard.browser.mjs"]
    result, output = run_node_tests(
        command, cwd=NODE_DIR, env=env, timeout=NODE_TIMEOUT, mocks=[plain, guarded]
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n{output}\n"
        f"--- mock output ---\n{plain.output()}\n{guarded.output()}"
    )
    assert "skipped 0" in result.stdout, f"every browser test ran:\n{output}"
