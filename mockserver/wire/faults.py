"""Faults, delays and scripted HTTP errors, from one small grammar.

    X-Mock-Fault: status=429, retry_after=2
    X-Mock-Fault: ttft_ms=800, chunk_ms=40, jitter_ms=15, disconnect_after=5, seed=7

A comma-separated list of `key=value` pairs and bare flags (Prism's `Prefer` style), read from
the request header, a fixture's `fault:` block, or `serve --fault`; later sources override
earlier ones key by key (server < fixture < header). WireMock's split is kept: `status` is a
well-formed HTTP error the client should parse; the stream keys are transport misbehaviour;
the *_ms keys are timing. Randomness (jitter, delay ranges, split points) comes from `seed`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from random import Random
from typing import Any

HEADER = "X-Mock-Fault"
MAX_RETRY_AFTER_S = 86_400  # a day: more is no longer a test of retrying
MAX_DELAY_MS = 600_000


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """What to do to one reply. Every field None/False means: behave."""

    status: int | None = None  # answer with this HTTP error (errors.py catalog)
    error: str | None = None  # error variant, e.g. insufficient_quota for a 429
    retry_after: float | None = None  # seconds, for 429/503
    html: bool = False  # a reverse proxy's HTML error page (502/503/504)
    delay_ms: tuple[int, int] | None = None  # before the headers: fixed, or a seeded range
    ttft_ms: int | None = None  # stream: before the first content chunk
    chunk_ms: int | None = None  # stream: between chunks
    jitter_ms: int | None = None  # stream: +- this much on every chunk_ms
    ping_ms: int | None = None  # stream: `: ping` comment lines every so often during pauses
    disconnect_after: int | None = None  # drop the connection after N frames (0: before any)
    stall_after: int | None = None  # stop sending after N frames, keep the socket open
    no_done: bool = False  # end the stream without data: [DONE]
    malformed_at: int | None = None  # frame N is broken JSON
    error_at: int | None = None  # frame N is data: {"error": ...}, then [DONE]
    duplicate_finish: bool = False  # the finish_reason chunk is sent twice
    empty_delta_at: int | None = None  # an extra chunk with delta {} at N
    split_bytes: int | None = None  # write frames in pieces of at most N bytes, at odd offsets
    crlf: bool = False  # \r\n line endings
    interleave_tools: bool = False  # parallel tool calls' argument fragments interleaved
    seed: int | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (the settings a worker is spawned with), "behave" stays the shared NO_FAULT
        that the hot path tests by identity."""
        if self == NO_FAULT:
            return (_no_fault, ())
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return (_plan, (fields,))

    def merged(self, other: FaultPlan) -> FaultPlan:
        """`other` wins wherever it says something (0 says something: disconnect_after=0)."""
        if other is NO_FAULT:  # the common case, on every request: skip the field walk
            return self
        if self is NO_FAULT:
            return other
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(other)
            if _said(getattr(other, f.name))
        }
        return dataclasses.replace(self, **changes)

    @property
    def times_frames(self) -> bool:
        """Whether anything happens between a stream's frames (a wait, a cut, odd pieces)."""
        return (
            self.ttft_ms is not None
            or self.chunk_ms is not None
            or self.jitter_ms is not None
            or self.disconnect_after is not None
            or self.stall_after is not None
            or self.split_bytes is not None
        )

    @property
    def reshapes_frames(self) -> bool:
        """Whether the stream's frames differ from the reply's chunks (timing and transport
        faults do not change the frames themselves)."""
        return (
            self.no_done
            or self.malformed_at is not None
            or self.error_at is not None
            or self.duplicate_finish
            or self.empty_delta_at is not None
            or self.crlf
            or self.interleave_tools
        )

    def describe(self) -> str:
        return ", ".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in dataclasses.fields(self)
            if _said(getattr(self, f.name))
        )


def _said(value: object) -> bool:
    """Set by a source: not None and not an unset flag. Not `value not in (None, False)`,
    which also drops the integer 0 (0 == False) and so disconnect_after=0, error_at=0, seed=0."""
    return value is not None and value is not False


NO_FAULT = FaultPlan()  # "behave": shared, so the hot path can test it by identity


def _no_fault() -> FaultPlan:
    return NO_FAULT


def _plan(fields: dict[str, Any]) -> FaultPlan:
    return FaultPlan(**fields)


_INTS = {
    "status",
    "ttft_ms",
    "chunk_ms",
    "jitter_ms",
    "ping_ms",
    "disconnect_after",
    "stall_after",
    "malformed_at",
    "error_at",
    "empty_delta_at",
    "split_bytes",
    "seed",
}
_AT_LEAST_ONE = {"split_bytes", "ping_ms"}  # as in the fixture schema: 0 would mean "off"
_FLAGS = {"html", "no_done", "duplicate_finish", "crlf", "interleave_tools"}
_OTHER = {"error", "retry_after", "delay_ms"}
KEYS = sorted(_INTS | _FLAGS | _OTHER)


