"""The X-Mock-Fault grammar (parse_fault, plan_from_mapping), plan merging and seeded chaos."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from mockserver.wire.faults import (
    HEADER,
    KEYS,
    NO_FAULT,
    Chaos,
    FaultPlan,
    FaultSyntaxError,
    layered,
    parse_fault,
    plan_from_mapping,
)

EVERY_KEY = [
    "chunk_ms",
    "crlf",
    "delay_ms",
    "disconnect_after",
    "duplicate_finish",
    "empty_delta_at",
    "error",
    "error_at",
    "html",
    "interleave_tools",
    "jitter_ms",
    "malformed_at",
    "no_done",
    "ping_ms",
    "retry_after",
    "seed",
    "split_bytes",
    "stall_after",
    "status",
    "ttft_ms",
]
FLAGS = ["html", "no_done", "duplicate_finish", "crlf", "interleave_tools"]


def test_keys_are_the_documented_grammar() -> None:
    assert KEYS == EVERY_KEY
    assert {f.name for f in dataclasses.fields(FaultPlan)} == set(EVERY_KEY)


def test_empty_header_is_no_fault() -> None:
    for text in ("", " ", ",", " , ;"):
        assert parse_fault(text) == FaultPlan()
    assert FaultPlan().describe() == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status=429", FaultPlan(status=429)),
        ("status=599", FaultPlan(status=599)),
        ("status=400", FaultPlan(status=400)),
        ("error=insufficient_quota", FaultPlan(error="insufficient_quota")),
        ("retry_after=2", FaultPlan(retry_after=2.0)),
        ("retry_after=0.05", FaultPlan(retry_after=0.05)),
        ("retry_after=-3", FaultPlan(retry_after=0.0)),
        ("delay_ms=250", FaultPlan(delay_ms=(250, 250))),
        ("delay_ms=0", FaultPlan(delay_ms=(0, 0))),
        ("delay_ms=100-300", FaultPlan(delay_ms=(100, 300))),
        ("delay_ms=120-120", FaultPlan(delay_ms=(120, 120))),
        ("ttft_ms=800", FaultPlan(ttft_ms=800)),
        ("chunk_ms=40", FaultPlan(chunk_ms=40)),
        ("jitter_ms=15", FaultPlan(jitter_ms=15)),
        ("ping_ms=100", FaultPlan(ping_ms=100)),
        ("disconnect_after=5", FaultPlan(disconnect_after=5)),
        ("disconnect_after=0", FaultPlan(disconnect_after=0)),
        ("stall_after=2", FaultPlan(stall_after=2)),
        ("malformed_at=3", FaultPlan(malformed_at=3)),
        ("error_at=0", FaultPlan(error_at=0)),
        ("empty_delta_at=1", FaultPlan(empty_delta_at=1)),
        ("split_bytes=7", FaultPlan(split_bytes=7)),
        ("seed=7", FaultPlan(seed=7)),
        ("seed=0", FaultPlan(seed=0)),
        ("seed=123456789", FaultPlan(seed=123456789)),
        ("ttft_ms=600000", FaultPlan(ttft_ms=600_000)),
    ],
)
def test_each_key(text: str, expected: FaultPlan) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize(("spelling", "value"), [("", True), ("=true", True), ("=1", True)])
def test_flags_alone_or_true(flag: str, spelling: str, value: bool) -> None:
    plan = parse_fault(f"{flag}{spelling}")
    assert getattr(plan, flag) is value
    assert plan == FaultPlan(**{flag: value})


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("spelling", ["=false", "=0"])
def test_flags_can_be_turned_off(flag: str, spelling: str) -> None:
    assert getattr(parse_fault(f"{flag}{spelling}"), flag) is False


def test_a_whole_header() -> None:
    plan = parse_fault(
        " STATUS = 429 ,retry_after=2; html,, ttft_ms=800, chunk_ms=40, jitter_ms=15, "
        "disconnect_after=5, seed=7 "
    )
    assert plan == FaultPlan(
        status=429,
        retry_after=2.0,
        html=True,
        ttft_ms=800,
        chunk_ms=40,
        jitter_ms=15,
        disconnect_after=5,
        seed=7,
    )
    assert plan.describe() == (
        "status=429, retry_after=2.0, html=True, ttft_ms=800, chunk_ms=40, jitter_ms=15, "
        "disconnect_after=5, seed=7"
    )


def test_the_last_repeat_of_a_key_wins() -> None:
    assert parse_fault("status=500, status=503") == FaultPlan(status=503)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("status=abc", "status must be a whole number, got 'abc'"),
        ("status=200", "status must be an HTTP error status (400-599), got 200"),
        ("status=600", "status must be an HTTP error status (400-599), got 600"),
        ("status=", "status must be a whole number, got ''"),
        ("status", "status must be a whole number"),
        ("ttft_ms=-5", "ttft_ms must be between 0 and 600000, got -5"),
        ("chunk_ms=600001", "chunk_ms must be between 0 and 600000, got 600001"),
        ("chunk_ms=1.5", "chunk_ms must be a whole number, got '1.5'"),
        ("disconnect_after=two", "disconnect_after must be a whole number"),
        ("split_bytes=0", "split_bytes must be between 1 and 600000, got 0"),
        ("ping_ms=0", "ping_ms must be between 1 and 600000, got 0"),
        ("seed=x", "seed must be a whole number, got 'x'"),
        ("delay_ms=abc", "delay_ms must be a whole number, got 'abc'"),
        ("delay_ms=300-100", "delay_ms range '300-100' goes backwards"),
        ("delay_ms=100-", "delay_ms must be a whole number, got ''"),
        ("delay_ms=-100", "delay_ms must be a whole number, got ''"),
        ("delay_ms=1-2-3", "delay_ms must be a whole number, got '2-3'"),
        ("retry_after=soon", "retry_after must be seconds, got 'soon'"),
        ("retry_after=nan", "retry_after must be 0 to 86400 seconds, got 'nan'"),
        ("retry_after=inf", "retry_after must be 0 to 86400 seconds, got 'inf'"),
        ("html=maybe", "html is a flag: give it alone or as html=true"),
        ("crlf=yes", "crlf is a flag"),
        ("bogus=1", "unknown key 'bogus'"),
        ("status=429, speed=fast", "unknown key 'speed'"),
    ],
)
def test_bad_values_are_fault_syntax_errors(text: str, says: str) -> None:
    """A domain error: the HTTP 400 is made at the boundary (tests/integration/test_faults_http)."""
    with pytest.raises(FaultSyntaxError) as caught:
        parse_fault(text)
    message = str(caught.value)
    assert message.startswith(says), message
    assert f"Allowed: {', '.join(EVERY_KEY)} " in message, "the message lists every key"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"status": 429, "retry_after": 0.5}, FaultPlan(status=429, retry_after=0.5)),
        ({"status": 502, "html": True}, FaultPlan(status=502, html=True)),
        ({"html": False, "no_done": True}, FaultPlan(no_done=True)),
        ({"delay_ms": 100}, FaultPlan(delay_ms=(100, 100))),
        ({"delay_ms": "100-800"}, FaultPlan(delay_ms=(100, 800))),
        ({"disconnect_after": 0, "seed": 3}, FaultPlan(disconnect_after=0, seed=3)),
        ({"error": "insufficient_quota"}, FaultPlan(error="insufficient_quota")),
        ({}, FaultPlan()),
    ],
)
def test_fixture_blocks_take_yaml_types(spec: dict[str, Any], expected: FaultPlan) -> None:
    assert plan_from_mapping(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [{"stauts": 429}, {"status": 302}, {"crlf": "sometimes"}, {"delay_ms": "9-1"}],
)
def test_bad_fixture_blocks_are_fault_syntax_errors(spec: dict[str, Any]) -> None:
    with pytest.raises(FaultSyntaxError):
        plan_from_mapping(spec)


def test_merge_is_key_by_key_and_the_later_source_wins() -> None:
    server = parse_fault("status=503, retry_after=5, chunk_ms=10, seed=1")
    fixture = parse_fault("status=429, ttft_ms=200")
    header = parse_fault("retry_after=0.5, chunk_ms=30")
    plan = server.merged(fixture).merged(header)
    assert plan == FaultPlan(status=429, retry_after=0.5, chunk_ms=30, ttft_ms=200, seed=1)
    # merging the other way round lets the server have the last word: order matters
    assert header.merged(fixture).merged(server).status == 503


def test_merge_with_an_empty_plan_changes_nothing() -> None:
    plan = parse_fault("status=429, html, delay_ms=5-9")
    assert plan.merged(FaultPlan()) == plan
    assert FaultPlan().merged(plan) == plan


@pytest.mark.parametrize(
    "key", ["disconnect_after", "error_at", "malformed_at", "stall_after", "empty_delta_at", "seed"]
)
def test_zero_is_a_value_not_silence(key: str) -> None:
    """Regression: `value not in (None, False)` dropped 0 (0 == False) from merges."""
    plan = parse_fault(f"{key}=0")
    assert getattr(plan, key) == 0
    assert FaultPlan().merged(plan) == plan
    earlier = parse_fault(f"{key}=4")
    assert getattr(earlier.merged(plan), key) == 0
    assert plan.describe() == f"{key}=0"


def test_an_unset_flag_does_not_undo_an_earlier_one() -> None:
    assert parse_fault("html").merged(parse_fault("html=false")).html is True


def test_chaos_is_seeded() -> None:
    def pattern(seed: int | None, rate: float = 0.5) -> list[int | None]:
        chaos = Chaos(rate, 503, seed)
        return [chaos.draw().status for _ in range(40)]

    first = pattern(42)
    assert first == pattern(42), "the same seed fails the same requests"
    assert first != pattern(43)
    assert set(first) == {None, 503}
    assert 5 <= first.count(503) <= 35
    assert pattern(None) == pattern(None), "no seed is still one fixed sequence"
    assert set(pattern(42, rate=0.0)) == {None}
    assert set(pattern(42, rate=1.0)) == {503}
    assert {Chaos(1.0, 500, 1).draw().status} == {500}


def test_layers_put_server_below_fixture_below_header() -> None:
    server = parse_fault("chunk_ms=10, retry_after=3")
    calm = Chaos(0.0, 503, 1).draw()
    quiet = layered({}, server, calm)
    assert (quiet.server, quiet.header, quiet.header_error) == (server, NO_FAULT, None)
    assert quiet.over(None) == server
    fixture = parse_fault("chunk_ms=15, ttft_ms=5")
    layers = layered({HEADER: "chunk_ms=20, seed=4"}, server, calm)
    assert layers.over(fixture) == FaultPlan(chunk_ms=20, ttft_ms=5, retry_after=3.0, seed=4)
    assert layers.header_error is None, "no status in the header: the fixture is consulted"
    angry = Chaos(1.0, 503, 1).draw()
    assert layered({}, server, angry).over(None).status == 503
    assert layered({}, server, angry).over(parse_fault("status=500")).status == 500
    asked = layered({HEADER: "status=429"}, server, angry).header_error
    assert asked is not None
    assert asked.status == 429, "the header wins"
    assert asked.retry_after == 3.0, "and keeps the server's other keys"
    with pytest.raises(FaultSyntaxError):
        layered({HEADER: "chunk_ms=soon"}, server, calm)


def test_a_pickled_plan_keeps_behave_shared() -> None:
    """Workers get their settings pickled: the empty plan must stay the NO_FAULT the hot path
    tests by identity (else every worker took the slow path and journaled an empty fault)."""
    assert pickle.loads(pickle.dumps(FaultPlan())) is NO_FAULT
    plan = FaultPlan(status=503, delay_ms=(5, 10), seed=3)
    assert pickle.loads(pickle.dumps(plan)) == plan
