"""Numbers: integers and floats inside the schema's bounds, on its multipleOf grid.

Bounds are read as exact fractions; a value is drawn from the range the property's name
suggests (an `age`, a `price`) where that range meets the schema's, and checked the way
jsonschema checks it, float quirks included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from random import Random
from typing import Any

from mockserver.replies.schema_values.errors import UnsupportedSchema
from mockserver.replies.schema_values.keywords import read_number, read_step
from mockserver.replies.schema_values.limits import ATTEMPTS
from mockserver.replies.schema_values.names import number_hint


@dataclass(frozen=True)
class Bounds:
    """The tightest of minimum/exclusiveMinimum and maximum/exclusiveMaximum."""

    low: Fraction | None
    low_x: bool
    high: Fraction | None
    high_x: bool

    def holds(self, value: int | float) -> bool:
        exact = Fraction(value)
        low, high = self.low, self.high
        above = low is None or exact > low or (exact == low and not self.low_x)
        return above and (high is None or exact < high or (exact == high and not self.high_x))


def is_multiple(value: int | float, step: int | float) -> bool:
    """jsonschema's own multipleOf test, float quirks included (0.3 is no multiple of 0.1)."""
    if isinstance(step, float):
        quotient = value / step
        try:
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(step)).denominator == 1
    return not value % step


def read_bounds(flat: Mapping[str, Any], path: str) -> Bounds:
    """The tightest bounds, where a schema sets both minimum and exclusiveMinimum (or max)."""
    low = high = None
    low_x = high_x = False
    for key, exclusive in (("minimum", False), ("exclusiveMinimum", True)):
        if key in flat:
            v = read_number(flat[key], path, key)
            if low is None or v > low or (v == low and exclusive):
                low, low_x = v, exclusive
    for key, exclusive in (("maximum", False), ("exclusiveMaximum", True)):
        if key in flat:
            v = read_number(flat[key], path, key)
            if high is None or v < high or (v == high and exclusive):
                high, high_x = v, exclusive
    return Bounds(low, low_x, high, high_x)


def draw_window(
    low: Fraction | None, high: Fraction | None, name: str
) -> tuple[Fraction, Fraction, int]:
    """Where to draw from: the schema's bounds, narrowed to what the name suggests."""
    hint = number_hint(name)
    span = Fraction(100)
    if low is None and high is None:
        low, high = (Fraction(hint[0]), Fraction(hint[1])) if hint else (Fraction(0), span)
    elif low is None:
        assert high is not None
        low = high - span
    elif high is None:
        high = low + span
    if hint is None:
        return low, high, 2
    a, b = max(low, Fraction(hint[0])), min(high, Fraction(hint[1]))
    return (a, b, hint[2]) if a <= b else (low, high, hint[2])


def multiple(
    rng: Random,
    step: Fraction,
    raw: int | float,
    window: tuple[Fraction, Fraction],
    bounds: Bounds,
) -> int | float | None:
    """k * step inside the window (else the schema's bounds) that jsonschema agrees with."""
    k_low, k_high = math.ceil(window[0] / step), math.floor(window[1] / step)
    if k_low > k_high:  # the name's window holds no multiple: use the schema's bounds
        first = None if bounds.low is None else math.ceil(bounds.low / step)
        last = None if bounds.high is None else math.floor(bounds.high / step)
        k_low = first if first is not None else (last or 0) - 3
        k_high = last if last is not None else k_low + 3
    span = k_high - k_low
    for attempt in range(ATTEMPTS * 4):
        k = rng.randint(k_low, k_high) if attempt < ATTEMPTS else k_low + attempt
        if attempt >= ATTEMPTS:
            k -= ATTEMPTS
        if k > k_high or span < 0:
            break
        exact = k * step
        v = int(exact) if exact.denominator == 1 else float(exact)
        if bounds.holds(v) and is_multiple(v, raw):
            return v
    return None


def integer_value(rng: Random, flat: Mapping[str, Any], path: str, name: str) -> int:
    """An integer in the bounds, a multiple of multipleOf, near what the name suggests."""
    bounds = read_bounds(flat, path)
    low, high = bounds.low, bounds.high
    first = None if low is None else math.floor(low) + 1 if bounds.low_x else math.ceil(low)
    last = None if high is None else math.ceil(high) - 1 if bounds.high_x else math.floor(high)
    if first is not None and last is not None and first > last:
        raise UnsupportedSchema(path, f"no integer lies between {low} and {high}")
    raw = flat.get("multipleOf", 1)
    step = read_step(raw, path)
    window = draw_window(
        None if first is None else Fraction(first),
        None if last is None else Fraction(last),
        name,
    )
    # k * p/q (in lowest terms) is an integer exactly when it is a multiple of p.
    found = multiple(rng, Fraction(step.numerator), raw, window[:2], bounds)
    if found is None:
        raise UnsupportedSchema(path, f"no integer found that is a multiple of {raw}")
    return int(found)


def number_value(rng: Random, flat: Mapping[str, Any], path: str, name: str) -> int | float:
    """A number in the bounds, rounded to the name's precision where the bounds allow."""
    bounds = read_bounds(flat, path)
    low, high = bounds.low, bounds.high
    exclusive = bounds.low_x or bounds.high_x
    if low is not None and high is not None and (low > high or (low == high and exclusive)):
        raise UnsupportedSchema(path, f"no number lies between {low} and {high}")
    a, b, decimals = draw_window(low, high, name)
    if "multipleOf" in flat:
        raw = flat["multipleOf"]
        found = multiple(rng, read_step(raw, path), raw, (a, b), bounds)
        if found is None:
            raise UnsupportedSchema(path, f"no number found that is a multiple of {raw}")
        return found
    for _ in range(ATTEMPTS):
        drawn = float(a) + rng.random() * float(b - a)
        rounded = round(drawn, decimals)
        for v in (int(rounded) if decimals == 0 else rounded, drawn, float(a), float(b)):
            if bounds.holds(v):
                return v
    for v in (math.nextafter(float(a), math.inf), math.nextafter(float(b), -math.inf)):
        if bounds.holds(v):
            return v
    raise UnsupportedSchema(path, f"no float found between {low} and {high}")
