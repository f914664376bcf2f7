"""The contract document on the command line: `serve --spec` (banner, health, overlay warnings,
--spec-examples, --watch), `spec diff`, `spec export`, `check --spec`, and broken documents."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mockserver.cli import main
from mockserver.contract.schemas import load_schema
from mockserver.contract.spec import bundled_spec
from mockserver.contract.spec.document import DRAFT2020
from mockserver.contract.spec.export import to_openapi
from tests.cli_support import Server, run_mockserver
from tests.conftest import AUTH
from tests.spec_documents import (
    ADDED,
    NARROWED,
    REQUIRED,
    RESPONSE_ADDED,
    openapi_31,
    second_version_export,
    write_json,
)
from tests.support import MakeClient, end_process, write_yaml

pytestmark = pytest.mark.timeout(30)
HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def v2(tmp_path: Path) -> Path:
    path = tmp_path / "chat-v2.md"
    path.write_text(second_version_export(), encoding="utf-8")
    return path


def post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- broken documents ----------------------------------------------------------------------

BROKEN: dict[str, tuple[str, str]] = {
    "no-body.md": ("创建聊天\n\n响应\n\n[]\n", "no '请求体' section (the request body)"),
    "no-schema.md": ('请求体\n\n{"type": "application/json"}\n', "has no 'jsonSchema' object"),
    "no-path.json": (
        json.dumps({"openapi": "3.1.0", "paths": {"/v1/embeddings": {}}}),
        "has no path /v1/chat/completions",
    ),
    "dangling.yaml": (
        "openapi: 3.0.3\npaths:\n  /v1/chat/completions:\n    post:\n      requestBody:\n"
        "        content:\n          application/json:\n            schema:\n"
        "              $ref: '#/components/schemas/Gone'\n"
        "      responses:\n        200:\n          content:\n            application/json:\n"
        "              schema: {type: object}\n",
        "$ref '#/components/schemas/Gone' points at nothing",
    ),
    "bad.yaml": ("openapi: 3.1.0\npaths: [\n", "not valid YAML"),
    "swagger.json": (json.dumps({"swagger": "2.0"}), "Swagger 2.0 is not supported"),
    "notes.txt": ("just some notes\n", "neither an OpenAPI document"),
    "deep.json": ('{"openapi": "3.1.0", "x": ' + "[" * 5000 + "]" * 5000 + "}", "too deeply"),
}


def test_serve_refuses_a_broken_document_in_one_line(tmp_path: Path) -> None:
    name = "dangling.yaml"  # every document error takes this path; the next test has them all
    text, expected = BROKEN[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = run_mockserver("serve", "--port", "0", "--spec", str(tmp_path / name), timeout=20)
    assert result.returncode == 2
    assert "MOCKSERVER_READY" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"mockserver: cannot use the spec: {tmp_path / name}: ")
    assert expected in lines[0]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_command_names_what_is_missing(tmp_path: Path, name: str) -> None:
    text, expected = BROKEN[name]
    (tmp_path / name).write_text(text, encoding="utf-8")
    for args in (
        ["check", "--spec", str(tmp_path / name)],
        ["spec", "diff", "bundled", str(tmp_path / name)],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert lines == [lines[0]], result.output
        assert expected in lines[0]
    missing = CliRunner().invoke(main, ["spec", "export", str(tmp_path / "absent.json")])
    assert missing.exit_code == 2
    assert "absent.json: cannot read: No such file or directory" in missing.output


def test_a_schema_that_is_not_json_schema_is_refused(tmp_path: Path) -> None:
    path = write_json(tmp_path / "chat.json", openapi_31(n={"type": "integer", "minimum": "one"}))
    result = CliRunner().invoke(main, ["check", "--spec", str(path)])
    assert result.exit_code == 2
    assert "the request schema is not valid JSON Schema at /properties/n/minimum" in result.output


# --- spec diff ----------------------------------------------------------------------------


def test_spec_diff_classifies_each_planted_change(v2: Path) -> None:
    result = run_mockserver("spec", "diff", "bundled", str(v2), "--json", timeout=20)
    assert result.returncode == 1, result.stderr  # a breaking change: CI fails
    report = json.loads(result.stdout)
    found = {(c["side"], c["where"]): (c["kind"], c["breaking"]) for c in report["changes"]}
    assert found == {
        ("request", REQUIRED): ("request-property-became-required", True),
        ("request", ".".join(NARROWED[:2])): ("request-enum-value-removed", True),
        ("request", ADDED): ("request-property-added", False),
        ("response", RESPONSE_ADDED): ("response-required-property-added", False),
    }
    assert report["breaking"] == 2
    assert report["new"]["digest"] == "sha256:" + hashlib.sha256(v2.read_bytes()).hexdigest()[:12]

    table = CliRunner().invoke(main, ["spec", "diff", "bundled", str(v2)])
    assert table.exit_code == 1
    rows = {line.split()[2]: line.split()[:4] for line in table.output.splitlines()[2:]}
    assert rows[REQUIRED] == ["yes", "request", REQUIRED, "request-property-became-required"]
    assert rows[ADDED] == ["no", "request", ADDED, "request-property-added"]
    assert "4 change(s), 2 breaking" in table.output.splitlines()[0]


def test_spec_diff_the_other_way_breaks_replies(v2: Path) -> None:
    result = CliRunner().invoke(main, ["spec", "diff", str(v2), "bundled", "--json"])
    report = json.loads(result.output)
    found = {c["where"]: (c["kind"], c["breaking"]) for c in report["changes"]}
    assert found[REQUIRED] == ("request-property-became-optional", False)
    assert found[".".join(NARROWED[:2])] == ("request-enum-value-added", False)
    assert found[ADDED] == ("request-property-removed", False)  # still accepted: not closed
    assert found[RESPONSE_ADDED] == ("response-property-removed", True)
    assert result.exit_code == 1


def test_response_widening_is_breaking(tmp_path: Path) -> None:
    """A new enum value or a type that may now be null in a reply breaks clients."""
    old = to_openapi(bundled_spec())
    new = to_openapi(bundled_spec())
    choice = new["components"]["schemas"]["ChatCompletionResponse"]["properties"]["choices"]
    choice["items"]["properties"]["index"]["type"] = ["integer", "null"]
    message = choice["items"]["properties"]["message"]
    message["required"] = [r for r in message["required"] if r != "refusal"]
    before, after = write_json(tmp_path / "old.json", old), write_json(tmp_path / "new.json", new)
    result = CliRunner().invoke(main, ["spec", "diff", str(before), str(after), "--json"])
    found = {c["where"]: (c["kind"], c["breaking"]) for c in json.loads(result.output)["changes"]}
    assert found == {
        "choices[].index": ("response-type-widened", True),
        "choices[].message.refusal": ("response-property-became-optional", True),
    }
    same = CliRunner().invoke(main, ["spec", "diff", "bundled", str(before)])
    assert same.exit_code == 0, same.output
    assert "0 change(s), 0 breaking" in same.output


def test_spec_export_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "bundled.openapi.json"
    result = CliRunner().invoke(main, ["spec", "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["openapi"] == "3.1.0"
    assert "/v1/chat/completions" in document["paths"]
    again = CliRunner().invoke(main, ["spec", "diff", "bundled", str(out), "--json"])
    assert json.loads(again.output)["changes"] == []


# --- check --spec -------------------------------------------------------------------------


def raw_fixture() -> str:
    """A fixture replying with the spec's own example response, as a raw body."""
    example = json.dumps(bundled_spec().response_examples[0].body, ensure_ascii=False)
    return f"- name: raw-reply\n  reply:\n    raw: {example}\n"


