"""mockserver verify: fixtures checked against a real gateway process, planted drift found."""

from __future__ import annotations

import asyncio
import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from openai import OpenAI

from mockserver.cli.main import main
from mockserver.testing.runner import MockServer
from mockserver.upstream.config import Upstream
from mockserver.upstream.verify import verify as verify_fixtures
from tests.cli_support import free_port
from tests.integration.conftest import Gateway
from tests.spec_documents import RESPONSE_ADDED, second_version_export

UPSTREAM_KEY = "sk-upstream-verify-0123456789"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
USAGE: Any = {"include_usage": True}
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def recorded(gateway_process: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fixtures recorded from the clean gateway: plain, streamed with usage, tool calls."""
    gateway_process.mode()
    folder = tmp_path_factory.mktemp("recorded")
    upstream = Upstream.at(gateway_process.url)
    with MockServer(upstream=upstream, record_dir=folder) as mock:
        sdk = OpenAI(base_url=mock.base_url, api_key="sk-client-abc", max_retries=0)
        with sdk:
            sdk.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "What is HTTP?"}]
            )
            question: Any = [{"role": "user", "content": "weather in Paris?"}]
            sdk.chat.completions.create(model="gpt-4o", messages=question, tools=[WEATHER])
            for chunk in sdk.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": "Tell me about HTTP"}],
                stream=True,
                stream_options=USAGE,
            ):
                assert chunk.object == "chat.completion.chunk"
    assert len(list(folder.glob("*.yaml"))) == 3
    return folder


def verify(gateway: Gateway, *paths: Path, args: tuple[str, ...] = ()) -> Result:
    return CliRunner().invoke(
        main, ["verify", "--upstream", gateway.url, *args, *(str(p) for p in paths)]
    )


def test_clean_gateway_passes(recorded: Path, gateway: Gateway, tmp_path: Path) -> None:
    report, junit = tmp_path / "out" / "verify.json", tmp_path / "out" / "verify.xml"
    result = verify(gateway, recorded, args=("--json", str(report), "--junit", str(junit)))
    assert result.exit_code == 0, result.output
    assert "3 fixture(s) against" in result.output
    assert "3 ok, 0 drift, 0 error, 0 skipped; 3 request(s) sent" in result.output
    data = json.loads(report.read_text())
    assert [o["result"] for o in data["outcomes"]] == ["ok"] * 3
    assert len(gateway.seen()) == 3
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "0")


@pytest.mark.parametrize(
    ("drift", "expected", "drifted"),
    [
        ("added_field", "/gateway_region: only in the gateway's reply", 3),
        ("no_usage", "stream: no usage chunk although stream_options.include_usage was set", 1),
        ("changed_type", "/created: string at the gateway, number in the fixture's reply", 3),
        ("no_done", "stream: does not end with data: [DONE]", 1),
        ("repeat_role", "stream: the role is sent 14 times in choice 0", 1),
    ],
)
def test_planted_drift_is_found(
    recorded: Path, gateway: Gateway, tmp_path: Path, drift: str, expected: str, drifted: int
) -> None:
    gateway.mode(drift=drift)
    report = tmp_path / "verify.json"
    result = verify(gateway, recorded, args=("--json", str(report)))
    assert result.exit_code == 1, result.output
    assert expected in result.output
    outcomes = json.loads(report.read_text())["outcomes"]
    assert sum(o["result"] == "drift" for o in outcomes) == drifted
    assert all(expected in o["problems"] for o in outcomes if o["result"] == "drift")


def test_changed_type_also_breaks_the_schema(recorded: Path, gateway: Gateway) -> None:
    gateway.mode(drift="changed_type")
    result = verify(gateway, recorded)
    assert "reply breaks the response schema at /created: '1779870897' is not of type" in (
        result.output
    )
    assert "chunks (0, 1, 2, 3, 4, ...) break the chunk schema at /created" in result.output


DECLARED = """
- name: declared-busy
  request:
    model: gpt-4o
    messages: [{role: user, content: "busy day?"}]
  match: {last_user: "busy day?"}
  reply: {content: "Hi."}
- name: declared-plain
  request:
    model: gpt-4o
    messages: [{role: user, content: "hello"}]
  reply: {content: "Hello."}
- name: no-request
  reply: {content: "Not checked."}
"""


@pytest.fixture
def declared(tmp_path: Path) -> Path:
    path = tmp_path / "declared.yaml"
    path.write_text(textwrap.dedent(DECLARED), encoding="utf-8")
    return path


def test_declared_requests_and_retry_after(
    declared: Path, gateway: Gateway, tmp_path: Path
) -> None:
    gateway.mode(busy=1)
    report = tmp_path / "verify.json"
    key = ("--upstream-key", UPSTREAM_KEY, "--json", str(report))
    result = verify(gateway, declared, args=key)
    assert result.exit_code == 0, result.output
    outcomes = {o["fixture"]: o for o in json.loads(report.read_text())["outcomes"]}
    assert outcomes["declared-busy"]["result"] == "ok"
    assert outcomes["declared-busy"]["attempts"] == 2, "one 429, then a retry"
    assert outcomes["declared-busy"]["ms"] >= 1000, "it waited the retry-after: 1"
    assert outcomes["no-request"]["result"] == "skipped"
    seen = gateway.seen()
    assert len(seen) == 3
    assert {s["authorization"] for s in seen} == {f"Bearer {UPSTREAM_KEY}"}
    assert UPSTREAM_KEY not in result.output + report.read_text()


def test_retry_after_beyond_the_cap_is_an_error(declared: Path, gateway: Gateway) -> None:
    gateway.mode(busy=5)
    result = verify(gateway, declared, args=("--max-wait", "0.5"))
    assert result.exit_code == 1
    assert "the gateway answered 429 (after 1 attempt(s))" in result.output


def test_budget_and_concurrency_are_kept(recorded: Path, gateway: Gateway, tmp_path: Path) -> None:
    report = tmp_path / "verify.json"
    args = ("--max-requests", "2", "--concurrency", "1", "--json", str(report))
    result = verify(gateway, recorded, args=args)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert (data["ok"], data["skipped"], data["requests_sent"]) == (2, 1, 2)
    assert len(gateway.seen()) == 2
    assert gateway.max_in_flight() == 1
    skipped = [o for o in data["outcomes"] if o["result"] == "skipped"]
    assert skipped[0]["problems"] == ["the request budget (--max-requests) is spent"]


def test_a_reply_past_max_reply_bytes_is_an_error_not_read_whole(
    recorded: Path, gateway: Gateway
) -> None:
    upstream = Upstream.at(gateway.url, max_reply_bytes=64)
    outcomes, sent = asyncio.run(verify_fixtures([recorded], upstream))
    assert [o.result for o in outcomes] == ["error"] * 3
    assert sent == 3, "not asked again: the same reply would come back"
    assert all("larger than 64 bytes" in o.problems[0] for o in outcomes)


def test_gateway_down_is_an_error(recorded: Path) -> None:
    port = free_port()
    result = CliRunner().invoke(
        main,
        ["verify", "--upstream", f"http://127.0.0.1:{port}/v1", "--retries", "0", str(recorded)],
    )
    assert result.exit_code == 1
    assert "could not be reached" in result.output
    assert "0 ok, 0 drift, 3 error" in result.output


def test_verify_under_a_newer_contract(recorded: Path, gateway: Gateway, tmp_path: Path) -> None:
    """--spec: the gateway's replies are checked against that document's response schema."""
    spec = tmp_path / "v2.md"
    spec.write_text(second_version_export(), encoding="utf-8")
    result = verify(gateway, recorded, args=("--spec", str(spec)))
    assert result.exit_code == 1, result.output
    assert f"reply breaks the response schema at /: '{RESPONSE_ADDED}' is a required" in (
        result.output
    )
