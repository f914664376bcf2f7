"""contract/rules.py on its own: each named semantic rule fires, says it OpenAI's way, and can be
switched off by name; the path and type helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mockserver.contract.rules import RULES, Violation, json_type, param_path
from mockserver.contract.schemas import Contract
from mockserver.contract.validation import validate

USER = [{"role": "user", "content": "hi"}]
CALLED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ],
}
NOT_AN_IMAGE = "data:image/png;base64,aGVsbG8="  # "hello"
ONE_PIXEL_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQAB"
    "h6FO1AAAAABJRU5ErkJggg=="
)
TOOLS = [{"type": "function", "function": {"name": "f"}}]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": USER, **fields}


def image(url: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]


@dataclass(frozen=True)
class Case:
    rule: str
    broken: dict[str, Any]  # schema-valid, breaks only this rule
    violation: Violation
    fine: dict[str, Any]  # the nearest body the rule accepts


CASES = [
    Case(
        "tool-call-id",
        body(messages=[*USER, CALLED, {"role": "tool", "tool_call_id": "call_2", "content": "x"}]),
        Violation(
            "messages[2].tool_call_id",
            "Invalid parameter: 'tool_call_id' 'call_2' of messages[2] does not answer any tool "
            "call of an earlier assistant message.",
            "invalid_tool_call_id",
        ),
        body(messages=[*USER, CALLED, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]),
    ),
    Case(
        "json-object-needs-json-word",
        body(response_format={"type": "json_object"}),
        Violation(
            "messages",
            "'messages' must contain the word 'json' in some form, to use 'response_format' of "
            "type 'json_object'.",
            None,
        ),
        body(
            response_format={"type": "json_object"},
            messages=[{"role": "user", "content": [{"type": "text", "text": "Answer in JSON."}]}],
        ),
    ),
    Case(
        "temperature-range",
        body(temperature=2.5),
        Violation(
            "temperature",
            "Invalid 'temperature': value above maximum. Expected a value <= 2, but got 2.5 "
            "instead.",
            "value_above_max_value",
        ),
        body(temperature=2),
    ),
    Case(
        "top-p-range",
        body(top_p=1.5),
        Violation(
            "top_p",
            "Invalid 'top_p': value above maximum. Expected a value <= 1, but got 1.5 instead.",
            "value_above_max_value",
        ),
        body(top_p=1),
    ),
    Case(
        "penalty-range",
        body(presence_penalty=-3),
        Violation(
            "presence_penalty",
            "Invalid 'presence_penalty': value below minimum. Expected a value >= -2, but got -3 "
            "instead.",
            "value_below_min_value",
        ),
        body(presence_penalty=-2, frequency_penalty=2),
    ),
    Case(
        "logit-bias-range",
        body(logit_bias={"50256": 101}),
        Violation(
            "logit_bias.50256",
            "Invalid value for 'logit_bias.50256': 101. Bias values must be between -100 and 100.",
            "invalid_value",
        ),
        body(logit_bias={"50256": -100}),
    ),
    Case(
        "n-range",
        body(n=129),
        Violation(
            "n",
            "Invalid 'n': value above maximum. Expected a value <= 128, but got 129 instead.",
            "value_above_max_value",
        ),
        body(n=128),
    ),
    Case(
        "image-data-uri",
        body(messages=image(NOT_AN_IMAGE)),
        Violation(
            "messages[0].content[0].image_url.url",
            "Invalid image in 'messages[0].content[0].image_url.url': image data is not a PNG, "
            "JPEG, GIF or WebP image",
            "invalid_image_url",
        ),
        body(messages=image(ONE_PIXEL_PNG)),
    ),
    Case(
        "tool-choice-offered",
        body(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "g"}}),
        Violation(
            "tool_choice",
            "Invalid value for 'tool_choice': it names 'g' but no such function is offered in "
            "'tools' or 'functions'.",
            "invalid_value",
        ),
        body(tools=TOOLS, tool_choice={"type": "function", "function": {"name": "f"}}),
    ),
    Case(
        "logprobs-fields",
        body(logprobs=True, top_logprobs=21),
        Violation(
            "top_logprobs",
            "Invalid 'top_logprobs': integer out of range. Expected a value between 0 and 20, "
            "but got 21 instead.",
            "integer_out_of_range",
        ),
        body(logprobs=True, top_logprobs=20),
    ),
]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract.load(strict_spec=False)


def test_every_rule_has_a_case() -> None:
    assert [c.rule for c in CASES] == list(RULES)


def test_every_rule_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("Semantic rules the schema cannot express") :]
    listed = re.findall(r"`([a-z]+(?:-[a-z]+)+)`", section[:1500])
    assert set(RULES) <= set(listed)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_fires_with_openai_wording(case: Case, contract: Contract) -> None:
    assert list(RULES[case.rule](case.broken)) == [case.violation]
    assert validate(case.broken, contract, frozenset()) == [case.violation]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_accepts_the_nearest_good_body(case: Case, contract: Contract) -> None:
    assert list(RULES[case.rule](case.fine)) == []
    assert validate(case.fine, contract, frozenset()) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_can_be_disabled_alone(case: Case, contract: Contract) -> None:
    assert validate(case.broken, contract, frozenset({case.rule})) == []
    others = frozenset(RULES) - {case.rule}
    assert validate(case.broken, contract, others) == [case.violation]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"temperature": -0.1}, ["temperature:value_below_min_value"]),
        ({"top_p": -1}, ["top_p:value_below_min_value"]),
        ({"frequency_penalty": 2.01}, ["frequency_penalty:value_above_max_value"]),
        (
            {"presence_penalty": 9, "frequency_penalty": -9},
            ["presence_penalty:value_above_max_value", "frequency_penalty:value_below_min_value"],
        ),
        ({"n": 0.5}, ["n:value_below_min_value"]),
        ({"temperature": 0, "top_p": 0, "n": 1}, []),
        ({"temperature": None, "top_p": None}, []),
    ],
)
def test_ranges_at_both_ends(fields: dict[str, Any], expected: list[str]) -> None:
    names = ("temperature-range", "top-p-range", "penalty-range", "n-range")
    found = [v for name in names for v in RULES[name](body(**fields))]
    assert [f"{v.param}:{v.code}" for v in found] == expected


# Full-width and superscript digits pass str.isdigit(), but are not token ids.
@pytest.mark.parametrize("key", ["\uff11\uff12", "\u00b2", "abc", "-1", "1.5", ""])
def test_logit_bias_keys_are_ascii_token_ids(key: str) -> None:
    (violation,) = RULES["logit-bias-range"](body(logit_bias={key: 1}))
    assert violation.param == f"logit_bias.{key}"
    assert violation.message == (
        f"Invalid key in 'logit_bias': '{key}'. Keys must be token ids (integers written as "
        "strings)."
    )


def test_tool_message_without_an_id_is_missing_a_parameter() -> None:
    messages = [*USER, CALLED, {"role": "tool", "content": "x"}]
    assert list(RULES["tool-call-id"](body(messages=messages))) == [
        Violation(
            "messages[2].tool_call_id",
            "Missing required parameter: 'messages[2].tool_call_id'.",
            "missing_required_parameter",
        )
    ]


def test_a_tool_result_must_follow_its_call() -> None:
    answer = {"role": "tool", "tool_call_id": "call_1", "content": "x"}
    found = list(RULES["tool-call-id"](body(messages=[*USER, answer, CALLED])))
    assert [v.param for v in found] == ["messages[1].tool_call_id"]


def test_json_word_is_found_in_any_message_and_any_case() -> None:
    messages = [{"role": "system", "content": "Reply as Json."}, *USER]
    assert (
        list(
            RULES["json-object-needs-json-word"](
                body(messages=messages, response_format={"type": "json_object"})
            )
        )
        == []
    )
    schema_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    assert list(RULES["json-object-needs-json-word"](body(response_format=schema_format))) == []


def test_http_image_urls_are_not_inspected() -> None:
    assert list(RULES["image-data-uri"](body(messages=image("https://example.com/cat.png")))) == []


def test_legacy_function_call_must_name_an_offered_function() -> None:
    rule = RULES["tool-choice-offered"]
    functions = [{"name": "lookup", "parameters": {"type": "object"}}]
    assert list(rule(body(functions=functions, function_call={"name": "lookup"}))) == []
    (violation,) = rule(body(functions=functions, function_call={"name": "other"}))
    assert violation.param == "function_call"
    # A string choice ("auto", "none", "required") names no function.
    assert list(rule(body(tools=TOOLS, tool_choice="required"))) == []


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (["messages", 0, "content"], "messages[0].content"),
        (["logit_bias", "50256"], "logit_bias.50256"),
        ([0, "a"], "[0].a"),
        (["tools", 2, "function", "parameters"], "tools[2].function.parameters"),
        ([], ""),
    ],
)
def test_param_path(path: list[str | int], text: str) -> None:
    assert param_path(path) == text


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "a boolean"),
        (3, "an integer"),
        (3.5, "a number"),
        ("x", "a string"),
        ([], "an array"),
        ({}, "an object"),
    ],
)
def test_json_type(value: Any, name: str) -> None:
    assert json_type(value) == name


def test_violation_to_json() -> None:
    assert Violation("n", "Bad.", "invalid_value").to_json() == {
        "param": "n",
        "message": "Bad.",
        "code": "invalid_value",
    }


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": TOOLS, "tool_choice": {"type": "function"}}, "tool_choice.function.name"),
        ({"tools": TOOLS, "tool_choice": {}}, "tool_choice.function.name"),
        ({"functions": [{"name": "f"}], "function_call": {}}, "function_call.name"),
    ],
)
def test_a_choice_naming_no_function_is_missing_its_name(
    fields: dict[str, Any], param: str, contract: Contract
) -> None:
    expected = Violation(
        param, f"Missing required parameter: '{param}'.", "missing_required_parameter"
    )
    assert validate(body(**fields), contract, frozenset()) == [expected]
