"""The contract: schemas/ is what the spec says, and the overlay is the only deviation."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mockserver.app.factory import create_app
from mockserver.app.state import CONTRACT
from mockserver.contract.schemas import (
    CHUNK_SCHEMA,
    REQUEST_SCHEMA,
    RESPONSE_SCHEMA,
    Contract,
    load_overlay,
    schema_dir,
)
from mockserver.contract.validation import validate
from mockserver.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "schemas" / "source" / "gateway-api-doc.txt"  # in the repo: never skipped
EXTRACTED = (REQUEST_SCHEMA, RESPONSE_SCHEMA, "spec_examples.json")


def extract_spec_module() -> ModuleType:
    path = ROOT / "scripts" / "extract_spec.py"
    spec = importlib.util.spec_from_file_location("extract_spec", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", EXTRACTED)
def test_schema_files_equal_the_spec(name: str) -> None:
    extracted: dict[str, Any] = extract_spec_module().extract(SPEC.read_text(encoding="utf-8"))
    assert set(extracted) == set(EXTRACTED)
    on_disk = json.loads((schema_dir() / name).read_text(encoding="utf-8"))
    assert on_disk == extracted[name], f"schemas/{name} drifted: run scripts/extract_spec.py"


def test_every_schema_file_is_json() -> None:
    names = [*EXTRACTED, CHUNK_SCHEMA, "overlays/request.overlay.json"]
    names.append("overlays/response.overlay.json")
    for name in names:
        assert isinstance(json.loads((schema_dir() / name).read_text(encoding="utf-8")), dict)


ROUND_TRIP: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [
        {"role": "user", "content": "北京天气怎么样？"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"北京"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": "晴"},
    ],
}


def contract_of(settings: Settings) -> Contract:
    return create_app(settings)[CONTRACT].current


@pytest.fixture(scope="module")
def default_contract() -> Contract:
    return contract_of(Settings(access_log=False))


@pytest.fixture(scope="module")
def strict_contract() -> Contract:
    return contract_of(Settings(access_log=False, strict_spec=True))


def params(body: dict[str, Any], contract: Contract) -> list[str | None]:
    return [v.param for v in validate(body, contract, frozenset())]


def test_null_content_beside_tool_calls(
    default_contract: Contract, strict_contract: Contract
) -> None:
    assert params(ROUND_TRIP, default_contract) == []
    assert params(ROUND_TRIP, strict_contract) == ["messages[1].content"]


def test_missing_content_beside_tool_calls(
    default_contract: Contract, strict_contract: Contract
) -> None:
    assistant = {k: v for k, v in ROUND_TRIP["messages"][1].items() if k != "content"}
    body = {**ROUND_TRIP, "messages": [ROUND_TRIP["messages"][0], assistant]}
    assert params(body, default_contract) == []
    assert params(body, strict_contract) == ["messages[1].content"]


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user", "content": None},
        {"role": "user"},
        {"role": "system", "content": None},
        {"role": "tool", "tool_call_id": "x"},
        {"role": "assistant", "content": None},
        {"role": "assistant"},
    ],
    ids=[
        "user-null",
        "user-missing",
        "system-null",
        "tool-missing",
        "assistant-null-without-tool-calls",
        "assistant-bare",
    ],
)
def test_overlay_relaxes_only_assistant_turns_with_tool_calls(
    default_contract: Contract, message: dict[str, Any]
) -> None:
    """content stays required everywhere else (an assistant needs content or tool_calls)."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}, message]}
    assert params(body, default_contract) == ["messages[1].content"]


def test_spec_examples_pass_both_contracts(
    default_contract: Contract, strict_contract: Contract
) -> None:
    examples = json.loads((schema_dir() / "spec_examples.json").read_text(encoding="utf-8"))
    for example in examples["requests"]:
        assert params(example["body"], default_contract) == [], example["name"]
        assert params(example["body"], strict_contract) == [], example["name"]


def test_fast_and_explaining_validators_agree(
    default_contract: Contract, strict_contract: Contract
) -> None:
    bodies: list[Any] = [
        ROUND_TRIP,
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2.0},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2.5},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": 1},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": True},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
    ]
    for contract in (default_contract, strict_contract):
        for body in bodies:
            explained = not list(contract.explainer.iter_errors(body))
            assert contract.is_valid(body) == explained, body


def test_overlay_cites_tests_that_exist() -> None:
    """Each relaxation names the test that shows a client needs it; that test must exist."""
    cited = 0
    for relaxation in (*load_overlay("request"), *load_overlay("response")):
        for client in relaxation.clients:
            for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", client):
                source = (ROOT / path).read_text(encoding="utf-8")
                assert re.search(rf"^(async )?def {name}\(", source, re.MULTILINE), (path, name)
                cited += 1
    assert cited >= 1


def test_strict_spec_has_no_overlay(default_contract: Contract, strict_contract: Contract) -> None:
    assert strict_contract.overlay == ()
    assert [r.name for r in default_contract.overlay] == [r.name for r in load_overlay("request")]
    assert default_contract.schema != strict_contract.schema
