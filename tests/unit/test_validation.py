"""contract/validation.py on its own: each violation's param path, OpenAI's wording and code."""

from __future__ import annotations

import dataclasses
from typing import Any

import jsonschema
import pytest

from mockserver.contract.rules import Violation
from mockserver.contract.schemas import Contract
from mockserver.contract.validation import MAX_VIOLATIONS, ValidationFailed, validate

USER = [{"role": "user", "content": "hi"}]
NONE: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract.load(strict_spec=False)


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": USER, **fields}


def only(found: list[Violation]) -> Violation:
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("sent", "param", "message", "code"),
    [
        (
            {"messages": USER},
            "model",
            "Missing required parameter: 'model'.",
            "missing_required_parameter",
        ),
        (
            body(messages=[{"role": "user"}]),
            "messages[0].content",
            "Missing required parameter: 'messages[0].content'.",
            "missing_required_parameter",
        ),
        (
            body(temperature="hot"),
            "temperature",
            "Invalid type for 'temperature': expected a number, but got a string instead.",
            "invalid_type",
        ),
        (
            body(model=5),
            "model",
            "Invalid type for 'model': expected a string, but got an integer instead.",
            "invalid_type",
        ),
        (
            body(stream="yes"),
            "stream",
            "Invalid type for 'stream': expected a boolean, but got a string instead.",
            "invalid_type",
        ),
        (
            body(messages=[{"role": "user", "content": 5}]),
            "messages[0].content",
            "Invalid type for 'messages[0].content': expected a string, an array or null, "
            "but got an integer instead.",
            "invalid_type",
        ),
        (
            body(stop=5),
            "stop",
            "Invalid type for 'stop': expected a string or an array, but got an integer instead.",
            "invalid_type",
        ),
        (
            body(messages=[]),
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got "
            "an empty array instead.",
            "empty_array",
        ),
        (
            body(stop=["a", "b", "c", "d", "e"]),
            "stop",
            "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an "
            "array with length 5 instead.",
            "array_above_max_length",
        ),
        (
            body(max_tokens=-1),
            "max_tokens",
            "Invalid 'max_tokens': value below minimum. Expected a value >= 0, but got -1 instead.",
            "value_below_min_value",
        ),
        (
            body(tool_choice="always"),
            "tool_choice",
            "Invalid value for 'tool_choice': 'always'. Supported values are: 'none', 'auto', "
            "'required'.",
            "invalid_value",
        ),
        (
            body(messages=[{"role": "wizard", "content": "x"}]),
            "messages[0].role",
            "Invalid value for 'messages[0].role': 'wizard'. Supported values are: 'system', "
            "'user', 'assistant', 'tool', 'developer', 'function'.",
            "invalid_value",
        ),
        (
            body(response_format={"type": "xml"}),
            "response_format.type",
            "Invalid value for 'response_format.type': 'xml'. Supported values are: 'text', "
            "'json_object', 'json_schema'.",
            "invalid_value",
        ),
        (
            body(tool_choice={"type": "tool", "function": {"name": "f"}}),
            "tool_choice.type",
            "Invalid value for 'tool_choice.type': 'tool'. Supported values are: 'function'.",
            "invalid_value",
        ),
        (
            body(messages=[{"role": "user", "content": None}]),
            "messages[0].content",
            "Invalid value for 'messages[0].content': null is not allowed here.",
            "invalid_value",
        ),
        (
            body(logit_bias={"50256": "x"}),
            "logit_bias.50256",
            "Invalid type for 'logit_bias.50256': expected a number, but got a string instead.",
            "invalid_type",
        ),
    ],
)
def test_schema_violation_wording(
    contract: Contract, sent: dict[str, Any], param: str, message: str, code: str
) -> None:
    assert only(validate(sent, contract, NONE)) == Violation(param, message, code)


def test_every_violation_is_listed_in_param_order(contract: Contract) -> None:
    found = validate(body(top_p="x", temperature="y", n="z"), contract, NONE)
    assert [v.param for v in found] == ["n", "temperature", "top_p"]
    assert {v.code for v in found} == {"invalid_type"}


def test_a_long_value_is_shown_cut(contract: Contract) -> None:
    found = only(validate(body(tool_choice="x" * 500), contract, NONE))
    shown = found.message.split("'")[3]
    assert len(shown) == 60
    assert shown.endswith("...")


