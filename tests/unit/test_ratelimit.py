"""RateLimiter with an injected clock: budgets count down, spent keys get 429, windows reset."""

from __future__ import annotations

import pytest

from mockserver.contract.errors import MockError
from mockserver.wire.ratelimit import WINDOW_S, RateLimiter


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def refused(limiter: RateLimiter, key: str, tokens: int = 0) -> MockError:
    with pytest.raises(MockError) as caught:
        limiter.charge(key, tokens)
    return caught.value


def test_no_limits_no_headers(clock: Clock) -> None:
    limiter = RateLimiter(rpm=None, tpm=None, clock=clock)
    for _ in range(100):
        assert limiter.charge("sk-a", 10_000) == {}


def test_requests_count_down_then_429(clock: Clock) -> None:
    assert WINDOW_S == 60.0
    limiter = RateLimiter(rpm=3, tpm=None, clock=clock)
    remaining, resets = [], []
    for _ in range(3):
        headers = limiter.charge("sk-a", 50)
        remaining.append(headers["x-ratelimit-remaining-requests"])
        resets.append(headers["x-ratelimit-reset-requests"])
        assert headers["x-ratelimit-limit-requests"] == "3"
        assert not any("tokens" in name for name in headers), "no tpm, no token headers"
        clock.advance(1)
    assert remaining == ["2", "1", "0"]
    assert resets == ["1m0s", "59s", "58s"]
    clock.advance(42)  # 45 s into the window
    error = refused(limiter, "sk-a")
    assert error.status == 429
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert "Limit 3" in error.message
    assert "Please try again in 15s." in error.message
    assert error.headers == {
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "15s",
        "retry-after": "15",
        "retry-after-ms": "15000",
    }


def test_sub_second_reset(clock: Clock) -> None:
    limiter = RateLimiter(rpm=1, tpm=None, clock=clock)
    limiter.charge("sk-a", 1)
    clock.advance(59.5)
    error = refused(limiter, "sk-a")
    assert error.headers["retry-after"] == "1", "never 0: clients would retry at once"
    assert error.headers["retry-after-ms"] == "500"
    assert error.headers["x-ratelimit-reset-requests"] == "500ms"


def test_refused_requests_are_not_counted_and_the_window_resets(clock: Clock) -> None:
    limiter = RateLimiter(rpm=2, tpm=None, clock=clock)
    limiter.charge("sk-a", 1)
    limiter.charge("sk-a", 1)
    for _ in range(5):
        refused(limiter, "sk-a")
        clock.advance(10)
    clock.advance(9.999)  # 59.999 s: still the same window
    refused(limiter, "sk-a")
    clock.advance(0.001)  # 60 s: a new window with a full budget
    headers = limiter.charge("sk-a", 1)
    assert headers["x-ratelimit-remaining-requests"] == "1"
    assert headers["x-ratelimit-reset-requests"] == "1m0s"
    clock.advance(30)
    assert limiter.charge("sk-a", 1)["x-ratelimit-reset-requests"] == "30s"
    refused(limiter, "sk-a")


def test_each_key_has_its_own_budget(clock: Clock) -> None:
    limiter = RateLimiter(rpm=1, tpm=None, clock=clock)
    limiter.charge("sk-a", 1)
    refused(limiter, "sk-a")
    clock.advance(20)
    headers = limiter.charge("sk-b", 1)
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1m0s", "sk-b's window starts with sk-b"
    assert refused(limiter, "sk-a").headers["retry-after"] == "40"


def test_tokens_budget(clock: Clock) -> None:
    limiter = RateLimiter(rpm=None, tpm=100, clock=clock)
    first = limiter.charge("sk-a", 40)
    assert first == {
        "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "60",
        "x-ratelimit-reset-tokens": "1m0s",
    }
    assert limiter.charge("sk-a", 40)["x-ratelimit-remaining-tokens"] == "20"
    error = refused(limiter, "sk-a", 40)
    assert error.status == 429
    assert error.type == "tokens"
    assert error.code == "rate_limit_exceeded"
    assert "Limit 100" in error.message
    assert error.headers["x-ratelimit-remaining-tokens"] == "20", "the refused 40 is not spent"
    assert limiter.charge("sk-a", 20)["x-ratelimit-remaining-tokens"] == "0", "20 still fits"
    refused(limiter, "sk-a", 1)
    assert limiter.charge("sk-a", 0)["x-ratelimit-remaining-tokens"] == "0"
    clock.advance(60)
    assert limiter.charge("sk-a", 100)["x-ratelimit-remaining-tokens"] == "0"


def test_a_request_bigger_than_the_whole_budget_is_refused(clock: Clock) -> None:
    limiter = RateLimiter(rpm=None, tpm=100, clock=clock)
    assert refused(limiter, "sk-a", 101).type == "tokens"
    assert limiter.charge("sk-a", 100)["x-ratelimit-remaining-tokens"] == "0"


def test_both_limits(clock: Clock) -> None:
    limiter = RateLimiter(rpm=5, tpm=1000, clock=clock)
    headers = limiter.charge("sk-a", 300)
    assert headers == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "4",
        "x-ratelimit-reset-requests": "1m0s",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "700",
        "x-ratelimit-reset-tokens": "1m0s",
    }
    limiter.charge("sk-a", 300)
    limiter.charge("sk-a", 300)
    error = refused(limiter, "sk-a", 300)
    assert error.type == "tokens", "the token budget ran out first"
    assert error.headers["x-ratelimit-remaining-requests"] == "2"
    for _ in range(2):
        limiter.charge("sk-a", 0)
    assert refused(limiter, "sk-a", 0).type == "requests"
