"""FixtureSet: selection order, the index, `times`, scenario steps, resets and near misses."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from mockserver.stubs.context import MatchContext
from mockserver.stubs.fixture_set import FixtureSet, ScenarioExhausted
from mockserver.stubs.loader import load_text
from mockserver.stubs.model import Fixture
from mockserver.stubs.steps import CompletionStep, Step


def loaded(text: str) -> list[Fixture]:
    fixtures, problems = load_text(textwrap.dedent(text).lstrip("\n"), "set.yaml")
    assert problems == []
    return fixtures


def fixture_set(text: str) -> FixtureSet:
    return FixtureSet(loaded(text))


def request(
    last_user: str = "hello", model: str = "gpt-4o", headers: dict[str, str] | None = None
) -> MatchContext:
    body = {"model": model, "messages": [{"role": "user", "content": last_user}]}
    return MatchContext(body, headers or {})


def selected(fixtures: FixtureSet, ctx: MatchContext) -> str | None:
    fixture = fixtures.select(ctx)
    return fixture.name if fixture is not None else None


def answer(fixtures: FixtureSet, ctx: MatchContext) -> Any:
    """What a request gets: select, then take the reply step (None: generated)."""
    fixture = fixtures.select(ctx)
    if fixture is None:
        return None
    return content_of(fixtures.take_reply(fixture))


def content_of(step: Step) -> Any:
    assert isinstance(step, CompletionStep), step
    return step.choices[0].content


def test_priority_then_load_order() -> None:
    fixtures = fixture_set(
        """
        - {name: catch-all}
        - {name: keyed-late, match: {last_user: hi}}
        - {name: urgent, priority: 10, match: {last_user: {contains: urgent}}}
        - {name: low, priority: -5, match: {model: o3}}
        """
    )
    assert [f.name for f in fixtures.ranked] == ["urgent", "catch-all", "keyed-late", "low"]
    assert [f.name for f in fixtures.fixtures] == ["catch-all", "keyed-late", "urgent", "low"]
    assert len(fixtures) == 4
    assert selected(fixtures, request("hi")) == "catch-all"
    assert selected(fixtures, request("urgent!")) == "urgent"
    assert selected(fixtures, request("x", model="o3")) == "catch-all"


@pytest.mark.parametrize(
    ("last_user", "model", "headers", "expected"),
    [
        ("hi", "gpt-4o", {}, "by-user"),
        ("hi", "o3", {}, "by-user"),
        ("other", "gpt-4o", {}, "by-model"),
        ("other", "o3", {"x-case": "boom"}, "by-header"),
        ("hi", "gpt-4o", {"x-case": "boom"}, "by-header"),
        ("hi", "gpt-4o", {"x-case": "other"}, "by-user"),
        ("other", "o3", {"x-case": "other"}, "unkeyed"),
        ("regex-me", "o3", {}, "unkeyed"),
    ],
)
def test_index_keeps_the_global_order(
    last_user: str, model: str, headers: dict[str, str], expected: str
) -> None:
    """Keyed fixtures live in buckets, yet selection is still priority then file order."""
    fixtures = fixture_set(
        """
        - {name: by-header, priority: 1, match: {headers: {X-Case: boom}}}
        - {name: by-user, match: {last_user: hi}}
        - {name: by-model, match: {model: gpt-4o}}
        - {name: unkeyed, match: {last_user: {regex: '^(regex-me|other)$'}}}
        - {name: by-user-too-late, match: {last_user: hi, model: gpt-4o}}
        """
    )
    assert selected(fixtures, request(last_user, model, headers)) == expected


def test_a_keyed_fixture_still_checks_all_its_conditions() -> None:
    fixtures = fixture_set("- {name: both, match: {last_user: hi, stream: true}}")
    assert selected(fixtures, request("hi")) is None
    stream = MatchContext(
        {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}, {}
    )
    assert selected(fixtures, stream) == "both"


def test_no_fixtures_no_selection() -> None:
    empty = FixtureSet()
    assert selected(empty, request()) is None
    assert empty.near_misses(request()) == []
    assert empty.closest_names("x") == []
    assert empty.models() == []


def test_times_then_the_next_fixture() -> None:
    fixtures = fixture_set(
        """
        - {name: once, times: 1, reply: {content: once}}
        - {name: twice, times: 2, reply: {content: twice}}
        - {name: always, reply: {content: always}}
        """
    )
    answers = [answer(fixtures, request()) for _ in range(5)]
    assert answers == ["once", "twice", "twice", "always", "always"]
    assert fixtures.calls == {"once": 1, "twice": 2, "always": 2}


@pytest.mark.parametrize(
    ("after_last", "expected"),
    [("repeat", ["a", "b", "b", "b"]), ("cycle", ["a", "b", "a", "b"])],
)
def test_sequence_steps(after_last: str, expected: list[str]) -> None:
    fixtures = fixture_set(
        f"""
        - name: seq
          reply: {{after_last: {after_last}, sequence: [{{content: a}}, {{content: b}}]}}
        """
    )
    assert [answer(fixtures, request()) for _ in expected] == expected


def test_sequence_exhausted_raises() -> None:
    fixtures = fixture_set("- {name: seq, reply: {after_last: error, sequence: [{content: a}]}}\n")
    fixture = fixtures.by_name["seq"]
    assert content_of(fixtures.take_reply(fixture)) == "a"
    with pytest.raises(ScenarioExhausted):
        fixtures.take_reply(fixture)
    with pytest.raises(ScenarioExhausted):
        fixtures.take_reply(fixture)
    fixtures.reset("seq")
    assert content_of(fixtures.take_reply(fixture)) == "a"


SCENARIOS = """
- name: left
  match: {last_user: left}
  reply: {sequence: [{content: L1}, {content: L2}, {content: L3}]}