def test_rules_run_only_on_a_schema_valid_body(contract: Contract) -> None:
    # temperature 5 breaks a semantic rule; stream "yes" breaks the schema: only the latter.
    found = validate(body(temperature=5, stream="yes"), contract, NONE)
    assert [v.param for v in found] == ["stream"]
    assert [v.param for v in validate(body(temperature=5), contract, NONE)] == ["temperature"]


def test_a_valid_body_has_no_violations(contract: Contract) -> None:
    assert validate(body(temperature=0.7, n=2, stop=["\n"]), contract, NONE) == []


def test_disabled_rules_are_skipped(contract: Contract) -> None:
    sent = body(temperature=5, top_p=3)
    assert [v.param for v in validate(sent, contract, NONE)] == ["temperature", "top_p"]
    kept = validate(sent, contract, frozenset({"temperature-range"}))
    assert [v.param for v in kept] == ["top_p"]


def test_strict_spec_refuses_what_the_overlay_relaxes(contract: Contract) -> None:
    # The overlay lets an assistant turn with tool calls carry no content (openai-node sends it).
    turn = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    sent = body(messages=[*USER, turn, {"role": "tool", "tool_call_id": "c1", "content": "ok"}])
    assert validate(sent, contract, NONE) == []
    strict = validate(sent, Contract.load(strict_spec=True), NONE)
    assert [v.param for v in strict] == ["messages[1].content"]


def test_validation_failed_with_one_violation() -> None:
    violation = Violation("temperature", "Invalid type for 'temperature': ...", "invalid_type")
    error = ValidationFailed([violation])
    assert error.status == 400
    assert error.message == violation.message
    assert (error.param, error.code) == ("temperature", "invalid_type")
    assert error.error_object() == {
        "message": violation.message,
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "invalid_type",
        "violations": [violation.to_json()],
    }


def test_validation_failed_lists_several_and_leads_with_the_first() -> None:
    first = Violation("n", "Bad n.", "invalid_type")
    second = Violation("top_p", "Bad top_p.", None)
    error = ValidationFailed([first, second])
    assert error.message == "2 problems with the request body: (1) Bad n. (2) Bad top_p."
    assert (error.param, error.code) == ("n", "invalid_type")
    assert error.error_object()["violations"] == [
        {"param": "n", "message": "Bad n.", "code": "invalid_type"},
        {"param": "top_p", "message": "Bad top_p.", "code": None},
    ]


def custom(schema: dict[str, Any]) -> Contract:
    """A contract over `schema`, to reach wording the spec's own schema has no keyword for."""
    bundled = Contract.load(strict_spec=False)
    return dataclasses.replace(
        bundled,
        schema=schema,
        is_valid=lambda _: False,
        explainer=jsonschema.Draft7Validator(schema),
    )


def test_a_keyword_without_openai_wording_is_still_described() -> None:
    contract = custom({"properties": {"model": {"type": "string", "maxLength": 3}}})
    assert validate({"model": "abcdef"}, contract, NONE) == [
        Violation("model", "Invalid 'model': 'abcdef' is too long", "invalid_value")
    ]


def test_a_required_field_inside_one_of_is_missing_at_its_path() -> None:
    choice = {"oneOf": [{"type": "string"}, {"type": "object", "required": ["type"]}]}
    contract = custom({"properties": {"tool_choice": choice}})
    assert validate({"tool_choice": {}}, contract, NONE) == [
        Violation(
            "tool_choice.type",
            "Missing required parameter: 'tool_choice.type'.",
            "missing_required_parameter",
        )
    ]


@pytest.mark.parametrize(
    "message",
    [{"role": "bogus", "content": "x"}, {"role": "tool", "content": "x"}],  # schema, then rule
)
def test_a_body_of_thousands_of_bad_messages_lists_only_the_first_few(
    contract: Contract, message: dict[str, Any]
) -> None:
    found = validate(body(messages=[message] * 5000), contract, NONE)
    assert len(found) == MAX_VIOLATIONS + 1
    error = ValidationFailed(found)
    assert error.message.startswith(f"Over {MAX_VIOLATIONS} problems with the request body: (1) ")
    assert len(error.error_object()["violations"]) == MAX_VIOLATIONS