def test_check_spec_reports_fixtures_that_no_longer_fit(tmp_path: Path, v2: Path) -> None:
    folder = tmp_path / "fixtures"
    path = write_yaml(folder, raw_fixture(), "raw.yaml")
    fine = CliRunner().invoke(main, ["check", str(folder)])
    assert fine.exit_code == 0, fine.output
    result = CliRunner().invoke(main, ["check", "--spec", str(v2), str(folder)])
    assert result.exit_code == 1
    assert (
        f"{path}:3: /0/reply/raw: breaks the response schema: "
        f"'{RESPONSE_ADDED}' is a required property"
    ) in result.output


SCRIPTED = """\
- name: fits
  reply: {content: hello}
- name: other-model
  match: {model: claude-3}
  reply:
    model: claude-3
    content: hello
- name: templated
  reply: {model: "{{ request.model }}", content: hi}
"""


def test_check_spec_reports_scripted_replies_that_no_longer_fit(tmp_path: Path) -> None:
    """The document now says every reply's model starts with gpt-: one fixture breaks it."""
    document = openapi_31()
    response = document["components"]["schemas"]["ChatCompletionResponse"]
    response["properties"]["model"] = {"type": "string", "pattern": "^gpt-"}
    spec = write_json(tmp_path / "chat.json", document)
    path = write_yaml(tmp_path / "fixtures", SCRIPTED, "scripted.yaml")
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["check", "--spec", str(spec), str(path)])
    assert result.exit_code == 1
    problems = [line.strip() for line in result.output.splitlines() if str(path) in line]
    assert problems == [
        f"{path}:3: /reply: the reply breaks the response schema at /model: "
        "'claude-3' does not match '^gpt-'"
    ]


