"""`mockserver serve --upstream --record` as users run it: a real process, options from env."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver.cli.main import main
from tests.cli_support import Server
from tests.gateway.app import EXAMPLE
from tests.integration.conftest import Gateway

UPSTREAM_KEY = "sk-upstream-cli-0123456789abcdef"
pytestmark = pytest.mark.timeout(30)


def post(url: str, body: dict[str, object]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-client-cli-xyz"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read(), dict(response.headers)


def test_serve_records_from_the_gateway(gateway: Gateway, tmp_path: Path) -> None:
    folder = tmp_path / "recorded"
    server = Server(
        "--port",
        "0",
        "--record",
        str(folder),
        "--journal-file",
        str(tmp_path / "journal.jsonl"),
        env={"MOCKSERVER_UPSTREAM": gateway.url, "MOCKSERVER_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        status, body, _ = post(
            server.ready["url"],
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "What is HTTP?"}],
            },
        )
        assert (status, body) == (200, EXAMPLE)
        assert server.stop() == 0
    finally:
        server.close()
    assert [s["authorization"] for s in gateway.seen()] == [f"Bearer {UPSTREAM_KEY}"]
    (recorded,) = folder.glob("*.yaml")
    check = CliRunner().invoke(main, ["check", str(folder)])
    assert check.exit_code == 0, check.output
    assert UPSTREAM_KEY not in recorded.read_text() + (tmp_path / "journal.jsonl").read_text()

    replay = Server("--port", "0", "--fixtures", str(folder), "--strict-fixtures")
    try:
        status, body, headers = post(
            replay.ready["url"],
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "What is HTTP?"}],
            },
        )
        assert status == 200
        assert headers["X-Mock-Matched"] == recorded.stem
        replayed = json.loads(body)["choices"][0]["message"]
        assert replayed["content"] == json.loads(EXAMPLE)["choices"][0]["message"]["content"]
    finally:
        replay.close()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--proxy-all"], "--proxy-all"),
        (["--record", "somewhere"], "--record"),
        (["--upstream", "gateway.example:8000"], "--upstream"),
    ],
)
def test_upstream_options_need_each_other(args: list[str], complaint: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 2
    assert complaint in result.output
