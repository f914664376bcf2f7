"""The limits of issue #13, unit by unit: budget, RE2, journal bytes, summaries, redaction,
alias bombs, the sandbox's string methods, header values."""

from __future__ import annotations

import json
import time
from random import Random
from typing import Any

import pytest

from mockserver.bounded_yaml import MAX_NESTING, AliasBomb, TooDeep, safe_yaml
from mockserver.contract.auth import is_secret_header, redact_query
from mockserver.journal.headers import redact_headers
from mockserver.journal.store import Journal, ServeEvent, summarized
from mockserver.linear_regex import RegexError, compile_linear, finder, glob_to_regex
from mockserver.replies.schema_values import Budget, OverBudget, value_for
from mockserver.stubs.context import MatchContext
from mockserver.stubs.loader import load_text
from mockserver.stubs.templates import TemplateError, compile_tree, render_tree
from mockserver.wire.headers import header_safe


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"$ref": "#"}, {"$ref": "#"}]},
        {"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000}},
        {"type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 10_000}},
    ],
)
def test_the_budget_stops_a_bomb_within_its_time(schema: dict[str, Any]) -> None:
    started = time.monotonic()
    with pytest.raises(OverBudget):
        value_for(schema, Random(0))
    assert time.monotonic() - started < 10  # a 0.5 s budget; a generous bound for loaded CI


def test_one_budget_is_shared_by_the_values_of_a_reply() -> None:
    schema = {"type": "array", "minItems": 100, "items": {"type": "integer"}}
    budget = Budget(nodes=250)
    value_for(schema, Random(0), budget=budget)  # ~100 values and their checks
    value_for(schema, Random(1), budget=budget)
    with pytest.raises(OverBudget, match="values"):
        value_for(schema, Random(2), budget=budget)


def test_patterns_run_in_linear_time() -> None:
    regex = compile_linear("^(a+)+$")
    started = time.monotonic()
    assert regex.search("a" * 100_000 + "!") is None
    assert time.monotonic() - started < 1
    with pytest.raises(RegexError, match="RE2"):
        compile_linear(r"(a)\1")
    assert compile_linear(r"abc\Z").search("xabc") is not None  # Python's \Z is RE2's \z


@pytest.mark.parametrize(
    ("glob", "text", "matches"),
    [
        ("gpt-4*", "gpt-4o-mini", True),
        ("gpt-4*", "gpt-3.5", False),
        ("gpt-?o", "gpt-4o", True),
        ("a.b", "axb", False),
        ("[!x]y", "zy", True),
        ("[!x]y", "xy", False),
    ],
)
def test_globs(glob: str, text: str, matches: bool) -> None:
    assert (compile_linear(glob_to_regex(glob)).match(text) is not None) is matches
    assert finder(compile_linear(glob_to_regex(glob)), anchored=True)(text) is matches


@pytest.mark.parametrize(
    "pattern", [r"^\s*(你好|hi)[!！]*$", "b", "^$", r"x\Z", "(?i)HELLO", "^a+$"]
)
@pytest.mark.parametrize("text", ["", "你好！", "hi!", "abc", "xx", "say Hello", "aaa", "ab\nb"])
def test_finder_says_what_search_and_match_say(pattern: str, text: str) -> None:
    regex = compile_linear(pattern)
    assert finder(regex)(text) is (regex.search(text) is not None)
    assert finder(regex, anchored=True)(text) is (regex.match(text) is not None)
    assert finder(regex, anchored=True)(text * 10_000) is (regex.match(text * 10_000) is not None)


def _event(i: int, body: bytes) -> ServeEvent:
    return ServeEvent(id=f"req_{i}", at=0.0, method="POST", path="/v1", headers={}, body=body)


def test_the_journal_is_bounded_in_bytes() -> None:
    journal = Journal(limit=1000, max_bytes=200_000)
    for i in range(100):
        journal.record(_event(i, b'{"x": "' + b"y" * 10_000 + b'"}'))
    assert journal.bytes <= 200_000
    assert 10 < len(journal) < 100
    assert journal.get("req_99") is not None
    assert journal.get("req_0") is None


def test_large_bodies_are_kept_summarized() -> None:
    journal = Journal()
    body = json.dumps({"messages": ["m" * 10] * 100_000}).encode()
    journal.record(_event(1, body))
    kept = journal.get("req_1")
    assert kept is not None
    assert len(kept.body) < 300_000
    assert "more items not kept" in json.dumps(kept.to_json())


def test_a_body_summarized_twice_keeps_the_lengths_of_its_strings() -> None:
    """Summarized when parsed, again when kept past MAX_KEPT_BYTES (and a shared entry again
    when read back): a string cut once says its true length."""
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 10_000}] * 100}
    once = summarized(body)
    assert summarized(once) == once
    entry = _event(1, b"")
    entry.parsed(json.dumps(body).encode(), body)
    journal = Journal()
    journal.record(entry)
    content = entry.to_json()["body"]["messages"][-1]["content"]
    assert content.endswith("... [10000 characters in all]")