def test_check_spec_reports_examples_that_break_the_document(tmp_path: Path) -> None:
    careless = tmp_path / "careless.md"
    careless.write_text(second_version_export(examples_fixed=False), encoding="utf-8")
    text = careless.read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--spec", str(careless)])
    assert result.exit_code == 1
    name = "新手推荐:基础对话(非流)"
    line = text[: text.index(f'"name": "{name}"')].count("\n") + 1
    assert f"{careless}:{line}: request example '{name}': /: '{REQUIRED}' is a required" in (
        result.output
    )
    assert "18 request example(s) of" in result.output  # the 2 in the schema were updated


# --- serve --spec -------------------------------------------------------------------------


def renamed_message(document: dict[str, Any]) -> dict[str, Any]:
    """The 3.1 export with the Message schema under another name: the overlay's paths miss."""
    text = json.dumps(document).replace("Message", "ChatMessage")
    renamed: dict[str, Any] = json.loads(text)
    return renamed


def test_banner_and_health_name_the_contract_and_overlay_warnings(
    tmp_path: Path, servers: list[Server]
) -> None:
    path = write_json(tmp_path / "chat.openapi.json", renamed_message(openapi_31()))
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    server = Server("--port", "0", "--spec", str(path))
    servers.append(server)
    banner = server.stdout.lines
    contract = next(line for line in banner if line.startswith("  contract"))
    assert f"{path} (openapi 3.1, {digest}; " in contract
    assert "request overlay: none; 2 warning(s)" in contract
    warnings = [line for line in banner if line.startswith("  warning")]
    for name in ("assistant-content-optional-with-tool-calls", "legacy-function-role"):
        assert any(f"request overlay '{name}' no longer applies" in w for w in warnings), name
    _, health = server.get("/__admin/health")
    admin = load_schema("admin.openapi.json")
    jsonschema.Draft202012Validator(
        {**admin["components"]["schemas"]["Health"], "$schema": DRAFT2020}
    ).validate(health)
    assert health["spec"]["source"] == str(path)
    assert health["spec"]["digest"] == digest
    assert health["spec"]["format"] == "openapi 3.1"
    assert health["spec"]["overlay"] == []
    assert any("assistant-content-optional" in w for w in health["spec"]["warnings"])
    # The relaxation is really off: an assistant turn with content null is refused.
    turn: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
    status, _ = post(server.ready["url"], {**HELLO, "messages": [turn, *HELLO["messages"]]})
    assert status == 400


async def test_health_warns_when_the_mocks_replies_break_the_document(
    make_client: MakeClient, v2: Path
) -> None:
    """The second version requires a reply field the mock cannot know: said, not hidden."""
    client = await make_client(spec=v2)
    health = await (await client.get("/__admin/health")).json()
    assert health["spec"]["warnings"] == [
        f"the mock's replies break the document's response schema at /: "
        f"'{RESPONSE_ADDED}' is a required property"
    ]
    bundled = await (await (await make_client()).get("/__admin/health")).json()
    assert bundled["spec"]["warnings"] == []
    assert bundled["spec"]["source"] == "bundled"