- name: right
  match: {last_user: right}
  reply: {sequence: [{content: R1}, {content: R2}, {content: R3}]}
- name: limited
  times: 1
  match: {last_user: limited}
  reply: {content: only once}
"""


def test_scenarios_are_independent_and_reset() -> None:
    fixtures = fixture_set(SCENARIOS)
    left, right, limited = request("left"), request("right"), request("limited")
    assert [answer(fixtures, ctx) for ctx in (left, right, left, left)] == ["L1", "R1", "L2", "L3"]
    assert answer(fixtures, limited) == "only once"
    assert answer(fixtures, limited) is None
    fixtures.reset("left")
    assert [answer(fixtures, left), answer(fixtures, right)] == ["L1", "R2"]
    assert answer(fixtures, limited) is None, "reset(name) touches only that fixture"
    fixtures.reset("unknown-name")
    fixtures.reset()
    assert [answer(fixtures, right), answer(fixtures, limited)] == ["R1", "only once"]
    assert fixtures.calls == {"right": 1, "limited": 1}


def test_reload_starts_afresh() -> None:
    fixtures = fixture_set(SCENARIOS)
    answer(fixtures, request("left"))
    fixtures.reload(loaded("- {name: new, match: {model: o3}, reply: {content: new}}"))
    assert fixtures.calls == {}
    assert list(fixtures.by_name) == ["new"]
    assert selected(fixtures, request("left")) is None
    assert answer(fixtures, request(model="o3")) == "new"
    assert fixtures.models() == ["o3"]


def test_near_misses_closest_first_with_reasons() -> None:
    fixtures = fixture_set(
        """
        - {name: far, match: {model: o3, last_user: bye, stream: true}}
        - {name: close, match: {model: gpt-4o, last_user: hi, stream: false}}
        - {name: used-up, times: 1, match: {model: gpt-4o}}
        - {name: nearly, match: {last_user: {contains: hell}, model: o1}}
        - {name: fourth, match: {last_user: nope}}
        """
    )
    fixtures.calls["used-up"] = 1
    misses = fixtures.near_misses(request("hello"))
    assert [m.name for m in misses] == ["close", "nearly", "used-up"]
    assert misses[0].failed == ("last user message equals 'hi', got 'hello'",)
    assert misses[0].source == "set.yaml:2"
    assert misses[1].failed == ("model equals 'o1', got 'gpt-4o'",)
    assert misses[2].failed == ("already answered its 1 time(s)",)
    assert misses[0].to_json() == {
        "fixture": "close",
        "source": "set.yaml:2",
        "failed": ["last user message equals 'hi', got 'hello'"],
    }
    assert len(fixtures.near_misses(request("hello"), limit=10)) == 5


def test_closest_names_and_models() -> None:
    fixtures = fixture_set(
        """
        - {name: weather-call, match: {model: gpt-4o}}
        - {name: weather-answer, match: {model: 'gpt-*'}}
        - {name: greeting, match: {model: o3-mini}}
        """
    )
    assert fixtures.closest_names("weather-cal")[:2] == ["weather-call", "weather-answer"]
    assert "greeting" not in fixtures.closest_names("weather-cal")
    assert fixtures.models() == ["gpt-4o", "o3-mini"]
