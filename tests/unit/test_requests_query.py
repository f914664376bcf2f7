"""Questions asked of the journal: list filters, the verification count, near misses."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.contract.errors import InvalidRequest
from mockserver.journal.queries import (
    DEFAULT_LIMIT,
    count_matching,
    filter_events,
    near_misses_for,
)
from mockserver.journal.store import Journal, ServeEvent
from mockserver.stubs.conditions import ConditionError
from mockserver.stubs.fixture_set import FixtureSet
from mockserver.stubs.loader import load_text

T0 = 1_700_000_000.0


def chat_body(last_user: str, model: str = "gpt-4o", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": last_user}], **fields}


def event(n: int, **fields: Any) -> ServeEvent:
    fields.setdefault("headers", {"Authorization": "Bearer sk-****1234"})
    return ServeEvent(
        id=f"req_{n}", at=T0 + n, method="POST", path="/v1/chat/completions", **fields
    )


@pytest.fixture
def journal() -> Journal:
    """Six requests, recorded oldest (req_1) to newest (req_6)."""
    journal = Journal()
    rows: list[dict[str, Any]] = [
        {"fixture": "greet", "model": "gpt-4o", "status": 200, "body": chat_body("hello")},
        {"generated": True, "model": "gpt-4o-mini", "status": 200, "body": chat_body("x", "m")},
        {"fixture": "greet", "model": "gpt-4o", "status": 200, "stream": True},
        {"model": "gpt-4o", "status": 400, "body": chat_body("hello", temperature=9)},
        {"status": 400, "body": "{not json"},
        {"fixture": "weather", "model": "gpt-4o-mini", "status": 200, "stream": True},
    ]
    for n, row in enumerate(rows, start=1):
        if "stream" in row and "body" not in row:
            row["body"] = chat_body("hello", row["model"], stream=True)
        journal.record(event(n, **row))
    return journal


def ids(events: list[ServeEvent]) -> list[str]:
    return [e.id for e in events]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["req_6", "req_5", "req_4", "req_3", "req_2", "req_1"]),
        ({"fixture": "greet"}, ["req_3", "req_1"]),
        ({"fixture": "nope"}, []),
        ({"model": "gpt-4o-mini"}, ["req_6", "req_2"]),
        ({"status": "400"}, ["req_5", "req_4"]),
        ({"stream": "true"}, ["req_6", "req_3"]),
        ({"stream": "FALSE"}, ["req_5", "req_4", "req_2", "req_1"]),
        ({"since": str(T0 + 4)}, ["req_6", "req_5", "req_4"]),
        ({"since": str(T0 + 4.5)}, ["req_6", "req_5"]),
        ({"limit": "2"}, ["req_6", "req_5"]),
        ({"limit": "0"}, []),
        ({"fixture": "greet", "stream": "false"}, ["req_1"]),
        ({"model": "gpt-4o", "status": "200", "limit": "1"}, ["req_3"]),
    ],
)
def test_filters(journal: Journal, query: dict[str, str], expected: list[str]) -> None:
    assert ids(filter_events(journal, query)) == expected


def test_default_limit() -> None:
    journal = Journal()
    for n in range(DEFAULT_LIMIT + 5):
        journal.record(event(n))
    found = filter_events(journal, {})
    assert len(found) == DEFAULT_LIMIT
    assert found[0].id == f"req_{DEFAULT_LIMIT + 4}", "the newest are the ones kept"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("stream", "yes"),
        ("stream", "1"),
        ("status", "abc"),
        ("status", "nan"),
        ("status", "200.5"),
        ("limit", "ten"),
        ("limit", "-1"),
        ("limit", "nan"),
        ("limit", "inf"),
        ("limit", "2.5"),
        ("since", "yesterday"),
        ("since", "nan"),
        ("since", "inf"),
    ],
)
def test_bad_filter_values_are_invalid_requests(journal: Journal, param: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        filter_events(journal, {param: value})
    assert caught.value.status == 400
    error = caught.value.error_object()
    assert error["param"] == param
    assert error["code"] == "invalid_value"
    assert param in error["message"]


def test_count_matching_uses_the_fixture_match_format(journal: Journal) -> None:
    assert count_matching(journal, {"last_user": "hello"}) == ["req_6", "req_4", "req_3", "req_1"]
    assert count_matching(journal, {"last_user": "hello", "stream": True}) == ["req_6", "req_3"]
    assert count_matching(journal, {"model": "gpt-4o-mini", "stream": False}) == []
    assert count_matching(journal, {"body": {"/temperature": {"gt": 1}}}) == ["req_4"]


def test_count_matching_skips_unparsable_bodies(journal: Journal) -> None:
    every = count_matching(journal, {})
    assert "req_5" not in every, "a body that was not JSON cannot match anything"
    assert every == ["req_6", "req_4", "req_3", "req_2", "req_1"]


def test_count_matching_sees_redacted_headers_only(journal: Journal) -> None:
    redacted = {"headers": {"authorization": {"contains": "****1234"}}}
    assert len(count_matching(journal, redacted)) == 5


def test_count_matching_rejects_a_broken_match_block(journal: Journal) -> None:
    with pytest.raises(ConditionError) as caught:
        count_matching(journal, {"last_user": {"regex": "("}})
    assert "regex" in caught.value.path


FIXTURES = """
- name: greet
  match: {last_user: hello, model: gpt-4o}
  reply: {content: hi}
- name: weather
  match: {tools: [get_weather]}
  reply: {content: sunny}
"""


def test_near_misses_name_the_closest_fixture_and_the_failed_condition() -> None:
    fixtures, problems = load_text(FIXTURES, "near.yaml")
    assert problems == []
    miss = event(1, generated=True, body=chat_body("hello", "gpt-4o-mini"))
    found = near_misses_for(FixtureSet(fixtures), miss)
    assert found[0]["fixture"] == "greet", found
    assert found[0]["source"].startswith("near.yaml")
    assert len(found[0]["failed"]) == 1
    assert "gpt-4o" in found[0]["failed"][0]
    assert "gpt-4o-mini" in found[0]["failed"][0], "the failure says what the request had"
    assert [m["fixture"] for m in found] == ["greet", "weather"]


def test_near_misses_of_an_unparsable_body_do_not_crash() -> None:
    fixtures, _ = load_text(FIXTURES, "near.yaml")
    found = near_misses_for(FixtureSet(fixtures), event(1, body="{not json"))
    assert {m["fixture"] for m in found} == {"greet", "weather"}
