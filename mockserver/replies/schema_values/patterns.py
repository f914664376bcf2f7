"""Strings from a `pattern`, through rstr, reproducibly: one seed gives one string anywhere."""

from __future__ import annotations

from random import Random
from typing import Any

from rstr.xeger import Xeger

from mockserver.linear_regex import Regex

_UGLY = frozenset("\t\n\r\x0b\x0c")  # legal where `.` or `[^...]` stands, but unreadable


class PatternRandom(Random):
    """The Random that rstr draws from, made safe for a reproducible mock.

    rstr picks characters out of sets, whose order changes with PYTHONHASHSEED: sorting a string
    population first keeps one seed one string in every process; control whitespace (form feed,
    vertical tab, ...) is left out where anything else may stand. Its `*` and `+` repeat up to
    100 times: `repeat_cap` keeps strings short and plausible (callers raise it on retries).
    """

    def __init__(self, seed: int, repeat_cap: int) -> None:
        super().__init__(seed)
        self.repeat_cap = repeat_cap

    def choice(self, seq: Any) -> Any:
        if seq and all(isinstance(item, str) for item in seq):
            seq = sorted(seq)
            seq = [c for c in seq if c not in _UGLY] or seq
        return super().choice(seq)

    def randint(self, a: int, b: int) -> int:
        return super().randint(a, min(b, a + self.repeat_cap))


def from_pattern(rng: Random, pattern: str, compiled: Regex, attempt: int) -> str | None:
    """A string matching `pattern` (searched, as JSON Schema does), or None on a miss."""
    source = PatternRandom(rng.getrandbits(64), 4 << min(attempt // 4, 5))
    try:
        text = Xeger(source).xeger(pattern)
    except Exception:  # rstr fails on what it cannot expand (conditionals, atomic groups)
        return None
    return text if compiled.search(text) else None


def padded(text: str, compiled: Regex, low: int) -> str:
    """A match too short for minLength, lengthened where the pattern is not anchored."""
    fill = "x" * (low - len(text))
    for candidate in (text + fill, fill + text):
        if compiled.search(candidate):
            return candidate
    return text