class FaultSyntaxError(ValueError):
    """A fault spec that breaks the grammar. Where it came from decides what it becomes: a 400
    for the request header, a fixture load problem (file:line), a usage error for --fault."""


def _bad(message: str) -> FaultSyntaxError:
    return FaultSyntaxError(
        f"{message}. Allowed: {', '.join(KEYS)} "
        "(e.g. 'status=429, retry_after=2' or 'disconnect_after=3')."
    )


def _int(key: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(f"{key} must be a whole number, got {value!r}") from None
    if key == "seed":
        return number  # any integer (the fixture schema's `seed`), not a duration
    low = 1 if key in _AT_LEAST_ONE else 0
    if number < low or number > MAX_DELAY_MS:
        raise _bad(f"{key} must be between {low} and {MAX_DELAY_MS}, got {number}")
    if key == "status" and not 400 <= number <= 599:
        raise _bad(f"status must be an HTTP error status (400-599), got {number}")
    return number


def _delay(value: Any) -> tuple[int, int]:
    low, dash, high = str(value).partition("-")
    first = _int("delay_ms", low)
    second = _int("delay_ms", high) if dash else first  # "100-" is an error, not 100
    if second < first:
        raise _bad(f"delay_ms range {value!r} goes backwards")
    return first, second


def _value(key: str, value: Any) -> Any:
    if key in _FLAGS:
        if value in (True, None, "", "true", "1", 1):
            return True
        if value in (False, "false", "0", 0):
            return False
        raise _bad(f"{key} is a flag: give it alone or as {key}=true")
    if key in _INTS:
        return _int(key, value)
    if key == "delay_ms":
        return _delay(value)
    if key == "retry_after":
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise _bad(f"retry_after must be seconds, got {value!r}") from None
        if not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER_S:
            raise _bad(f"retry_after must be 0 to {MAX_RETRY_AFTER_S} seconds, got {value!r}")
        return max(seconds, 0.0)
    return str(value)


def plan_from_mapping(spec: Mapping[str, Any]) -> FaultPlan:
    """A plan from a fixture's `fault:` block (the header's keys, as YAML)."""
    values = {}
    for key, value in spec.items():
        if key not in KEYS:
            raise _bad(f"unknown key {key!r}")
        values[key] = _value(key, value)
    return FaultPlan(**values)


def parse_fault(text: str) -> FaultPlan:
    """A plan from the header grammar: `key=value, flag, key=value`."""
    spec: dict[str, Any] = {}
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        spec[key.strip().lower()] = value.strip() if sep else None
    return plan_from_mapping(spec)


class Chaos:
    """A seeded fault rate: request k of a run fails or not the same way in every replay."""

    def __init__(self, rate: float, status: int, seed: int | None) -> None:
        self.rate = rate
        self.status = status
        self._seed = seed
        self._rng = Random(f"chaos:{seed}")
        self._drawn = 0  # values taken from _rng so far

    def draw(self) -> FaultPlan:
        return self.draw_at(self._drawn)

    def draw_at(self, k: int) -> FaultPlan:
        """Draw k (from 0) of the seeded sequence. Workers sharing state get k from one
        counter, so draw k is the same whichever worker makes it; each worker walks the
        sequence forward only (restarting if the shared counter was reset)."""
        if self.rate <= 0:
            return NO_FAULT
        if k < self._drawn:
            self._rng, self._drawn = Random(f"chaos:{self._seed}"), 0
        while self._drawn < k:
            self._rng.random()
            self._drawn += 1
        self._drawn += 1
        if self._rng.random() < self.rate:
            return FaultPlan(status=self.status)
        return NO_FAULT


@dataclass(frozen=True, slots=True)
class FaultLayers:
    """The plans a request is answered under, in precedence order: server (--fault, then chaos)
    < the answering fixture's `fault:` block < the request's X-Mock-Fault header."""

    server: FaultPlan
    header: FaultPlan

    @property
    def header_error(self) -> FaultPlan | None:
        """The client asked for an error: no fixture is consulted, the header's plan wins."""
        return self.server.merged(self.header) if self.header.status is not None else None

    def over(self, fixture: FaultPlan | None) -> FaultPlan:
        """The final plan once the answering fixture (if any) is known."""
        return self.server.merged(fixture or NO_FAULT).merged(self.header)


def layered(headers: Mapping[str, str], server: FaultPlan, chaos: FaultPlan) -> FaultLayers:
    """The request's layers (`chaos`: this request's draw). A bad X-Mock-Fault raises
    FaultSyntaxError."""
    text = headers.get(HEADER)
    return FaultLayers(server.merged(chaos), parse_fault(text) if text else NO_FAULT)