async def test_spec_examples_answer_each_example(make_client: MakeClient, tmp_path: Path) -> None:
    document = openapi_31()
    media = document["paths"]["/v1/chat/completions"]["post"]
    request_media = media["requestBody"]["content"]["application/json"]
    response_media = media["responses"]["200"]["content"]["application/json"]
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "天气?"}]}
    request_media["examples"] = {"weather": {"value": body}, "broken": {"value": {"model": 1}}}
    reply = {"choices": [{"message": {"role": "assistant", "content": "晴，25 度。"}}]}
    response_media["examples"] = {"weather": {"value": reply}}
    path = write_json(tmp_path / "chat.json", document)
    client = await make_client(spec=path, spec_examples=True, fixture_paths=())
    response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
    assert response.status == 200
    assert (await response.json())["choices"][0]["message"]["content"] == "晴，25 度。"
    journal = await (await client.get("/__admin/requests")).json()
    assert journal["requests"][0]["fixture"] == "spec-example-1"
    fixtures = await (await client.get("/__admin/fixtures")).json()
    names = [f["name"] for f in fixtures["fixtures"]]
    assert names == ["spec-example-1"], "the example that breaks the schema is no fixture"
    other = {**body, "messages": [{"role": "user", "content": "something else"}]}
    answered = await client.post("/v1/chat/completions", json=other, headers=AUTH)
    assert (await answered.json())["choices"][0]["message"]["content"] != "晴，25 度。"


async def test_admin_reload_swaps_the_contract_or_keeps_it(
    make_client: MakeClient, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "chat.json", openapi_31())
    client = await make_client(spec=path)
    assert (await client.post("/v1/chat/completions", json=HELLO, headers=AUTH)).status == 200

    stricter = openapi_31()
    stricter["components"]["schemas"]["ChatCompletionRequest"]["required"].append(REQUIRED)
    write_json(path, stricter)
    reloaded = await client.post("/__admin/reload")
    assert reloaded.status == 200
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert (await reloaded.json())["spec"]["digest"] == digest
    refused = await client.post("/v1/chat/completions", json=HELLO, headers=AUTH)
    assert (await refused.json())["error"]["param"] == REQUIRED

    path.write_text("openapi: 3.1.0\npaths: {}\n", encoding="utf-8")
    broken = await client.post("/__admin/reload")
    assert broken.status == 400
    error = (await broken.json())["error"]
    assert error["code"] == "invalid_spec"
    assert "the last good contract stays" in error["message"]
    assert "has no path /v1/chat/completions" in error["message"]
    health = await (await client.get("/__admin/health")).json()
    assert health["spec"]["digest"] == digest


# --- --watch ------------------------------------------------------------------------------


def eventually(check: Any, what: str, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {deadline_s}s: {what}")
        time.sleep(0.05)


def test_watch_swaps_the_contract_live(tmp_path: Path, servers: list[Server]) -> None:
    path = write_json(tmp_path / "chat.json", openapi_31())
    server = Server("--port", "0", "--watch", "--spec", str(path))
    servers.append(server)
    url = server.ready["url"]
    assert post(url, HELLO)[0] == 200

    stricter = openapi_31()
    stricter["components"]["schemas"]["ChatCompletionRequest"]["required"].append(REQUIRED)
    tmp = write_json(tmp_path / "chat.json.tmp", stricter)
    tmp.replace(path)  # how editors save: a new file under the old name
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    eventually(lambda: post(url, HELLO)[0] == 400, "the new required field is enforced")
    assert post(url, HELLO)[1]["error"]["param"] == REQUIRED
    assert server.get("/__admin/health")[1]["spec"]["digest"] == digest
    server.stderr.wait_for(r"contract swapped: .*" + digest, 5)

    path.write_text('{"openapi": "3.1.0", "paths": {', encoding="utf-8")
    line = server.stderr.wait_for(r"the spec changed but cannot be used", 10)
    assert "not valid JSON" in line
    assert f"keeping {path} (openapi 3.1, {digest})" in line
    assert post(url, HELLO)[0] == 400, "the last good contract stays in force"
    assert post(url, {**HELLO, REQUIRED: "u"})[0] == 200
    end_process(server.proc)