def test_deep_and_odd_values_summarize_to_encodable_json() -> None:
    deep: Any = []
    for _ in range(1000):
        deep = [deep]
    text = json.dumps(summarized({"deep": deep, "odd": "caf\udce9"}))
    assert "not kept" in text
    assert json.loads(text)["odd"] == "caf\ufffd"


@pytest.mark.parametrize(
    "name", ["Authorization", "X-Goog-Api-Key", "Api_Key", "apikey", "X-Auth-Token", "Cookie"]
)
def test_credential_headers_are_redacted_by_name(name: str) -> None:
    assert is_secret_header(name)
    assert "secret-value-12345" not in str(redact_headers({name: "secret-value-12345"}))


def test_plain_headers_and_query_parameters_are_kept() -> None:
    assert not is_secret_header("Content-Type")
    assert redact_headers({"X-Request-Id": "abc"}) == {"X-Request-Id": "abc"}
    path = redact_query("/v1/chat?api_key=secret-value-12345&model=x")
    assert "secret-value-12345" not in path
    assert "model=x" in path


def test_yaml_alias_bombs_are_refused_at_load() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(8):
        lines.append(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]")
    _, problems = load_text("\n".join(lines), "bomb.yaml", [])
    assert problems
    assert "alias bomb" in problems[0].message


def test_a_recursive_yaml_alias_is_refused_not_walked_forever() -> None:
    _, problems = load_text("a: &a [1, *a]", "loop.yaml", [])
    assert problems
    assert "alias bomb" in problems[0].message
    with pytest.raises(AliasBomb):
        safe_yaml("match: &m {not: *m}")


def _nested_not(levels: int) -> str:
    match: dict[str, Any] = {"last_user": "x"}
    for _ in range(levels):
        match = {"not": match}
    return json.dumps({"name": "deep", "match": match, "reply": {"content": "hi"}})


def test_fixtures_nested_past_the_limit_are_refused_at_load() -> None:
    fixtures, problems = load_text(_nested_not(MAX_NESTING - 10), "deep.yaml", [])
    assert not problems
    assert fixtures[0].match.holds(MatchContext({"messages": []}, {})) in (True, False)
    fixtures, problems = load_text(_nested_not(300), "deep.yaml", [])
    assert not fixtures
    assert f"nested more than {MAX_NESTING} levels deep" in problems[0].message
    raw = "[" * 500 + "]" * 500
    _, problems = load_text(f"name: deep\nreply: {{raw: {raw}, unchecked: true}}", "r.yaml", [])
    assert f"nested more than {MAX_NESTING} levels deep" in problems[0].message
    with pytest.raises(TooDeep):
        safe_yaml(raw)


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: [1, *a]}", "- &a {reply: *a}"])
def test_yaml_aliases_holding_themselves_are_refused_at_load(text: str) -> None:
    _, problems = load_text(text, "loop.yaml", [])
    assert problems
    assert "alias bomb" in problems[0].message


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x'.center(4000000000) }}",
        "{{ 'x'.zfill(300000000) }}",
        "{{ 'a\tb'.expandtabs(300000000) }}",
        "{{ ('x' * 1000000).replace('x', 'yy') }}",
        "{{ '{:>300000000}'.format(1) }}",
        "{{ '{0:{1}}'.format(1, 300000000) }}",
        "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
    ],
)
def test_string_growth_is_refused_before_it_allocates(template: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError, match="sandbox"):
        render_tree(compile_tree(template), {})
    assert time.monotonic() - started < 0.9  # refused, not stopped by the 1 s watchdog


def test_wordwrap_and_truncate_work() -> None:
    template = "{{ 'hello world foo'|wordwrap(5) }}|{{ 'hello world foo bar'|truncate(9) }}"
    rendered = render_tree(compile_tree(template), {})
    assert rendered == "hello\nworld\nfoo|hello..."


def test_header_values_lose_their_control_characters() -> None:
    assert header_safe({"X-A": "a\x00b\x7f", "bad name": "x"}) == {"X-A": "a\\x00b\\x7f"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}',
        '{"messages": [{"content": "你好"}]}'.encode(),
        b'{"content": "\\ud83d\\ude00 and a lone \\ud800"}',
        b"[" * 40 + b"]" * 40,
        b"not json \xff\xfe",
        b'{"s": "' + b"x" * 5000 + b'"}',
        b"",
    ],
)
def test_an_entry_body_is_the_summary_of_the_body(raw: bytes) -> None:
    event = _event(0, raw)
    event.response = raw
    assert event.to_json()["body"] == summarized(event.body_json)
    assert event.to_json()["response"] == summarized(event.body_json)


def test_finder_falls_back_when_re2_internals_change() -> None:
    """A google-re2 release whose private Match takes other arguments costs speed, not 500s."""
    real = compile_linear("^hi")

    class Changed:
        def Match(self, text: bytes) -> None:
            raise AssertionError("not to be called with the old arguments")

    class Release:
        pattern = real.pattern
        search = real.search
        match = real.match
        fullmatch = real.fullmatch
        _regexp = Changed()

    found = finder(Release())
    assert found("hi there") is True
    assert found("oh hi") is False
